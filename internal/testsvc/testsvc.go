// Package testsvc connects tests to the services the project's machines
// and CI run (../shared/SERVICES.md). A test that needs a service and
// cannot reach it fails when CI=true, since CI must have it, and is
// skipped elsewhere with the command that starts the service.
package testsvc

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisAddr is where the machines run Redis.
const RedisAddr = "127.0.0.1:6379"

// StartRedis is Redis's start command from shared/SERVICES.md.
const StartRedis = `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log`

// Redis returns a client of the machine's Redis made with opts (its Addr
// is set to RedisAddr; nil: the defaults, with a one-second dial
// timeout), closed when t ends.
func Redis(t testing.TB, opts *redis.Options) *redis.Client {
	t.Helper()
	var o redis.Options
	if opts != nil {
		o = *opts
	}
	o.Addr = RedisAddr
	if o.DialTimeout == 0 {
		o.DialTimeout = time.Second
	}
	c := redis.NewClient(&o)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		Unreachable(t, fmt.Sprintf("Redis at %s does not answer (%v)", RedisAddr, err), StartRedis)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Unreachable ends a test that needs a service it cannot reach: it fails
// when CI=true, and skips it elsewhere, saying why and how to start the
// service.
func Unreachable(t testing.TB, why, start string) {
	t.Helper()
	msg := why + "; start it with:\n\t" + start
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
