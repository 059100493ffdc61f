package square

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkVerifyNormalize is the hot path of a delivery: verify the
// signature, then normalize. "count" is a POS sale's
// inventory.count.updated (IN_STOCK and SOLD, 1 event); "mixed" 8 counts
// (3 events, 3 dead letters); "order" an order.updated (1 dead letter);
// "fixture" the spec's example count (1 event), when present.
func BenchmarkVerifyNormalize(b *testing.B) {
	run := func(b *testing.B, c *Connector, body []byte, events, unmapped int) {
		r := newRequest(body)
		ctx := context.Background()
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if err := c.Verify(r); err != nil {
				b.Fatal(err)
			}
			res, err := c.Normalize(ctx, r)
			if err != nil || len(res.Events) != events || len(res.Unmapped) != unmapped {
				b.Fatalf("Normalize = %+v, %v", res, err)
			}
		}
	}
	c := newConnector(b)
	b.Run("count", func(b *testing.B) { run(b, c, readTestdata(b, "inventory_count_updated_sale.json"), 1, 0) })
	b.Run("mixed", func(b *testing.B) { run(b, c, readTestdata(b, "inventory_count_updated_mixed.json"), 3, 3) })
	b.Run("order", func(b *testing.B) { run(b, c, readTestdata(b, "order_updated_completed.json"), 0, 1) })
	b.Run("fixture", func(b *testing.B) {
		body, err := os.ReadFile(filepath.Join(fixtureDir, "inventory_count_updated_event.json"))
		if err != nil {
			b.Skipf("shared fixtures not present: %v", err)
		}
		fc := newConnector(b, func(c *Config) {
			c.Items = map[string]string{"FGQ5JJWT2PYTHF35CKZ2DSKP": "FX-FGQ5"}
			c.Locations = map[string]string{"YYQR03DGCTXA4": "fx-store"}
		})
		run(b, fc, body, 1, 0)
	})
}

// The parts of the hot path, to see where the time goes.

func BenchmarkVerify(b *testing.B) {
	c := newConnector(b)
	r := newRequest(readTestdata(b, "inventory_count_updated_sale.json"))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeCounts(b *testing.B) {
	body := readTestdata(b, "inventory_count_updated_mixed.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var env envelope
		var obj countsObject
		if err := json.Unmarshal(body, &env); err != nil {
			b.Fatal(err)
		}
		if err := json.Unmarshal(env.Data.Object, &obj); err != nil || len(*obj.InventoryCounts) != 8 {
			b.Fatal(err)
		}
	}
}
