package dispatch_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/shopify/admin"
	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/redislease"
	"github.com/stockgate/stockgate/dispatch/shopifywriter"
	"github.com/stockgate/stockgate/ratelimit/redislimit"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/redisstore"
)

// TestThreeReplicasShareOneShopBudget: three replicas write to one shop
// at once (each holds the lease of one of the shop's three location
// accounts) and share the shop's budget through Redis: the shop never
// answers THROTTLED and, while the backlog lasts, at least 90 % of its
// restore rate is spent.
func TestThreeReplicasShareOneShopBudget(t *testing.T) {
	t.Parallel()
	admc := redisClient(t)
	prefix := "{sgtest:budget:" + rand.Text()[:12] + "}:"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := admc.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			admc.Del(ctx, iter.Val())
		}
	})
	const (
		restore = 400.0 // points per second
		bucket  = 600.0
		skus    = 2000 // per location
	)
	// Each quantity costs a point, so full writes spend the budget fast
	// and the test measures the shared limiter, not the clock.
	fake := shopifyfake.New(shopifyfake.Options{RestoreRate: restore, MaximumAvailable: bucket, Cost: shopifyfake.CostModel{PerInputItem: 1}})
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })

	type replica struct {
		d    *dispatch.Dispatcher
		stop context.CancelFunc
		done chan error
	}
	var rs []*replica
	locs := []string{"berlin", "paris", "rome"}
	var st0 *store.Store
	for i, loc := range locs {
		c := redisClient(t)
		drv, err := redisstore.Open(context.Background(), c, &redisstore.Options{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		st := store.New(drv)
		t.Cleanup(func() { st.Close() })
		if st0 == nil {
			st0 = st
		}
		items := map[int64]string{}
		for j := range skus {
			items[itemBase+int64(j)] = fmt.Sprintf("B%04d", j)
		}
		cl, err := admin.New(admin.Options{Shop: fake.URL(), Token: shopifyfake.DefaultToken, HTTPClient: &http.Client{Timeout: 10 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		key := "shop-" + loc
		w, err := shopifywriter.New(shopifywriter.Options{Account: key, Client: cl, LocationID: int64(shopLocation + i), Items: items})
		if err != nil {
			t.Fatal(err)
		}
		limit, burst := w.InitialBudget()
		lim, err := redislimit.New(c, "shopify:"+fake.URL(), limit, burst, &redislimit.Options{Prefix: prefix + "ratelimit:"})
		if err != nil {
			t.Fatal(err)
		}
		leases, _ := redislease.New(c, &redislease.Options{Prefix: prefix + "dispatch:lease:"})
		acc := dispatch.Account{Writer: w, Rule: rule, Limiter: lim}
		acc.Rule.Channel, acc.Rule.Locations = key, []string{loc}
		d, err := dispatch.New(st, []dispatch.Account{acc}, &dispatch.Options{
			Window: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond, ReconcileInterval: -1,
			Leases: leases, Holder: fmt.Sprintf("r%d", i),
		})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, &replica{d: d})
	}
	// The backlog: every SKU at every location, before anyone writes.
	for _, loc := range locs {
		for j := range skus {
			setAt(t, st0, fmt.Sprintf("B%04d", j), loc, int64(j%50+1))
		}
	}
	began := time.Now()
	for _, r := range rs {
		ctx, cancel := context.WithCancel(context.Background())
		r.stop, r.done = cancel, make(chan error, 1)
		go func() { r.done <- r.d.Run(ctx, nil) }()
	}
	t.Cleanup(func() {
		for _, r := range rs {
			r.stop()
			if err := <-r.done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	})
	spentNow := func() float64 {
		var sum float64
		for _, r := range rs {
			sum += r.d.Status()[0].Cost
		}
		return sum
	}
	// Measured while all three push: from the shop's first applied
	// quantity until the first location is fully written.
	deadline := time.Now().Add(60 * time.Second)
	var first, firstDone time.Time
	var spentAtFirstDone float64
	for {
		if first.IsZero() && fake.Stats().Applied > 0 {
			first = time.Now()
		}
		done := 0
		for i := range locs {
			ok := true
			for j := range skus {
				if q, found := fake.Level(itemBase+int64(j), int64(shopLocation+i)); !found || q != int64(j%50+1) {
					ok = false
					break
				}
			}
			if ok {
				done++
			}
		}
		if done > 0 && firstDone.IsZero() {
			firstDone, spentAtFirstDone = time.Now(), spentNow()
		}
		if done == len(locs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the shop did not converge in 60 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = began
	for _, r := range rs {
		if st := r.d.Status()[0]; !st.Leased {
			t.Errorf("%s: not leased: each replica should hold its account", st.Account)
		}
	}
	// What the shop allowed meanwhile: the full bucket plus the refill
	// (sampled every 20 ms, so slightly generous).
	elapsed := firstDone.Sub(first)
	allowed := bucket + restore*elapsed.Seconds()
	used := spentAtFirstDone / allowed
	t.Logf("3 replicas writing %d quantities each: %.0f of %.0f points allowed in the %v all three pushed (%.1f%%); %d THROTTLED",
		skus, spentAtFirstDone, allowed, elapsed, 100*used, fake.Stats().Throttled)
	if n := fake.Stats().Throttled; n != 0 {
		t.Errorf("the shop answered THROTTLED %d times", n)
	}
	if used < 0.9 {
		t.Errorf("budget used %.1f%%, want at least 90%%", 100*used)
	}
}
