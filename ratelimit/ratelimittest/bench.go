package ratelimittest

import (
	"testing"
	"time"

	"github.com/stockgate/stockgate/ratelimit"
)

// RunBenchmarks measures the hot paths of the limiters mk makes: a
// granted Reserve (sequential and from parallel goroutines) and an Observe
// as every response makes one.
func RunBenchmarks(b *testing.B, mk Maker) {
	b.Run("Reserve", func(b *testing.B) {
		b.ReportAllocs()
		// 1e6 units/s: the microsecond between calls refills the unit.
		l := mk(b, 1e6, 1e3)
		now := start
		for b.Loop() {
			now = now.Add(time.Microsecond)
			if d, err := l.Reserve(b.Context(), now, 1); err != nil || d != 0 {
				b.Fatalf("Reserve = %v, %v; want 0, nil", d, err)
			}
		}
	})
	b.Run("ReserveParallel", func(b *testing.B) {
		b.ReportAllocs()
		l := mk(b, 1e9, 1e6)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				// The delay is not quite 0: a caller whose clock reading
				// is older than another's waits until that one's time.
				if d, err := l.Reserve(b.Context(), time.Now(), 1); err != nil || d > 100*time.Millisecond {
					b.Errorf("Reserve = %v, %v; want ≈ 0, nil", d, err)
					return
				}
			}
		})
	})
	b.Run("Observe", func(b *testing.B) {
		b.ReportAllocs()
		l := mk(b, 100, 1000)
		o := ratelimit.Observation{Limit: 100, Burst: 1000, Available: 900, HasAvailable: true, ReservedCost: 10, ActualCost: 8}
		now := start
		for b.Loop() {
			now = now.Add(time.Millisecond)
			if err := l.Observe(b.Context(), now, o); err != nil {
				b.Fatalf("Observe: %v", err)
			}
		}
	})
}
