package squareapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/square/squareapi"
	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
	"github.com/stockgate/stockgate/errcode"
)

// The spec's request and response examples (the shared fixtures) on the
// wire. The client sends no team_member_id, so the fixture's is left out
// of the comparison.
func TestChangeSpecExamples(t *testing.T) {
	t.Parallel()
	wantBody := readFixture(t, "batch_change_inventory_request.json")
	answer := readFixture(t, "batch_change_inventory_response.json")
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != squareapi.ChangesPath {
			t.Errorf("request %s %s, want POST %s", r.Method, r.URL.Path, squareapi.ChangesPath)
		}
		if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Square-Version") != squareapi.DefaultVersion {
			t.Errorf("headers %v", r.Header)
		}
		gotBody, _ = io.ReadAll(r.Body)
		_, _ = w.Write(answer)
	}))
	defer srv.Close()
	c, err := squareapi.New("tok", &squareapi.Options{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	resp, err := c.BatchChangeInventory(context.Background(), squareapi.ChangeRequest{
		IdempotencyKey: "8fc6a5b0-9fe8-4b46-b46b-2ef95793abbe",
		Counts: []squareapi.PhysicalCount{{
			CatalogObjectID: "W62UWFY35CWMYGVWK6TWJDNI", LocationID: "C6W5YS5QM06F5", Quantity: 53,
			OccurredAt:  time.Date(2016, 11, 16, 22, 25, 24, 878e6, time.UTC),
			ReferenceID: "1536bfbf-efed-48bf-b17d-a197141b2a92",
		}},
		IgnoreUnchangedCounts: &yes,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	if err := json.Unmarshal(gotBody, &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(wantBody, &want)
	delete(want["changes"].([]any)[0].(map[string]any)["physical_count"].(map[string]any), "team_member_id")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body = %s\nwant %s", gotBody, wantBody)
	}
	wantCounts := []squareapi.Count{{
		CatalogObjectID: "W62UWFY35CWMYGVWK6TWJDNI", CatalogObjectType: "ITEM_VARIATION", State: "IN_STOCK",
		LocationID: "C6W5YS5QM06F5", Quantity: "53", CalculatedAt: time.Date(2016, 11, 16, 22, 28, 1, 223e6, time.UTC),
	}}
	if !reflect.DeepEqual(resp.Counts, wantCounts) {
		t.Errorf("counts %+v, want %+v", resp.Counts, wantCounts)
	}
}

func pcs(n int, at time.Time) []squareapi.PhysicalCount {
	out := make([]squareapi.PhysicalCount, n)
	for i := range out {
		out[i] = squareapi.PhysicalCount{CatalogObjectID: fmt.Sprintf("OBJ%03d", i), LocationID: "L1", Quantity: int64(i), OccurredAt: at}
	}
	return out
}

// Against the fake: a write is read back, and ignore_unchanged_counts is
// left to Square's default unless set.
func TestBatchChangeInventory(t *testing.T) {
	t.Parallel()
	fake, c := newFake(t, nil)
	at := time.Now().Add(-time.Second)
	resp, err := c.BatchChangeInventory(context.Background(), squareapi.ChangeRequest{IdempotencyKey: "k1", Counts: pcs(100, at)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Counts) != 100 || resp.Counts[7].Quantity != "7" || resp.Counts[7].State != "IN_STOCK" {
		t.Fatalf("answer %+v", resp.Counts[:8])
	}
	counts, err := squareapi.AllCounts(context.Background(), c, squareapi.Request{CatalogObjectIDs: []string{"OBJ042"}})
	if err != nil || len(counts) != 1 || counts[0].Quantity != "42" {
		t.Fatalf("read back %+v, %v", counts, err)
	}
	reqs := fake.Requests()
	var body map[string]any
	_ = json.Unmarshal(reqs[0].Body, &body)
	if _, sent := body["ignore_unchanged_counts"]; sent {
		t.Errorf("ignore_unchanged_counts sent though unset: %s", reqs[0].Body)
	}
	ch := body["changes"].([]any)[0].(map[string]any)
	if ch["type"] != "PHYSICAL_COUNT" || ch["physical_count"].(map[string]any)["quantity"] != "0" {
		t.Errorf("change %v", ch)
	}
}

func TestBatchChangeInventoryErrors(t *testing.T) {
	t.Parallel()
	at := time.Now().Add(-time.Second)
	for _, tc := range []struct {
		name       string
		setup      func(*squarefake.Server)
		token      string
		req        squareapi.ChangeRequest
		code       errcode.Code
		status     int
		squareCode string
		changes    []int // indexes the errors name
	}{
		{name: "429", setup: func(f *squarefake.Server) { f.Fail(1, 429, 0) },
			code: errcode.ResourceExhausted, status: 429, squareCode: "RATE_LIMITED"},
		{name: "500", setup: func(f *squarefake.Server) { f.Fail(1, 500, 0) },
			code: errcode.Unavailable, status: 500, squareCode: "INTERNAL_SERVER_ERROR"},
		{name: "503 outage", setup: func(f *squarefake.Server) { f.SetDown(503, time.Now().Add(time.Hour)) },
			code: errcode.Unavailable, status: 503, squareCode: "SERVICE_UNAVAILABLE"},
		{name: "401", token: "revoked",
			code: errcode.Unauthenticated, status: 401, squareCode: "UNAUTHORIZED"},
		{name: "per-change errors", setup: func(f *squarefake.Server) { f.SetCatalog("OBJ000", "OBJ002") },
			req:  squareapi.ChangeRequest{IdempotencyKey: "k", Counts: pcs(4, at)},
			code: errcode.InvalidArgument, status: 400, squareCode: "NOT_FOUND", changes: []int{1, 3}},
		{name: "too many changes", req: squareapi.ChangeRequest{IdempotencyKey: "k", Counts: pcs(101, at)},
			code: errcode.InvalidArgument},
		{name: "no changes", req: squareapi.ChangeRequest{IdempotencyKey: "k"},
			code: errcode.InvalidArgument},
		{name: "no key", req: squareapi.ChangeRequest{Counts: pcs(1, at)},
			code: errcode.InvalidArgument},
		{name: "key too long", req: squareapi.ChangeRequest{IdempotencyKey: strings.Repeat("k", 129), Counts: pcs(1, at)},
			code: errcode.InvalidArgument},
		{name: "negative", req: squareapi.ChangeRequest{IdempotencyKey: "k", Counts: []squareapi.PhysicalCount{{CatalogObjectID: "A", LocationID: "L", Quantity: -1, OccurredAt: at}}},
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
			c, _ := squareapi.New(tok, &squareapi.Options{BaseURL: srv.URL})
			req := tc.req
			if req.IdempotencyKey == "" && req.Counts == nil && tc.status != 0 {
				req = squareapi.ChangeRequest{IdempotencyKey: "k", Counts: pcs(2, at)}
			}
			_, err := c.BatchChangeInventory(context.Background(), req)
			var e *squareapi.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *squareapi.Error", err)
			}
			if e.Code != tc.code || e.HTTPStatus != tc.status {
				t.Fatalf("code %v, status %d; want %v, %d (%v)", e.Code, e.HTTPStatus, tc.code, tc.status, err)
			}
			if tc.squareCode != "" && (len(e.Errors) == 0 || e.Errors[0].Code != tc.squareCode) {
				t.Errorf("errors %+v, want %s", e.Errors, tc.squareCode)
			}
			var idx []int
			for _, ae := range e.Errors {
				if i, ok := squareapi.ChangeIndex(ae); ok {
					idx = append(idx, i)
				}
			}
			if !reflect.DeepEqual(idx, tc.changes) {
				t.Errorf("errors name changes %v, want %v (%+v)", idx, tc.changes, e.Errors)
			}
			if tc.status == 0 && fake.Stats().Requests != 0 {
				t.Error("an invalid request was sent")
			}
		})
	}
}

func TestChangeIndex(t *testing.T) {
	t.Parallel()
	for field, want := range map[string]int{
		"changes[0]": 0, "changes[12].physical_count.quantity": 12,
		"changes": -1, "changes[]": -1, "changes[x]": -1, "changes[-1]": -1, "idempotency_key": -1, "": -1,
	} {
		i, ok := squareapi.ChangeIndex(squareapi.APIError{Field: field})
		if (want < 0 && ok) || (want >= 0 && (!ok || i != want)) {
			t.Errorf("ChangeIndex(%q) = %d, %v; want %d", field, i, ok, want)
		}
	}
}
