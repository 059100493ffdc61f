package main

import (
	"slices"
	"sync"
	"time"
)

// tracker matches availability changes to the webhooks that caused them.
//
// Every webhook commits one unit of one SKU, each SKU starts the run with
// committed 0, and the loader never has two webhooks in flight for the
// same SKU. So SKU s's k-th accepted webhook is the one that raises its
// committed quantity to k, and a change with committed = k is matched to
// that webhook's send time. Values a subscriber skipped (the gateway
// coalesces changes for a slow reader) are counted as coalesced.
//
// The sender calls sending before it posts a webhook, since the change
// can reach a subscriber before the answer reaches the sender, and then
// failed when the answer says nothing was committed, or lost when no
// answer came. It is safe for concurrent use.
type tracker struct {
	mu    sync.Mutex
	index map[string]int // SKU name → index
	skus  []skuState
	seen  [][]int64 // seen[sub][sku]: the highest committed subscriber sub saw

	latencies []time.Duration
	delivery  deliveryCounts
}

type skuState struct {
	// sent[k-1] is the send time of the webhook expected to raise
	// committed to k.
	sent []time.Time
	// lost is set when a request for this SKU got no answer: it may or
	// may not have committed, so the SKU's committed values no longer
	// match webhooks one to one.
	lost bool
}

// deliveryCounts are the tracker's counts, summed over subscribers.
type deliveryCounts struct {
	// Coalesced is how many committed values subscribers skipped.
	Coalesced int64 `json:"coalesced"`
	// Missing is how many accepted webhooks' changes a subscriber never
	// saw (set by missing).
	Missing int64 `json:"missing"`
	// Repeats are changes at or below a value the subscriber already saw.
	Repeats int64 `json:"repeats"`
	// Unexpected are changes of unknown SKUs, or with more commits than
	// webhooks were sent: something else is writing the run's SKUs.
	Unexpected int64 `json:"unexpected"`
	// Unmatched are changes of SKUs that had a request without answer.
	Unmatched int64 `json:"unmatched"`
}

func newTracker(skus []string, subscribers int) *tracker {
	t := &tracker{index: make(map[string]int, len(skus)), skus: make([]skuState, len(skus))}
	for i, s := range skus {
		t.index[s] = i
	}
	for range subscribers {
		t.seen = append(t.seen, make([]int64, len(skus)))
	}
	return t
}

// sending records that a webhook for SKU s is sent at at.
func (t *tracker) sending(s int, at time.Time) {
	t.mu.Lock()
	t.skus[s].sent = append(t.skus[s].sent, at)
	t.mu.Unlock()
}

// failed records that the webhook in flight for SKU s committed nothing.
func (t *tracker) failed(s int) {
	t.mu.Lock()
	st := &t.skus[s]
	if n := len(st.sent); n > 0 {
		st.sent = st.sent[:n-1]
	}
	t.mu.Unlock()
}

// lost records that the webhook in flight for SKU s got no answer.
func (t *tracker) lost(s int) {
	t.mu.Lock()
	t.skus[s].lost = true
	t.mu.Unlock()
}

// observe records that subscriber sub received, at at, a change of sku
// with the given committed quantity.
func (t *tracker) observe(sub int, sku string, committed int64, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.index[sku]
	if !ok {
		t.delivery.Unexpected++
		return
	}
	st := &t.skus[s]
	seen := &t.seen[sub][s]
	switch {
	case st.lost:
		t.delivery.Unmatched++
	case committed <= *seen:
		t.delivery.Repeats++
	case committed > int64(len(st.sent)):
		t.delivery.Unexpected++
	default:
		t.delivery.Coalesced += committed - *seen - 1
		t.latencies = append(t.latencies, at.Sub(st.sent[committed-1]))
		*seen = committed
	}
}

// missing returns how many accepted webhooks' changes subscribers have not
// seen yet, over every subscriber and every SKU with only answered
// requests.
func (t *tracker) missing() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.missingLocked()
}

func (t *tracker) missingLocked() int64 {
	var n int64
	for _, seen := range t.seen {
		for s := range t.skus {
			if st := &t.skus[s]; !st.lost {
				n += max(int64(len(st.sent))-seen[s], 0)
			}
		}
	}
	return n
}

// result returns the latency samples and the counts, with Missing as of
// now.
func (t *tracker) result() ([]time.Duration, deliveryCounts) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.delivery
	d.Missing = t.missingLocked()
	return slices.Clone(t.latencies), d
}
