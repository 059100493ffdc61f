package amazonwriter_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/listingsapi/listingsfake"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/amazonwriter"
	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/ratelimit"
)

// TestSmoke: the reconcile at start writes 600 SKUs as one feed, and
// Amazon ends up showing the ledger's quantities.
func TestSmoke(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(t, nil, 600)
		l := newLedger(t)
		stock(l, 600)
		w := newWriter(t, s, 600, nil)
		r := start(t, l, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
		time.Sleep(100 * time.Millisecond)
		r.Idle(t, time.Minute)
		converged(t, l, s, 600)
		st, ws := s.Stats(), w.Stats()
		t.Logf("fake %+v", st)
		t.Logf("writer %+v", ws)
		if st.FeedsCreated != 1 || ws.MessagesRead != 600 || st.Calls[listingsfake.OpPatchListingsItem] != 0 {
			t.Errorf("want one feed of 600 and no patch: fake %+v, writer %+v", st, ws)
		}
	})
}

// TestNewReportsEveryProblem: a bad Options names each field at fault.
func TestNewReportsEveryProblem(t *testing.T) {
	_, err := amazonwriter.New(amazonwriter.Options{MaxBatch: 30_000, Items: map[string]string{"A": "X", "B": "X"}, PollInterval: -1})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"Account", "Client", "SellerID", "MarketplaceID", "MaxBatch", "PollInterval", `SellerSKU "X"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// freePacer grants every call at once.
type freePacer struct{}

func (freePacer) Wait(context.Context, float64) error { return nil }
func (freePacer) Observe(ratelimit.Observation)       {}

// writeUntilSettled calls Write until no outcome is Aborted for a pending
// feed, as the Dispatcher would, and returns the last outcomes.
func writeUntilSettled(t *testing.T, w *amazonwriter.Writer, ups []dispatch.Update) []dispatch.Outcome {
	t.Helper()
	for range 20 {
		outs, err := w.Write(context.Background(), freePacer{}, ups)
		if err != nil {
			t.Fatal(err)
		}
		waiting := false
		for _, o := range outs {
			waiting = waiting || (o.Code == errcode.Aborted && strings.Contains(o.Err.Error(), "waiting for feed"))
		}
		if !waiting {
			return outs
		}
	}
	t.Fatal("the feed never settled")
	return nil
}

// TestWriteAcrossWrites: updates of a pending feed are Aborted until its
// report is read; then each is reported from it, unless the ledger moved
// meanwhile (Aborted: sent again) or the report refuses it.
func TestWriteAcrossWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(t, nil, 3) // SKU 3 is not listed
		w := newWriter(t, s, 4, func(o *amazonwriter.Options) { o.FeedThreshold = 1; o.FeedWait = time.Second })
		ups := []dispatch.Update{{SKU: skuName(0), Quantity: 5}, {SKU: skuName(1), Quantity: 6}, {SKU: skuName(2), Quantity: 7}, {SKU: skuName(3), Quantity: 8}}
		outs, err := w.Write(context.Background(), freePacer{}, ups)
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range outs {
			if o.Code != errcode.Aborted {
				t.Fatalf("update %d: %v %v, want Aborted while the feed is pending", i, o.Code, o.Err)
			}
		}
		ups[1].Quantity = 4 // the ledger moved
		outs = writeUntilSettled(t, w, ups)
		want := []errcode.Code{errcode.OK, errcode.Aborted, errcode.OK, errcode.InvalidArgument}
		for i, o := range outs {
			if o.Code != want[i] {
				t.Errorf("update %d: %v (%v), want %v", i, o.Code, o.Err, want[i])
			}
		}
		if !strings.Contains(outs[1].Err.Error(), "the feed wrote 6, the ledger now says 4") || !strings.Contains(outs[3].Err.Error(), "NOT_FOUND") {
			t.Errorf("reasons %v / %v", outs[1].Err, outs[3].Err)
		}
		// The moved one goes again, by patch (below FeedThreshold).
		outs, err = w.Write(context.Background(), freePacer{}, ups[1:2])
		if err != nil || outs[0].Code != errcode.OK {
			t.Fatalf("%+v %v", outs, err)
		}
		if q, _ := s.Quantity(sellerSKU(1)); q != 4 {
			t.Errorf("Amazon shows %d, want 4", q)
		}
		if ws := w.Stats(); ws.Feeds != 1 || ws.MessagesRead != 4 || ws.MessagesInvalid != 1 || ws.PatchesAccepted != 1 {
			t.Errorf("writer %+v", ws)
		}
	})
}

// TestFatalFeedIsUnknown: a feed Amazon aborts (here: the document names
// another seller) settles every update as Unknown, never as written.
func TestFatalFeedIsUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFake(t, &listingsfake.Options{SellerID: "A2OTHERSELLER"}, 3)
		w := newWriter(t, s, 3, func(o *amazonwriter.Options) { o.FeedThreshold = 1 })
		outs := writeUntilSettled(t, w, []dispatch.Update{{SKU: skuName(0), Quantity: 5}, {SKU: skuName(1), Quantity: 6}})
		for i, o := range outs {
			if o.Code != errcode.Unknown || !strings.Contains(o.Err.Error(), "FATAL") {
				t.Errorf("update %d: %v %v", i, o.Code, o.Err)
			}
		}
		if ws := w.Stats(); ws.FeedsFatal != 1 || ws.MessagesUnknown != 2 || ws.MessagesAccepted != 0 {
			t.Errorf("writer %+v", ws)
		}
		if st := s.Stats(); st.FeedsFatal != 1 {
			t.Errorf("fake %+v", st)
		}
	})
}

// TestCost: a batch that goes as patches costs one budget unit per SKU; a
// feed costs none of the patch budget.
func TestCost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWriter(t, newFake(t, nil, 1), 1, func(o *amazonwriter.Options) { o.FeedThreshold = 100 })
		if w.Cost(1) != 1 || w.Cost(100) != 100 || w.Cost(101) != 0 {
			t.Errorf("Cost: %v %v %v", w.Cost(1), w.Cost(100), w.Cost(101))
		}
		if l, b := w.InitialBudget(); l != 5*amazonwriter.Margin || b != 4 {
			t.Errorf("InitialBudget %v %v, want the documented 5/s burst 5 with the margin: %v/s burst 4", l, b, 5*amazonwriter.Margin)
		}
		never := newWriter(t, newFake(t, nil, 1), 1, func(o *amazonwriter.Options) { o.FeedThreshold = -1 })
		if never.Cost(20_000) != 20_000 {
			t.Errorf("without feeds, Cost(20000) = %v", never.Cost(20_000))
		}
	})
}
