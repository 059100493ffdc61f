package reconciletest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/reconcile"
	"github.com/stockgate/stockgate/reconcile/reconciletest"
)

type harness struct{}

func (harness) State() string { return event.StateOnHand }

func (harness) MakeSource(_ context.Context, _ *testing.T, levels []reconciletest.Level) (reconcile.Source, error) {
	src := &reconciletest.MemSource{}
	for _, l := range levels {
		src.Put(reconcile.Observation{SKU: l.SKU, Location: l.Location, Quantity: l.Quantity, State: event.StateOnHand,
			AsOf: time.Unix(1e9, 0), SourceID: l.SKU + "@" + l.Location})
	}
	return src, nil
}

func TestMemSourceConformance(t *testing.T) {
	t.Parallel()
	reconciletest.RunSourceTests(t, harness{})
}

func TestMemSourceSince(t *testing.T) {
	t.Parallel()
	src := &reconciletest.MemSource{}
	at := time.Unix(1e9, 0)
	src.Set(
		reconcile.Observation{SKU: "A", Location: "x", State: event.StateOnHand, AsOf: at, SourceID: "a"},
		reconcile.Observation{SKU: "B", Location: "x", State: event.StateOnHand, AsOf: at.Add(time.Hour), SourceID: "b"},
		reconcile.Observation{SourceID: "c", Skip: "unmapped"},
	)
	obs, err := src.Read(context.Background(), at)
	if err != nil || len(obs) != 2 || obs[0].SourceID != "b" || obs[1].SourceID != "c" {
		t.Errorf("since %v: %+v, %v", at, obs, err)
	}
	if reads := src.Reads(); len(reads) != 1 || !reads[0].Equal(at) {
		t.Errorf("Reads = %v", reads)
	}
}
