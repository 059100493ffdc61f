package bustest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/ledger"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

// The sizes of the ledger scenarios.
const (
	ledgerEvents = 300 // distinct order-committed events
	ledgerSKUs   = 10
	ledgerDups   = 50 // events sent twice
	ledgerLoc    = "berlin"
)

// runLedger sends order-committed events through the bus into ledger.Run
// over a memstore, some of them twice, as the relay does (outbox sequence
// and SKU in the metadata). Once the ledger has drained the bus, every
// SKU's committed quantity must equal its number of distinct events, and
// its history must hold exactly one entry per distinct event: exactly-once
// application on top of at-least-once delivery, in whatever order the bus
// delivers. With crash, the first ledger's subscription crashes after it
// has applied a third of the events and a second ledger takes over the
// group.
func runLedger(ctx context.Context, t *testing.T, e *env, crash bool) {
	st := store.New(memstore.New(nil))
	t.Cleanup(func() { st.Close() })
	led := ledger.New(st, &ledger.Options{
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})

	// Accept the events into the outbox, as the ingest handler does.
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	want := map[string]map[string]int{} // SKU → event id → send order within the SKU
	accs := make([]store.Acceptance, 0, ledgerEvents)
	for i := range ledgerEvents {
		sku := keyName(i % ledgerSKUs)
		n := strconv.Itoa(i)
		ev, err := event.NewMovement(event.OrderCommitted, "", event.Movement{
			Connector: "bustest", SourceEventID: e.prefix + ".order." + n, OccurredAt: at,
			SKU: sku, Location: ledgerLoc, Quantity: 1, Reason: "sale",
			OrderID: "o-" + n, CorrelationID: "c-" + n,
		})
		if err != nil {
			t.Fatal(err)
		}
		body, err := ev.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if want[sku] == nil {
			want[sku] = map[string]int{}
		}
		want[sku][ev.ID()] = len(want[sku])
		accs = append(accs, store.Acceptance{Messages: []store.Message{{
			Topic: ledger.TopicInbound, EventID: ev.ID(), Body: body, Key: sku, CreatedAt: at,
		}}})
	}
	if errs, err := st.AcceptBatch(ctx, accs); err != nil || errors.Join(errs...) != nil {
		t.Fatalf("AcceptBatch: %v %v", err, errors.Join(errs...))
	}
	out, err := st.Outbox(ctx, 0, ledgerEvents+1)
	if err != nil || len(out) != ledgerEvents {
		t.Fatalf("outbox: %d messages, %v; want %d", len(out), err, ledgerEvents)
	}
	// Each SKU's messages in outbox order, then the duplicates of its
	// first ones, as a relay resending after a restart would.
	bySKU := map[string][]store.Message{}
	for _, m := range out {
		bySKU[m.Key] = append(bySKU[m.Key], m)
	}
	for _, m := range out[:ledgerDups] {
		bySKU[m.Key] = append(bySKU[m.Key], m)
	}
	sends := ledgerEvents + ledgerDups

	top := e.topic(ctx)
	sub := e.subscribe(ctx, "ledger")

	var changes, dups, handled atomic.Int64
	opts := &ledger.RunOptions{Workers: 16, Applied: func(r ledger.Result) {
		handled.Add(1)
		switch {
		case r.DeadLetter != "":
			t.Errorf("dead letter: %s", r.DeadLetter)
		case r.Duplicate:
			dups.Add(1)
		default:
			changes.Add(int64(len(r.Changes)))
		}
	}}
	start := time.Now()
	stop := runLedgerIn(ctx, t, led, sub, opts)

	sendErr := make(chan error, 1)
	go func() { sendErr <- e.sendOutbox(ctx, top, bySKU) }()

	if crash {
		if !waitFor(ctx, deliverWithin, func() bool { return changes.Load() >= ledgerEvents/3 }) {
			t.Fatalf("the first ledger applied %d events within %v", changes.Load(), deliverWithin)
		}
		if err := e.b.Crash(ctx, sub); err != nil {
			t.Fatalf("Crash: %v", err)
		}
		stop()
		t.Logf("crashed the first ledger's subscription after %d changes", changes.Load())
		sub2 := e.subscribe(ctx, "ledger")
		stop = runLedgerIn(ctx, t, led, sub2, opts)
	}
	if err := <-sendErr; err != nil {
		t.Fatal(err)
	}
	// Drained: every event applied, at least as many deliveries as sends,
	// then a quiet spell in which no late redelivery arrives.
	limit := deliverWithin
	if crash {
		limit += e.caps.AckDeadline + redeliveryMargin
	}
	last, lastAt := int64(-1), time.Now()
	drained := waitFor(ctx, limit, func() bool {
		if h := handled.Load(); h != last {
			last, lastAt = h, time.Now()
		}
		return changes.Load() >= ledgerEvents && handled.Load() >= int64(sends) && time.Since(lastAt) > 500*time.Millisecond
	})
	stop()
	if !drained {
		t.Fatalf("not drained within %v: %d changes of %d, %d deliveries handled of %d sent", limit, changes.Load(), ledgerEvents, handled.Load(), sends)
	}

	// The ledger: one entry per distinct event, committed = their number.
	inversions := 0
	for sku, ids := range want {
		k := store.Key{SKU: sku, Location: ledgerLoc}
		p, err := st.Projection(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if p.Committed != int64(len(ids)) {
			t.Errorf("%s: committed %d, want %d (one per distinct event)", k, p.Committed, len(ids))
		}
		hist, err := st.History(ctx, k, 0, 2*len(ids))
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != len(ids) {
			t.Errorf("%s: %d history entries, want %d", k, len(hist), len(ids))
		}
		seen := map[string]bool{}
		prev := -1
		for _, h := range hist {
			pos, ok := ids[h.EventID]
			if !ok || seen[h.EventID] {
				t.Errorf("%s: history entry %d for event %s: unknown or repeated", k, h.Seq, h.EventID)
			}
			seen[h.EventID] = true
			if pos < prev {
				inversions++
			}
			prev = max(prev, pos)
		}
	}
	if dls, err := st.DeadLetters(ctx, "", 10); err != nil || len(dls) > 0 {
		t.Errorf("dead letters: %v, %v", dls, err)
	}
	// The consumed events leave the outbox (the ledger deletes them in
	// batches, so allow it a moment).
	var left []string
	if !waitFor(ctx, 5*time.Second, func() bool {
		left = inboundLeft(ctx, st)
		return len(left) == 0
	}) {
		t.Errorf("%d consumed inbound events are still in the outbox, e.g. %s", len(left), strings.Join(left[:min(3, len(left))], ", "))
	}
	t.Logf("%d events (%d sent twice) over %d SKUs: applied once each in %v; %d deliveries handled, %d duplicates recognised; %d applied after a later event of their SKU",
		ledgerEvents, ledgerDups, ledgerSKUs, time.Since(start).Round(time.Millisecond), handled.Load(), dups.Load(), inversions)
}

// runLedgerIn runs led on sub until the returned stop is called.
func runLedgerIn(ctx context.Context, t *testing.T, led *ledger.Ledger, sub *pubsub.Subscription, opts *ledger.RunOptions) (stop func()) {
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- led.Run(rctx, sub, opts) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				// A crashed subscription fails its Receive; that is expected.
				t.Logf("ledger.Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// sendOutbox sends each SKU's messages one after the other, SKUs
// concurrently, with the metadata the relay sets.
func (e *env) sendOutbox(ctx context.Context, top *pubsub.Topic, bySKU map[string][]store.Message) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, ms := range bySKU {
		wg.Go(func() {
			for _, m := range ms {
				err := top.Send(ctx, e.message(m.Key, m.Body, map[string]string{
					store.MetaOutboxSeq: strconv.FormatUint(m.Seq, 10),
					store.MetaKey:       m.Key,
				}))
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("send outbox message %d: %w", m.Seq, err))
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func inboundLeft(ctx context.Context, st *store.Store) []string {
	out, err := st.Outbox(ctx, 0, 10*ledgerEvents)
	if err != nil {
		return []string{err.Error()}
	}
	var ids []string
	for _, m := range out {
		if m.Topic == ledger.TopicInbound {
			ids = append(ids, m.EventID)
		}
	}
	return ids
}

// waitFor polls cond every 20 ms until it holds (true) or d passes or ctx
// ends (false).
func waitFor(ctx context.Context, d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testWriter sends the ledger's log lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
