package ledger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
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
// for each other, that a turn passed early does not let a later one
// overtake an earlier one, that retries wait for earlier turns to finish,
// and that a key whose turns have all finished is forgotten.
func TestTurns(t *testing.T) {
	t.Parallel()
	var ts turns
	a1, a2, a3, b1 := ts.take("a"), ts.take("a"), ts.take("a"), ts.take("b")
	if ts.take("") != nil {
		t.Error("a message with no key got a turn")
	}
	went := make(chan string, 4)
	go func() { a3.wait(); went <- "a3" }()
	go func() { b1.wait(); went <- "b1" }()
	if got := <-went; got != "b1" {
		t.Fatalf("%s went first; b's first turn waits for nothing", got)
	}
	// a2 is dead-lettered without locking anything: it finishes at once,
	// but a3 must still wait for a1.
	a2done := make(chan struct{})
	go func() { a2.finish(); close(a2done) }()
	select {
	case got := <-went:
		t.Fatalf("%s went before a1 passed", got)
	case <-a2done:
		t.Fatal("a2 finished before a1 had")
	case <-time.After(20 * time.Millisecond):
	}
	a1.wait() // the first turn on a key waits for nothing
	a1.pass()
	a1.pass() // a second pass does nothing
	if got := <-went; got != "a3" {
		t.Fatalf("got %s, want a3 after a1 passed", got)
	}
	// a3's retry waits for a1 (and so a2) to finish.
	retried := make(chan struct{})
	go func() { a3.waitFinished(); close(retried) }()
	select {
	case <-retried:
		t.Fatal("a3 retried before a1 finished")
	case <-time.After(20 * time.Millisecond):
	}
	a1.finish()
	<-a2done
	<-retried
	a3.finish()
	b1.finish()
	if n := len(ts.last); n != 0 {
		t.Errorf("%d keys remembered after every turn finished", n)
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

// gateCatalog knows every SKU; it holds up the question about location
// "gate" until release is closed, and does not know "nowhere".
type gateCatalog struct{ release chan struct{} }

func (c gateCatalog) Known(_, loc string) error {
	switch loc {
	case "gate":
		<-c.release
	case "nowhere":
		return fmt.Errorf("unknown location %q", loc)
	}
	return nil
}

func (gateCatalog) SafetyStock(string, string) int64 { return 0 }

// sendAll sends events on topic in order, each keyed by its SKU.
func sendAll(ctx context.Context, t *testing.T, topic *gcpubsub.Topic, evs ...*event.Event) {
	t.Helper()
	for _, ev := range evs {
		raw, err := ev.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := topic.Send(ctx, &gcpubsub.Message{Body: raw, Metadata: map[string]string{store.MetaKey: ev.Movement.SKU}}); err != nil {
			t.Fatal(err)
		}
	}
}

// appliedOrder is the source event ids of k's ledger entries, in order.
func appliedOrder(ctx context.Context, st *store.Store, k store.Key) []string {
	hist, _ := st.History(ctx, k, 0, 100)
	var ids []string
	for _, e := range hist {
		ids = append(ids, e.SourceEventID)
	}
	return ids
}

// TestRunKeepsOrderPastADeadLetter: P (held up before it locks), A (a
// count), B (dead-lettered before it locks anything) and C (−1), one SKU,
// in that order. B finishing early must not let C go before A.
func TestRunKeepsOrderPastADeadLetter(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := store.New(memstore.New(nil))
	defer st.Close()
	cat := gateCatalog{release: make(chan struct{})}
	l := New(st, &Options{Catalog: cat})
	topic, sub := memBus(t)
	handled := make(chan Result, 8)
	go l.Run(ctx, sub, &RunOptions{Workers: 8, Applied: func(r Result) { handled <- r }})
	sendAll(ctx, t, topic,
		movement(t, event.StockReceived, 1, func(m *event.Movement) { m.Location, m.SourceEventID = "gate", "P" }),
		movement(t, event.StockCounted, 10, func(m *event.Movement) { m.SourceEventID = "A" }),
		movement(t, event.OrderCommitted, 1, func(m *event.Movement) { m.Location, m.SourceEventID = "nowhere", "B" }),
		movement(t, event.StockAdjusted, -1, func(m *event.Movement) { m.SourceEventID, m.OccurredAt = "C", t0.Add(time.Second) }),
	)
	time.Sleep(100 * time.Millisecond) // B is kept; A waits for P, C for A
	close(cat.release)
	for n := range 4 {
		select {
		case <-handled:
		case <-time.After(10 * time.Second):
			t.Fatalf("ledger handled %d of 4 events", n)
		}
	}
	k := store.Key{SKU: "SKU-1", Location: "berlin"}
	if p, _ := st.Projection(ctx, k); p.OnHand != 9 {
		t.Fatalf("on hand %d, want 9 (count 10, then −1); applied %v", p.OnHand, appliedOrder(ctx, st, k))
	}
}

// failFirstP is a store driver that queues commits as bbolt does, and
// fails the first commit of source event "P" (a disk error) once A and D
// are queued behind it, stepped from P's cached result; A's answer (a
// conflict) reaches it 30 ms after D's.
type failFirstP struct {
	store.Driver
	mu      sync.Mutex
	failed  bool
	pFailed chan struct{}
	behindP sync.WaitGroup
}

func (d *failFirstP) CommitQueued(ctx context.Context, items []store.Commit, queued func()) ([]error, error) {
	src := ""
	if items[0].Entry != nil {
		src = items[0].Entry.SourceEventID
	}
	d.mu.Lock()
	first := src == "P" && !d.failed
	d.failed = d.failed || first
	d.mu.Unlock()
	queued()
	switch {
	case first:
		d.behindP.Wait()
		close(d.pFailed)
		return nil, errors.New("disk I/O error")
	case src == "A" || src == "D":
		d.behindP.Done()
		<-d.pFailed
		errs, err := d.Driver.Commit(ctx, items)
		if src == "A" {
			time.Sleep(30 * time.Millisecond)
		}
		return errs, err
	}
	return d.Driver.Commit(ctx, items)
}

// TestRunRetriesInOrder: after a queued commit fails, the events stepped
// from it retry in the SKU's order, not in the order their goroutines
// wake: A (a count) before D (−1).
func TestRunRetriesInOrder(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := &failFirstP{Driver: memstore.New(nil), pFailed: make(chan struct{})}
	d.behindP.Add(2)
	st := store.New(d)
	defer st.Close()
	l := New(st, &Options{CacheProjections: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	warm := movement(t, event.StockReceived, 1, func(m *event.Movement) { m.SourceEventID = "W" })
	raw, _ := warm.Marshal()
	if _, err := l.Apply(ctx, warm, raw); err != nil { // P then steps from the cache
		t.Fatal(err)
	}
	topic, sub := memBus(t)
	go l.Run(ctx, sub, &RunOptions{Workers: 8})
	sendAll(ctx, t, topic,
		movement(t, event.StockReceived, 5, func(m *event.Movement) { m.SourceEventID = "P" }),
		movement(t, event.StockCounted, 10, func(m *event.Movement) { m.SourceEventID = "A" }),
		movement(t, event.StockAdjusted, -1, func(m *event.Movement) { m.SourceEventID, m.OccurredAt = "D", t0.Add(time.Second) }),
	)
	// P is handed back to the bus and comes back at any point; A must
	// come before D.
	k := store.Key{SKU: "SKU-1", Location: "berlin"}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got := appliedOrder(ctx, st, k)
		a, dd := slices.Index(got, "A"), slices.Index(got, "D")
		if a >= 0 && dd >= 0 {
			if a > dd {
				t.Fatalf("applied %v; want A before D", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("applied %v after 10 s; want A and D", got)
		}
	}
}

// TestFutureCountKeptOncePerMessage: the bus delivering a future-dated
// count's message again a second later finds the dead letter it left.
func TestFutureCountKeptOncePerMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store.New(memstore.New(nil))
	defer st.Close()
	var mu sync.Mutex
	now := t0
	l := New(st, &Options{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	ev := movement(t, event.StockCounted, 4, func(m *event.Movement) { m.OccurredAt = t0.AddDate(1, 0, 0) })
	raw, _ := ev.Marshal()
	for i := range 2 {
		if _, err := l.apply(ctx, ev, raw, []uint64{7}, nil); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
		mu.Lock()
		now = now.Add(time.Second)
		mu.Unlock()
	}
	if dls, _ := st.DeadLetters(ctx, "", 10); len(dls) != 1 {
		t.Fatalf("%d dead letters for one outbox message delivered twice, want 1", len(dls))
	}
}
