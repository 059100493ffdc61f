// Package reconciletest is the conformance suite of reconcile.Source: a
// Source is done when RunSourceTests passes against it through a small
// Harness that seeds its marketplace (a fake server, or memory). It also
// holds MemSource, the in-memory Source.
package reconciletest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/reconcile"
)

// Level is a quantity a marketplace holds for a SKU at a location, in
// stockgate's ids.
type Level struct {
	SKU, Location string
	Quantity      int64
}

// Harness adapts one Source to the suite.
type Harness interface {
	// MakeSource returns a Source over a new marketplace that holds
	// exactly levels, mapped so that the Source reports them with these
	// SKUs and locations. It is called once per subtest.
	MakeSource(ctx context.Context, t *testing.T, levels []Level) (reconcile.Source, error)
	// State is what the Source's observations measure:
	// event.StateOnHand or event.StateAvailable.
	State() string
}

// zero is the since of a full read.
var zero time.Time

// RunSourceTests runs the suite against h.
func RunSourceTests(t *testing.T, h Harness) {
	t.Helper()
	levels := []Level{
		{"SKU-1", "store-1", 5}, {"SKU-1", "store-2", 0}, {"SKU-2", "store-1", 12}, {"SKU-3", "store-2", 1_000_000},
	}
	t.Run("ReadsEveryLevel", func(t *testing.T) { readsEveryLevel(t, h, levels) })
	t.Run("StableSourceIDs", func(t *testing.T) { stableIDs(t, h, levels) })
	t.Run("EmptyMarketplace", func(t *testing.T) { empty(t, h) })
	t.Run("CanceledContext", func(t *testing.T) { canceled(t, h, levels) })
}

func usable(obs []reconcile.Observation) []reconcile.Observation {
	var out []reconcile.Observation
	for _, o := range obs {
		if o.Skip == "" {
			out = append(out, o)
		}
	}
	return out
}

func readsEveryLevel(t *testing.T, h Harness, levels []Level) {
	ctx := context.Background()
	src, err := h.MakeSource(ctx, t, levels)
	if err != nil {
		t.Fatal(err)
	}
	obs, err := src.Read(ctx, zero)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	got := map[string]reconcile.Observation{}
	ids := map[string]bool{}
	for _, o := range usable(obs) {
		k := o.SKU + "@" + o.Location
		if _, dup := got[k]; dup {
			t.Errorf("%s reported twice", k)
		}
		got[k] = o
		if o.SourceID == "" || ids[o.SourceID] {
			t.Errorf("%s: source id %q is empty or not unique", k, o.SourceID)
		}
		ids[o.SourceID] = true
		if o.State != h.State() {
			t.Errorf("%s: state %q, want %q", k, o.State, h.State())
		}
		if o.AsOf.IsZero() {
			t.Errorf("%s: no AsOf", k)
		}
	}
	for _, l := range levels {
		o, ok := got[l.SKU+"@"+l.Location]
		switch {
		case !ok:
			t.Errorf("%s@%s not reported (read %+v)", l.SKU, l.Location, obs)
		case o.Quantity != l.Quantity:
			t.Errorf("%s@%s: quantity %d, want %d", l.SKU, l.Location, o.Quantity, l.Quantity)
		}
	}
	if len(got) != len(levels) {
		t.Errorf("reported %d levels, want %d", len(got), len(levels))
	}
}

func stableIDs(t *testing.T, h Harness, levels []Level) {
	ctx := context.Background()
	src, err := h.MakeSource(ctx, t, levels)
	if err != nil {
		t.Fatal(err)
	}
	ids := func() map[string]bool {
		obs, err := src.Read(ctx, zero)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		m := map[string]bool{}
		for _, o := range usable(obs) {
			m[fmt.Sprintf("%s %s@%s", o.SourceID, o.SKU, o.Location)] = true
		}
		return m
	}
	a, b := ids(), ids()
	if len(a) != len(b) {
		t.Fatalf("two reads gave %d and %d rows", len(a), len(b))
	}
	for k := range a {
		if !b[k] {
			t.Errorf("%s not in the second read", k)
		}
	}
	if h.State() == event.StateOnHand {
		// A marketplace count carries its own as-of time: re-reading must
		// give the same, or re-running a job would not be idempotent.
		first, _ := src.Read(ctx, zero)
		second, _ := src.Read(ctx, zero)
		at := map[string]string{}
		for _, o := range usable(first) {
			at[o.SourceID] = o.AsOf.String()
		}
		for _, o := range usable(second) {
			if at[o.SourceID] != o.AsOf.String() {
				t.Errorf("%s: AsOf %s, then %s", o.SourceID, at[o.SourceID], o.AsOf)
			}
		}
	}
}

func empty(t *testing.T, h Harness) {
	ctx := context.Background()
	src, err := h.MakeSource(ctx, t, nil)
	if err != nil {
		t.Fatal(err)
	}
	obs, err := src.Read(ctx, zero)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if u := usable(obs); len(u) != 0 {
		t.Errorf("an empty marketplace reported %+v", u)
	}
}

func canceled(t *testing.T, h Harness, levels []Level) {
	src, err := h.MakeSource(context.Background(), t, levels)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if obs, err := src.Read(ctx, zero); err == nil {
		t.Errorf("Read with a canceled context: %d observations and no error", len(obs))
	}
}
