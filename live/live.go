// Package live fans availability changes out to the gateway's live
// subscribers (GraphQL subscriptions over websocket and SSE).
//
// A [Hub] is fed from the bus's availability topic and never blocks on a
// subscriber: each [Subscriber] has a buffer that keeps the latest change
// per SKU and location, so a slow reader skips intermediate values and is
// told so (Coalesced), while everyone else, and the publisher, go on. A
// subscriber is read either by a goroutine waiting in Next (Subscribe), or,
// by a reader that keeps no goroutine per subscriber, with Drain when a
// callback says changes are pending (SubscribeFunc).
//
// # Delivery semantics
//
// A subscriber receives, for every SKU and location it watches, the latest
// change (the highest ledger sequence number) at least once after it
// subscribed; intermediate values may be coalesced away. Changes that
// arrive out of order from the bus are dropped when an equal or higher
// sequence number for the same key was already published.
package live

import (
	"context"
	"errors"
	"sync"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/event"
)

// Change is one delivered availability change.
type Change struct {
	event.Availability
	// Coalesced is true when earlier values of this key were replaced in
	// the subscriber's buffer before it read them.
	Coalesced bool
}

type key struct{ sku, location string }

// Hub fans changes out. The zero value is not usable; call NewHub.
type Hub struct {
	mu     sync.RWMutex
	subs   map[*Subscriber]struct{}
	bySKU  map[string]map[*Subscriber]struct{}
	latest map[key]uint64 // highest seq published per key
	closed bool
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{
		subs:   map[*Subscriber]struct{}{},
		bySKU:  map[string]map[*Subscriber]struct{}{},
		latest: map[key]uint64{},
	}
}

// Filter selects the changes a subscriber receives. Empty fields match
// everything.
type Filter struct {
	SKUs     []string
	Location string
}

// Subscriber is one live subscription. It is read either by waiting in
// Next, or, when made by SubscribeFunc, by calling Drain after its notify
// function says that changes are pending.
type Subscriber struct {
	hub    *Hub
	filter Filter
	ready  chan struct{} // nil in notify mode
	notify func()        // set in notify mode

	mu        sync.Mutex
	pending   map[key]*Change
	order     []key
	closed    bool
	notified  bool // notify mode: notify was called and Drain not since
	coalesced uint64
}

// Subscribe adds a subscriber read with Next. Close it when done.
func (h *Hub) Subscribe(f Filter) *Subscriber {
	return h.add(&Subscriber{hub: h, filter: f, ready: make(chan struct{}, 1), pending: map[key]*Change{}})
}

// SubscribeFunc adds a subscriber in notify mode, for a reader that keeps
// no goroutine waiting per subscriber: notify is called each time the
// subscriber's buffer goes from empty to non-empty, and once when the
// subscriber closes (its hub closed, or Close was called). The reader then
// calls Drain until it has taken every change. notify runs on the
// publisher's goroutine with the hub's read lock held: it must return at
// once and must not call the hub or the subscriber. Next must not be used
// on such a subscriber. Close it when done.
func (h *Hub) SubscribeFunc(f Filter, notify func()) *Subscriber {
	return h.add(&Subscriber{hub: h, filter: f, notify: notify, pending: map[key]*Change{}})
}

func (h *Hub) add(s *Subscriber) *Subscriber {
	f := s.filter
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.closed = true
		if s.ready != nil {
			close(s.ready)
		}
		return s
	}
	if len(f.SKUs) == 0 {
		h.subs[s] = struct{}{}
		return s
	}
	for _, sku := range f.SKUs {
		m := h.bySKU[sku]
		if m == nil {
			m = map[*Subscriber]struct{}{}
			h.bySKU[sku] = m
		}
		m[s] = struct{}{}
	}
	return s
}

// Publish hands a change to every matching subscriber without blocking. It
// reports whether the change was newer than what the hub had seen for its
// key.
func (h *Hub) Publish(a event.Availability) bool {
	k := key{a.SKU, a.Location}
	h.mu.Lock()
	if h.closed || a.Seq <= h.latest[k] {
		h.mu.Unlock()
		return false
	}
	h.latest[k] = a.Seq
	h.mu.Unlock()

	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		s.offer(k, a)
	}
	for s := range h.bySKU[a.SKU] {
		s.offer(k, a)
	}
	return true
}

// Subscribers returns the number of open subscribers.
func (h *Hub) Subscribers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := len(h.subs)
	seen := map[*Subscriber]bool{}
	for _, m := range h.bySKU {
		for s := range m {
			if !seen[s] {
				seen[s] = true
				n++
			}
		}
	}
	return n
}

// Close ends every subscription; their Next returns ErrClosed.
func (h *Hub) Close() {
	h.mu.Lock()
	subs := make([]*Subscriber, 0, len(h.subs))
	for s := range h.subs {
		subs = append(subs, s)
	}
	for _, m := range h.bySKU {
		for s := range m {
			subs = append(subs, s)
		}
	}
	h.closed = true
	h.subs = map[*Subscriber]struct{}{}
	h.bySKU = map[string]map[*Subscriber]struct{}{}
	h.mu.Unlock()
	for _, s := range subs {
		s.shut()
	}
}

// Run feeds the hub from an availability subscription until ctx is done.
func (h *Hub) Run(ctx context.Context, sub *gcpubsub.Subscription) error {
	for {
		msg, err := sub.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if ev, err := event.Parse(msg.Body); err == nil && ev.Availability != nil {
			h.Publish(*ev.Availability)
		}
		msg.Ack()
	}
}

// ErrClosed is returned by Next after the subscriber or its hub closed.
var ErrClosed = errors.New("live: subscription closed")

func (s *Subscriber) offer(k key, a event.Availability) {
	if s.filter.Location != "" && s.filter.Location != a.Location {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if c, ok := s.pending[k]; ok {
		if a.Seq > c.Seq {
			c.Availability = a
			c.Coalesced = true
			s.coalesced++
		}
	} else {
		s.pending[k] = &Change{Availability: a}
		s.order = append(s.order, k)
	}
	if s.notify != nil {
		first := len(s.order) == 1 && !s.notified
		s.notified = s.notified || first
		s.mu.Unlock()
		if first {
			s.notify()
		}
		return
	}
	// Signal under the lock: shut closes ready under the same lock.
	select {
	case s.ready <- struct{}{}:
	default:
	}
	s.mu.Unlock()
}

// Drain returns every pending change of a subscriber made by
// SubscribeFunc, oldest key first, appended to dst, without waiting. It
// returns ErrClosed once the subscriber is closed and nothing is pending.
// After Drain returns no change, the next change calls notify again.
func (s *Subscriber) Drain(dst []Change) ([]Change, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notified = false
	if len(s.order) == 0 {
		if s.closed {
			return dst, ErrClosed
		}
		return dst, nil
	}
	for _, k := range s.order {
		dst = append(dst, *s.pending[k])
	}
	s.order = s.order[:0]
	clear(s.pending)
	return dst, nil
}

// Next waits for changes and returns every pending one, oldest key first.
func (s *Subscriber) Next(ctx context.Context) ([]Change, error) {
	for {
		s.mu.Lock()
		if len(s.order) > 0 {
			out := make([]Change, 0, len(s.order))
			for _, k := range s.order {
				out = append(out, *s.pending[k])
			}
			s.order = s.order[:0]
			clear(s.pending)
			s.mu.Unlock()
			return out, nil
		}
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.ready:
		}
	}
}

// Coalesced returns how many changes were replaced by newer ones before
// this subscriber read them.
func (s *Subscriber) Coalesced() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.coalesced
}

// Close removes the subscriber from its hub.
func (s *Subscriber) Close() {
	h := s.hub
	h.mu.Lock()
	delete(h.subs, s)
	for _, sku := range s.filter.SKUs {
		if m := h.bySKU[sku]; m != nil {
			delete(m, s)
			if len(m) == 0 {
				delete(h.bySKU, sku)
			}
		}
	}
	h.mu.Unlock()
	s.shut()
}

func (s *Subscriber) shut() {
	s.mu.Lock()
	was := s.closed
	s.closed = true
	if !was && s.ready != nil {
		close(s.ready)
	}
	s.mu.Unlock()
	if !was && s.notify != nil {
		s.notify()
	}
}
