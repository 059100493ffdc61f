package dispatch_test

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stockgate/stockgate/connectors/shopify/admin"
	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/dispatch/redisbreaker"
	"github.com/stockgate/stockgate/dispatch/redislease"
	"github.com/stockgate/stockgate/dispatch/shopifywriter"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/internal/testsvc"
	"github.com/stockgate/stockgate/ratelimit/redislimit"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/redisstore"
)

// redisClient returns a client of the real Redis, or fails (CI=true) or
// skips when it does not answer.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	c := testsvc.Redis(t, &redis.Options{MaxRetries: -1})
	return c
}

// shopLocation is the fake shop's location; SKU Snnn is inventory item
// itemBase+nnn.
const (
	shopLocation = 655441491
	itemBase     = 808950000
)

// recording is a Shopify Writer that logs every update the shop confirmed.
type recording struct {
	*shopifywriter.Writer
	replica string
	log     *writeLog
}

func (r *recording) Write(ctx context.Context, p dispatch.Pacer, ups []dispatch.Update) ([]dispatch.Outcome, error) {
	outs, err := r.Writer.Write(ctx, p, ups)
	if err == nil {
		for i, u := range ups {
			if outs[i].Code == 0 {
				r.log.add(applied{replica: r.replica, sku: u.SKU, version: u.Version, quantity: u.Quantity, at: time.Now()})
			}
		}
	}
	return outs, err
}

// redisReplica is one gateway replica's Dispatcher: its own Redis client,
// store driver, leases, breaker store, limiter and Shopify client, all
// sharing one Redis under one prefix and one fake shop.
type redisReplica struct {
	name   string
	d      *dispatch.Dispatcher
	leases *crashable
	src    chan event.Availability
	stop   context.CancelFunc
}

// TestReplicasOnRedis: three Dispatchers share the real Redis (store,
// leases, breakers and the shop's rate budget) and one Shopify fake on a
// loopback port, in real time. One writes; each (SKU, version) reaches
// the shop once; the fake never answers THROTTLED; when the writer dies
// without releasing its lease another takes over and nothing is lost;
// the breaker the writer opens during an outage is open for the others.
func TestReplicasOnRedis(t *testing.T) {
	t.Parallel()
	admc := redisClient(t)
	prefix := "{sgtest:dispatch:" + rand.Text()[:12] + "}:"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := admc.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			admc.Del(ctx, iter.Val())
		}
	})
	fake := shopifyfake.New(shopifyfake.Options{Plan: shopifyfake.Standard, MaximumAvailable: 200})
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })

	const n = 100
	items := map[int64]string{}
	for i := range n {
		items[itemBase+int64(i)] = fmt.Sprintf("S%03d", i)
	}
	log := &writeLog{}
	var stores []*store.Store
	var rs []*redisReplica
	for i := range 3 {
		name := fmt.Sprintf("r%d", i)
		c := redisClient(t)
		drv, err := redisstore.Open(context.Background(), c, &redisstore.Options{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		st := store.New(drv)
		t.Cleanup(func() { st.Close() })
		stores = append(stores, st)
		cl, err := admin.New(admin.Options{Shop: fake.URL(), Token: shopifyfake.DefaultToken, HTTPClient: &http.Client{Timeout: 5 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		w, err := shopifywriter.New(shopifywriter.Options{Account: "shop", Client: cl, LocationID: shopLocation, Items: items})
		if err != nil {
			t.Fatal(err)
		}
		limit, burst := w.InitialBudget()
		lim, err := redislimit.New(c, "shopify:"+fake.URL(), limit, burst, &redislimit.Options{Prefix: prefix + "ratelimit:"})
		if err != nil {
			t.Fatal(err)
		}
		rl, _ := redislease.New(c, &redislease.Options{Prefix: prefix + "dispatch:lease:"})
		bs, _ := redisbreaker.New(c, &redisbreaker.Options{Prefix: prefix + "dispatch:breaker:"})
		r := &redisReplica{name: name, leases: &crashable{Leases: rl}, src: make(chan event.Availability, 4096)}
		r.d, err = dispatch.New(st, []dispatch.Account{{Writer: &recording{Writer: w, replica: name, log: log}, Rule: rule, Limiter: lim}}, &dispatch.Options{
			Window: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond, ReconcileInterval: -1,
			LeaseTTL: time.Second, Leases: r.leases, BreakerStore: bs, Holder: name,
			Breaker: dispatch.BreakerSettings{Failures: 2, Timeout: 2 * time.Second},
			Backoff: dispatch.Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond},
		})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	st := stores[0]
	for i := range n {
		set(t, st, fmt.Sprintf("S%03d", i), 10)
	}
	for _, r := range rs {
		ctx, cancel := context.WithCancel(context.Background())
		r.stop = cancel
		done := make(chan error, 1)
		go func() { done <- r.d.Run(ctx, dispatch.ChanSource(r.src)) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s: Run: %v", r.name, err)
			}
		})
	}

	live := func() []*redisReplica {
		var out []*redisReplica
		for _, r := range rs {
			if !r.leases.crashed.Load() {
				out = append(out, r)
			}
		}
		return out
	}
	holder := func() *redisReplica {
		var h []*redisReplica
		for _, r := range live() {
			if r.d.Status()[0].Leased {
				h = append(h, r)
			}
		}
		if len(h) > 1 {
			t.Fatalf("%d replicas hold the lease at once", len(h))
		}
		if len(h) == 0 {
			return nil
		}
		return h[0]
	}
	// converge waits until the shop shows the ledger's quantity of every
	// SKU.
	converge := func(what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			bad := ""
			for i := range n {
				sku := fmt.Sprintf("S%03d", i)
				p, err := st.Projection(context.Background(), store.Key{SKU: sku, Location: "berlin"})
				if err != nil {
					t.Fatal(err)
				}
				if q, _ := fake.Level(itemBase+int64(i), shopLocation); q != p.Available {
					bad = fmt.Sprintf("%s shows %d, the ledger has %d", sku, q, p.Available)
					break
				}
			}
			if bad == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not converged: %s", what, bad)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	rnd := mrand.New(mrand.NewPCG(21, 22))
	sale := func(k int) {
		reps := live()
		for range k {
			c := set(t, st, fmt.Sprintf("S%03d", rnd.IntN(n)), int64(rnd.IntN(100)))
			heard := false
			for i, r := range reps {
				if rnd.IntN(2) == 0 || (!heard && i == len(reps)-1) {
					r.src <- c
					heard = true
				}
			}
			if rnd.IntN(20) == 0 {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}

	converge("first run")
	sale(500)
	converge("after the sale")
	first := holder()
	if first == nil {
		t.Fatal("nobody holds the lease")
	}
	for _, w := range log.since(0) {
		if w.replica != first.name {
			t.Fatalf("%s wrote %s while %s held the lease", w.replica, w.sku, first.name)
		}
	}
	if tw := log.twice(); len(tw) > 0 {
		t.Fatalf("written twice: %v", tw)
	}

	// The writer dies without a word; the changes go on.
	first.leases.crashed.Store(true)
	first.stop()
	died := time.Now()
	sale(200)
	converge("after the crash")
	next := holder()
	if next == nil || next == first {
		t.Fatal("no other replica took the lease")
	}
	if tw := log.twice(); len(tw) > 0 {
		t.Fatalf("written twice: %v", tw)
	}
	t.Logf("%d writes; lease moved from %s to %s; converged %v after the crash", log.len(), first.name, next.name, time.Since(died))

	// An outage: the writer's breaker opens, and every live replica sees it.
	fake.SetDown(http.StatusServiceUnavailable, time.Now().Add(3*time.Second))
	sale(20)
	deadline := time.Now().Add(10 * time.Second)
	for next.d.Status()[0].BreakerState != "open" {
		if time.Now().After(deadline) {
			t.Fatalf("the breaker never opened: %+v", next.d.Status()[0])
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, r := range live() {
		if s := r.d.Status()[0].BreakerState; s != "open" {
			t.Errorf("%s sees the breaker %s", r.name, s)
		}
	}
	converge("after the outage")
	if s := fake.Stats(); s.Throttled != 0 {
		t.Errorf("the shop answered THROTTLED %d times", s.Throttled)
	} else {
		t.Logf("shop: %d requests, %d during the outage, %d quantities applied, none throttled", s.Requests, s.Down, s.Applied)
	}
}
