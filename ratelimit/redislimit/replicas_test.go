package redislimit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stockgate/stockgate/internal/testsvc"
	"github.com/stockgate/stockgate/ratelimit"
	"github.com/stockgate/stockgate/ratelimit/ratelimittest"
	"github.com/stockgate/stockgate/ratelimit/redislimit"
)

// TestReplicasShareOneBudget: three replicas (each its own client and
// Limiter on one key) hammer one budget for 2 s of real time. Together
// they get no more than Limit·t + Burst units and at least 90% of that, no
// window holds more than the bucket allows, and a marketplace with the same
// bucket (a fake Shopify) would have throttled none of them.
func TestReplicasShareOneBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("2 s of real time per clock; skipped with -short")
	}
	for _, tc := range []struct {
		name       string
		serverTime bool
	}{{"CallerTime", false}, {"ServerTime", true}} {
		t.Run(tc.name, func(t *testing.T) {
			testReplicas(t, tc.serverTime)
		})
	}
}

func testReplicas(t *testing.T, serverTime bool) {
	const (
		limit, burst = 200, 20
		replicas     = 3
		workers      = 4 // per replica
		run          = 2 * time.Second
	)
	account := uniqueAccount(t)
	lims := make([]*redislimit.Limiter, replicas)
	for i := range lims {
		c := newClient(t)
		l, err := redislimit.New(c, account, limit, burst, &redislimit.Options{Prefix: runPrefix, ServerTime: serverTime})
		if err != nil {
			t.Fatal(err)
		}
		lims[i] = l
	}
	// Touch the bucket so it starts full at start.
	if _, err := lims[0].State(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}

	var (
		mu      sync.Mutex
		grants  []ratelimittest.Grant
		counter atomic.Int64 // what the "marketplace" saw
		wg      sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(run)
	for _, l := range lims {
		for range workers {
			wg.Go(func() {
				for {
					now := time.Now()
					d, err := l.Reserve(t.Context(), now, 1)
					if err != nil {
						t.Errorf("Reserve: %v", err)
						return
					}
					g := now.Add(d)
					if serverTime {
						// The delay is from the server's time, which is
						// between now and the reply's arrival: count the
						// grant at its latest.
						g = time.Now().Add(d)
					}
					if g.After(end) {
						// Not used: give it back, as Wait does.
						err := l.Observe(context.WithoutCancel(t.Context()), time.Now(), ratelimit.Observation{ReservedCost: 1})
						if err != nil {
							t.Errorf("give back: %v", err)
						}
						return
					}
					time.Sleep(d)
					counter.Add(1)
					mu.Lock()
					grants = append(grants, ratelimittest.Grant{At: g, Cost: 1})
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	budget := limit*run.Seconds() + burst
	n := float64(counter.Load())
	t.Logf("%v units granted in %v to %d replicas × %d workers; budget %v (%.1f%%)", n, run, replicas, workers, budget, 100*n/budget)
	if n > budget {
		t.Errorf("%v units granted, more than the budget %v", n, budget)
	}
	if n < 0.9*budget {
		t.Errorf("%v units granted, less than 90%% of the budget %v", n, budget)
	}
	// No window holds more than the bucket allows. With server time the
	// grant times are known to within a round trip: allow a few units for
	// that.
	slack := 0.0
	if serverTime {
		slack = 2
	}
	ratelimittest.CheckWindows(t, grants, limit, burst+slack, 50*time.Millisecond, 250*time.Millisecond, time.Second, run)
	ratelimittest.CheckBucket(t, grants, limit, burst+slack)
}

// TestObserveIsShared: one replica's throttled answer, and the limit it
// learns, slow every replica on the key.
func TestObserveIsShared(t *testing.T) {
	c := newClient(t)
	account := uniqueAccount(t)
	opts := &redislimit.Options{Prefix: runPrefix}
	a, err := redislimit.New(c, account, 10, 10, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The second replica is configured differently: the stored bucket
	// wins.
	b, err := redislimit.New(newClient(t), account, 99, 99, opts)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	ctx := t.Context()
	if _, err := a.Reserve(ctx, now, 1); err != nil {
		t.Fatal(err)
	}
	st, err := b.State(ctx, now)
	if err != nil || st.Limit != 10 || st.Burst != 10 || st.Tokens != 9 {
		t.Fatalf("b.State = %+v, %v; want a's bucket: Limit 10, Burst 10, Tokens 9", st, err)
	}

	// a is throttled with Retry-After 1s and learns limit 20.
	if err := a.Observe(ctx, now, ratelimit.Observation{Throttled: true, RetryAfter: time.Second, Limit: 20}); err != nil {
		t.Fatal(err)
	}
	d, err := b.Reserve(ctx, now, 1)
	if err != nil || d != time.Second {
		t.Errorf("b.Reserve after a's Retry-After = %v, %v; want 1s", d, err)
	}
	st, err = b.State(ctx, now)
	if err != nil || st.Limit != 20 || !st.HoldUntil.Equal(now.Add(time.Second)) {
		t.Errorf("b.State = %+v, %v; want Limit 20, HoldUntil now+1s", st, err)
	}
}

// TestServerTimeIgnoresNow: with ServerTime the now arguments do not
// matter; the bucket runs on the server's clock.
func TestServerTimeIgnoresNow(t *testing.T) {
	l, err := redislimit.New(newClient(t), uniqueAccount(t), 10, 5, &redislimit.Options{Prefix: runPrefix, ServerTime: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if d, err := l.Reserve(ctx, time.Time{}, 5); err != nil || d != 0 {
		t.Fatalf("Reserve(5) = %v, %v; want 0", d, err)
	}
	// Far in the "future" by the caller's clock: no refill counted.
	d, err := l.Reserve(ctx, time.Now().Add(time.Hour), 1)
	if err != nil || d < 90*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("Reserve(1) = %v, %v; want ≈ 100ms", d, err)
	}
}

func TestKeyExpires(t *testing.T) {
	c := newClient(t)
	l, err := redislimit.New(c, uniqueAccount(t), 10, 10, &redislimit.Options{Prefix: runPrefix, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := l.Reserve(t.Context(), now, 5); err != nil {
		t.Fatal(err)
	}
	// 1 min after the bucket is full again (0.5 s).
	ttl, err := c.PTTL(t.Context(), l.Key()).Result()
	if err != nil || ttl < 59*time.Second || ttl > 61*time.Second {
		t.Errorf("PTTL = %v, %v; want ≈ 1m0.5s", ttl, err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	rc := redis.NewClient(&redis.Options{Addr: testsvc.RedisAddr})
	defer rc.Close()
	var c redis.Scripter = rc
	for _, tc := range []struct {
		name         string
		client       redis.Scripter
		account      string
		limit, burst float64
		opts         *redislimit.Options
	}{
		{"NilClient", nil, "a", 1, 1, nil},
		{"NoAccount", c, "", 1, 1, nil},
		{"NegativeTTL", c, "a", 1, 1, &redislimit.Options{TTL: -1}},
		{"NegativeLimit", c, "a", -1, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := redislimit.New(tc.client, tc.account, tc.limit, tc.burst, tc.opts); err == nil {
				t.Error("New succeeded, want an error")
			}
		})
	}
	_, err := redislimit.New(nil, "", -1, 1, &redislimit.Options{TTL: -1})
	if err == nil || !errors.Is(err, redislimit.ErrInvalidOptions) || !errors.Is(err, ratelimit.ErrInvalidBudget) {
		t.Errorf("New with every problem: %v, want all reported", err)
	}
}
