package dispatch

import (
	"container/heap"
	"sync"
	"time"
)

// queue is one account's pending SKUs: a set, so a SKU that changes many
// times is written once with its latest quantity (the quantity is read
// from the ledger when the batch is taken, not stored here).
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
	gen      uint64
}

type pendingItem struct {
	first, last, ready time.Time
	gen                uint64 // of the heap entry that is current
}

func newQueue(window, maxDelay time.Duration) *queue {
	return &queue{
		window: window, maxDelay: maxDelay,
		items: make(map[string]*pendingItem), inflight: make(map[string]time.Time),
	}
}

// add notes a change of sku at now. It reports whether the queue's
// earliest due time may have moved earlier, that is whether a scheduler
// waiting for it must look again.
func (q *queue) add(sku string, now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	it := q.items[sku]
	if it == nil {
		it = &pendingItem{first: now}
		q.items[sku] = it
	}
	it.last = now
	return q.schedule(sku, it, earlier(now.Add(q.window), it.first.Add(q.maxDelay)))
}

// addDue makes sku due at now, keeping an earlier first change: for a
// reconcile pass, and for SKUs put back after a failed write (first is
// then the first change of the write that failed).
func (q *queue) addDue(sku string, first, now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	it := q.items[sku]
	if it == nil {
		it = &pendingItem{first: first, last: now}
		q.items[sku] = it
	}
	it.first = earlier(it.first, first)
	ready := now
	if it.gen != 0 && it.ready.Before(now) {
		ready = it.ready
	}
	return q.schedule(sku, it, ready)
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
// for putting it back).
type taken struct {
	sku   string
	first time.Time
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
		out = append(out, taken{sku: e.sku, first: it.first})
		q.inflight[e.sku] = it.first
	}
	return out
}

// done ends the flight of taken SKUs (written, dead-lettered or put back
// with addDue).
func (q *queue) done(ts []taken) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, t := range ts {
		delete(q.inflight, t.sku)
	}
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
