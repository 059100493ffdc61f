package redislimit_test

import (
	"testing"

	"github.com/stockgate/stockgate/ratelimit/ratelimittest"
)

func TestConformance(t *testing.T) {
	ratelimittest.RunConformanceTests(t, maker(newClient(t), nil))
}

func BenchmarkRedis(b *testing.B) {
	ratelimittest.RunBenchmarks(b, maker(newClient(b), nil))
}
