package amazonwriter_test

import (
	"math/rand/v2"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/listingsapi/listingsfake"
	"github.com/stockgate/stockgate/dispatch"
)

// The acceptance tests, as dispatch/shopifywriter runs them for
// Shopify. They run in testing/synctest bubbles: the fake Amazon's token
// buckets, its feed processing, the Dispatcher's windows, backoff and
// budget waits, the Writer's polls and the breaker's timeout all run on
// the bubble's fake clock; HTTP runs through the fake's in-memory
// transport. The fake processes a feed in 2 s plus 1 ms per message
// (Amazon takes minutes; the waits are the same code either way).

// TestFlashSale: 100,000 availability changes over 5,000 SKUs. No answer
// is a 429; the bulk goes as JSON_LISTINGS_FEEDs and the result of every
// message of every feed is read from its processing report; at the end
// Amazon shows the ledger's channel quantity of every SKU.
func TestFlashSale(t *testing.T) {
	changes, perSecond := 100_000, 5_000
	if os.Getenv("STOCKGATE_STRESS") != "" {
		changes, perSecond = 1_000_000, 10_000
	}
	const skus = 5_000
	synctest.Test(t, func(t *testing.T) {
		s := newFake(t, nil, skus)
		l := newLedger(t)
		stock(l, skus)
		w := newWriter(t, s, skus, nil)
		r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, nil)

		began := time.Now()
		l.FlashSale(r.Src, rand.New(rand.NewPCG(1, 2)), skuName, skus, changes, perSecond)
		fed := time.Now()
		r.Idle(t, 30*time.Minute)
		drained := time.Now()

		fs, ws, st := s.Stats(), w.Stats(), r.Status()[0]
		t.Logf("%d changes over %d SKUs fed in %v, drained %v later", changes, skus, fed.Sub(began), drained.Sub(fed))
		t.Logf("amazon: %d requests, %d throttled; %d feeds, %d messages processed (%d accepted); %d patches; calls %v",
			fs.Requests, fs.Throttled, fs.FeedsCreated, fs.MessagesProcessed, fs.MessagesAccepted, fs.PatchesAccepted, fs.Calls)
		t.Logf("writer: %+v", ws)
		t.Logf("status: %+v", st)
		if fs.Throttled != 0 || st.Throttled != 0 || ws.FeedThrottled != 0 {
			t.Errorf("throttled: %d answers 429 at Amazon, %d patches and %d feed calls seen throttled", fs.Throttled, st.Throttled, ws.FeedThrottled)
		}
		if fs.FeedsCreated == 0 || ws.Feeds != uint64(fs.FeedsCreated) {
			t.Errorf("%d feeds at Amazon, %d sent: the feed path was not taken", fs.FeedsCreated, ws.Feeds)
		}
		if ws.FeedMessages <= ws.Patches {
			t.Errorf("%d updates went as feed messages and %d as patches: the bulk did not go by feed", ws.FeedMessages, ws.Patches)
		}
		if ws.MessagesRead != uint64(fs.MessagesProcessed) || ws.MessagesRead != ws.FeedMessages || ws.ReportsRead != ws.Feeds || ws.PendingFeeds != 0 {
			t.Errorf("read %d message results of %d reports; Amazon processed %d messages of %d feeds; %d sent",
				ws.MessagesRead, ws.ReportsRead, fs.MessagesProcessed, fs.FeedsCreated, ws.FeedMessages)
		}
		if ws.MessagesAccepted != uint64(fs.MessagesAccepted) || fs.ReportsDownloaded != int64(ws.ReportsRead) {
			t.Errorf("writer read %d accepted messages, Amazon accepted %d; %d reports downloaded", ws.MessagesAccepted, fs.MessagesAccepted, fs.ReportsDownloaded)
		}
		converged(t, l, s, skus)
	})
}

// TestKillWhileDraining: the Dispatcher is stopped dead in the middle of a
// backlog, a feed in flight, with everything it held in memory (the
// pending SKUs, the Writer's pending feed and budgets) lost, and the
// ledger keeps moving while nothing runs. A new Dispatcher and Writer
// over the same store converge every SKU.
func TestKillWhileDraining(t *testing.T) {
	const skus = 5_000
	synctest.Test(t, func(t *testing.T) {
		// Slow feeds, so the kill finds one in flight.
		s := newFake(t, &listingsfake.Options{QueueTime: 20 * time.Second}, skus)
		l := newLedger(t)
		stock(l, skus)
		rnd := rand.New(rand.NewPCG(3, 4))
		w1 := newWriter(t, s, skus, nil)
		first := start(t, l, []dispatch.Account{{Writer: w1, Rule: rule}}, nil)
		l.FlashSale(first.Src, rnd, skuName, skus, 30_000, 10_000)
		depth := first.Status()[0].QueueDepth
		if depth < 1_000 || w1.Stats().PendingFeeds == 0 {
			t.Fatalf("%d SKUs and %d feeds pending at the kill: no backlog to lose", depth, w1.Stats().PendingFeeds)
		}
		first.Stop() // kill: the queue and the writer's memory are gone
		before := s.Stats()

		// The ledger moves while nothing runs; nobody hears of it.
		for i := 0; i < 2_000; i++ {
			l.Move(skuName(rnd.IntN(skus)), "hamburg", -1)
		}

		w2 := newWriter(t, s, skus, nil)
		second := start(t, l, []dispatch.Account{{Writer: w2, Rule: rule}}, nil)
		began := time.Now()
		second.Idle(t, 30*time.Minute)
		after := s.Stats()
		t.Logf("killed with queue depth %d and %v feed(s) pending; restart converged in %v with %d requests (%d throttled), writer %+v",
			depth, before.FeedsCreated-before.FeedsDone, time.Since(began), after.Requests-before.Requests, after.Throttled-before.Throttled, w2.Stats())
		converged(t, l, s, skus)
		if after.Throttled != 0 {
			t.Errorf("%d answers 429", after.Throttled)
		}
	})
}

// TestOutage: Amazon answers 503 for a minute while sales go on. The
// breaker opens, the requests during the outage stay few (counted at the
// fake), and once Amazon is back the backlog drains with nothing lost.
func TestOutage(t *testing.T) {
	const skus = 2_000
	synctest.Test(t, func(t *testing.T) {
		s := newFake(t, nil, skus)
		l := newLedger(t)
		stock(l, skus)
		w := newWriter(t, s, skus, nil)
		r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
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
		r.Idle(t, 10*time.Minute)
		t.Logf("drained %v after Amazon came back; writer %+v", time.Since(back), w.Stats())
		converged(t, l, s, skus)
		if s.Stats().Throttled != 0 {
			t.Errorf("throttled %d times", s.Stats().Throttled)
		}
	})
}
