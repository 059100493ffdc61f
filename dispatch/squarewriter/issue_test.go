package squarewriter_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/squarewriter"
)

// The acceptance tests for Square. They run in testing/synctest
// bubbles: the fake, its rate limit, the Dispatcher's windows, backoff and
// budget waits and the breaker's timeout all run on the bubble's fake
// clock, and HTTP/1.1 runs for real over in-memory pipes.

// sample is the state of a run at one time.
type sample struct {
	at       time.Time
	requests int // requests the fake received
	due      int // SKUs waiting only for budget
}

// watch samples the run every period until stop is closed.
func watch(r *running, m *merchant, period time.Duration, stop <-chan struct{}) <-chan []sample {
	out := make(chan []sample, 1)
	go func() {
		var ss []sample
		for {
			ss = append(ss, sample{at: time.Now(), requests: m.Stats().Requests, due: r.Status()[0].Due})
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

// utilisation is the share of the call rate spent over the longest
// stretch of samples that all had a backlog, leaving out its first skip.
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
			best = float64(ss[j].requests-ss[from].requests) / (rate * d.Seconds())
		}
		i = j + 1
	}
	return best, bestDur
}

// TestFlashSale: 50,000 availability changes over 5,000 SKUs through a
// real Dispatcher (STOCKGATE_STRESS=1: a million): Square never answers
// 429, no call carries more than 100 changes and, under the backlog, calls
// are full and the call rate is spent; at the end Square shows the
// ledger's channel quantity of every SKU.
func TestFlashSale(t *testing.T) {
	const skus = 5_000
	changes, perSecond := 50_000, 5_000
	if os.Getenv("STOCKGATE_STRESS") != "" {
		changes, perSecond = 1_000_000, 10_000
	}
	synctest.Test(t, func(t *testing.T) {
		m := newMerchant(t, squarefake.Options{})
		l := newLedger(t)
		stock(l, skus)
		r := start(t, l, []dispatch.Account{{Writer: newWriter(t, m, skus, nil), Rule: rule}}, nil)

		stop := make(chan struct{})
		samples := watch(r, m, 250*time.Millisecond, stop)
		began := time.Now()
		l.FlashSale(r.Src, rand.New(rand.NewPCG(1, 2)), skuName, skus, changes, perSecond)
		fed := time.Now()
		r.Idle(t, 10*time.Minute)
		close(stop)
		ss := <-samples

		st, fs := r.Status()[0], m.Stats()
		util, over := utilisation(ss, squarewriter.DefaultRequestsPerSecond, 5*time.Second)
		var full, n int
		for _, c := range m.batchCalls() {
			if c.at.After(began.Add(5*time.Second)) && c.at.Before(fed) {
				n++
				full += c.changes
			}
		}
		t.Logf("%d changes over %d SKUs fed in %v, drained %v later", changes, skus, fed.Sub(began), time.Since(fed))
		t.Logf("Square: %d requests, %d batch-creates, %d throttled, %d refused, %d counts applied, %d ignored; largest batch %d; %.1f changes per call while fed",
			fs.Requests, fs.BatchChanges, fs.Throttled, fs.Refused, fs.Applied, fs.Ignored, fs.MaxChanges, float64(full)/float64(max(1, n)))
		t.Logf("call rate used while backlogged: %.1f%% over %v; status %+v", 100*util, over, st)
		if fs.Throttled != 0 || st.Throttled != 0 {
			t.Errorf("throttled %d times", fs.Throttled)
		}
		if fs.MaxChanges > squarefake.MaxChanges || fs.Refused != 0 {
			t.Errorf("largest batch %d, %d refused calls", fs.MaxChanges, fs.Refused)
		}
		if mean := float64(full) / float64(max(1, n)); mean < 90 {
			t.Errorf("%.1f changes per call under a backlog, want ≥ 90", mean)
		}
		if over < 5*time.Second {
			t.Errorf("backlog lasted only %v: the test did not load the account", over)
		}
		if util < 0.9 || util > 1.01 {
			t.Errorf("used %.1f%% of the call rate while backlogged, want 90–101%%", 100*util)
		}
		converged(t, l, m, skus)
	})
}

// TestKillWhileDraining: the Dispatcher is stopped dead in the middle of a
// backlog, with everything it held in memory (the pending SKUs, the
// Writer's stamps) lost, and the ledger keeps moving while nothing runs. A
// new Dispatcher over the same store converges every SKU.
//
// The fake's rate limit equals the Writer's, so its bucket is empty at the
// kill and the new Writer, starting full, is throttled at first: that must
// be harmless.
func TestKillWhileDraining(t *testing.T) {
	const skus = 5_000
	synctest.Test(t, func(t *testing.T) {
		m := newMerchant(t, squarefake.Options{RateLimit: squarewriter.DefaultRequestsPerSecond, Burst: squarewriter.DefaultRequestsPerSecond})
		l := newLedger(t)
		stock(l, skus)
		rnd := rand.New(rand.NewPCG(3, 4))
		first := start(t, l, []dispatch.Account{{Writer: newWriter(t, m, skus, nil), Rule: rule}}, nil)
		l.FlashSale(first.Src, rnd, skuName, skus, 30_000, 10_000)
		depth := first.Status()[0].QueueDepth
		if depth < 1_000 {
			t.Fatalf("only %d SKUs pending at the kill: no backlog to lose", depth)
		}
		first.Stop()
		before := m.Stats()

		for i := 0; i < 2_000; i++ { // the ledger moves while nothing runs
			l.Move(skuName(rnd.IntN(skus)), "hamburg", -1)
		}

		second := start(t, l, []dispatch.Account{{Writer: newWriter(t, m, skus, nil), Rule: rule}}, nil)
		began := time.Now()
		second.Idle(t, 10*time.Minute)
		after := m.Stats()
		t.Logf("killed with %d SKUs pending; restart converged in %v with %d requests (%d throttled, %d refused)",
			depth, time.Since(began), after.Requests-before.Requests, after.Throttled-before.Throttled, after.Refused-before.Refused)
		if after.Refused != 0 {
			t.Errorf("%d calls refused", after.Refused)
		}
		converged(t, l, m, skus)
	})
}

// TestOutage: Square answers 503 for a minute while sales go on. The
// breaker opens, the requests during the outage stay few (counted at the
// fake), and once Square is back the backlog drains with nothing lost.
func TestOutage(t *testing.T) {
	const skus = 2_000
	synctest.Test(t, func(t *testing.T) {
		m := newMerchant(t, squarefake.Options{})
		l := newLedger(t)
		stock(l, skus)
		r := start(t, l, []dispatch.Account{{Writer: newWriter(t, m, skus, nil), Rule: rule}}, nil)
		r.Idle(t, time.Minute)
		converged(t, l, m, skus)

		down := time.Now()
		m.SetDown(503, down.Add(time.Minute))
		sawOpen := make(chan bool, 1)
		go func() {
			open := false
			for time.Since(down) < time.Minute {
				open = open || r.Status()[0].BreakerState == "open"
				time.Sleep(100 * time.Millisecond)
			}
			sawOpen <- open
		}()
		l.FlashSale(r.Src, rand.New(rand.NewPCG(5, 6)), skuName, skus, 20_000, 500) // 40 s of sales during the outage
		time.Sleep(time.Until(down.Add(time.Minute)))
		during := m.Stats().Down
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
		t.Logf("drained %v after Square came back", time.Since(back))
		converged(t, l, m, skus)
		if fs := m.Stats(); fs.Throttled != 0 {
			t.Errorf("throttled %d times", fs.Throttled)
		}
	})
}

// TestIdempotentRetry: Square applies a write but its answer is lost (a
// gateway timeout). The Dispatcher retries the same updates; the Writer
// sends the same request under the same idempotency key, and Square
// answers it from its memory: each count is applied once.
func TestIdempotentRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMerchant(t, squarefake.Options{})
		l := newLedger(t)
		stock(l, 10)
		r := start(t, l, []dispatch.Account{{Writer: newWriter(t, m, 10, nil), Rule: rule}}, nil)
		r.Idle(t, time.Minute)
		time.Sleep(2 * time.Second)
		from, st0, applied0 := len(m.batchCalls()), m.Stats(), len(m.Applied())

		m.mu.Lock()
		m.loseAnswer = 1
		m.mu.Unlock()
		for i := range 3 {
			r.Src <- l.Move(skuName(i), "berlin", -2)
		}
		time.Sleep(5 * time.Second)
		r.Idle(t, time.Minute)
		converged(t, l, m, 10)

		calls := m.batchCalls()[from:]
		for _, c := range calls {
			t.Logf("%d changes, key %s: HTTP %d", c.changes, c.key, c.status)
		}
		if len(calls) != 2 || calls[0].status != 504 || calls[1].status != 200 || calls[0].changes != 3 {
			t.Fatalf("%d calls, want the lost one (3 changes, 504) and its retry (200)", len(calls))
		}
		if calls[0].key != calls[1].key || !bytes.Equal(calls[0].body, calls[1].body) {
			t.Errorf("the retry is not the same request:\n%s\n%s", calls[0].body, calls[1].body)
		}
		st := m.Stats()
		if n := st.Replays - st0.Replays; n != 1 {
			t.Errorf("%d replays, want 1", n)
		}
		if n := len(m.Applied()) - applied0; n != 3 {
			t.Errorf("%d counts applied, want 3 (each once): %+v", n, m.Applied()[applied0:])
		}
		if s := r.Status()[0]; s.LastErrorCode.String() != "Unavailable" {
			t.Errorf("status %+v, want the lost answer recorded as Unavailable", s)
		}
	})
}
