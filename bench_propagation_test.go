package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/pos"
	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
)

// BenchmarkPropagation measures issue 4's propagation latency: a sale on
// one channel (a signed POS webhook from the Berlin store) to the new
// quantity visible at another channel's fake (the Shopify fake), through
// the whole gateway in process: webhook, store, relay, bus, ledger, relay,
// bus, dispatcher with the default window (250 ms, 1 s maximum delay) and
// the Shopify writer. Load is light: besides the measured sales, one sale
// every 100 ms on other SKUs. Each op is one sale, measured from before
// the webhook is sent to the moment the fake has applied the new quantity;
// p50 and p99 are reported in milliseconds. The goal is p99 < 1 s.
//
// It is a benchmark only (normal test runs skip it). Run it with enough
// samples for a p99, e.g.
//
//	go test -run '^$' -bench BenchmarkPropagation -benchtime 200x .
func BenchmarkPropagation(b *testing.B) {
	const (
		measured   = 10 // SKUs 0..9 carry the measured sales
		background = 10 // SKUs 10..19 the background load
		shopLoc    = 655441491
		itemBase   = 808950000
		initial    = 1_000_000
	)
	skuOf := func(i int) string { return fmt.Sprintf("PROP-%02d", i) }
	fake := shopifyfake.New(shopifyfake.Options{})
	watch := &levelWatch{fake: fake, loc: shopLoc}
	srv := httptest.NewServer(watch)
	defer srv.Close()

	const posSecret = "pos-secret-bench-0123456789"
	b.Setenv("BENCH_POS_SECRET", posSecret)
	b.Setenv("BENCH_SHOPIFY_SECRET", testSecret)
	b.Setenv("BENCH_SHOPIFY_TOKEN", shopifyfake.DefaultToken)
	b.Setenv("BENCH_ADMIN_KEY", testAdminKey)
	var items []string
	for i := range measured + background {
		items = append(items, fmt.Sprintf(`"%d": %s`, itemBase+i, skuOf(i)))
	}
	dir := b.TempDir()
	cfg := fmt.Sprintf(`addr: 127.0.0.1:0
dataDir: %s
keys:
  - {name: ops, role: admin, secret: env:BENCH_ADMIN_KEY}
connectors:
  - id: shop
    kind: shopify
    shop: bench.myshopify.com
    secrets: [env:BENCH_SHOPIFY_SECRET]
    defaultLocation: web
    locations: {"%d": berlin}
    items: {%s}
    api: {baseURL: %s, token: env:BENCH_SHOPIFY_TOKEN}
    sync:
      locationId: %d
      rule: {locations: [berlin]}
  - id: till
    kind: pos
    secrets: [env:BENCH_POS_SECRET]
`, filepath.Join(dir, "data"), shopLoc, strings.Join(items, ", "), srv.URL, shopLoc)
	path := filepath.Join(dir, "stockgate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	base := benchGateway(b, "--config", path)

	var seq atomic.Int64
	sell := func(sku, kind string, qty int) {
		n := seq.Add(1)
		now := time.Now().UTC()
		body := []byte(fmt.Sprintf(`{"idempotencyKey":"bench-%d","store":"berlin","register":"1","sentAt":%q,"movements":[{"type":%q,"sku":%q,"quantity":%d,"at":%q,"ref":"r-%d"}]}`,
			n, now.Format(time.RFC3339Nano), kind, sku, qty, now.Format(time.RFC3339Nano), n))
		req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/till", strings.NewReader(string(body)))
		req.Header.Set("Stockgate-Signature", pos.Sign(posSecret, now, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Errorf("POS webhook answered %d", resp.StatusCode)
		}
	}

	// Stock every SKU and wait for the first sync.
	want := make(map[int]int64)
	for i := range measured + background {
		sell(skuOf(i), "receipt", initial)
		want[i] = initial
	}
	for i := range measured + background {
		if _, err := watch.wait(itemBase+int64(i), initial, 30*time.Second); err != nil {
			b.Fatalf("initial sync of %s: %v", skuOf(i), err)
		}
	}

	// Light load: a sale every 100 ms on the background SKUs.
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
				sell(skuOf(measured+i%background), "sale", 1)
			}
		}
	}()
	defer func() { close(stop); bg.Wait() }()

	var lat []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		k := i % measured
		i++
		want[k]--
		ready := watch.expect(itemBase+int64(k), want[k])
		began := time.Now()
		sell(skuOf(k), "sale", 1)
		select {
		case at := <-ready:
			lat = append(lat, at.Sub(began))
		case <-time.After(10 * time.Second):
			q, _ := fake.Level(itemBase+int64(k), shopLoc)
			b.Fatalf("%s: Shopify shows %d 10 s after the sale, want %d", skuOf(k), q, want[k])
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	if st := fake.Stats(); st.Throttled != 0 {
		b.Errorf("the fake throttled %d calls", st.Throttled)
	}
}

// levelWatch serves the Shopify fake and tells waiters the moment an
// inventory item shows the quantity they expect.
type levelWatch struct {
	fake *shopifyfake.Server
	loc  int64

	mu      sync.Mutex
	waiters []levelWaiter
}

type levelWaiter struct {
	item, qty int64
	ready     chan time.Time
}

func (w *levelWatch) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w.fake.Handler().ServeHTTP(rw, r)
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	kept := w.waiters[:0]
	for _, x := range w.waiters {
		if q, ok := w.fake.Level(x.item, w.loc); ok && q == x.qty {
			x.ready <- now
			continue
		}
		kept = append(kept, x)
	}
	w.waiters = kept
}

// expect returns a channel that receives the time item first shows qty
// after the next request that reaches the fake.
func (w *levelWatch) expect(item, qty int64) <-chan time.Time {
	ch := make(chan time.Time, 1)
	w.mu.Lock()
	w.waiters = append(w.waiters, levelWaiter{item, qty, ch})
	w.mu.Unlock()
	return ch
}

// wait waits until item shows qty.
func (w *levelWatch) wait(item, qty int64, limit time.Duration) (time.Time, error) {
	ready := w.expect(item, qty)
	if q, ok := w.fake.Level(item, w.loc); ok && q == qty {
		return time.Now(), nil
	}
	select {
	case at := <-ready:
		return at, nil
	case <-time.After(limit):
		q, _ := w.fake.Level(item, w.loc)
		return time.Time{}, fmt.Errorf("shows %d after %v, want %d", q, limit, qty)
	}
}

// benchGateway runs the gateway in process for a benchmark and returns its
// base URL; it is shut down when the benchmark ends.
func benchGateway(b *testing.B, args ...string) string {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, io.Discard, func(a string) { addrc <- a }) }()
	select {
	case addr := <-addrc:
		b.Cleanup(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					b.Errorf("gateway exited with %v", err)
				}
			case <-time.After(20 * time.Second):
				b.Error("gateway did not shut down in 20 s")
			}
		})
		return "http://" + addr
	case err := <-done:
		cancel()
		b.Fatalf("gateway did not start: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		b.Fatal("gateway did not start in 20 s")
	}
	return ""
}
