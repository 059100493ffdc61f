package dispatch_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/store"
)

// pending lists an account's durable queue, SKUs sorted.
func pending(t *testing.T, st *store.Store, account string) []string {
	t.Helper()
	items, err := st.Pending(context.Background(), account, 0, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		out = append(out, it.SKU)
	}
	slices.Sort(out)
	return out
}

func skusOf(ws []applied) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.sku)
	}
	slices.Sort(out)
	return out
}

// TestRestartWritesOnlyPending: a Dispatcher is stopped dead in the
// middle of a backlog. A new one over the same store writes exactly the
// SKUs still in the durable queue, each once: not the ones written before
// the kill, and not every synced SKU (as a full reconcile at start would).
// Nothing of the backlog is lost.
func TestRestartWritesOnlyPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		log := &writeLog{}
		const n = 100
		opts := &dispatch.Options{Window: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond, ReconcileInterval: -1}
		w1 := newRecWriter("shop", "first", n, log)
		w1.batch, w1.delay = 10, 100*time.Millisecond
		for _, sku := range w1.skus {
			set(t, st, sku, 10)
		}
		d1, err := dispatch.New(st, []dispatch.Account{{Writer: w1, Rule: rule}}, opts)
		if err != nil {
			t.Fatal(err)
		}
		ctx, kill := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d1.Run(ctx, nil) }()

		// The first run ever writes every synced SKU once.
		time.Sleep(2 * time.Second)
		if got := skusOf(log.since(0)); !slices.Equal(got, w1.skus) {
			t.Fatalf("first run wrote %d SKUs, want each of the %d once", len(got), n)
		}
		if p := pending(t, st, "shop"); len(p) != 0 {
			t.Fatalf("%d SKUs still queued after the first run", len(p))
		}

		// 50 SKUs change; the kill comes while they drain, 10 per 100ms.
		mark := log.len()
		var changed []string
		for i := range 50 {
			sku := fmt.Sprintf("S%03d", i)
			changed = append(changed, sku)
			d1.Notify(set(t, st, sku, 20))
		}
		time.Sleep(260 * time.Millisecond)
		kill()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		before := log.since(mark)
		left := pending(t, st, "shop")
		if len(before) == 0 || len(left) == 0 {
			t.Fatalf("%d written and %d queued at the kill: not in the middle of the backlog", len(before), len(left))
		}
		if got := append(skusOf(before), left...); !slices.Equal(sortedCopy(got), changed) {
			t.Fatalf("written before the kill %v and queued %v do not make up the changed SKUs", skusOf(before), left)
		}

		// The ledger moves while nothing runs, and nobody hears of it.
		for i := 90; i < 95; i++ {
			set(t, st, fmt.Sprintf("S%03d", i), 5)
		}

		w2 := newRecWriter("shop", "second", n, log)
		w2.batch = 10
		d2, err := dispatch.New(st, []dispatch.Account{{Writer: w2, Rule: rule}}, opts)
		if err != nil {
			t.Fatal(err)
		}
		mark = log.len()
		run(t, d2, nil)
		time.Sleep(2 * time.Second)
		after := log.since(mark)
		if got := skusOf(after); !slices.Equal(got, left) {
			t.Fatalf("the restart wrote %v, want exactly the %d queued: %v", got, len(left), left)
		}
		for _, w := range after {
			if w.quantity != 20 {
				t.Errorf("%s written as %d, want the ledger's 20", w.sku, w.quantity)
			}
		}
		if p := pending(t, st, "shop"); len(p) != 0 {
			t.Errorf("still queued after the restart: %v", p)
		}
		last := log.last()
		for _, sku := range changed {
			if last[sku] != 20 {
				t.Errorf("%s shows %d, want 20: a change was lost", sku, last[sku])
			}
		}
	})
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestChangeDuringWriteIsNotLost: a SKU that changes while its write is in
// flight stays in the durable queue (the write's dequeue compares tokens)
// and is written again with the new quantity.
func TestChangeDuringWriteIsNotLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		log := &writeLog{}
		w := newRecWriter("shop", "only", 1, log)
		w.gate = make(chan struct{})
		set(t, st, "S000", 5)
		d, err := dispatch.New(st, []dispatch.Account{{Writer: w, Rule: rule}}, &dispatch.Options{ReconcileInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		run(t, d, nil)
		time.Sleep(time.Second)
		synctest.Wait() // the first write waits at the gate
		if w.calls.Load() != 1 || log.len() != 0 {
			t.Fatalf("%d calls, %d applied: want one write held at the gate", w.calls.Load(), log.len())
		}
		before, _ := st.Pending(context.Background(), "shop", 0, 10)
		d.Notify(set(t, st, "S000", 7)) // while the write of 5 is in flight
		during, _ := st.Pending(context.Background(), "shop", 0, 10)
		if len(before) != 1 || len(during) != 1 || during[0].Token <= before[0].Token {
			t.Fatalf("queue before %+v, during %+v: want S000 queued again under a new token", before, during)
		}

		w.gate <- struct{}{} // the first write answers
		synctest.Wait()
		if p := pending(t, st, "shop"); !slices.Equal(p, []string{"S000"}) {
			t.Fatalf("queued after the first write: %v; want S000 still there", p)
		}
		w.gate <- struct{}{} // the second write
		time.Sleep(time.Second)
		ws := log.since(0)
		if len(ws) != 2 || ws[0].quantity != 5 || ws[1].quantity != 7 {
			t.Fatalf("writes %+v, want 5 then 7", ws)
		}
		if p := pending(t, st, "shop"); len(p) != 0 {
			t.Fatalf("still queued: %v", p)
		}
	})
}

// TestStatusOfAnAccountNotWritten: before Run, and on a replica that does
// not hold the lease, the queue depth and lag are the durable queue's.
func TestStatusOfAnAccountNotWritten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		w := newRecWriter("shop", "r", 3, &writeLog{})
		leases := &dispatch.MemoryLeases{}
		if ok, _ := leases.Acquire(context.Background(), "shop", "someone else", time.Hour); !ok {
			t.Fatal("no lease")
		}
		d, err := dispatch.New(st, []dispatch.Account{{Writer: w, Rule: rule}}, &dispatch.Options{Leases: leases})
		if err != nil {
			t.Fatal(err)
		}
		d.Notify(set(t, st, "S001", 1), set(t, st, "S002", 1))
		time.Sleep(time.Minute)
		run(t, d, nil)
		time.Sleep(time.Second)
		s := d.Status()[0]
		if s.Leased || s.QueueDepth != 2 || s.Lag < time.Minute || s.Due != 2 {
			t.Fatalf("status %+v; want the store's 2 queued SKUs, a minute behind, not leased", s)
		}
		if w.calls.Load() != 0 {
			t.Fatalf("%d writes without the lease", w.calls.Load())
		}
	})
}
