package mapping

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/ingest"
	"github.com/stockgate/stockgate/ledger"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

// knownSKUs is a catalog of the SKUs in it, every location known.
type knownSKUs struct {
	mu   sync.Mutex
	skus map[string]bool
}

func (c *knownSKUs) Known(sku, _ string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.skus[sku] {
		return errors.New("unknown sku " + sku)
	}
	return nil
}

func (c *knownSKUs) SafetyStock(string, string) int64 { return 0 }

func (c *knownSKUs) declare(sku string) {
	c.mu.Lock()
	c.skus[sku] = true
	c.mu.Unlock()
}

// TestReplayWaitsForTheCatalogAndMayBeRepeated follows an order for a SKU
// nobody declared: it is kept as a dead letter; replaying it before the
// SKU is declared is refused and leaves it pending; once declared, the
// replay applies it, and a second replay changes nothing.
func TestReplayWaitsForTheCatalogAndMayBeRepeated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store.New(memstore.New(nil))
	defer st.Close()
	cat := &knownSKUs{skus: map[string]bool{}}
	l := ledger.New(st, &ledger.Options{Catalog: cat})
	s := New(st, ingest.New(st, nil), nil, nil, cat, nil)

	ev, err := event.NewMovement(event.OrderCommitted, "", event.Movement{
		Connector: "shop", SourceEventID: "order-1", OccurredAt: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC),
		SKU: "NOPE-1", Location: "web", Quantity: 2, Reason: "order", OrderID: "1", CorrelationID: "c",
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := ev.Marshal()
	if res, err := l.Apply(ctx, ev, raw); err != nil || res.DeadLetter == "" {
		t.Fatalf("apply of an undeclared SKU: %+v, %v; want a dead letter", res, err)
	}
	dls, _ := st.DeadLetters(ctx, "", 10)
	if len(dls) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dls))
	}
	id := dls[0].ID

	// Too early: refused, nothing queued, still pending.
	if _, err := s.Replay(ctx, id); !errors.Is(err, ErrNotReady) {
		t.Fatalf("replay before the SKU is declared: %v, want ErrNotReady", err)
	}
	if dl, _ := s.get(ctx, id); dl.Resolution != "" {
		t.Errorf("dead letter resolved as %q by a refused replay", dl.Resolution)
	}
	if out := inbound(ctx, st); len(out) != 0 {
		t.Fatalf("a refused replay queued %d messages", len(out))
	}

	// Declared: the replay queues the event, and the ledger applies it.
	cat.declare("NOPE-1")
	for round := 1; round <= 2; round++ {
		dl, err := s.Replay(ctx, id)
		if err != nil || dl.Resolution != Replayed {
			t.Fatalf("replay %d: %+v, %v", round, dl, err)
		}
		out := inbound(ctx, st)
		if len(out) != 1 || out[0].EventID != ev.ID() {
			t.Fatalf("replay %d queued %d inbound messages, want the event once", round, len(out))
		}
		back, err := event.Parse(out[0].Body)
		if err != nil {
			t.Fatal(err)
		}
		res, err := l.Apply(ctx, back, out[0].Body)
		if err != nil || res.Duplicate != (round == 2) || res.DeadLetter != "" {
			t.Fatalf("replay %d applied: %+v, %v (want applied, then a duplicate)", round, res, err)
		}
		if err := st.DeleteOutbox(ctx, []uint64{out[0].Seq}); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := st.Projection(ctx, store.Key{SKU: "NOPE-1", Location: "web"})
	if p.Committed != 2 || p.Seq != 1 {
		t.Errorf("projection %+v, want committed 2 from one entry", p)
	}
}

// inbound is what waits in the outbox for the ledger.
func inbound(ctx context.Context, st *store.Store) []store.Message {
	out, _ := st.Outbox(ctx, 0, 100)
	var in []store.Message
	for _, m := range out {
		if m.Topic == ledger.TopicInbound {
			in = append(in, m)
		}
	}
	return in
}
