package main

import (
	"bytes"
	"sync"
	"time"
)

// tracker is the run's record of webhook sends per SKU, shared by the
// sender and the subscribers' readers. It is safe for concurrent use.
//
// The sender reserves a SKU (at most one webhook in flight per SKU), then
// records the send time just before posting, then settles the outcome.
// Because the SKU starts at committed 0 and each accepted webhook commits
// one unit, sent[k-1] is the send time of the webhook that raises
// committed to k.
type tracker struct {
	prefix []byte // "subs-<run>-": SKU i is prefix + decimal i
	skus   []skuLog
}

// skuLog is one SKU's sends.
type skuLog struct {
	mu       sync.Mutex
	sent     []time.Time
	inflight bool
	// lost: a webhook got no answer, so it may or may not have committed,
	// and committed values no longer match sends one to one.
	lost bool
}

func newTracker(prefix string, n int) *tracker {
	return &tracker{prefix: []byte(prefix), skus: make([]skuLog, n)}
}

// index returns the index of the run's SKU named sku, without allocating.
func (t *tracker) index(sku []byte) (int, bool) {
	rest, ok := bytes.CutPrefix(sku, t.prefix)
	if !ok || len(rest) == 0 || len(rest) > 9 || (len(rest) > 1 && rest[0] == '0') {
		return 0, false
	}
	n := 0
	for _, c := range rest {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n >= len(t.skus) {
		return 0, false
	}
	return n, true
}

// reserve marks SKU i as having a webhook in flight; false when it already
// has one.
func (t *tracker) reserve(i int) bool {
	s := &t.skus[i]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight {
		return false
	}
	s.inflight = true
	return true
}

// sending records that the reserved SKU i's webhook is sent at at.
func (t *tracker) sending(i int, at time.Time) {
	s := &t.skus[i]
	s.mu.Lock()
	s.sent = append(s.sent, at)
	s.mu.Unlock()
}

// outcome is how a webhook ended.
type outcome int

const (
	accepted outcome = iota // 200 accepted: it committed one unit
	rejected                // any other answer: it committed nothing
	noAnswer                // a transport error or timeout: unknown
	unsent                  // reserved but never sent
)

// settle records how SKU i's webhook in flight ended and frees the SKU.
func (t *tracker) settle(i int, o outcome) {
	s := &t.skus[i]
	s.mu.Lock()
	defer s.mu.Unlock()
	switch o {
	case rejected:
		if n := len(s.sent); n > 0 {
			s.sent = s.sent[:n-1]
		}
	case noAnswer:
		s.lost = true
	}
	s.inflight = false
}

// match is what a delivered committed value matches.
type match int

const (
	matched   match = iota // a send of the SKU; at is its send time
	unmatched              // the SKU had a webhook without answer
	beyond                 // more commits than sends: someone else writes the SKU
)

// sentAt returns the send time of the webhook that raised SKU i's
// committed quantity to k (k ≥ 1).
func (t *tracker) sentAt(i int, k int64) (time.Time, match) {
	s := &t.skus[i]
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.lost:
		return time.Time{}, unmatched
	case k < 1 || k > int64(len(s.sent)):
		return time.Time{}, beyond
	}
	return s.sent[k-1], matched
}

// accepted returns how many of SKU i's webhooks were accepted, and
// whether that is exact (no webhook of it is in flight or lost).
func (t *tracker) accepted(i int) (int64, bool) {
	s := &t.skus[i]
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.sent)), !s.lost && !s.inflight
}
