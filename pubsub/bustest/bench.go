package bustest

import (
	"context"
	"testing"
	"time"
)

// RunBenchmarks measures a backend's end-to-end throughput: b.N messages
// over 20 keys, one sending goroutine per key, received and acked by four
// Receive loops on one subscription, timed from the first send to the last
// message received. It reports msgs/s; every message must arrive.
func RunBenchmarks(b *testing.B, newBackend BackendMaker) {
	b.Run("SendReceive", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		be, err := newBackend(ctx, b)
		if err != nil {
			b.Fatalf("making backend: %v", err)
		}
		b.Cleanup(be.Close)
		e := newEnv(b, be)
		top := e.topic(ctx)
		sub := e.subscribe(ctx, "bench")
		// One round trip first, so that joining a group or creating a
		// consumer is not timed.
		warm := e.sendKeyed(ctx, top, "warm", 1, 1)
		if err := consume(ctx, sub, 1, deliverWithin, func(g got) bool { g.msg.Ack(); return g.id == warm[0].id }); err != nil {
			b.Fatalf("warm-up: %v", err)
		}

		plan := e.plan("bench", numKeys, (b.N+numKeys-1)/numKeys)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		rctx, wait := e.sendInBackground(ctx, top, plan)
		seen := make(map[string]int, len(plan))
		err = consume(rctx, sub, recvLoops, deliverWithin+time.Duration(len(plan))*time.Millisecond, func(g got) bool {
			g.msg.Ack()
			seen[g.id]++
			return len(seen) == len(plan)
		})
		elapsed := time.Since(start)
		b.StopTimer()
		if serr := wait(); serr != nil {
			b.Fatal(serr)
		}
		if err != nil {
			b.Fatalf("%v; %s", err, missing(plan, seen))
		}
		b.ReportMetric(float64(len(plan))/elapsed.Seconds(), "msgs/s")
	})
}
