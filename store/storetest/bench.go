package storetest

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stockgate/stockgate/store"
)

// RunBenchmarks measures the hot paths of the drivers newHarness makes:
//
//   - Accept: one acceptance of one message per call from 8 callers per CPU
//     (b.RunParallel), the webhook path that group commit serves;
//   - AcceptSerial: the same from one caller, its latency alone;
//   - Commit: one ledger step per call, 8 callers per CPU on their own keys;
//   - Projection: parallel reads of one key;
//   - QueueBatch: the dispatcher's store work per batch of 100 changes:
//     one Enqueue of 100 SKUs, then one Dequeue of them.
func RunBenchmarks(b *testing.B, newHarness HarnessMaker) {
	b.Helper()
	b.Run("Accept", func(b *testing.B) { benchAccept(b, newHarness, true) })
	b.Run("AcceptSerial", func(b *testing.B) { benchAccept(b, newHarness, false) })
	b.Run("Commit", func(b *testing.B) { benchCommit(b, newHarness) })
	b.Run("Projection", func(b *testing.B) { benchProjection(b, newHarness) })
	b.Run("QueueBatch", func(b *testing.B) { benchQueueBatch(b, newHarness) })
}

// parallelism is the callers per CPU of the parallel write benchmarks, as
// many concurrent webhook requests or consumers would be.
const parallelism = 8

func benchAccept(b *testing.B, newHarness HarnessMaker, parallel bool) {
	e := newEnv(b, newHarness)
	var n atomic.Uint64
	body := msg("bench").Body
	one := func() {
		i := n.Add(1)
		errs, err := e.d.Accept(e.ctx, []store.Acceptance{{
			DedupKey: fmt.Sprintf("bench-%d", i),
			Messages: []store.Message{{Topic: "inbound", EventID: "ev", Body: body}},
		}})
		if err != nil || errs[0] != nil {
			b.Errorf("Accept: %v %v", err, errs)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				one()
			}
		})
	} else {
		for range b.N {
			one()
		}
	}
	b.StopTimer()
	if got, err := e.d.Outbox(e.ctx, 0, int(n.Load())+1); err != nil || len(got) != int(n.Load()) {
		b.Errorf("outbox has %d messages, want %d (%v)", len(got), n.Load(), err)
	}
}

func benchCommit(b *testing.B, newHarness HarnessMaker) {
	e := newEnv(b, newHarness)
	var worker, event atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(parallelism)
	b.RunParallel(func(pb *testing.PB) {
		k := key("BENCH", fmt.Sprintf("WH-%d", worker.Add(1)))
		var seq uint64
		for pb.Next() {
			c := step(k, seq, fmt.Sprintf("ev-%d", event.Add(1)), int64(seq+1))
			errs, err := e.d.Commit(e.ctx, []store.Commit{c})
			if err != nil || errs[0] != nil {
				b.Errorf("Commit: %v %v", err, errs)
				return
			}
			seq++
		}
	})
}

func benchProjection(b *testing.B, newHarness HarnessMaker) {
	e := newEnv(b, newHarness)
	k := key("BENCH", "WH")
	errs, err := e.d.Commit(e.ctx, []store.Commit{step(k, 0, "ev", 42)})
	if err != nil || errs[0] != nil {
		b.Fatalf("Commit: %v %v", err, errs)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p, err := e.d.Projection(e.ctx, k)
			if err != nil || p.Seq != 1 || p.OnHand != 42 {
				b.Errorf("Projection: %+v, %v", p, err)
				return
			}
		}
	})
}
