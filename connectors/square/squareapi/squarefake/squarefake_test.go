package squarefake_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
)

type answer struct {
	Errors []struct {
		Category, Code, Detail, Field string
	} `json:"errors"`
	Counts []map[string]any `json:"counts"`
	Cursor string           `json:"cursor"`
}

func post(t *testing.T, url, method, body string, header map[string]string) (int, http.Header, answer) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+squarefake.DefaultToken)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v", method, body, err)
	}
	return resp.StatusCode, resp.Header, a
}

func TestValidation(t *testing.T) {
	t.Parallel()
	fake := squarefake.New(nil)
	fake.SetCount(squarefake.Count{CatalogObjectID: "A", LocationID: "L", Quantity: "1"})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	u := srv.URL + squarefake.Path
	for _, tc := range []struct {
		name, url, method, body string
		header                  map[string]string
		status                  int
		category, code, field   string
	}{
		{name: "ok", body: `{}`, status: 200},
		{name: "no token", body: `{}`, header: map[string]string{"Authorization": ""}, status: 401, category: "AUTHENTICATION_ERROR", code: "UNAUTHORIZED"},
		{name: "other path", url: srv.URL + "/v2/inventory/counts", body: `{}`, status: 404, code: "NOT_FOUND"},
		{name: "GET", method: http.MethodGet, status: 405, code: "METHOD_NOT_ALLOWED"},
		{name: "not an object", body: `[]`, status: 400, category: "INVALID_REQUEST_ERROR", code: "EXPECTED_JSON_BODY"},
		{name: "bad version", body: `{}`, header: map[string]string{"Square-Version": "latest"}, status: 400, code: "INVALID_SQUARE_VERSION_FORMAT"},
		{name: "limit 0", body: `{"limit":0}`, status: 400, code: "VALUE_TOO_LOW", field: "limit"},
		{name: "limit 1001", body: `{"limit":1001}`, status: 400, code: "VALUE_TOO_HIGH", field: "limit"},
		{name: "bad time", body: `{"updated_after":"2016-11-16"}`, status: 400, code: "INVALID_TIME", field: "updated_after"},
		{name: "bad state", body: `{"states":["IN_STOCK","NOPE"]}`, status: 400, code: "INVALID_ENUM_VALUE", field: "states[1]"},
		{name: "bad cursor", body: `{"cursor":"xyz"}`, status: 400, code: "INVALID_CURSOR", field: "cursor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url, method := tc.url, tc.method
			if url == "" {
				url = u
			}
			if method == "" {
				method = http.MethodPost
			}
			status, _, a := post(t, url, method, tc.body, tc.header)
			if status != tc.status {
				t.Fatalf("status %d, want %d (%+v)", status, tc.status, a)
			}
			if tc.code == "" {
				if len(a.Errors) != 0 || len(a.Counts) != 1 {
					t.Fatalf("answer %+v, want one count", a)
				}
				return
			}
			if len(a.Errors) != 1 || a.Errors[0].Code != tc.code || a.Errors[0].Field != tc.field ||
				(tc.category != "" && a.Errors[0].Category != tc.category) {
				t.Errorf("errors %+v, want %s/%s at %q", a.Errors, tc.category, tc.code, tc.field)
			}
		})
	}
}

// A cursor only pages the query that made it.
func TestCursorBoundToQuery(t *testing.T) {
	t.Parallel()
	fake := squarefake.New(&squarefake.Options{PageSize: 1})
	for _, id := range []string{"A", "B"} {
		fake.SetCount(squarefake.Count{CatalogObjectID: id, LocationID: "L", Quantity: "1", CalculatedAt: time.Unix(1, 0)})
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	u := srv.URL + squarefake.Path
	_, _, first := post(t, u, http.MethodPost, `{"location_ids":["L"]}`, nil)
	if first.Cursor == "" || len(first.Counts) != 1 || first.Counts[0]["catalog_object_id"] != "A" {
		t.Fatalf("first page %+v", first)
	}
	status, _, next := post(t, u, http.MethodPost, `{"location_ids":["L"],"cursor":"`+first.Cursor+`"}`, nil)
	if status != 200 || next.Cursor != "" || len(next.Counts) != 1 || next.Counts[0]["catalog_object_id"] != "B" {
		t.Fatalf("second page %d %+v", status, next)
	}
	status, _, other := post(t, u, http.MethodPost, `{"location_ids":["M"],"cursor":"`+first.Cursor+`"}`, nil)
	if status != 400 || other.Errors[0].Code != "INVALID_CURSOR" {
		t.Fatalf("cursor for other filters: %d %+v", status, other)
	}
}

func TestFailInjection(t *testing.T) {
	t.Parallel()
	fake := squarefake.New(nil)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	fake.Fail(2, http.StatusTooManyRequests, 1200*time.Millisecond)
	for i := range 3 {
		status, h, a := post(t, srv.URL+squarefake.Path, http.MethodPost, `{}`, nil)
		if i < 2 {
			if status != 429 || h.Get("Retry-After") != "2" || a.Errors[0].Category != "RATE_LIMIT_ERROR" || a.Errors[0].Code != "RATE_LIMITED" {
				t.Errorf("request %d: %d Retry-After %q %+v", i, status, h.Get("Retry-After"), a)
			}
		} else if status != 200 {
			t.Errorf("request %d: %d after the injected failures", i, status)
		}
	}
	if s := fake.Stats(); s.Requests != 3 || s.Failed != 2 {
		t.Errorf("stats %+v", s)
	}
}
