package redislimit_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stockgate/stockgate/internal/testsvc"
	"github.com/stockgate/stockgate/ratelimit"
	"github.com/stockgate/stockgate/ratelimit/redislimit"
)

// runPrefix is unique to this test run: several test packages share the
// server.
var runPrefix = fmt.Sprintf("stockgate:test:ratelimit:%d-%d:", os.Getpid(), time.Now().UnixNano())

var keySeq atomic.Int64

// newClient returns a client of the real Redis on loopback, or fails (in
// CI) or skips the test when it is not answering. When the test ends it
// deletes the keys of the test's buckets (see uniqueAccount).
func newClient(t testing.TB) *redis.Client {
	t.Helper()
	c := testsvc.Redis(t, &redis.Options{PoolSize: 32})
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, runPrefix+t.Name()+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return c
}

// uniqueAccount names a bucket no other test uses; the name starts with
// the test's, so the test's cleanup finds it.
func uniqueAccount(t testing.TB) string {
	return fmt.Sprintf("%s#%d", t.Name(), keySeq.Add(1))
}

// maker returns a ratelimittest.Maker over client.
func maker(client redis.Scripter, opts *redislimit.Options) func(t testing.TB, limit, burst float64) ratelimit.Limiter {
	return func(t testing.TB, limit, burst float64) ratelimit.Limiter {
		t.Helper()
		o := redislimit.Options{Prefix: runPrefix}
		if opts != nil {
			o = *opts
			o.Prefix = runPrefix
		}
		l, err := redislimit.New(client, uniqueAccount(t), limit, burst, &o)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
}
