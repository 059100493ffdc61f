package ledger

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/pubsub/mempubsub"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

// slowFirstLook is a catalog that knows every SKU and location and takes
// 20 ms to answer the first question about each SKU: the first of a
// SKU's events to reach a worker is held up just before it locks its key,
// so a later event of that SKU on another worker reaches the key first
// unless Run keeps the SKU's order.
type slowFirstLook struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (c *slowFirstLook) Known(sku, _ string) error {
	c.mu.Lock()
	first := !c.seen[sku]
	c.seen[sku] = true
	c.mu.Unlock()
	if first {
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func (c *slowFirstLook) SafetyStock(string, string) int64 { return 0 }

// TestRunKeepsEachSKUsOrder sends, for each of 20 SKUs, a count of 10 then
// an adjustment of −1 (as one POS batch or one Shopify delivery carries
// them, in that order) and checks that the ledger applied every count
// before its adjustment: on hand 9, not 10. Run's workers race for the
// messages; the SKU's order must survive the race.
func TestRunKeepsEachSKUsOrder(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := store.New(memstore.New(nil))
	defer st.Close()
	l := New(st, &Options{Catalog: &slowFirstLook{seen: map[string]bool{}}})
	topic, sub := memBus(t)

	const skus = 20
	applied := make(chan Result, 2*skus)
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, sub, &RunOptions{Workers: 8, Applied: func(r Result) { applied <- r }}) }()

	for i := range skus {
		sku := fmt.Sprintf("SKU-%d", i)
		count := movement(t, event.StockCounted, 10, func(m *event.Movement) {
			m.SKU, m.SourceEventID = sku, "count-"+sku
		})
		sale := movement(t, event.StockAdjusted, -1, func(m *event.Movement) {
			m.SKU, m.SourceEventID, m.OccurredAt = sku, "sale-"+sku, t0.Add(5*time.Second)
		})
		for _, ev := range []*event.Event{count, sale} { // the relay sends a SKU's messages in order
			raw, err := ev.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if err := topic.Send(ctx, &gcpubsub.Message{Body: raw, Metadata: map[string]string{store.MetaKey: sku}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for n := 0; n < 2*skus; n++ {
		select {
		case r := <-applied:
			if r.DeadLetter != "" {
				t.Fatalf("dead letter: %+v", r)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("ledger applied %d of %d events", n, 2*skus)
		}
	}
	for i := range skus {
		k := store.Key{SKU: fmt.Sprintf("SKU-%d", i), Location: "berlin"}
		p, err := st.Projection(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if p.OnHand != 9 {
			hist, _ := st.History(ctx, k, 0, 10)
			var order []string
			for _, e := range hist {
				order = append(order, e.SourceEventID)
			}
			t.Errorf("%s: on hand %d, want 9 (count 10, then −1); applied in the order %v", k.SKU, p.OnHand, order)
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

// TestTurns checks the order of turns on one key, that keys do not wait
// for each other, and that a key whose turns have all passed is forgotten.
func TestTurns(t *testing.T) {
	t.Parallel()
	var ts turns
	a1, a2, b1 := ts.take("a"), ts.take("a"), ts.take("b")
	if ts.take("") != nil {
		t.Error("a message with no key got a turn")
	}
	waited := make(chan string, 3)
	go func() { a2.wait(); waited <- "a2" }()
	go func() { b1.wait(); waited <- "b1" }()
	if got := <-waited; got != "b1" {
		t.Fatalf("%s went first; b's first turn waits for nothing", got)
	}
	select {
	case got := <-waited:
		t.Fatalf("%s went before a1 passed", got)
	case <-time.After(20 * time.Millisecond):
	}
	a1.wait() // the first turn on a key waits for nothing
	a1.pass()
	a1.pass() // a second pass does nothing
	if got := <-waited; got != "a2" {
		t.Fatalf("got %s, want a2 after a1 passed", got)
	}
	a2.pass()
	b1.pass()
	if n := len(ts.last); n != 0 {
		t.Errorf("%d keys remembered after every turn passed", n)
	}
}

// TestDeadLetterPerOutboxMessage checks that an event the ledger cannot
// apply is kept once per outbox message: the bus delivering the same
// message again adds nothing, while the same event sent again in a new
// message (a replay that fails again) is kept again, so that it is never
// dropped unseen.
func TestDeadLetterPerOutboxMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, st := newLedger(t) // knows SKU-1 and SKU-2 only
	ev := movement(t, event.OrderCommitted, 1, func(m *event.Movement) { m.SKU = "NOPE" })
	raw, _ := ev.Marshal()
	for i, c := range []struct {
		seq       uint64
		duplicate bool
		kept      int
	}{
		{seq: 1, kept: 1},
		{seq: 1, duplicate: true, kept: 1}, // a redelivery of message 1
		{seq: 2, kept: 2},                  // a replay
	} {
		res, err := l.apply(ctx, ev, raw, []uint64{c.seq}, nil)
		if err != nil || res.Duplicate != c.duplicate || (res.DeadLetter == "") == !c.duplicate {
			t.Fatalf("delivery %d (message %d): %+v, %v", i+1, c.seq, res, err)
		}
		if dls, _ := st.DeadLetters(ctx, "", 10); len(dls) != c.kept {
			t.Fatalf("after delivery %d: %d dead letters, want %d", i+1, len(dls), c.kept)
		}
	}
}

// memBus returns a mem:// topic and a subscription to it, shut down when
// t ends.
func memBus(t *testing.T) (*gcpubsub.Topic, *gcpubsub.Subscription) {
	t.Helper()
	topic := mempubsub.NewTopic(nil)
	t.Cleanup(func() { _ = topic.Shutdown(context.Background()) })
	sub, err := mempubsub.NewSubscription(topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Shutdown(context.Background()) })
	return topic, sub
}
