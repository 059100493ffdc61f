package shopifywriter_test

import (
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/shopify/admin"
	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/shopifywriter"
)

// loopbackWriter starts the fake shop on a real loopback port (real time,
// real sockets) and returns a Writer of it.
func loopbackWriter(tb testing.TB, opts shopifyfake.Options, n int) (*shopifyfake.Server, *shopifywriter.Writer) {
	tb.Helper()
	s := shopifyfake.New(opts)
	if err := s.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	c, err := admin.New(admin.Options{Shop: s.URL(), Token: shopifyfake.DefaultToken,
		HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	if err != nil {
		tb.Fatal(err)
	}
	w, err := shopifywriter.New(shopifywriter.Options{Account: "shopify-eu", Client: c, LocationID: shopLocation, Items: items(n)})
	if err != nil {
		tb.Fatal(err)
	}
	return s, w
}

// TestLoopback runs a short flash sale on real time against the fake shop
// on a loopback port.
func TestLoopback(t *testing.T) {
	const skus = 2_000
	s, w := loopbackWriter(t, shopifyfake.Options{Plan: shopifyfake.Plus}, skus)
	l := newLedger(t)
	stock(l, skus)
	r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
	rnd := rand.New(rand.NewPCG(9, 10))
	for range 10_000 {
		r.Src <- l.Move(skuName(rnd.IntN(skus)), "berlin", -1)
	}
	time.Sleep(300 * time.Millisecond)
	r.Idle(t, 30*time.Second)
	for i := range skus {
		if got, _ := s.Level(itemID(i), shopLocation); got != l.Want(rule, skuName(i)) {
			t.Fatalf("%s: shop shows %d, ledger says %d", skuName(i), got, l.Want(rule, skuName(i)))
		}
	}
	if st := s.Stats(); st.Throttled != 0 {
		t.Errorf("throttled %d times", st.Throttled)
	}
}

// BenchmarkDeliveredPerShop measures the updates per second one Shopify
// shop receives while a backlog drains (real time, loopback HTTP), against
// the most its plan allows: restoreRate ÷ cost per call × 250.
func BenchmarkDeliveredPerShop(b *testing.B) {
	for _, plan := range []shopifyfake.Plan{shopifyfake.Standard, shopifyfake.Plus} {
		b.Run(plan.String(), func(b *testing.B) {
			const skus = 5_000
			s, w := loopbackWriter(b, shopifyfake.Options{Plan: plan}, skus)
			l := newLedger(b)
			stock(l, skus)
			r := start(b, l, []dispatch.Account{{Writer: w, Rule: rule}}, &dispatch.Options{
				Window: time.Millisecond, MaxDelay: time.Millisecond, ReconcileInterval: -1,
			})
			r.Idle(b, time.Minute)
			st0 := r.Status()[0]
			b.ReportAllocs()
			b.ResetTimer()
			began := time.Now()
			updates := 0
			for b.Loop() {
				for i := range skus {
					r.Notify(l.Move(skuName(i), "berlin", -1))
				}
				r.Idle(b, time.Minute)
				updates += skus
				if got, _ := s.Level(itemID(7), shopLocation); got != l.Want(rule, skuName(7)) {
					b.Fatalf("shop shows %d, ledger says %d", got, l.Want(rule, skuName(7)))
				}
			}
			elapsed := time.Since(began)
			b.StopTimer()
			st := r.Status()[0]
			perCall := (st.Cost - st0.Cost) / float64(st.Calls-st0.Calls)
			limit := plan.RestoreRate() / perCall * 250
			rate := float64(updates) / elapsed.Seconds()
			b.ReportMetric(rate, "updates/s")
			b.ReportMetric(limit, "max-updates/s")
			b.ReportMetric(rate/limit, "fraction")
			if s.Stats().Throttled != 0 {
				b.Errorf("throttled %d times", s.Stats().Throttled)
			}
		})
	}
}
