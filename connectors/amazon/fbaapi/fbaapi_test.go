package fbaapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/fbaapi"
	"github.com/stockgate/stockgate/connectors/amazon/fbaapi/fbafake"
	"github.com/stockgate/stockgate/errcode"
)

const us = "ATVPDKIKX0DER"

var t0 = time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func token(context.Context) (string, error) { return fbafake.DefaultToken, nil }

func newFake(t *testing.T, opts *fbafake.Options) (*fbafake.Server, *fbaapi.Client) {
	t.Helper()
	fake := fbafake.New(opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c, err := fbaapi.New(srv.URL, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fake, c
}

// The model's sandbox answer decodes as documented, empty
// lastUpdatedTime included.
func TestSandboxExample(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(filepath.Join("testdata", "get_inventory_summaries_sandbox.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-RateLimit-Limit", "2.0")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	c, _ := fbaapi.New(srv.URL, token, nil)
	resp, err := c.GetInventorySummaries(context.Background(), fbaapi.Request{MarketplaceID: us})
	if err != nil {
		t.Fatal(err)
	}
	if resp.NextToken != "seed" || resp.Granularity != (fbaapi.Granularity{Type: "Marketplace", ID: us}) || resp.RateLimit != 2 {
		t.Errorf("page = %+v", resp)
	}
	if len(resp.Summaries) != 3 {
		t.Fatalf("%d summaries, want 3", len(resp.Summaries))
	}
	if s := resp.Summaries[0]; !s.LastUpdatedTime.IsZero() || s.SellerSKU != "EMTEC 1 GB" || s.InventoryDetails == nil {
		t.Errorf("first summary %+v", s)
	}
	s := resp.Summaries[2]
	if s.SellerSKU != "Silicon Power 32GB" || s.ASIN != "B00T9QONN6" || s.FNSKU != "B00T9QONN6" || s.TotalQuantity != 87 ||
		s.InventoryDetails.FulfillableQuantity != 66 || s.InventoryDetails.InboundWorkingQuantity != 21 ||
		!s.LastUpdatedTime.Equal(time.Date(2018, 3, 31, 23, 40, 39, 0, time.UTC)) {
		t.Errorf("third summary %+v %+v", s, s.InventoryDetails)
	}
}

func TestRequestShape(t *testing.T) {
	t.Parallel()
	clk := &clock{t: t0}
	fake := fbafake.New(&fbafake.Options{Now: clk.Now})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c, _ := fbaapi.New(srv.URL, token, &fbaapi.Options{Now: clk.Now, UserAgent: "stockgate/test (Language=Go)"})
	start := t0.Add(-time.Hour + 500*time.Millisecond)
	if _, err := c.GetInventorySummaries(context.Background(), fbaapi.Request{MarketplaceID: us, StartDateTime: start}); err != nil {
		t.Fatal(err)
	}
	r := fake.Requests()[0]
	if r.Method != http.MethodGet || r.URL.Path != fbaapi.Path {
		t.Errorf("%s %s", r.Method, r.URL.Path)
	}
	want := map[string]string{
		"details": "true", "granularityType": "Marketplace", "granularityId": us, "marketplaceIds": us,
		"startDateTime": "2026-08-01T11:00:00Z",
	}
	for k, v := range want {
		if got := r.URL.Query().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	for h, v := range map[string]string{
		"x-amz-access-token": fbafake.DefaultToken, "x-amz-date": "20260801T120000Z", "User-Agent": "stockgate/test (Language=Go)",
	} {
		if got := r.Header.Get(h); got != v {
			t.Errorf("%s = %q, want %q", h, got, v)
		}
	}
}

func seed(fake *fbafake.Server, n int, at func(i int) time.Time) {
	for i := range n {
		fake.SetSummary(fbafake.Summary{MarketplaceID: us, SellerSKU: fmt.Sprintf("SKU-%03d", i), Fulfillable: int64(i), LastUpdated: at(i)})
	}
}

func TestAllSummariesFollowsNextToken(t *testing.T) {
	t.Parallel()
	fake, c := newFake(t, &fbafake.Options{PageSize: 50})
	seed(fake, 120, func(i int) time.Time { return t0.Add(-time.Duration(120-i) * time.Minute) })
	fake.SetSummary(fbafake.Summary{MarketplaceID: "A2EUQ1WTGCTBG2", SellerSKU: "CA-ONLY"})
	start := t0.Add(-200 * time.Minute)
	all, err := fbaapi.AllSummaries(context.Background(), c, fbaapi.Request{MarketplaceID: us, StartDateTime: start})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 120 {
		t.Fatalf("%d summaries, want 120", len(all))
	}
	for i, s := range all {
		if want := fmt.Sprintf("SKU-%03d", i); s.SellerSKU != want || s.InventoryDetails.FulfillableQuantity != int64(i) {
			t.Fatalf("summaries[%d] = %s %+v, want %s", i, s.SellerSKU, s.InventoryDetails, want)
		}
	}
	reqs := fake.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		q := r.URL.Query()
		if q.Get("startDateTime") == "" || (i > 0) != (q.Get("nextToken") != "") {
			t.Errorf("request %d: %s: want startDateTime on every page and nextToken after the first", i, r.URL.RawQuery)
		}
	}
}

func TestStartDateTimeFilters(t *testing.T) {
	t.Parallel()
	fake, c := newFake(t, nil)
	seed(fake, 5, func(i int) time.Time { return t0.Add(time.Duration(i) * time.Hour) })
	all, err := fbaapi.AllSummaries(context.Background(), c, fbaapi.Request{MarketplaceID: us, StartDateTime: t0.Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var skus []string
	for _, s := range all {
		skus = append(skus, s.SellerSKU)
	}
	if want := []string{"SKU-003", "SKU-004"}; !reflect.DeepEqual(skus, want) {
		t.Errorf("changed since t0+3h: %v, want %v", skus, want)
	}
	// Without startDateTime, sellerSkus selects.
	all, _ = fbaapi.AllSummaries(context.Background(), c, fbaapi.Request{MarketplaceID: us, SellerSKUs: []string{"SKU-001"}})
	if len(all) != 1 || all[0].SellerSKU != "SKU-001" {
		t.Errorf("sellerSkus: %+v", all)
	}
}

func TestNextTokenRules(t *testing.T) {
	t.Parallel()
	clk := &clock{t: t0}
	fake, c := newFake(t, &fbafake.Options{PageSize: 1, Now: clk.Now})
	seed(fake, 3, func(int) time.Time { return t0.Add(-time.Hour) })
	ctx := context.Background()
	req := fbaapi.Request{MarketplaceID: us, StartDateTime: t0.Add(-2 * time.Hour)}
	first, err := c.GetInventorySummaries(ctx, req)
	if err != nil || first.NextToken == "" {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	// Without the startDateTime that made it, the token is refused.
	_, err = c.GetInventorySummaries(ctx, fbaapi.Request{MarketplaceID: us, NextToken: first.NextToken})
	if fbaapi.ErrorCode(err) != errcode.InvalidArgument {
		t.Errorf("token without startDateTime: %v, want InvalidArgument", err)
	}
	req.NextToken = first.NextToken
	clk.Advance(29 * time.Second)
	if _, err := c.GetInventorySummaries(ctx, req); err != nil {
		t.Errorf("token at 29s: %v", err)
	}
	clk.Advance(2 * time.Second)
	_, err = c.GetInventorySummaries(ctx, req)
	var e *fbaapi.Error
	if !errors.As(err, &e) || e.Code != errcode.InvalidArgument || e.Errors[0].Code != "InvalidInput" || fbaapi.IsRetryable(err) {
		t.Errorf("token at 31s: %v, want InvalidArgument InvalidInput", err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	// The 429 body of the SP-API models (shared/fixtures/amazon when
	// present; otherwise the same documented shape written here).
	quota, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "shared", "fixtures", "amazon", "error_429_quota_exceeded.sample.json"))
	if err != nil {
		quota = []byte(`{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource.","details":""}]}`)
	}
	for _, tc := range []struct {
		name      string
		setup     func(*fbafake.Server)
		tok       string
		req       fbaapi.Request
		code      errcode.Code
		status    int
		apiCode   string
		retryable bool
		body      []byte
	}{
		{name: "throttled", setup: func(f *fbafake.Server) { f.Throttle(1) }, code: errcode.ResourceExhausted, status: 429,
			apiCode: "QuotaExceeded", retryable: true, body: quota},
		{name: "500", setup: func(f *fbafake.Server) { f.Fail(1, 500) }, code: errcode.Unavailable, status: 500, apiCode: "InternalFailure", retryable: true},
		{name: "503", setup: func(f *fbafake.Server) { f.Fail(1, 503) }, code: errcode.Unavailable, status: 503, apiCode: "ServiceUnavailable", retryable: true},
		{name: "wrong token", tok: "Atza|old", code: errcode.Unauthenticated, status: 403, apiCode: "Unauthorized"},
		{name: "18 months", req: fbaapi.Request{MarketplaceID: us, StartDateTime: time.Now().AddDate(-2, 0, 0)},
			code: errcode.InvalidArgument, status: 400, apiCode: "InvalidInput"},
		{name: "no marketplace", req: fbaapi.Request{}, code: errcode.InvalidArgument},
		{name: "51 SKUs", req: fbaapi.Request{MarketplaceID: us, SellerSKUs: make([]string, 51)}, code: errcode.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := fbafake.New(nil)
			var raw []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := httptest.NewRecorder()
				fake.ServeHTTP(rec, r)
				raw = rec.Body.Bytes()
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				_, _ = w.Write(raw)
			}))
			defer srv.Close()
			if tc.setup != nil {
				tc.setup(fake)
			}
			tok := func(context.Context) (string, error) {
				if tc.tok != "" {
					return tc.tok, nil
				}
				return fbafake.DefaultToken, nil
			}
			c, _ := fbaapi.New(srv.URL, tok, nil)
			req := tc.req
			if req.MarketplaceID == "" && tc.status != 0 {
				req.MarketplaceID = us
			}
			_, err := c.GetInventorySummaries(context.Background(), req)
			var e *fbaapi.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v", err)
			}
			if e.Code != tc.code || e.HTTPStatus != tc.status || fbaapi.IsRetryable(err) != tc.retryable {
				t.Errorf("%v: code %v status %d retryable %v; want %v %d %v", err, e.Code, e.HTTPStatus, fbaapi.IsRetryable(err), tc.code, tc.status, tc.retryable)
			}
			if tc.apiCode != "" && (len(e.Errors) == 0 || e.Errors[0].Code != tc.apiCode) {
				t.Errorf("errors %+v, want %s", e.Errors, tc.apiCode)
			}
			if tc.status != 0 && !strings.HasPrefix(e.RequestID, "fake-") {
				t.Errorf("RequestID %q", e.RequestID)
			}
			if tc.status == 0 && fake.Stats().Requests != 0 {
				t.Error("an invalid request was sent")
			}
			if tc.body != nil {
				var got, want any
				_ = json.Unmarshal(raw, &got)
				_ = json.Unmarshal(tc.body, &want)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("body %s, want the fixture %s", raw, tc.body)
				}
			}
		})
	}
}

// With a rate, the fake's bucket throttles on its own clock: the
// model's plan, 2 per second with a burst of 2.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	clk := &clock{t: t0}
	_, c := newFake(t, &fbafake.Options{Rate: 2, Burst: 2, Now: clk.Now})
	ctx := context.Background()
	req := fbaapi.Request{MarketplaceID: us}
	for i := range 2 {
		if _, err := c.GetInventorySummaries(ctx, req); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	_, err := c.GetInventorySummaries(ctx, req)
	if fbaapi.ErrorCode(err) != errcode.ResourceExhausted || fbaapi.RetryAfter(err) != 0 {
		t.Fatalf("third request in the same instant: %v, want ResourceExhausted without Retry-After", err)
	}
	clk.Advance(500 * time.Millisecond)
	if resp, err := c.GetInventorySummaries(ctx, req); err != nil || resp.RateLimit != 2 {
		t.Fatalf("after 500ms: %+v, %v", resp, err)
	}
}

func TestTokenAndTransportErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(fbafake.New(nil))
	failing := func(context.Context) (string, error) { return "", errors.New("LWA said no") }
	c, _ := fbaapi.New(srv.URL, failing, nil)
	_, err := c.GetInventorySummaries(context.Background(), fbaapi.Request{MarketplaceID: us})
	if fbaapi.ErrorCode(err) != errcode.Unauthenticated || !strings.Contains(err.Error(), "LWA said no") {
		t.Errorf("token failure: %v", err)
	}
	c, _ = fbaapi.New(srv.URL, token, nil)
	srv.Close()
	_, err = c.GetInventorySummaries(context.Background(), fbaapi.Request{MarketplaceID: us})
	if fbaapi.ErrorCode(err) != errcode.Unavailable || !fbaapi.IsRetryable(err) {
		t.Errorf("closed server: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.GetInventorySummaries(ctx, fbaapi.Request{MarketplaceID: us})
	if fbaapi.ErrorCode(err) != errcode.Canceled {
		t.Errorf("canceled: %v", err)
	}
}

type loop struct{}

func (loop) GetInventorySummaries(context.Context, fbaapi.Request) (fbaapi.Response, error) {
	return fbaapi.Response{NextToken: "again"}, nil
}

func TestAllSummariesTokenLoop(t *testing.T) {
	t.Parallel()
	if _, err := fbaapi.AllSummaries(context.Background(), loop{}, fbaapi.Request{MarketplaceID: us}); !errors.Is(err, fbaapi.ErrTokenLoop) {
		t.Errorf("err = %v, want ErrTokenLoop", err)
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := fbaapi.New("sellingpartnerapi-na.amazon.com", nil, &fbaapi.Options{UserAgent: strings.Repeat("x", 501)})
	for _, want := range []string{"baseURL", "token", "UserAgent"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v does not name %s", err, want)
		}
	}
}
