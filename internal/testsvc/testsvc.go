// Package testsvc connects tests to the services the project's machines
// and CI run (../shared/SERVICES.md). A test that needs a service and
// cannot reach it fails when CI=true, since CI must have it, and is
// skipped elsewhere with the command that starts the service.
package testsvc

import (
	"context"
	"fmt"
	"net"
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
		Missing(t, fmt.Sprintf("Redis at %s does not answer (%v); start it with:\n\t%s", RedisAddr, err, StartRedis))
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Dial checks that something listens on addr (a TCP host:port) for the
// service name, started by the command start; see Missing.
func Dial(t testing.TB, name, addr, start string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		Missing(t, fmt.Sprintf("%s is not answering on %s (%v); start it with:\n\t%s", name, addr, err, start))
		return
	}
	_ = c.Close()
}

// Missing ends a test that needs something the machine does not have (a
// service that does not answer, a tool not installed): it fails when
// CI=true, which must have it, and skips the test elsewhere. msg says what
// is missing and how to get it.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
