package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/store"
)

// queueTests are the conformance tests of store.QueueDriver; RunConformanceTests
// runs them with the others.
var queueTests = []struct {
	name string
	fn   func(t *testing.T, e *env)
}{
	{"QueueEnqueuePending", testQueueEnqueuePending},
	{"QueueEnqueuedByCommit", testQueueEnqueuedByCommit},
	{"QueueDequeueComparesToken", testQueueDequeueComparesToken},
	{"QueueSeed", testQueueSeed},
	{"QueueConcurrentEnqueue", testQueueConcurrentEnqueue},
	{"QueueClosedDriver", testQueueClosedDriver},
	{"QueuePersistence", testQueuePersistence},
}

func qi(account, sku string, since time.Time) store.QueueItem {
	return store.QueueItem{Account: account, SKU: sku, Since: since}
}

func enqueueItems(t testing.TB, e *env, items ...store.QueueItem) []uint64 {
	t.Helper()
	tokens, err := e.d.Enqueue(e.ctx, items)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if len(tokens) != len(items) {
		t.Fatalf("Enqueue returned %d tokens for %d items", len(tokens), len(items))
	}
	return tokens
}

func pendingAll(t testing.TB, e *env, account string) []store.QueueItem {
	t.Helper()
	var all []store.QueueItem
	var after uint64
	for {
		its, err := e.d.Pending(e.ctx, account, after, pageSize)
		if err != nil {
			t.Fatalf("Pending(%q, %d): %v", account, after, err)
		}
		if len(its) > pageSize {
			t.Fatalf("Pending(%q, %d, %d) returned %d", account, after, pageSize, len(its))
		}
		if len(its) == 0 {
			return all
		}
		for _, it := range its {
			if it.Token <= after {
				t.Fatalf("Pending(%q, %d) returned token %d, not increasing", account, after, it.Token)
			}
			after = it.Token
		}
		all = append(all, its...)
	}
}

// wantPending checks an account's queue: the SKUs in token order, each
// with its since and token.
func wantPending(t testing.TB, e *env, account string, want ...store.QueueItem) {
	t.Helper()
	got := pendingAll(t, e, account)
	if len(got) != len(want) {
		t.Fatalf("queue of %q = %+v, want %+v", account, got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Account != account || g.SKU != w.SKU || !g.Since.Equal(w.Since) || (w.Token != 0 && g.Token != w.Token) {
			t.Fatalf("queue of %q, item %d = %+v, want %+v", account, i, g, w)
		}
	}
}

func withToken(it store.QueueItem, token uint64) store.QueueItem {
	it.Token = token
	return it
}

// testQueueEnqueuePending: one Enqueue queues SKUs of several accounts
// under increasing tokens; each account lists its own, in token order,
// paged; queuing again moves a SKU to a new token but keeps its earliest
// since.
func testQueueEnqueuePending(t *testing.T, e *env) {
	t1 := start.Add(time.Minute)
	odd := "a b:c{d}\n*é"
	// Accounts that are prefixes of one another, or contain the separator.
	tok := enqueueItems(t, e,
		qi("shop", "A", t1), qi("shop", "B", t1.Add(time.Second)),
		qi("shop:x", "A", t1), qi("sho", odd, t1))
	for i := 1; i < len(tok); i++ {
		if tok[i] <= tok[i-1] {
			t.Fatalf("tokens %v are not increasing", tok)
		}
	}
	a, b := withToken(qi("shop", "A", t1), tok[0]), withToken(qi("shop", "B", t1.Add(time.Second)), tok[1])
	wantPending(t, e, "shop", a, b)
	wantPending(t, e, "shop:x", withToken(qi("shop:x", "A", t1), tok[2]))
	wantPending(t, e, "sho", withToken(qi("sho", odd, t1), tok[3]))
	wantPending(t, e, "nobody")

	// Paging by token.
	if its, err := e.d.Pending(e.ctx, "shop", 0, 1); err != nil || len(its) != 1 || its[0].SKU != "A" {
		t.Fatalf("Pending(shop, 0, 1) = %+v, %v", its, err)
	}
	if its, err := e.d.Pending(e.ctx, "shop", a.Token, 10); err != nil || len(its) != 1 || its[0].SKU != "B" {
		t.Fatalf("Pending(shop, %d, 10) = %+v, %v", a.Token, its, err)
	}
	if its, err := e.d.Pending(e.ctx, "shop", b.Token, 10); err != nil || len(its) != 0 {
		t.Fatalf("Pending(shop, %d, 10) = %+v, %v; want none after the last token", b.Token, its, err)
	}

	// Queued again, later: a new token, the first since.
	again := enqueueItems(t, e, qi("shop", "A", t1.Add(5*time.Second)))
	if again[0] <= tok[3] {
		t.Fatalf("token %d of a later Enqueue is not above %d", again[0], tok[3])
	}
	wantPending(t, e, "shop", b, withToken(qi("shop", "A", t1), again[0]))
	// Queued again with an earlier time: that time.
	earlier := enqueueItems(t, e, qi("shop", "A", t1.Add(-time.Second)))
	wantPending(t, e, "shop", b, withToken(qi("shop", "A", t1.Add(-time.Second)), earlier[0]))

	// Twice in one call: two tokens, the later one current.
	twice := enqueueItems(t, e, qi("shop", "C", t1), qi("shop", "C", t1.Add(time.Second)))
	if twice[1] <= twice[0] {
		t.Fatalf("tokens %v of one call are not increasing", twice)
	}
	wantPending(t, e, "shop", b, withToken(qi("shop", "A", t1.Add(-time.Second)), earlier[0]), withToken(qi("shop", "C", t1), twice[1]))

	// An empty call queues nothing.
	if _, err := e.d.Enqueue(e.ctx, nil); err != nil {
		t.Fatalf("Enqueue(nil): %v", err)
	}
}

// testQueueDequeueComparesToken: Dequeue removes an item only while its
// token is the one given, so a SKU queued again during its write stays
// queued; other accounts' items with the same SKU are left alone.
func testQueueDequeueComparesToken(t *testing.T, e *env) {
	t1 := start.Add(time.Minute)
	tok := enqueueItems(t, e, qi("shop", "X", t1), qi("shop", "Y", t1), qi("other", "X", t1))
	taken := withToken(qi("shop", "X", t1), tok[0])
	// Queued again while being written.
	again := enqueueItems(t, e, qi("shop", "X", t1.Add(time.Second)))
	if err := e.d.Dequeue(e.ctx, []store.QueueItem{taken, withToken(qi("shop", "Y", t1), tok[1])}); err != nil {
		t.Fatalf("Dequeue: %v", err)
	}
	wantPending(t, e, "shop", withToken(qi("shop", "X", t1), again[0]))
	wantPending(t, e, "other", withToken(qi("other", "X", t1), tok[2]))

	// The current token removes it; removing what is not queued is no
	// error.
	if err := e.d.Dequeue(e.ctx, []store.QueueItem{
		withToken(qi("shop", "X", t1), again[0]),
		withToken(qi("shop", "nothing", t1), 12345),
		withToken(qi("nobody", "X", t1), tok[2]),
	}); err != nil {
		t.Fatalf("Dequeue: %v", err)
	}
	wantPending(t, e, "shop")
	wantPending(t, e, "other", withToken(qi("other", "X", t1), tok[2]))

	// Queued after it was removed: the new time, not the old one.
	t2 := t1.Add(time.Hour)
	last := enqueueItems(t, e, qi("shop", "X", t2))
	wantPending(t, e, "shop", withToken(qi("shop", "X", t2), last[0]))
	if err := e.d.Dequeue(e.ctx, nil); err != nil {
		t.Fatalf("Dequeue(nil): %v", err)
	}
}

// testQueueSeed: an account is seeded once in the life of the store; the
// seed queues every SKU with one time and keeps what was queued before.
func testQueueSeed(t *testing.T, e *env) {
	t0, t1 := start.Add(time.Second), start.Add(time.Minute)
	before := enqueueItems(t, e, qi("shop", "B", t0))
	ok, err := e.d.SeedQueue(e.ctx, "shop", []string{"A", "B", "C"}, t1)
	if err != nil || !ok {
		t.Fatalf("first SeedQueue = %v, %v; want true", ok, err)
	}
	got := pendingAll(t, e, "shop")
	if len(got) != 3 {
		t.Fatalf("seeded queue = %+v", got)
	}
	since := map[string]time.Time{}
	for _, it := range got {
		if it.Token <= before[0] {
			t.Errorf("%s has token %d, not above the earlier Enqueue's %d", it.SKU, it.Token, before[0])
		}
		since[it.SKU] = it.Since
	}
	if !since["A"].Equal(t1) || !since["B"].Equal(t0) || !since["C"].Equal(t1) {
		t.Fatalf("seeded queue = %+v; want A and C since the seed, B since its Enqueue", got)
	}
	ok, err = e.d.SeedQueue(e.ctx, "shop", []string{"A", "D"}, t1.Add(time.Hour))
	if err != nil || ok {
		t.Fatalf("second SeedQueue = %v, %v; want false", ok, err)
	}
	wantPending(t, e, "shop", got...)

	// Another account, even with no SKUs, is seeded once too.
	for i, want := range []bool{true, false} {
		ok, err := e.d.SeedQueue(e.ctx, "shop:2", nil, t1)
		if err != nil || ok != want {
			t.Fatalf("SeedQueue(shop:2) call %d = %v, %v; want %v", i, ok, err, want)
		}
	}
	wantPending(t, e, "shop:2")
}

// testQueueConcurrentEnqueue: concurrent Enqueues get distinct tokens and
// each SKU is queued once.
func testQueueConcurrentEnqueue(t *testing.T, e *env) {
	workers, per := 8, 50
	if testing.Short() {
		per = 10
	}
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				// Every SKU twice, by two workers: the set keeps one.
				sku := fmt.Sprintf("S-%d-%d", w/2, i)
				tokens, err := e.d.Enqueue(e.ctx, []store.QueueItem{qi("shop", sku, start), qi("other", sku, start)})
				if err != nil {
					t.Errorf("worker %d: Enqueue: %v", w, err)
					return
				}
				mu.Lock()
				for _, tk := range tokens {
					if seen[tk] {
						t.Errorf("token %d given twice", tk)
					}
					seen[tk] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, account := range []string{"shop", "other"} {
		got := pendingAll(t, e, account)
		if len(got) != workers/2*per {
			t.Fatalf("%s has %d queued, want %d", account, len(got), workers/2*per)
		}
		skus := map[string]bool{}
		for _, it := range got {
			if skus[it.SKU] {
				t.Fatalf("%s: %s queued twice", account, it.SKU)
			}
			skus[it.SKU] = true
		}
	}
}

// testQueueClosedDriver: a closed driver fails every queue call.
func testQueueClosedDriver(t *testing.T, e *env) {
	if err := e.d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for name, call := range map[string]func() error{
		"Enqueue": func() error { _, err := e.d.Enqueue(e.ctx, []store.QueueItem{qi("shop", "A", start)}); return err },
		"Pending": func() error { _, err := e.d.Pending(e.ctx, "shop", 0, 10); return err },
		"Dequeue": func() error {
			return e.d.Dequeue(e.ctx, []store.QueueItem{withToken(qi("shop", "A", start), 1)})
		},
		"SeedQueue": func() error { _, err := e.d.SeedQueue(e.ctx, "shop", []string{"A"}, start); return err },
	} {
		if err := call(); err == nil {
			t.Errorf("%s on a closed driver: no error", name)
		}
	}
}

// testQueuePersistence: the queue, its tokens and the seed marks survive a
// reopen, and tokens keep growing after it.
func testQueuePersistence(t *testing.T, e *env) {
	tok := enqueueItems(t, e, qi("shop", "A", start), qi("shop", "B", start.Add(time.Second)))
	if ok, err := e.d.SeedQueue(e.ctx, "seeded", []string{"S"}, start); err != nil || !ok {
		t.Fatalf("SeedQueue = %v, %v", ok, err)
	}
	e.reopen(t)
	wantPending(t, e, "shop", withToken(qi("shop", "A", start), tok[0]), withToken(qi("shop", "B", start.Add(time.Second)), tok[1]))
	if ok, err := e.d.SeedQueue(e.ctx, "seeded", []string{"S", "T"}, start); err != nil || ok {
		t.Fatalf("SeedQueue after reopen = %v, %v; want false", ok, err)
	}
	wantPending(t, e, "seeded", qi("seeded", "S", start))
	next := enqueueItems(t, e, qi("shop", "C", start))
	if next[0] <= tok[1] {
		t.Fatalf("token %d after reopen is not above %d", next[0], tok[1])
	}
}

// benchQueueBatch measures one Enqueue of 100 SKUs and their Dequeue.
func benchQueueBatch(b *testing.B, newHarness HarnessMaker) {
	e := newEnv(b, newHarness)
	items := make([]store.QueueItem, 100)
	for i := range items {
		items[i] = qi("shop", fmt.Sprintf("SKU-%05d", i), start)
	}
	b.ReportAllocs()
	for b.Loop() {
		tokens, err := e.d.Enqueue(e.ctx, items)
		if err != nil || len(tokens) != len(items) {
			b.Fatalf("Enqueue: %v, %d tokens", err, len(tokens))
		}
		done := make([]store.QueueItem, len(items))
		for i, it := range items {
			done[i] = withToken(it, tokens[i])
		}
		if err := e.d.Dequeue(e.ctx, done); err != nil {
			b.Fatal(err)
		}
	}
	if its, err := e.d.Pending(e.ctx, "shop", 0, 10); err != nil || len(its) != 0 {
		b.Fatalf("queue after the benchmark: %d items, %v", len(its), err)
	}
}

// testQueueEnqueuedByCommit: a commit's Enqueue items are queued with it,
// under tokens later than any before; a commit that fails queues nothing.
func testQueueEnqueuedByCommit(t *testing.T, e *env) {
	t1 := start.Add(time.Minute)
	before := enqueueItems(t, e, qi("shop", "OLD", t1))
	c := step(key("MUG", "berlin"), 0, "ev-q1", 3)
	c.Enqueue = []store.QueueItem{qi("shop", "MUG", t1), qi("amazon", "MUG", t1)}
	wantErrs(t, "Commit", commit(t, e, c), nil)
	shop, err := e.d.Pending(e.ctx, "shop", 0, 10)
	if err != nil || len(shop) != 2 || shop[1].SKU != "MUG" || shop[1].Token <= before[0] || !shop[1].Since.Equal(t1) {
		t.Fatalf("shop's queue after the commit = %+v, %v", shop, err)
	}
	if az, err := e.d.Pending(e.ctx, "amazon", 0, 10); err != nil || len(az) != 1 || az[0].SKU != "MUG" {
		t.Fatalf("amazon's queue after the commit = %+v, %v", az, err)
	}
	// The same event again: already applied, nothing queued.
	dup := step(key("CUP", "berlin"), 0, "ev-q1", 1)
	dup.Enqueue = []store.QueueItem{qi("shop", "CUP", t1)}
	wantErrs(t, "Commit", commit(t, e, dup), store.ErrAlreadyApplied)
	if shop, _ := e.d.Pending(e.ctx, "shop", 0, 10); len(shop) != 2 {
		t.Fatalf("a failed commit queued: %+v", shop)
	}
}
