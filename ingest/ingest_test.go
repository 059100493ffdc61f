package ingest_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/shopify"
	"github.com/stockgate/stockgate/ingest"
	"github.com/stockgate/stockgate/ledger"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/boltstore"
	"github.com/stockgate/stockgate/store/memstore"
)

const secret = "ingest-test-secret"

func newHandler(tb testing.TB, st *store.Store) http.Handler {
	tb.Helper()
	c, err := shopify.New(shopify.Config{ID: "shop", Secrets: []string{secret}, DefaultLocation: "web"})
	if err != nil {
		tb.Fatal(err)
	}
	h := ingest.New(st, nil)
	h.Register(c)
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/{connectorID}", h)
	return mux
}

func order(id int64) []byte {
	return []byte(fmt.Sprintf(`{"id":%d,"created_at":"2026-11-20T10:00:00Z","updated_at":"2026-11-20T10:00:00Z","location_id":null,"line_items":[{"id":%d,"variant_id":7,"sku":"SKU-%d","quantity":1}]}`, id, id*10, id%100))
}

func request(body []byte, eventID string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/shop", bytes.NewReader(body))
	r.Header.Set(shopify.HeaderTopic, "orders/create")
	r.Header.Set(shopify.HeaderShopDomain, "bench.myshopify.com")
	r.Header.Set(shopify.HeaderEventID, eventID)
	r.Header.Set(shopify.HeaderHMAC, shopify.Sign(secret, body))
	return r
}

func TestAcceptedEventsAreInTheOutboxOnce(t *testing.T) {
	t.Parallel()
	st := store.New(memstore.New(nil))
	defer st.Close()
	h := newHandler(t, st)
	for i := 0; i < 2; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, request(order(1), "evt-1"))
		want := []string{`"accepted"`, `"duplicate"`}[i]
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
			t.Fatalf("delivery %d: %d %s, want 200 %s", i+1, w.Code, w.Body, want)
		}
	}
	out, _ := st.Outbox(t.Context(), 0, 10)
	if len(out) != 1 || out[0].Topic != ledger.TopicInbound || out[0].Key != "SKU-1" {
		t.Fatalf("outbox = %+v; want one inbound event for SKU-1", out)
	}
}

// TestUnmappedTopicIsIgnoredVisibly: a signed delivery of a topic the
// connector does not map (a subscription made by mistake) is answered 200
// "ignored" with the reason, every time (nothing was stored, not even its
// dedup key), and a topic it maps next to it is still accepted.
func TestUnmappedTopicIsIgnoredVisibly(t *testing.T) {
	t.Parallel()
	st := store.New(memstore.New(nil))
	defer st.Close()
	h := newHandler(t, st)
	for i := range 2 {
		r := request([]byte(`{"id":1,"email":"a@example.com"}`), "evt-customer")
		r.Header.Set(shopify.HeaderTopic, "customers/create")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"status":"ignored"`) || !strings.Contains(w.Body.String(), `customers/create`) {
			t.Fatalf("delivery %d of customers/create: %d %s, want 200 ignored naming the topic", i+1, w.Code, w.Body)
		}
	}
	if out, _ := st.Outbox(t.Context(), 0, 10); len(out) != 0 {
		t.Fatalf("outbox after ignored deliveries = %+v", out)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, request(order(3), "evt-customer"))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"accepted"`) {
		t.Fatalf("an order with the same event id: %d %s", w.Code, w.Body)
	}
	// A topic that only teaches mappings is not ignored.
	r := request([]byte(`{"id":808950810,"sku":"SKU-M","tracked":true,"updated_at":"2026-11-20T10:00:00Z"}`), "evt-item")
	r.Header.Set(shopify.HeaderTopic, "inventory_items/update")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"accepted"`) {
		t.Fatalf("inventory_items/update: %d %s, want accepted", w.Code, w.Body)
	}
}

// TestAcceptStoresNothingIgnored: a result its connector ignored (an SQS
// notification of a type stockgate does not map goes through Accept, not
// ServeHTTP) stores nothing, not even its dedup key.
func TestAcceptStoresNothingIgnored(t *testing.T) {
	t.Parallel()
	st := store.New(memstore.New(nil))
	defer st.Close()
	h := ingest.New(st, nil)
	res := &connectors.Result{DedupKey: "amazon:n-1", Topic: "REPORT_PROCESSING_FINISHED", Ignored: "not mapped"}
	for i := range 2 {
		dup, err := h.Accept(t.Context(), res, time.Now())
		if err != nil || dup {
			t.Fatalf("accept %d of an ignored result: duplicate %v, %v", i+1, dup, err)
		}
	}
	// The dedup key was not stored: the same key with an event is new.
	err := st.Accept(t.Context(), store.Acceptance{DedupKey: "amazon:n-1", Messages: []store.Message{{Topic: "inbound", EventID: "e", Body: []byte("{}")}}})
	if err != nil {
		t.Fatalf("the ignored result's dedup key was kept: %v", err)
	}
}

func TestStoreDownIs503AndNothingIsLost(t *testing.T) {
	t.Parallel()
	st := store.New(memstore.New(nil))
	h := newHandler(t, st)
	st.Close()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, request(order(2), "evt-2"))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("store closed: %d %s, want 503 with Retry-After", w.Code, w.Body)
	}
}

// BenchmarkIngestOrderWebhook measures the whole ingest path of a signed
// one-line orders/create webhook: read, verify, normalize, encode, store
// durably with its dedup key, answer. Run in parallel, it shows group
// commit: many requests share one fsync.
func BenchmarkIngestOrderWebhook(b *testing.B) {
	for _, bc := range []struct {
		name string
		open func(b *testing.B) store.Driver
	}{
		{"memstore", func(*testing.B) store.Driver { return memstore.New(nil) }},
		{"boltstore", func(b *testing.B) store.Driver {
			d, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			return d
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st := store.New(bc.open(b))
			defer st.Close()
			h := newHandler(b, st)
			var n atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := n.Add(1)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, request(order(id), fmt.Sprintf("evt-%d", id)))
					if w.Code != http.StatusOK {
						b.Fatalf("%d %s", w.Code, w.Body)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
		})
	}
}

// TestAnsweredTimesEveryAnswer: Answered is called once per webhook,
// whatever the answer, with the time the handler took.
func TestAnsweredTimesEveryAnswer(t *testing.T) {
	t.Parallel()
	st := store.New(memstore.New(nil))
	defer st.Close()
	c, err := shopify.New(shopify.Config{ID: "shop", Secrets: []string{secret}, DefaultLocation: "web"})
	if err != nil {
		t.Fatal(err)
	}
	var times []time.Duration
	h := ingest.New(st, &ingest.Options{
		Answered: func(d time.Duration) { times = append(times, d) },
	})
	h.Register(c)
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/{connectorID}", h)

	bad := request(order(2), "evt-2")
	bad.Header.Set(shopify.HeaderHMAC, "bm90IGEgc2lnbmF0dXJl")
	for i, r := range []*http.Request{request(order(1), "evt-1"), bad, httptest.NewRequest(http.MethodPost, "/webhooks/nobody", nil)} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if want := []int{http.StatusOK, http.StatusUnauthorized, http.StatusNotFound}[i]; w.Code != want {
			t.Fatalf("request %d: %d, want %d", i, w.Code, want)
		}
	}
	if len(times) != 3 {
		t.Fatalf("Answered called %d times for 3 webhooks", len(times))
	}
	for i, d := range times {
		if d <= 0 || d > 10*time.Second {
			t.Fatalf("answer %d timed %v", i, d)
		}
	}
}
