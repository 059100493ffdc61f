package dispatch_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/store"
)

// crashable wraps a replica's Leases: once crashed, it neither renews nor
// releases, as a killed process would not.
type crashable struct {
	dispatch.Leases
	crashed atomic.Bool
}

var errCrashed = errors.New("replica crashed")

func (c *crashable) Acquire(ctx context.Context, account, holder string, ttl time.Duration) (bool, error) {
	if c.crashed.Load() {
		return false, errCrashed
	}
	return c.Leases.Acquire(ctx, account, holder, ttl)
}

func (c *crashable) Release(ctx context.Context, account, holder string) error {
	if c.crashed.Load() {
		return nil
	}
	return c.Leases.Release(ctx, account, holder)
}

// replica is one Dispatcher of a group sharing a store, leases and
// breaker state, fed by a source of its own.
type replica struct {
	name   string
	d      *dispatch.Dispatcher
	w      *recWriter
	leases *crashable
	src    chan event.Availability
	stop   context.CancelFunc
	done   chan error
}

// replicaGroup is what replicas share and how each is made.
type replicaGroup struct {
	st     *store.Store
	log    *writeLog
	opts   dispatch.Options // Leases and Holder are set per replica
	leases dispatch.Leases
	skus   int
	delay  time.Duration // each write takes; zero: 20ms
	rs     []*replica
}

func (g *replicaGroup) start(t *testing.T, name string) *replica {
	t.Helper()
	r := &replica{
		name:   name,
		w:      newRecWriter("shop", name, g.skus, g.log),
		leases: &crashable{Leases: g.leases},
		src:    make(chan event.Availability, 4096),
		done:   make(chan error, 1),
	}
	r.w.batch, r.w.delay = 50, cmp.Or(g.delay, 20*time.Millisecond)
	o := g.opts
	o.Leases, o.Holder = r.leases, name
	d, err := dispatch.New(g.st, []dispatch.Account{{Writer: r.w, Rule: rule}}, &o)
	if err != nil {
		t.Fatal(err)
	}
	r.d = d
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	go func() { r.done <- d.Run(ctx, dispatch.ChanSource(r.src)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-r.done; err != nil {
			t.Errorf("%s: Run: %v", name, err)
		}
	})
	g.rs = append(g.rs, r)
	return r
}

// live lists the replicas not crashed.
func (g *replicaGroup) live() []*replica {
	var out []*replica
	for _, r := range g.rs {
		if !r.leases.crashed.Load() {
			out = append(out, r)
		}
	}
	return out
}

// holder returns the live replica that writes the account, or nil.
func (g *replicaGroup) holder() *replica {
	var h *replica
	for _, r := range g.live() {
		if r.d.Status()[0].Leased {
			if h != nil {
				return nil // two at once: the caller reports it
			}
			h = r
		}
	}
	return h
}

// sale changes n random SKUs in the ledger, each heard by a random
// non-empty subset of the live replicas (a bus that fans out, or one
// whose consumers compete, or a replica that was slow to hear).
func (g *replicaGroup) sale(t *testing.T, rnd *rand.Rand, n int) {
	t.Helper()
	live := g.live()
	for range n {
		c := set(t, g.st, fmt.Sprintf("S%03d", rnd.IntN(g.skus)), int64(rnd.IntN(100)))
		heard := false
		for i, r := range live {
			if rnd.IntN(2) == 0 || (!heard && i == len(live)-1) {
				r.src <- c
				heard = true
			}
		}
		if rnd.IntN(10) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// converged checks that the log's last write of every SKU is the ledger's
// quantity.
func (g *replicaGroup) converged(t *testing.T) {
	t.Helper()
	last := g.log.last()
	bad := 0
	for i := range g.skus {
		sku := fmt.Sprintf("S%03d", i)
		p, err := g.st.Projection(context.Background(), store.Key{SKU: sku, Location: "berlin"})
		if err != nil {
			t.Fatal(err)
		}
		if last[sku] != p.Available {
			if bad++; bad <= 5 {
				t.Errorf("%s shows %d, the ledger has %d", sku, last[sku], p.Available)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d SKUs differ", bad, g.skus)
	}
}

// TestReplicasWriteOnce: three Dispatchers share a store, leases and
// breaker state; each hears a random part of the changes. One of them
// writes the account; each (SKU, version) is written once in total; when
// that one dies without releasing its lease, another takes over within a
// lease's time and writes what was queued meanwhile; a breaker one opened
// is open for the others.
func TestReplicasWriteOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &replicaGroup{
			st: newStore(t), log: &writeLog{}, leases: &dispatch.MemoryLeases{}, skus: 200,
			opts: dispatch.Options{
				Window: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond, ReconcileInterval: -1,
				LeaseTTL: 3 * time.Second, BreakerStore: &dispatch.MemoryBreakerStore{},
				Breaker: dispatch.BreakerSettings{Failures: 3, Timeout: time.Minute},
			},
		}
		for i := range g.skus {
			set(t, g.st, fmt.Sprintf("S%03d", i), 10)
		}
		for i := range 3 {
			g.start(t, fmt.Sprintf("r%d", i))
		}
		time.Sleep(5 * time.Second)
		first := g.holder()
		if first == nil {
			t.Fatal("not exactly one replica holds the lease")
		}
		for _, w := range g.log.since(0) {
			if w.replica != first.name {
				t.Fatalf("%s wrote %s without the lease", w.replica, w.sku)
			}
		}
		if n := g.log.len(); n != g.skus {
			t.Fatalf("first run: %d writes, want the %d SKUs once each", n, g.skus)
		}

		rnd := rand.New(rand.NewPCG(11, 12))
		g.sale(t, rnd, 2_000)
		time.Sleep(5 * time.Second)
		g.converged(t)
		if tw := g.log.twice(); len(tw) > 0 {
			t.Fatalf("written twice: %v", tw)
		}

		// The holder dies: no renewal, no release.
		first.leases.crashed.Store(true)
		first.stop()
		died := time.Now()
		g.sale(t, rnd, 500)
		var next *replica
		for next == nil && time.Since(died) < g.opts.LeaseTTL+2*time.Second {
			time.Sleep(100 * time.Millisecond)
			next = g.holder()
		}
		if next == nil || next == first {
			t.Fatalf("no replica took the lease over within %v", time.Since(died))
		}
		took := time.Since(died)
		time.Sleep(5 * time.Second)
		g.converged(t)
		if tw := g.log.twice(); len(tw) > 0 {
			t.Fatalf("written twice: %v", tw)
		}
		for _, w := range g.log.since(0) {
			if w.replica == first.name && w.at.After(died) {
				t.Fatalf("the dead replica wrote %s after it died", w.sku)
			}
		}
		t.Logf("%d writes; lease moved from %s to %s %v after the crash", g.log.len(), first.name, next.name, took)

		// The marketplace goes down: the holder's breaker opens, and the
		// other live replica sees it open.
		for _, r := range g.rs {
			r.w.down.Store(true)
		}
		g.sale(t, rnd, 50)
		time.Sleep(10 * time.Second)
		for _, r := range g.live() {
			if s := r.d.Status()[0]; s.BreakerState != "open" {
				t.Errorf("%s (leased %v) sees the breaker %s", r.name, s.Leased, s.BreakerState)
			}
		}
		for _, r := range g.rs {
			r.w.down.Store(false)
		}
		time.Sleep(time.Minute + 5*time.Second) // the breaker's timeout, then the probe
		g.converged(t)
	})
}

// TestPartitionedHolderStopsWriting: the holder can no longer renew its
// lease (its link to the lease store is cut) but runs on. It stops
// writing, cancelling the write in flight, when its lease runs out, and
// only then may the other replica take over: the two never write at the
// same time, and nothing is lost.
func TestPartitionedHolderStopsWriting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &replicaGroup{
			st: newStore(t), log: &writeLog{}, leases: &dispatch.MemoryLeases{}, skus: 50,
			delay: 700 * time.Millisecond, // a write is in flight most of the time
			opts: dispatch.Options{
				Window: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond, ReconcileInterval: -1,
				LeaseTTL: 3 * time.Second,
			},
		}
		for i := range g.skus {
			set(t, g.st, fmt.Sprintf("S%03d", i), 10)
		}
		for i := range 2 {
			g.start(t, fmt.Sprintf("r%d", i))
		}
		time.Sleep(5 * time.Second)
		first := g.holder()
		if first == nil {
			t.Fatal("not exactly one replica holds the lease")
		}
		rnd := rand.New(rand.NewPCG(13, 14))
		cut := time.Now()
		first.leases.crashed.Store(true) // renewals fail from now on; Run goes on
		for range 40 {
			g.sale(t, rnd, 5)
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(10 * time.Second)
		g.converged(t)
		var lastOld, firstNew time.Time
		for _, w := range g.log.since(0) {
			switch {
			case w.replica == first.name:
				lastOld = w.at
			case firstNew.IsZero():
				firstNew = w.at
			}
		}
		// A write takes 700ms: the other's first began 700ms before it
		// ended, and the cut-off holder's last must have ended before.
		if firstNew.IsZero() || !lastOld.Before(firstNew.Add(-700*time.Millisecond)) {
			t.Fatalf("the cut-off holder wrote until %v after the cut, the other from %v", lastOld.Sub(cut), firstNew.Sub(cut)-700*time.Millisecond)
		}
		if lastOld.Sub(cut) > g.opts.LeaseTTL {
			t.Fatalf("the cut-off holder wrote %v after the cut, past its lease", lastOld.Sub(cut))
		}
		if s := first.d.Status()[0]; s.Leased {
			t.Fatal("the cut-off holder still believes it holds the lease")
		}
		t.Logf("cut-off holder's last write %v after the cut; the other's first %v after", lastOld.Sub(cut), firstNew.Sub(cut))
	})
}
