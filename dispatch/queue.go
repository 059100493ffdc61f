package dispatch

import (
	"container/heap"
	"sync"
	"time"
)

// queue is one account's pending SKUs in memory: a set, so a SKU that
// changes many times is written once with its latest quantity (the
// quantity is read from the ledger when the batch is taken, not stored
// here). It mirrors the account's durable queue in the store (see
// durable.go): each item carries the store's token of its latest Enqueue,
// which the write's Dequeue compares, and the highest token seen per SKU,
// so that reading the store's queue again adds only what is new.
//
// A SKU is due at min(last change + window, first change + maxDelay): a
// burst of changes is coalesced until it has been quiet for the window,
// but never held longer than maxDelay. Due SKUs are taken earliest-due
// first, so under a backlog the queue is served in the order its deadlines
// fall and no SKU waits behind newer ones.
//
// Every method takes the time explicitly; the queue is safe for concurrent
// use.
type queue struct {
	window, maxDelay time.Duration

	mu       sync.Mutex
	items    map[string]*pendingItem
	due      dueHeap              // entries may be stale: see pendingItem.gen
	inflight map[string]time.Time // taken, not yet done: SKU → first change
	tokens   map[string]uint64    // SKU → highest store token seen
	gen      uint64
}

type pendingItem struct {
	first, last, ready time.Time
	gen                uint64 // of the heap entry that is current
	token              uint64 // store token of the latest Enqueue; 0: none
	force              bool   // a reconcile: written even if unchanged
}

func newQueue(window, maxDelay time.Duration) *queue {
	return &queue{
		window: window, maxDelay: maxDelay,
		items: make(map[string]*pendingItem), inflight: make(map[string]time.Time),
		tokens: make(map[string]uint64),
	}
}

// item returns sku's pending item, made with first change first when
// there is none, and notes token. Callers hold q.mu.
func (q *queue) item(sku string, first time.Time, token uint64) *pendingItem {
	it := q.items[sku]
	if it == nil {
		it = &pendingItem{first: first, last: first}
		q.items[sku] = it
	}
	it.first = earlier(it.first, first)
	if token > it.token {
		it.token = token
	}
	if token > q.tokens[sku] {
		q.tokens[sku] = token
	}
	return it
}

// add notes a change of sku at now, queued in the store under token (0:
// not in the store). It reports whether the queue's earliest due time may
// have moved earlier, that is whether a scheduler waiting for it must look
// again.
func (q *queue) add(sku string, now time.Time, token uint64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	it := q.item(sku, now, token)
	it.last = now
	return q.schedule(sku, it, earlier(now.Add(q.window), it.first.Add(q.maxDelay)))
}

// addDue makes sku due at now, keeping an earlier first change, for a
// reconcile pass (force: written even when the ledger did not move).
func (q *queue) addDue(sku string, first, now time.Time, force bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	it := q.item(sku, first, 0)
	it.force = it.force || force
	return q.makeDue(sku, it, now)
}

// putBack makes a SKU taken by a write that did not finish due at now
// again, with its first change, token and force.
func (q *queue) putBack(t taken, now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	it := q.item(t.sku, t.first, t.token)
	it.force = it.force || t.force
	return q.makeDue(t.sku, it, now)
}

// makeDue schedules it at now unless it is due earlier. Callers hold
// q.mu.
func (q *queue) makeDue(sku string, it *pendingItem, now time.Time) bool {
	ready := now
	if it.gen != 0 && it.ready.Before(now) {
		ready = it.ready
	}
	return q.schedule(sku, it, ready)
}

// restore notes an item read from the store's queue: queued at since
// under token. An item whose token is not above the highest seen for its
// SKU is known already (pending, in flight or written) and changes
// nothing. A new one is due a window after since, at once for an old one;
// one already pending keeps its due time.
func (q *queue) restore(sku string, since time.Time, token uint64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if token <= q.tokens[sku] {
		return false
	}
	_, pending := q.items[sku]
	it := q.item(sku, since, token)
	if pending {
		return false
	}
	return q.schedule(sku, it, since.Add(q.window))
}

// reset forgets every pending SKU and token, for an account whose lease
// was lost: the next holder writes them. SKUs in flight stay so until
// done.
func (q *queue) reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	clear(q.items)
	clear(q.tokens)
	q.due = nil
}

// schedule sets it's due time and pushes a heap entry for it when it
// changed. Callers hold q.mu.
func (q *queue) schedule(sku string, it *pendingItem, ready time.Time) bool {
	if it.gen != 0 && ready.Equal(it.ready) {
		return false
	}
	wake := len(q.due) == 0 || ready.Before(q.due[0].ready)
	q.gen++
	it.ready, it.gen = ready, q.gen
	heap.Push(&q.due, dueEntry{ready: ready, sku: sku, gen: q.gen})
	return wake
}

// current reports whether a heap entry is the live one for its SKU.
// Callers hold q.mu.
func (q *queue) current(e dueEntry) bool {
	it := q.items[e.sku]
	return it != nil && it.gen == e.gen
}

// next returns the earliest due time; ok is false when nothing is
// pending.
func (q *queue) next() (t time.Time, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.due) > 0 && !q.current(q.due[0]) {
		heap.Pop(&q.due)
	}
	if len(q.due) == 0 {
		return time.Time{}, false
	}
	return q.due[0].ready, true
}

// dueCount counts the SKUs due at now, up to limit, without taking them.
// It walks only the part of the heap that is due.
func (q *queue) dueCount(now time.Time, limit int) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	var walk func(i int)
	walk = func(i int) {
		if i >= len(q.due) || n >= limit || q.due[i].ready.After(now) {
			return
		}
		if q.current(q.due[i]) {
			n++
		}
		walk(2*i + 1)
		walk(2*i + 2)
	}
	walk(0)
	return n
}

// taken is a SKU handed to a write, with its first change (for lag and
// for putting it back), the store token to dequeue it with and whether it
// must be written even if unchanged.
type taken struct {
	sku   string
	first time.Time
	token uint64
	force bool
}

// take removes up to n SKUs due at now, earliest due first, and holds them
// in flight until done.
func (q *queue) take(now time.Time, n int) []taken {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []taken
	for len(q.due) > 0 && len(out) < n {
		e := q.due[0]
		if !q.current(e) {
			heap.Pop(&q.due)
			continue
		}
		if e.ready.After(now) {
			break
		}
		heap.Pop(&q.due)
		it := q.items[e.sku]
		delete(q.items, e.sku)
		out = append(out, taken{sku: e.sku, first: it.first, token: it.token, force: it.force})
		q.inflight[e.sku] = it.first
	}
	return out
}

// done ends the flight of taken SKUs (written, dead-lettered or put
// back).
func (q *queue) done(ts []taken) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, t := range ts {
		delete(q.inflight, t.sku)
	}
}

// has reports whether sku is pending or in flight.
func (q *queue) has(sku string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, pending := q.items[sku]
	_, flying := q.inflight[sku]
	return pending || flying
}

// stats reports the pending SKUs (in flight included), how many are due
// at now, and the first change of the oldest (zero when none).
func (q *queue) stats(now time.Time) (depth, due int, oldest time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	depth = len(q.items) + len(q.inflight)
	for _, it := range q.items {
		if !it.ready.After(now) {
			due++
		}
		if oldest.IsZero() || it.first.Before(oldest) {
			oldest = it.first
		}
	}
	for _, first := range q.inflight {
		if oldest.IsZero() || first.Before(oldest) {
			oldest = first
		}
	}
	return depth, due, oldest
}

// dueEntry is a heap entry: the SKU is due at ready, if gen is still its
// item's gen.
type dueEntry struct {
	ready time.Time
	sku   string
	gen   uint64
}

type dueHeap []dueEntry

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if !h[i].ready.Equal(h[j].ready) {
		return h[i].ready.Before(h[j].ready)
	}
	return h[i].sku < h[j].sku
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(dueEntry)) }
func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
