package squareapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/square/squareapi"
	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
	"github.com/stockgate/stockgate/errcode"
)

var t0 = time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)

// newFake starts a fake and a client for it.
func newFake(t *testing.T, opts *squarefake.Options) (*squarefake.Server, *squareapi.Client) {
	t.Helper()
	fake := squarefake.New(opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c, err := squareapi.New(squarefake.DefaultToken, &squareapi.Options{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return fake, c
}

// readFixture reads one of the shared Square fixtures (shared/fixtures/square,
// beside the repository), skipping when that folder is absent.
func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "shared", "fixtures", "square", name))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("shared fixture %s not present (../shared/fixtures/square); skipping", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The spec's request and response examples (the shared fixtures), byte for
// byte on the wire.
func TestSpecExamples(t *testing.T) {
	t.Parallel()
	wantBody := readFixture(t, "batch_retrieve_inventory_counts_request.json")
	answer := readFixture(t, "batch_retrieve_inventory_counts_response.json")
	var gotBody []byte
	var gotHeader http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != squareapi.Path {
			t.Errorf("request %s %s, want POST %s", r.Method, r.URL.Path, squareapi.Path)
		}
		gotHeader = r.Header.Clone()
		gotBody, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	defer srv.Close()
	c, err := squareapi.New("tok", &squareapi.Options{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.BatchRetrieveInventoryCounts(context.Background(), squareapi.Request{
		CatalogObjectIDs: []string{"W62UWFY35CWMYGVWK6TWJDNI"},
		LocationIDs:      []string{"59TNP9SA8VGDA"},
		UpdatedAfter:     time.Date(2016, 11, 16, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(gotBody, &got); err != nil {
		t.Fatalf("body %s: %v", gotBody, err)
	}
	_ = json.Unmarshal(wantBody, &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body = %s\nwant %s", gotBody, wantBody)
	}
	if h := gotHeader.Get("Authorization"); h != "Bearer tok" {
		t.Errorf("Authorization = %q", h)
	}
	if v := gotHeader.Get("Square-Version"); v != squareapi.DefaultVersion {
		t.Errorf("Square-Version = %q, want %q", v, squareapi.DefaultVersion)
	}
	wantCounts := []squareapi.Count{{
		CatalogObjectID: "W62UWFY35CWMYGVWK6TWJDNI", CatalogObjectType: "ITEM_VARIATION", State: "IN_STOCK",
		LocationID: "59TNP9SA8VGDA", Quantity: "79",
		CalculatedAt: time.Date(2016, 11, 16, 22, 28, 1, 223e6, time.UTC),
	}}
	if !reflect.DeepEqual(resp.Counts, wantCounts) || resp.Cursor != "" {
		t.Errorf("response = %+v, want %+v and no cursor", resp, wantCounts)
	}
}

func seed(fake *squarefake.Server, n int) {
	for i := range n {
		fake.SetCount(squarefake.Count{
			CatalogObjectID: fmt.Sprintf("OBJ%03d", i), LocationID: "L1",
			Quantity: fmt.Sprint(i), CalculatedAt: t0.Add(time.Duration(i) * time.Minute),
		})
	}
}

func TestAllCountsFollowsCursors(t *testing.T) {
	t.Parallel()
	fake, c := newFake(t, &squarefake.Options{PageSize: 10})
	seed(fake, 25)
	counts, err := squareapi.AllCounts(context.Background(), c, squareapi.Request{LocationIDs: []string{"L1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 25 {
		t.Fatalf("got %d counts, want 25", len(counts))
	}
	for i, cnt := range counts { // newest first
		if want := fmt.Sprintf("OBJ%03d", 24-i); cnt.CatalogObjectID != want {
			t.Fatalf("counts[%d] = %s, want %s", i, cnt.CatalogObjectID, want)
		}
	}
	reqs := fake.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 pages of 10", len(reqs))
	}
	var last map[string]any
	_ = json.Unmarshal(reqs[2].Body, &last)
	if last["cursor"] == nil || last["cursor"] == "" {
		t.Errorf("third request %s has no cursor", reqs[2].Body)
	}
	// An explicit limit wins over the fake's page size.
	counts, err = squareapi.AllCounts(context.Background(), c, squareapi.Request{Limit: 25})
	if err != nil || len(counts) != 25 || fake.Stats().Pages != 4 {
		t.Fatalf("limit 25: %d counts, %v, %d pages in all; want one more page", len(counts), err, fake.Stats().Pages)
	}
}

func TestUpdatedAfterIsStrict(t *testing.T) {
	t.Parallel()
	fake, c := newFake(t, nil)
	seed(fake, 5) // calculated at t0, t0+1m, … t0+4m
	counts, err := squareapi.AllCounts(context.Background(), c, squareapi.Request{UpdatedAfter: t0.Add(2 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, cnt := range counts {
		ids = append(ids, cnt.CatalogObjectID)
	}
	if want := []string{"OBJ004", "OBJ003"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("updated_after t0+2m gave %v, want %v", ids, want)
	}
	// Sub-millisecond parts are rounded down: the filter never narrows.
	counts, _ = squareapi.AllCounts(context.Background(), c, squareapi.Request{UpdatedAfter: t0.Add(2*time.Minute - time.Microsecond)})
	if len(counts) != 3 {
		t.Errorf("updated_after just before t0+2m gave %d counts, want 3", len(counts))
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	fake, c := newFake(t, nil)
	fake.SetCount(squarefake.Count{CatalogObjectID: "A", LocationID: "L1", Quantity: "1", CalculatedAt: t0})
	fake.SetCount(squarefake.Count{CatalogObjectID: "A", LocationID: "L2", Quantity: "2", CalculatedAt: t0})
	fake.SetCount(squarefake.Count{CatalogObjectID: "B", LocationID: "L1", Quantity: "3", CalculatedAt: t0})
	fake.SetCount(squarefake.Count{CatalogObjectID: "A", LocationID: "L1", State: "WASTE", Quantity: "4", CalculatedAt: t0})
	for _, tc := range []struct {
		name string
		req  squareapi.Request
		want []string // quantities
	}{
		{"all", squareapi.Request{}, []string{"1", "4", "2", "3"}},
		{"location", squareapi.Request{LocationIDs: []string{"L1"}}, []string{"1", "4", "3"}},
		{"object", squareapi.Request{CatalogObjectIDs: []string{"A"}, LocationIDs: []string{"L1"}}, []string{"1", "4"}},
		{"state", squareapi.Request{States: []string{"IN_STOCK"}}, []string{"1", "2", "3"}},
		{"untracked states ignored", squareapi.Request{States: []string{"IN_STOCK", "SOLD"}}, []string{"1", "2", "3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counts, err := squareapi.AllCounts(context.Background(), c, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, cnt := range counts {
				got = append(got, cnt.Quantity)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		setup      func(*squarefake.Server)
		token      string
		req        squareapi.Request
		code       errcode.Code
		status     int
		squareCode string
		retryable  bool
		retryAfter time.Duration
	}{
		{name: "429 with Retry-After", setup: func(f *squarefake.Server) { f.Fail(1, 429, 1500*time.Millisecond) },
			code: errcode.ResourceExhausted, status: 429, squareCode: "RATE_LIMITED", retryable: true, retryAfter: 2 * time.Second},
		{name: "429 without Retry-After", setup: func(f *squarefake.Server) { f.Fail(1, 429, 0) },
			code: errcode.ResourceExhausted, status: 429, squareCode: "RATE_LIMITED", retryable: true},
		{name: "500", setup: func(f *squarefake.Server) { f.Fail(1, 500, 0) },
			code: errcode.Unavailable, status: 500, squareCode: "INTERNAL_SERVER_ERROR", retryable: true},
		{name: "503", setup: func(f *squarefake.Server) { f.Fail(1, 503, 3*time.Second) },
			code: errcode.Unavailable, status: 503, squareCode: "SERVICE_UNAVAILABLE", retryable: true, retryAfter: 3 * time.Second},
		{name: "wrong token", token: "nope",
			code: errcode.Unauthenticated, status: 401, squareCode: "UNAUTHORIZED"},
		{name: "403", setup: func(f *squarefake.Server) { f.Fail(1, 403, 0) },
			code: errcode.Unauthenticated, status: 403, squareCode: "INSUFFICIENT_SCOPES"},
		{name: "bad cursor", req: squareapi.Request{Cursor: "not-a-cursor"},
			code: errcode.InvalidArgument, status: 400, squareCode: "INVALID_CURSOR"},
		{name: "bad state", req: squareapi.Request{States: []string{"ON_FIRE"}},
			code: errcode.InvalidArgument, status: 400, squareCode: "INVALID_ENUM_VALUE"},
		{name: "limit checked before sending", req: squareapi.Request{Limit: 1001},
			code: errcode.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := squarefake.New(nil)
			srv := httptest.NewServer(fake)
			defer srv.Close()
			if tc.setup != nil {
				tc.setup(fake)
			}
			tok := tc.token
			if tok == "" {
				tok = squarefake.DefaultToken
			}
			c, err := squareapi.New(tok, &squareapi.Options{BaseURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.BatchRetrieveInventoryCounts(ctx, tc.req)
			var e *squareapi.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *squareapi.Error", err)
			}
			if e.Code != tc.code || e.HTTPStatus != tc.status {
				t.Errorf("code %v, status %d; want %v, %d (%v)", e.Code, e.HTTPStatus, tc.code, tc.status, err)
			}
			if tc.squareCode != "" && (len(e.Errors) == 0 || e.Errors[0].Code != tc.squareCode) {
				t.Errorf("errors = %+v, want code %s", e.Errors, tc.squareCode)
			}
			if squareapi.IsRetryable(err) != tc.retryable || squareapi.RetryAfter(err) != tc.retryAfter {
				t.Errorf("retryable %v after %v, want %v after %v", squareapi.IsRetryable(err), squareapi.RetryAfter(err), tc.retryable, tc.retryAfter)
			}
			if tc.status == 0 && fake.Stats().Requests != 0 {
				t.Errorf("an invalid request was sent")
			}
			if strings.Contains(err.Error(), tok) {
				t.Errorf("error %q contains the token", err)
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	c, _ := squareapi.New("tok", &squareapi.Options{BaseURL: srv.URL})
	_, err := c.BatchRetrieveInventoryCounts(context.Background(), squareapi.Request{})
	if squareapi.ErrorCode(err) != errcode.NotFound {
		t.Errorf("plain 404: %v, want NotFound", err)
	}
	srv.Close()
	_, err = c.BatchRetrieveInventoryCounts(context.Background(), squareapi.Request{})
	if squareapi.ErrorCode(err) != errcode.Unavailable || !squareapi.IsRetryable(err) {
		t.Errorf("closed server: %v, want retryable Unavailable", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.BatchRetrieveInventoryCounts(ctx, squareapi.Request{})
	if squareapi.ErrorCode(err) != errcode.Canceled || squareapi.IsRetryable(err) {
		t.Errorf("canceled: %v, want Canceled", err)
	}
}

// A 200 that carries errors is classified by category; a body that is
// not the documented shape is Unknown.
func TestOddAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		code errcode.Code
	}{
		{`{"errors":[{"category":"RATE_LIMIT_ERROR","code":"RATE_LIMITED"}]}`, errcode.ResourceExhausted},
		{`{"errors":[{"category":"API_ERROR","code":"TEMPORARY_ERROR"}]}`, errcode.Unavailable},
		{`<html>`, errcode.Unknown},
		{`{"counts":[{"calculated_at":"yesterday"}]}`, errcode.Unknown},
		{`{}`, errcode.OK},
		{`{"errors":[],"counts":[]}`, errcode.OK},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(tc.body))
		}))
		c, _ := squareapi.New("tok", &squareapi.Options{BaseURL: srv.URL})
		_, err := c.BatchRetrieveInventoryCounts(context.Background(), squareapi.Request{})
		if got := squareapi.ErrorCode(err); got != tc.code {
			t.Errorf("%s: code %v (%v), want %v", tc.body, got, err, tc.code)
		}
		srv.Close()
	}
}

type pages struct {
	resps []squareapi.Response
	errAt int
	calls int
}

func (p *pages) BatchRetrieveInventoryCounts(_ context.Context, _ squareapi.Request) (squareapi.Response, error) {
	p.calls++
	if p.calls == p.errAt {
		return squareapi.Response{}, &squareapi.Error{Code: errcode.Unavailable}
	}
	return p.resps[(p.calls-1)%len(p.resps)], nil
}

func TestAllCountsFailures(t *testing.T) {
	t.Parallel()
	loop := &pages{resps: []squareapi.Response{{Cursor: "c1"}, {Cursor: "c1"}}}
	if _, err := squareapi.AllCounts(context.Background(), loop, squareapi.Request{}); !errors.Is(err, squareapi.ErrCursorLoop) {
		t.Errorf("repeated cursor: %v, want ErrCursorLoop", err)
	}
	mid := &pages{resps: []squareapi.Response{{Counts: []squareapi.Count{{}}, Cursor: "c1"}}, errAt: 2}
	counts, err := squareapi.AllCounts(context.Background(), mid, squareapi.Request{})
	if squareapi.ErrorCode(err) != errcode.Unavailable || counts != nil {
		t.Errorf("error on page 2: %v, %d counts; want the error and nothing", err, len(counts))
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := squareapi.New("", &squareapi.Options{BaseURL: "ftp://x/y", Version: "2025-8-1"})
	if squareapi.ErrorCode(err) != errcode.InvalidArgument {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"token", "BaseURL", "Version"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name %s", err, want)
		}
	}
	if c, err := squareapi.New("t", nil); err != nil || c.Version() != squareapi.DefaultVersion {
		t.Errorf("defaults: %v", err)
	}
}
