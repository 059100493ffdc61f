package redislease_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/redislease"
	"github.com/stockgate/stockgate/internal/testsvc"
)

// newLeases returns Leases under a prefix of this test's own on the real
// Redis, or fails (CI=true) or skips when it does not answer; the keys go
// when the test ends.
func newLeases(t *testing.T) (*redislease.Leases, *redis.Client) {
	t.Helper()
	c := testsvc.Redis(t, nil)
	prefix := "stockgate:test:lease:" + rand.Text()[:12] + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	l, err := redislease.New(c, &redislease.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return l, c
}

func TestRedisLeases(t *testing.T) {
	t.Parallel()
	l, c := newLeases(t)
	testLeases(t, l)
	if _, err := c.Get(context.Background(), l.Key("shop")).Result(); err != redis.Nil {
		t.Errorf("the released lease's key is still there: %v", err)
	}
}

// TestMemoryLeases runs the same checks on dispatch.MemoryLeases, so the
// two behave alike.
func TestMemoryLeases(t *testing.T) {
	t.Parallel()
	testLeases(t, &dispatch.MemoryLeases{})
}

func testLeases(t *testing.T, l dispatch.Leases) {
	ctx := context.Background()
	acquire := func(account, holder string, ttl time.Duration, want bool) {
		t.Helper()
		got, err := l.Acquire(ctx, account, holder, ttl)
		if err != nil || got != want {
			t.Fatalf("Acquire(%s, %s) = %v, %v; want %v", account, holder, got, err, want)
		}
	}
	acquire("shop", "a", time.Minute, true)
	acquire("shop", "b", time.Minute, false) // held by a
	acquire("shop", "a", time.Minute, true)  // renewed
	acquire("other", "b", time.Minute, true) // leases are per account
	if err := l.Release(ctx, "shop", "b"); err != nil {
		t.Fatal(err)
	}
	acquire("shop", "b", time.Minute, false) // b could not release a's lease
	if err := l.Release(ctx, "shop", "a"); err != nil {
		t.Fatal(err)
	}
	acquire("shop", "b", time.Minute, true) // released: taken at once
	acquire("shop", "a", time.Minute, false)
	if err := l.Release(ctx, "shop", "b"); err != nil {
		t.Fatal(err)
	}

	// A lease not renewed runs out, and then belongs to whoever asks.
	began := time.Now()
	acquire("short", "a", 100*time.Millisecond, true)
	acquire("short", "b", time.Minute, false)
	for {
		ok, err := l.Acquire(ctx, "short", "b", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Since(began) > 5*time.Second {
			t.Fatal("the lease did not run out")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := time.Since(began); d < 90*time.Millisecond {
		t.Errorf("a 100ms lease was taken over after %v", d)
	}
	acquire("short", "a", time.Minute, false) // the old holder cannot renew it
}
