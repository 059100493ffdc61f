package shopifywriter_test

import (
	"math/rand/v2"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
	"github.com/stockgate/stockgate/dispatch"
)

// The acceptance tests. They run in testing/synctest bubbles: the
// fake shop, its bucket, the Dispatcher's windows, backoff and budget
// waits and the breaker's timeout all run on the bubble's fake clock, and
// HTTP/1.1 runs for real over in-memory pipes. A Standard plan restores
// 100 points/s in fake seconds, so the numbers are the production ones,
// only faster to get.

// sample is the state of a run at one time.
type sample struct {
	at    time.Time
	spent float64 // actual cost charged by the shop
	due   int     // SKUs waiting only for budget
	depth int
	lag   time.Duration
}

// watch samples the run every period until stop is closed.
func watch(r *running, s *shop, period time.Duration, stop <-chan struct{}) <-chan []sample {
	out := make(chan []sample, 1)
	go func() {
		var ss []sample
		for {
			st := r.Status()[0]
			ss = append(ss, sample{at: time.Now(), spent: s.spent(), due: st.Due, depth: st.QueueDepth, lag: st.Lag})
			select {
			case <-stop:
				out <- ss
				return
			case <-time.After(period):
			}
		}
	}()
	return out
}

// utilisation is the share of the restore rate spent over the longest
// stretch of samples that all had a backlog, leaving out the first
// skip of it (the limiter starts below the shop's bucket on purpose).
func utilisation(ss []sample, rate float64, skip time.Duration) (float64, time.Duration) {
	best, bestDur := 0.0, time.Duration(0)
	for i := 0; i < len(ss); {
		if ss[i].due == 0 {
			i++
			continue
		}
		j := i
		for j+1 < len(ss) && ss[j+1].due > 0 {
			j++
		}
		from := i
		for from < j && ss[from].at.Sub(ss[i].at) < skip {
			from++
		}
		if d := ss[j].at.Sub(ss[from].at); d > bestDur {
			bestDur = d
			best = (ss[j].spent - ss[from].spent) / (rate * d.Seconds())
		}
		i = j + 1
	}
	return best, bestDur
}

// TestFlashSaleStandardPlan: 100,000 availability changes over 5,000 SKUs
// against a Standard-plan shop: no THROTTLED answer, at least 90 % of the
// restore rate spent while a backlog exists, and at the end the shop shows
// the ledger's channel quantity of every SKU.
func TestFlashSaleStandardPlan(t *testing.T) {
	changes, perSecond := 100_000, 5_000
	if os.Getenv("STOCKGATE_STRESS") != "" {
		changes, perSecond = 1_000_000, 10_000
	}
	const skus = 5_000
	synctest.Test(t, func(t *testing.T) {
		s := newShop(t, shopifyfake.Options{Plan: shopifyfake.Standard})
		l := newLedger(t)
		stock(l, skus)
		w := newWriter(t, s, "shopify-eu", skus, nil)
		r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, nil)

		stop := make(chan struct{})
		samples := watch(r, s, 250*time.Millisecond, stop)
		began := time.Now()
		l.FlashSale(r.Src, rand.New(rand.NewPCG(1, 2)), skuName, skus, changes, perSecond)
		fed := time.Now()
		r.Idle(t, 10*time.Minute)
		close(stop)
		ss := <-samples
		drained := time.Now()

		st, rs := r.Status()[0], s.Stats()
		util, over := utilisation(ss, shopifyfake.Standard.RestoreRate(), 5*time.Second)
		writes, qs := s.appliedSince(began)
		t.Logf("%d changes over %d SKUs fed in %v, drained %v later", changes, skus, fed.Sub(began), drained.Sub(fed))
		t.Logf("shop: %d requests, %d throttled, %d writes applying %d quantities (%.0f per write), %.0f points",
			rs.Requests, rs.Throttled, writes, qs, float64(qs)/float64(max(1, writes)), s.spent())
		var maxLag time.Duration
		for _, x := range ss {
			maxLag = max(maxLag, x.lag)
		}
		t.Logf("restore rate used while backlogged: %.1f%% over %v; largest lag %v", 100*util, over, maxLag)
		t.Logf("status: %+v", st)
		if rs.Throttled != 0 || st.Throttled != 0 {
			t.Errorf("throttled %d times", rs.Throttled)
		}
		if over < 5*time.Second {
			t.Errorf("backlog lasted only %v: the test did not load the shop", over)
		}
		if util < 0.9 {
			t.Errorf("used %.1f%% of the restore rate while backlogged, want ≥ 90%%", 100*util)
		}
		if util > 1.01 {
			t.Errorf("used %.1f%% of the restore rate: more than the shop restores", 100*util)
		}
		converged(t, l, s, skus)
	})
}

// TestKillWhileDraining: the Dispatcher is stopped dead in the middle of a
// backlog, with everything it held in memory (the pending SKUs, the
// Writer's knowledge of the shop) lost, and the ledger keeps moving while
// nothing runs. A new Dispatcher over the same store converges every SKU.
//
// The shop's bucket is small (100 points) so that it is empty at the kill:
// the new Writer's first call is throttled, and that must be harmless.
func TestKillWhileDraining(t *testing.T) {
	const skus = 5_000
	synctest.Test(t, func(t *testing.T) {
		s := newShop(t, shopifyfake.Options{Plan: shopifyfake.Standard, MaximumAvailable: 100})
		l := newLedger(t)
		stock(l, skus)
		rnd := rand.New(rand.NewPCG(3, 4))
		first := start(t, l, []dispatch.Account{{Writer: newWriter(t, s, "shopify-eu", skus, nil), Rule: rule}}, nil)
		l.FlashSale(first.Src, rnd, skuName, skus, 30_000, 10_000)
		depth := first.Status()[0].QueueDepth
		if depth < 1_000 {
			t.Fatalf("only %d SKUs pending at the kill: no backlog to lose", depth)
		}
		first.Stop() // kill: the queue and the writer's memory are gone
		before := s.Stats()

		// The ledger moves while nothing runs; nobody hears of it.
		for i := 0; i < 2_000; i++ {
			l.Move(skuName(rnd.IntN(skus)), "hamburg", -1)
		}

		// Restart at once: the shop's bucket is still drained, and the new
		// limiter does not know it.
		second := start(t, l, []dispatch.Account{{Writer: newWriter(t, s, "shopify-eu", skus, nil), Rule: rule}}, nil)
		began := time.Now()
		second.Idle(t, 10*time.Minute)
		after := s.Stats()
		t.Logf("killed with %d SKUs pending; restart converged in %v with %d requests (%d throttled)",
			depth, time.Since(began), after.Requests-before.Requests, after.Throttled-before.Throttled)
		converged(t, l, s, skus)
	})
}

// TestOutage: the shop answers 503 for a minute while sales go on. The
// breaker opens, the requests during the outage stay few (counted at the
// shop), and once the shop is back the backlog drains with nothing lost.
func TestOutage(t *testing.T) {
	const skus = 2_000
	synctest.Test(t, func(t *testing.T) {
		s := newShop(t, shopifyfake.Options{Plan: shopifyfake.Standard})
		l := newLedger(t)
		stock(l, skus)
		r := start(t, l, []dispatch.Account{{Writer: newWriter(t, s, "shopify-eu", skus, nil), Rule: rule}}, nil)
		r.Idle(t, time.Minute)
		converged(t, l, s, skus)

		down := time.Now()
		s.SetDown(503, down.Add(time.Minute))
		rnd := rand.New(rand.NewPCG(5, 6))
		sawOpen := make(chan bool, 1)
		go func() {
			open := false
			for time.Since(down) < time.Minute {
				open = open || r.Status()[0].BreakerState == "open"
				time.Sleep(100 * time.Millisecond)
			}
			sawOpen <- open
		}()
		l.FlashSale(r.Src, rnd, skuName, skus, 20_000, 500) // 40 s of sales during the outage
		time.Sleep(time.Until(down.Add(time.Minute)))
		during := s.Stats().Down
		st := r.Status()[0]
		t.Logf("during the outage: %d requests, all answered 503; breaker %s; %d SKUs pending, lag %v; last error %q",
			during, st.BreakerState, st.QueueDepth, st.Lag, st.LastError)
		if !<-sawOpen {
			t.Error("the breaker never opened")
		}
		// 5 failures open the breaker (backoff 0.25 s, 0.5 s, 1 s, 2 s
		// between them), then one probe per 30 s timeout.
		if during > 8 {
			t.Errorf("%d requests during a one-minute outage, want at most 8", during)
		}
		if st.QueueDepth == 0 {
			t.Error("nothing pending after the outage: the test lost its backlog")
		}
		back := time.Now()
		r.Idle(t, 5*time.Minute)
		t.Logf("drained %v after the shop came back", time.Since(back))
		converged(t, l, s, skus)
		if s.Stats().Throttled != 0 {
			t.Errorf("throttled %d times", s.Stats().Throttled)
		}
	})
}
