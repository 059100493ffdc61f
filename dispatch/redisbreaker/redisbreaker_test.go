package redisbreaker_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"

	"github.com/stockgate/stockgate/dispatch/redisbreaker"
	"github.com/stockgate/stockgate/internal/testsvc"
)

// client returns a client of the real Redis, or fails (CI=true) or skips
// when it does not answer.
func client(t *testing.T) *redis.Client {
	t.Helper()
	c := testsvc.Redis(t, nil)
	return c
}

// replicas returns n Stores under one prefix of the test's own, each with
// its own client, as n replicas would have; the keys go at the end.
func replicas(t *testing.T, n int, lockTTL time.Duration) ([]*redisbreaker.Store, []*redis.Client) {
	t.Helper()
	prefix := "stockgate:test:breaker:" + rand.Text()[:12] + ":"
	var ss []*redisbreaker.Store
	var cs []*redis.Client
	for range n {
		c := client(t)
		s, err := redisbreaker.New(c, &redisbreaker.Options{Prefix: prefix, LockTTL: lockTTL})
		if err != nil {
			t.Fatal(err)
		}
		ss, cs = append(ss, s), append(cs, c)
	}
	admin := client(t)
	t.Cleanup(func() {
		ctx := context.Background()
		iter := admin.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			admin.Del(ctx, iter.Val())
		}
	})
	return ss, cs
}

// TestBreakerSharedAcrossReplicas: a breaker one replica opens is open on
// the other, which then refuses to run a request.
func TestBreakerSharedAcrossReplicas(t *testing.T) {
	t.Parallel()
	ss, _ := replicas(t, 2, 0)
	settings := gobreaker.Settings{
		Name: "shop", Timeout: time.Hour,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 2 },
	}
	var cbs []*gobreaker.DistributedCircuitBreaker[int]
	for _, s := range ss {
		cb, err := gobreaker.NewDistributedCircuitBreaker[int](s, settings)
		if err != nil {
			t.Fatal(err)
		}
		cbs = append(cbs, cb)
	}
	down := errors.New("503")
	for range 2 {
		if _, err := cbs[0].Execute(func() (int, error) { return 0, down }); !errors.Is(err, down) {
			t.Fatalf("Execute: %v", err)
		}
	}
	if st, err := cbs[1].State(); err != nil || st != gobreaker.StateOpen {
		t.Fatalf("the other replica sees %v (%v), want open", st, err)
	}
	ran := false
	if _, err := cbs[1].Execute(func() (int, error) { ran = true; return 1, nil }); !errors.Is(err, gobreaker.ErrOpenState) || ran {
		t.Fatalf("the other replica ran a request through an open breaker: %v", err)
	}
	if data, err := ss[1].GetData("gobreaker:state:nobody"); err != nil || data != nil {
		t.Fatalf("GetData of a name never set = %q, %v", data, err)
	}
}

// TestLock: the lock is exclusive across replicas, held for as long as
// its holder keeps it (beyond its TTL), and freed within the TTL when its
// holder dies.
func TestLock(t *testing.T) {
	t.Parallel()
	const ttl = 150 * time.Millisecond
	ss, cs := replicas(t, 3, ttl)
	if err := ss[0].Lock("m"); err != nil {
		t.Fatal(err)
	}
	if err := ss[1].Lock("m"); !errors.Is(err, redisbreaker.ErrLocked) {
		t.Fatalf("second Lock = %v, want ErrLocked", err)
	}
	time.Sleep(3 * ttl) // what is tested: the holder extends the lock past its TTL
	if err := ss[1].Lock("m"); !errors.Is(err, redisbreaker.ErrLocked) {
		t.Fatalf("Lock after 3 TTLs = %v, want ErrLocked: the holder's lock was not extended", err)
	}
	if err := ss[1].Unlock("m"); !errors.Is(err, redisbreaker.ErrNotLocked) {
		t.Fatalf("Unlock by a replica that does not hold it = %v", err)
	}
	if err := ss[0].Unlock("m"); err != nil {
		t.Fatal(err)
	}

	// The holder dies (its connection goes): the lock frees itself.
	if err := ss[2].Lock("m"); err != nil {
		t.Fatal(err)
	}
	cs[2].Close()
	began := time.Now()
	for {
		err := ss[1].Lock("m")
		if err == nil {
			break
		}
		if !errors.Is(err, redisbreaker.ErrLocked) || time.Since(began) > 5*time.Second {
			t.Fatalf("Lock after the holder died: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := ss[2].Unlock("m"); err == nil {
		t.Error("the dead holder's Unlock succeeded")
	}
	if err := ss[1].Unlock("m"); err != nil {
		t.Fatal(err)
	}
}
