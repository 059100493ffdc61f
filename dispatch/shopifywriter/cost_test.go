package shopifywriter_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/ratelimit"
)

// costPacer grants every Wait at once and keeps what each call reserved
// and what its answer said it cost.
type costPacer struct {
	reserved []float64
	actual   []float64
}

func (p *costPacer) Wait(_ context.Context, cost float64) error {
	p.reserved = append(p.reserved, cost)
	return nil
}

func (p *costPacer) Observe(o ratelimit.Observation) { p.actual = append(p.actual, o.ActualCost) }

// writeSizes writes batches of the given sizes and returns, per write,
// what Cost predicted before it, what it reserved and what it cost.
func writeSizes(t *testing.T, cost shopifyfake.CostModel, sizes []int) (predicted, reserved, actual []float64) {
	t.Helper()
	s := newShop(t, shopifyfake.Options{Cost: cost})
	w := newWriter(t, s, "shopify-eu", 300, nil)
	p := &costPacer{}
	for k, n := range sizes {
		ups := make([]dispatch.Update, n)
		for i := range ups {
			ups[i] = dispatch.Update{SKU: skuName(i), Quantity: int64(k + 1), Version: uint64(k + 1)}
		}
		predicted = append(predicted, w.Cost(n))
		outs, err := w.Write(context.Background(), p, ups)
		if err != nil {
			t.Fatalf("write %d of %d quantities: %v", k, n, err)
		}
		for i, o := range outs {
			if o.Code != 0 {
				t.Fatalf("write %d: update %d: %v", k, i, o.Err)
			}
		}
	}
	if len(p.reserved) != len(sizes) || len(p.actual) != len(sizes) {
		t.Fatalf("%d writes made %d reservations and %d observations", len(sizes), len(p.reserved), len(p.actual))
	}
	return predicted, p.reserved, p.actual
}

// TestWriteCostGrowsWithSize: against a shop whose price grows with the
// number of quantities, no write reserves less than it costs, neither the
// first nor one larger than any before it, so the limiter never grants a
// call the shop would throttle. Before, the first write reserved 50 and
// every later one what the last one cost.
func TestWriteCostGrowsWithSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sizes := []int{250, 1, 100, 40, 250, 3, 250, 120}
		predicted, reserved, actual := writeSizes(t, shopifyfake.CostModel{PerInputItem: 1}, sizes)
		for k := range sizes {
			if reserved[k] < actual[k] {
				t.Errorf("write %d of %d quantities reserved %v and cost %v", k, sizes[k], reserved[k], actual[k])
			}
			if predicted[k] != reserved[k] {
				t.Errorf("write %d: Cost(%d) = %v, but the write reserved %v", k, sizes[k], predicted[k], reserved[k])
			}
		}
		// Once two sizes are priced the line is exact for this shop.
		for k := 2; k < len(sizes); k++ {
			if reserved[k] != actual[k] {
				t.Errorf("write %d of %d quantities reserved %v, cost %v: the price is linear, the estimate should be exact", k, sizes[k], reserved[k], actual[k])
			}
		}
	})
}

// TestWriteCostFlat: at Shopify's documented flat price per mutation, the
// estimate overshoots only until two sizes have been priced, and is exact
// from then on.
func TestWriteCostFlat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sizes := []int{1, 100, 40, 250, 3}
		_, reserved, actual := writeSizes(t, shopifyfake.CostModel{}, sizes)
		for k := range 2 {
			if reserved[k] < actual[k] {
				t.Errorf("write %d reserved %v and cost %v", k, reserved[k], actual[k])
			}
		}
		for k := 2; k < len(sizes); k++ {
			if reserved[k] != actual[k] {
				t.Errorf("write %d of %d quantities reserved %v, cost %v: want the flat price exactly", k, sizes[k], reserved[k], actual[k])
			}
		}
		t.Log(fmt.Sprint("reserved ", reserved, ", cost ", actual))
	})
}
