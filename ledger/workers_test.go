package ledger

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

// heldCatalog knows everything; Known holds every caller until release is
// closed and counts how many it holds at once.
type heldCatalog struct {
	release chan struct{}
	mu      sync.Mutex
	held    int
	peak    int
}

func (c *heldCatalog) Known(string, string) error {
	c.mu.Lock()
	c.held++
	c.peak = max(c.peak, c.held)
	c.mu.Unlock()
	<-c.release
	c.mu.Lock()
	c.held--
	c.mu.Unlock()
	return nil
}

func (*heldCatalog) SafetyStock(string, string) int64 { return 0 }

func (c *heldCatalog) counts() (held, peak int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held, c.peak
}

// TestRunAppliesWorkersEventsAtOnce holds every event in the middle of its
// apply and counts them: Run applies as many at once as it has workers,
// DefaultWorkers when none are set, never more, and applies them all
// once released.
func TestRunAppliesWorkersEventsAtOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		workers int
		want    int
	}{
		{"three", 3, 3},
		{"default", 0, DefaultWorkers},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			st := store.New(memstore.New(nil))
			defer st.Close()
			cat := &heldCatalog{release: make(chan struct{})}
			l := New(st, &Options{Catalog: cat})
			topic, sub := memBus(t)

			n := tc.want + 20 // more than can be held: the rest wait
			applied := make(chan Result, n)
			done := make(chan error, 1)
			go func() {
				done <- l.Run(ctx, sub, &RunOptions{Workers: tc.workers, Applied: func(r Result) { applied <- r }})
			}()
			evs := make([]*event.Event, n)
			for i := range evs {
				sku := fmt.Sprintf("SKU-%d", i) // one each: no SKU waits for its turn
				evs[i] = movement(t, event.StockReceived, 1, func(m *event.Movement) { m.SKU, m.SourceEventID = sku, "rcv-"+sku })
			}
			sendAll(ctx, t, topic, evs...)

			deadline := time.Now().Add(10 * time.Second)
			for held, _ := cat.counts(); held < tc.want; held, _ = cat.counts() {
				if time.Now().After(deadline) {
					t.Fatalf("only %d events in apply at once, want %d", held, tc.want)
				}
				time.Sleep(5 * time.Millisecond)
			}
			// Give any worker beyond the limit the time to show up.
			time.Sleep(100 * time.Millisecond)
			if held, peak := cat.counts(); held != tc.want || peak != tc.want {
				t.Fatalf("%d events in apply at once (peak %d), want %d", held, peak, tc.want)
			}
			close(cat.release)
			for i := 0; i < n; i++ {
				select {
				case r := <-applied:
					if r.Duplicate || r.DeadLetter != "" || len(r.Changes) != 1 {
						t.Fatalf("an event's result is %+v, want one change", r)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("%d of %d events applied after the release", i, n)
				}
			}
			cancel()
			if err := <-done; err != context.Canceled {
				t.Fatalf("Run returned %v, want context.Canceled", err)
			}
		})
	}
}

// TestRunWaitsForPace holds Pace closed: nothing is applied until it opens,
// and a shutdown while Pace holds still applies what Run received.
func TestRunWaitsForPace(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := store.New(memstore.New(nil))
	defer st.Close()
	l := New(st, &Options{Catalog: OpenCatalog{}})
	topic, sub := memBus(t)

	gate := make(chan struct{})
	var paced atomic.Int32
	var hold atomic.Bool // once set, Pace holds until its context ends
	pace := func(ctx context.Context) {
		paced.Add(1)
		if hold.Load() {
			<-ctx.Done()
			return
		}
		select {
		case <-gate:
		case <-ctx.Done():
		}
	}
	applied := make(chan Result, 20)
	done := make(chan error, 1)
	go func() {
		done <- l.Run(ctx, sub, &RunOptions{Workers: 4, Pace: pace, Applied: func(r Result) { applied <- r }})
	}()
	evs := make([]*event.Event, 10)
	for i := range evs {
		sku := fmt.Sprintf("SKU-%d", i)
		evs[i] = movement(t, event.StockReceived, 1, func(m *event.Movement) { m.SKU, m.SourceEventID = sku, "rcv-"+sku })
	}
	sendAll(ctx, t, topic, evs[:5]...)
	deadline := time.Now().Add(5 * time.Second)
	for paced.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	select {
	case r := <-applied:
		t.Fatalf("applied %+v while Pace held every worker", r)
	case <-time.After(100 * time.Millisecond):
	}
	if n := paced.Load(); n != 4 {
		t.Fatalf("%d workers waiting in Pace, want all 4", n)
	}
	close(gate)
	for i := range 5 {
		select {
		case <-applied:
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of 5 events applied after Pace opened", i)
		}
	}
	if n := paced.Load(); n != 5 {
		t.Fatalf("Pace called %d times for 5 events", n)
	}

	hold.Store(true)
	sendAll(ctx, t, topic, evs[5:8]...)
	for paced.Load() < 8 && time.Now().Before(deadline.Add(5*time.Second)) {
		time.Sleep(time.Millisecond)
	}
	select {
	case r := <-applied:
		t.Fatalf("applied %+v while Pace held", r)
	case <-time.After(100 * time.Millisecond):
	}
	cancel() // Pace returns; the three received are applied all the same
	for i := range 3 {
		select {
		case <-applied:
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of 3 held events applied after the shutdown", i)
		}
	}
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
	for _, ev := range evs[:8] {
		if p, _ := st.Projection(context.Background(), store.Key{SKU: ev.Movement.SKU, Location: ev.Movement.Location}); p.OnHand != 1 {
			t.Fatalf("%s: on hand %d, want 1", ev.Movement.SKU, p.OnHand)
		}
	}
}
