package reconcile_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/square/squareapi"
	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/ingest"
	"github.com/stockgate/stockgate/ledger"
	"github.com/stockgate/stockgate/reconcile"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

// A Square job wired as server.go wires it: the Square read client, the
// connector's maps, the store as the ledger's read side and the ingest
// handler as Submit, run on demand through a Scheduler.
func Example() {
	ctx := context.Background()
	st := store.New(memstore.New(nil))
	defer st.Close()
	led := ledger.New(st, nil)
	// The ledger last heard 10 on hand; a sale's webhook was lost.
	seedCount(ctx, led, "MUG-BLUE", "berlin-store", 10, time.Date(2026, 7, 31, 9, 0, 0, 0, time.UTC))

	square := squarefake.New(nil)
	srv := httptest.NewServer(square)
	defer srv.Close()
	square.SetCount(squarefake.Count{CatalogObjectID: "W62UWFY35CWMYGVWK6TWJDNI", LocationID: "59TNP9SA8VGDA",
		Quantity: "9", CalculatedAt: time.Date(2026, 8, 1, 11, 0, 0, 0, time.UTC)})

	client, err := squareapi.New(squarefake.DefaultToken, &squareapi.Options{BaseURL: srv.URL})
	if err != nil {
		panic(err)
	}
	src, err := reconcile.NewSquareSource(client,
		map[string]string{"W62UWFY35CWMYGVWK6TWJDNI": "MUG-BLUE"}, // square.Config.Items
		map[string]string{"59TNP9SA8VGDA": "berlin-store"}, nil)   // square.Config.Locations
	if err != nil {
		panic(err)
	}
	h := ingest.New(st, nil)
	job, err := reconcile.NewJob("square-main", src, st, reconcile.SubmitTo(h, nil), nil)
	if err != nil {
		panic(err)
	}
	sched, err := reconcile.NewScheduler([]*reconcile.Job{job}, nil) // go sched.Run(ctx) in server.go
	if err != nil {
		panic(err)
	}
	r, err := sched.RunNow(ctx, "square-main")
	if err != nil {
		panic(err)
	}
	fmt.Printf("read %d, corrected %d\n", r.Read, r.Corrected)
	for _, c := range r.Corrections {
		fmt.Printf("%s@%s %s: ledger %d, Square %d\n", c.SKU, c.Location, c.State, c.LedgerQty, c.SourceQty)
	}
	msgs, _ := st.Outbox(ctx, 0, 10) // the seed's availability change, then the correction
	ev, _ := event.Parse(msgs[len(msgs)-1].Body)
	fmt.Println(ev.Type.Short(), ev.Movement.Reason, ev.Movement.Quantity, ev.Movement.OccurredAt.Format(time.RFC3339))
	// Output:
	// read 1, corrected 1
	// MUG-BLUE@berlin-store on_hand: ledger 10, Square 9
	// stock.counted reconciliation 9 2026-08-01T11:00:00Z
}

func seedCount(ctx context.Context, l *ledger.Ledger, sku, loc string, qty int64, at time.Time) {
	ev, err := event.NewMovement(event.StockCounted, "", event.Movement{
		Connector: "square-main", SourceEventID: "seed", OccurredAt: at, SKU: sku, Location: loc,
		Quantity: qty, State: event.StateOnHand, Reason: "inventory_count", CorrelationID: "seed",
	})
	if err != nil {
		panic(err)
	}
	raw, _ := ev.Marshal()
	if _, err := l.Apply(ctx, ev, raw); err != nil {
		panic(err)
	}
}

// The Scheduler on fake time: Tick is Run's explicit-time twin.
func ExampleScheduler_Tick() {
	ctx := context.Background()
	st := store.New(memstore.New(nil))
	defer st.Close()
	src := &countingSource{}
	job, _ := reconcile.NewJob("pos-1", src, st, func(context.Context, *connectors.Result) error { return nil }, nil)
	t0 := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	sched, _ := reconcile.NewScheduler([]*reconcile.Job{job}, &reconcile.SchedulerOptions{Interval: 15 * time.Minute, Lookback: time.Minute})
	for _, at := range []time.Duration{0, 10 * time.Minute, 15 * time.Minute} {
		for _, r := range sched.Tick(ctx, t0.Add(at)) {
			fmt.Printf("t0+%v: ran, since %s\n", at, sinceString(r.Since))
		}
	}
	// Output:
	// t0+0s: ran, since everything
	// t0+15m0s: ran, since 11:59
}

func sinceString(t time.Time) string {
	if t.IsZero() {
		return "everything"
	}
	return t.Format("15:04")
}

type countingSource struct{}

func (countingSource) Read(context.Context, time.Time) ([]reconcile.Observation, error) {
	return nil, nil
}
