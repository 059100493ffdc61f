package squarefake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/square"
	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
	"github.com/stockgate/stockgate/event"
)

// clock is a settable fake time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func newFake(opts squarefake.Options) (*squarefake.Server, *clock) {
	c := &clock{t: t0}
	opts.Now = c.Now
	if opts.RateLimit == 0 {
		opts.RateLimit = -1
	}
	return squarefake.New(&opts), c
}

// call sends one request straight to the handler.
func call(t *testing.T, h http.Handler, path, body string) (int, http.Header, answer) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+squarefake.DefaultToken)
	req.Header.Set("Square-Version", "2025-08-20")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var a answer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("%s: body %q is not JSON: %v", path, rec.Body, err)
	}
	return rec.Code, rec.Result().Header, a
}

// count is one physical count change as JSON.
func count(object, location, qty string, at time.Time) string {
	return fmt.Sprintf(`{"type":"PHYSICAL_COUNT","physical_count":{"catalog_object_id":%q,"location_id":%q,"state":"IN_STOCK","quantity":%q,"occurred_at":%q}}`,
		object, location, qty, at.UTC().Format(time.RFC3339Nano))
}

func batch(key string, changes ...string) string {
	return fmt.Sprintf(`{"idempotency_key":%q,"changes":[%s]}`, key, strings.Join(changes, ","))
}

func TestChangesLimit(t *testing.T) {
	t.Parallel()
	fake, clk := newFake(squarefake.Options{})
	changes := make([]string, 101)
	for i := range changes {
		changes[i] = count(fmt.Sprintf("OBJ%03d", i), "L1", "5", clk.Now().Add(-time.Second))
	}
	status, _, a := call(t, fake, squarefake.ChangesPath, batch("k-101", changes...))
	if status != 400 || len(a.Errors) != 1 || a.Errors[0].Code != "ARRAY_LENGTH_TOO_LONG" ||
		a.Errors[0].Field != "changes" || a.Errors[0].Category != "INVALID_REQUEST_ERROR" {
		t.Fatalf("101 changes: %d %+v, want 400 ARRAY_LENGTH_TOO_LONG at changes", status, a)
	}
	if st := fake.Stats(); st.Applied != 0 || st.Refused != 1 || st.MaxChanges != 101 {
		t.Fatalf("stats after the refused call: %+v", st)
	}
	// The refused key is not used up: the same key with 100 changes works.
	status, _, a = call(t, fake, squarefake.ChangesPath, batch("k-101", changes[:100]...))
	if status != 200 || len(a.Counts) != 100 {
		t.Fatalf("100 changes: %d, %d counts", status, len(a.Counts))
	}
	if st := fake.Stats(); st.Applied != 100 || st.BatchChanges != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestChangesIdempotency(t *testing.T) {
	t.Parallel()
	fake, clk := newFake(squarefake.Options{})
	at := clk.Now().Add(-time.Second)
	body := batch("key-1", count("A", "L1", "7", at))
	status, _, first := call(t, fake, squarefake.ChangesPath, body)
	if status != 200 || len(first.Counts) != 1 || first.Counts[0]["quantity"] != "7" {
		t.Fatalf("first call: %d %+v", status, first)
	}
	fake.SetCount(squarefake.Count{CatalogObjectID: "A", LocationID: "L1", Quantity: "3"}) // a sale meanwhile
	clk.Add(time.Minute)

	// The same request, keys in another order and spaced out: the first
	// answer again, nothing applied.
	same := fmt.Sprintf(`{ "changes": [%s], "idempotency_key": "key-1" }`, count("A", "L1", "7", at))
	status, _, again := call(t, fake, squarefake.ChangesPath, same)
	if status != 200 || len(again.Counts) != 1 || again.Counts[0]["quantity"] != "7" ||
		again.Counts[0]["calculated_at"] != first.Counts[0]["calculated_at"] {
		t.Fatalf("replay: %d %+v, want the first answer %+v", status, again, first)
	}
	if c, _ := fake.Count("A", "L1", "IN_STOCK"); c.Quantity != "3" {
		t.Errorf("the replay applied the count again: %s", c.Quantity)
	}
	// The same key with another request.
	status, _, reused := call(t, fake, squarefake.ChangesPath, batch("key-1", count("A", "L1", "8", at)))
	if status != 400 || len(reused.Errors) != 1 || reused.Errors[0].Code != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("reused key: %d %+v", status, reused)
	}
	st := fake.Stats()
	if st.Replays != 1 || st.Applied != 1 || st.BatchChanges != 1 || st.Refused != 1 {
		t.Errorf("stats %+v", st)
	}
	if ap := fake.Applied(); len(ap) != 1 || ap[0].IdempotencyKey != "key-1" || ap[0].Quantity != "7" {
		t.Errorf("applied %+v", ap)
	}
}

// What BatchChangeInventory writes, BatchRetrieveInventoryCounts reads.
func TestChangesReadBack(t *testing.T) {
	t.Parallel()
	fake, clk := newFake(squarefake.Options{})
	at := clk.Now().Add(-time.Second)
	if status, _, a := call(t, fake, squarefake.ChangesPath, batch("k", count("A", "L1", "4", at), count("B", "L1", "9.5", at))); status != 200 {
		t.Fatalf("%d %+v", status, a)
	}
	status, _, a := call(t, fake, squarefake.Path, `{"location_ids":["L1"],"states":["IN_STOCK"]}`)
	if status != 200 || len(a.Counts) != 2 {
		t.Fatalf("%d %+v", status, a)
	}
	got := map[any]any{}
	for _, c := range a.Counts {
		got[c["catalog_object_id"]] = c["quantity"]
		if c["calculated_at"] != "2026-11-20T10:00:00.000Z" {
			t.Errorf("calculated_at %v, want the fake's now", c["calculated_at"])
		}
	}
	if got["A"] != "4" || got["B"] != "9.5" {
		t.Errorf("read back %v", got)
	}
}

func TestChangesValidation(t *testing.T) {
	t.Parallel()
	now := t0
	for _, tc := range []struct {
		name, change string
		code, field  string
	}{
		{"old occurred_at", count("A", "L1", "1", now.Add(-25*time.Hour)), "INVALID_VALUE", "changes[1].physical_count.occurred_at"},
		{"future occurred_at", count("A", "L1", "1", now.Add(time.Second)), "INVALID_VALUE", "changes[1].physical_count.occurred_at"},
		{"not a time", strings.Replace(count("A", "L1", "1", now), "2026-11-20T10:00:00Z", "yesterday", 1), "INVALID_TIME", "changes[1].physical_count.occurred_at"},
		{"quantity", count("A", "L1", "1.234567", now), "INVALID_VALUE", "changes[1].physical_count.quantity"},
		{"no location", count("A", "", "1", now), "MISSING_REQUIRED_PARAMETER", "changes[1].physical_count.location_id"},
		{"read-only state", strings.Replace(count("A", "L1", "1", now), "IN_STOCK", "IN_TRANSIT", 1), "INVALID_VALUE", "changes[1].physical_count.state"},
		{"unknown state", strings.Replace(count("A", "L1", "1", now), "IN_STOCK", "ON_FIRE", 1), "INVALID_ENUM_VALUE", "changes[1].physical_count.state"},
		{"unknown object", count("NOPE", "L1", "1", now), "NOT_FOUND", "changes[1].physical_count.catalog_object_id"},
		{"adjustment", `{"type":"ADJUSTMENT","adjustment":{}}`, "BAD_REQUEST", "changes[1].type"},
		{"no physical_count", `{"type":"PHYSICAL_COUNT"}`, "MISSING_REQUIRED_PARAMETER", "changes[1].physical_count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake, _ := newFake(squarefake.Options{})
			fake.SetCatalog("A", "B")
			status, _, a := call(t, fake, squarefake.ChangesPath, batch("k", count("B", "L1", "2", now), tc.change))
			if status != 400 || len(a.Errors) != 1 || a.Errors[0].Code != tc.code || a.Errors[0].Field != tc.field {
				t.Fatalf("%d %+v, want 400 %s at %s", status, a.Errors, tc.code, tc.field)
			}
			if _, ok := fake.Count("B", "L1", "IN_STOCK"); ok || fake.Stats().Applied != 0 {
				t.Error("the good change of a refused batch was applied")
			}
		})
	}
	fake, _ := newFake(squarefake.Options{})
	if status, _, a := call(t, fake, squarefake.ChangesPath, `{"changes":[]}`); status != 400 || a.Errors[0].Code != "MISSING_REQUIRED_PARAMETER" {
		t.Errorf("no key: %d %+v", status, a)
	}
}

// A physical count older than the last one applied changes nothing;
// ignore_unchanged_counts skips an equal count unless it is false.
func TestChangesOrderingAndUnchanged(t *testing.T) {
	t.Parallel()
	fake, clk := newFake(squarefake.Options{})
	at := clk.Now().Add(-time.Minute)
	call(t, fake, squarefake.ChangesPath, batch("k1", count("A", "L1", "5", at)))
	call(t, fake, squarefake.ChangesPath, batch("k2", count("A", "L1", "9", at.Add(-time.Second))))
	if c, _ := fake.Count("A", "L1", "IN_STOCK"); c.Quantity != "5" {
		t.Errorf("an older count replaced a newer one: %s", c.Quantity)
	}
	call(t, fake, squarefake.ChangesPath, batch("k3", count("A", "L1", "5.000", at)))
	body := fmt.Sprintf(`{"idempotency_key":"k4","ignore_unchanged_counts":false,"changes":[%s]}`, count("A", "L1", "5", at))
	call(t, fake, squarefake.ChangesPath, body)
	if st := fake.Stats(); st.Applied != 2 || st.Superseded != 1 || st.Ignored != 1 {
		t.Errorf("stats %+v, want 2 applied, 1 superseded, 1 ignored", st)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	fake, clk := newFake(squarefake.Options{RateLimit: 2, Burst: 2})
	for i := range 3 {
		status, h, a := call(t, fake, squarefake.Path, `{}`)
		if i < 2 && status != 200 {
			t.Fatalf("request %d: %d within the burst", i, status)
		}
		if i == 2 && (status != 429 || a.Errors[0].Category != "RATE_LIMIT_ERROR" || a.Errors[0].Code != "RATE_LIMITED" || h.Get("Retry-After") != "") {
			t.Fatalf("request %d: %d %+v, want 429 RATE_LIMITED", i, status, a)
		}
	}
	clk.Add(500 * time.Millisecond) // one request refilled
	if status, _, _ := call(t, fake, squarefake.ChangesPath, batch("k", count("A", "L", "1", clk.Now()))); status != 200 {
		t.Errorf("after the refill: %d", status)
	}
	if st := fake.Stats(); st.Throttled != 1 || st.Requests != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestSetDown(t *testing.T) {
	t.Parallel()
	fake, clk := newFake(squarefake.Options{})
	fake.SetDown(503, clk.Now().Add(time.Minute))
	if status, _, a := call(t, fake, squarefake.ChangesPath, batch("k", count("A", "L", "1", clk.Now()))); status != 503 || a.Errors[0].Code != "SERVICE_UNAVAILABLE" {
		t.Fatalf("down: %d %+v", status, a)
	}
	clk.Add(time.Minute)
	if status, _, _ := call(t, fake, squarefake.ChangesPath, batch("k", count("A", "L", "1", clk.Now()))); status != 200 {
		t.Fatalf("after the outage: %d", status)
	}
	if st := fake.Stats(); st.Down != 1 || st.Applied != 1 {
		t.Errorf("stats %+v", st)
	}
}

// The webhook the fake builds is one the connector reads.
func TestCountUpdatedEvent(t *testing.T) {
	t.Parallel()
	fake, clk := newFake(squarefake.Options{})
	call(t, fake, squarefake.ChangesPath, batch("k", count("VAR1", "LOC1", "12", clk.Now())))
	body, ok := fake.CountUpdatedEvent("VAR1", "LOC1")
	if !ok {
		t.Fatal("no event for a count the fake holds")
	}
	c, err := square.New(square.Config{ID: "sq", SignatureKeys: []string{"key"},
		Locations: map[string]string{"LOC1": "berlin"}, Items: map[string]string{"VAR1": "SKU-1"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Normalize(context.Background(), &connectors.Request{Body: body, ReceivedAt: clk.Now()})
	if err != nil || len(res.Events) != 1 {
		t.Fatalf("Normalize: %v %+v", err, res)
	}
	m := res.Events[0].Movement
	if res.Events[0].Type != event.StockCounted || m.SKU != "SKU-1" || m.Location != "berlin" || m.Quantity != 12 || !m.OccurredAt.Equal(clk.Now()) {
		t.Errorf("event %+v", res.Events[0])
	}
	if _, ok := fake.CountUpdatedEvent("VAR1", "OTHER"); ok {
		t.Error("an event for a count the fake does not hold")
	}
}

// cutReader yields its bytes and then the error net/http's server gives a
// handler whose client closed the connection mid-body.
type cutReader struct{ r *strings.Reader }

func (c cutReader) Read(p []byte) (int, error) {
	if c.r.Len() == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	return c.r.Read(p)
}

// TestChangesCutBody: a call whose client went away mid-body (a canceled
// context) is neither answered nor refused, applies nothing, and the same
// call sent whole afterwards is applied.
func TestChangesCutBody(t *testing.T) {
	t.Parallel()
	fake, clk := newFake(squarefake.Options{})
	body := batch("k-cut", count("OBJ1", "L1", "7", clk.Now().Add(-time.Second)))
	req := httptest.NewRequest(http.MethodPost, squarefake.ChangesPath, cutReader{strings.NewReader(body[:len(body)/2])})
	req.Header.Set("Authorization", "Bearer "+squarefake.DefaultToken)
	rec := httptest.NewRecorder()
	fake.ServeHTTP(rec, req)
	if rec.Body.Len() != 0 {
		t.Errorf("a cut request was answered %d %q", rec.Code, rec.Body)
	}
	if st := fake.Stats(); st.Cut != 1 || st.Refused != 0 || st.Applied != 0 || st.Requests != 1 {
		t.Fatalf("after a cut request: %+v, want 1 request, 1 cut, none refused or applied", st)
	}
	if status, _, a := call(t, fake, squarefake.ChangesPath, body); status != 200 || len(a.Counts) != 1 {
		t.Fatalf("the whole call after the cut one: %d %+v", status, a)
	}
	if st := fake.Stats(); st.Applied != 1 || st.Replays != 0 {
		t.Errorf("after the whole call: %+v, want it applied, not replayed", st)
	}
}
