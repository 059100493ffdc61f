package ledger

import (
	"context"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/boltstore"
	"github.com/stockgate/stockgate/store/memstore"
)

// BenchmarkApply measures ledger events applied per second: read the
// projection, compute, commit the entry, projection, applied mark and
// availability change. Parallel callers over 1,000 keys share commits.
// The -cached variants keep projections in memory (Options.CacheProjections,
// as the gateway does over an embedded store) and skip the read; the
// -hotkey variant sends every event to one key (a flash sale), where each
// event is stepped from the one before while that one is written.
func BenchmarkApply(b *testing.B) {
	openBolt := func(b *testing.B) store.Driver {
		d, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	for _, bc := range []struct {
		name   string
		open   func(b *testing.B) store.Driver
		cached bool
		keys   int
	}{
		{"memstore", func(*testing.B) store.Driver { return memstore.New(nil) }, false, 1000},
		{"boltstore", openBolt, false, 1000},
		{"boltstore-cached", openBolt, true, 1000},
		{"boltstore-cached-hotkey", openBolt, true, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st := store.New(bc.open(b))
			defer st.Close()
			l := New(st, &Options{CacheProjections: bc.cached})
			evs := make([]*event.Event, b.N)
			for i := range evs {
				ev, err := event.NewMovement(event.StockReceived, "", event.Movement{
					Connector: "bench", SourceEventID: strconv.Itoa(i), OccurredAt: t0,
					SKU: "SKU-" + strconv.Itoa(i%bc.keys), Location: "web", Quantity: 1,
					Reason: "received", CorrelationID: "c",
				})
				if err != nil {
					b.Fatal(err)
				}
				evs[i] = ev
			}
			var next atomic.Int64
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ev := evs[next.Add(1)-1]
					res, err := l.Apply(ctx, ev, nil)
					if err != nil || len(res.Changes) != 1 {
						b.Fatalf("apply: %+v, %v", res, err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
