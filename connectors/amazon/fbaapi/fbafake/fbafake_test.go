package fbafake_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stockgate/stockgate/connectors/amazon/fbaapi/fbafake"
)

func get(t *testing.T, method, url string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("x-amz-access-token", fbafake.DefaultToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	return resp.StatusCode, resp.Header, body
}

func errCode(body map[string]any) string {
	errs, _ := body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	return errs[0].(map[string]any)["code"].(string)
}

func TestParameters(t *testing.T) {
	t.Parallel()
	fake := fbafake.New(nil)
	fake.SetSummary(fbafake.Summary{MarketplaceID: "ATVPDKIKX0DER", SellerSKU: "A", Fulfillable: 3})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	base := srv.URL + fbafake.Path + "?"
	ok := "granularityType=Marketplace&granularityId=ATVPDKIKX0DER&marketplaceIds=ATVPDKIKX0DER"
	for _, tc := range []struct {
		name, method, url string
		status            int
		code              string
	}{
		{"summaries only", "", base + ok, 200, ""},
		{"no granularityType", "", base + "granularityId=ATVPDKIKX0DER&marketplaceIds=ATVPDKIKX0DER", 400, "InvalidInput"},
		{"bad granularityType", "", base + "granularityType=Region&granularityId=X&marketplaceIds=X", 400, "InvalidInput"},
		{"no granularityId", "", base + "granularityType=Marketplace&marketplaceIds=X", 400, "InvalidInput"},
		{"no marketplaceIds", "", base + "granularityType=Marketplace&granularityId=X", 400, "InvalidInput"},
		{"two marketplaceIds", "", base + ok + ",A2EUQ1WTGCTBG2", 400, "InvalidInput"},
		{"bad details", "", base + ok + "&details=yes", 400, "InvalidInput"},
		{"bad startDateTime", "", base + ok + "&startDateTime=yesterday", 400, "InvalidInput"},
		{"bad nextToken", "", base + ok + "&nextToken=seed", 400, "InvalidInput"},
		{"other path", "", srv.URL + "/fba/inventory/v1/items", 404, "NotFound"},
		{"POST", http.MethodPost, base + ok, 405, "InvalidInput"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := tc.method
			if m == "" {
				m = http.MethodGet
			}
			status, h, body := get(t, m, tc.url)
			if status != tc.status || errCode(body) != tc.code {
				t.Fatalf("%d %v, want %d %s", status, body, tc.status, tc.code)
			}
			if h.Get("x-amzn-RequestId") == "" {
				t.Error("no x-amzn-RequestId")
			}
			if (status == 200 || status == 400) != (h.Get("x-amzn-RateLimit-Limit") != "") {
				t.Errorf("x-amzn-RateLimit-Limit %q on a %d", h.Get("x-amzn-RateLimit-Limit"), status)
			}
			if status == 200 {
				sums := body["payload"].(map[string]any)["inventorySummaries"].([]any)
				if len(sums) != 1 || sums[0].(map[string]any)["inventoryDetails"] != nil || body["pagination"] != nil {
					t.Errorf("without details: %v", body)
				}
			}
		})
	}
}

func TestThrottleHasNoRateLimitHeader(t *testing.T) {
	t.Parallel()
	fake := fbafake.New(nil)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	fake.Throttle(1)
	status, h, body := get(t, http.MethodGet, srv.URL+fbafake.Path)
	if status != 429 || errCode(body) != "QuotaExceeded" || h.Get("x-amzn-RateLimit-Limit") != "" || h.Get("Retry-After") != "" {
		t.Errorf("%d %v %v", status, h, body)
	}
	if s := fake.Stats(); s.Throttled != 1 || s.Requests != 1 {
		t.Errorf("stats %+v", s)
	}
}
