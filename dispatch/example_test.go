package dispatch_test

import (
	"context"
	"fmt"
	"time"

	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/ratelimit"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

// printWriter is the smallest Writer: it prints what it would write.
type printWriter struct{}

func (printWriter) Key() string                       { return "web-shop" }
func (printWriter) MaxBatch() int                     { return 100 }
func (printWriter) SKUs() []string                    { return []string{"TSHIRT-M"} }
func (printWriter) Syncs(sku string) bool             { return sku == "TSHIRT-M" }
func (printWriter) Cost(int) float64                  { return 1 }
func (printWriter) ErrorCode(error) errcode.Code      { return errcode.Unknown }
func (printWriter) RetryAfter(error) time.Duration    { return 0 }
func (printWriter) InitialBudget() (float64, float64) { return 10, 10 }
func (printWriter) Write(ctx context.Context, p dispatch.Pacer, ups []dispatch.Update) ([]dispatch.Outcome, error) {
	if err := p.Wait(ctx, 1); err != nil {
		return nil, err
	}
	p.Observe(ratelimit.Observation{ReservedCost: 1, ActualCost: 1})
	for _, u := range ups {
		fmt.Printf("%s = %d\n", u.SKU, u.Quantity)
	}
	return make([]dispatch.Outcome, len(ups)), nil
}

func ExampleDispatcher() {
	ctx := context.Background()
	st := store.New(memstore.New(nil))
	defer st.Close()

	// The ledger holds 7 units of TSHIRT-M in Berlin.
	p := store.Projection{Key: store.Key{SKU: "TSHIRT-M", Location: "berlin"},
		Quantities: store.Quantities{OnHand: 7, Available: 7}, Seq: 1}
	e := store.Entry{Key: p.Key, Seq: 1, EventID: "ev-1", Result: p.Quantities}
	if err := st.Commit(ctx, store.Commit{EventID: "ev-1", Entry: &e, Projection: &p}); err != nil {
		panic(err)
	}

	// The web shop sells Berlin's stock, holding 2 units back.
	d, err := dispatch.New(st, []dispatch.Account{{
		Writer: printWriter{},
		Rule:   channel.Rule{Channel: "web-shop", Locations: []string{"berlin"}, BufferUnits: 2},
	}}, nil)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- d.Run(ctx, nil) }() // the first run ever writes every synced SKU
	for d.Status()[0].Written == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	q, _ := d.Explain(context.Background(), "web-shop", "TSHIRT-M")
	fmt.Println(q.Explanation.Rule)
	// Output:
	// TSHIRT-M = 5
	// web-shop: berlin 7 = 7; buffer 2 units → 5 ⇒ 5
}
