package connectors

import (
	"sync"
	"time"
)

// Echoes: a channel reports stockgate's own writes back in its webhooks
// (Shopify's inventory_levels/update, Square's inventory.count.updated,
// Amazon's LISTINGS_ITEM_MFN_QUANTITY_CHANGE) and names no writer in
// them, so each connector compares a reported quantity with what its
// writer last wrote there: the same quantity, reported no earlier than
// the write (give or take EchoSkew), is the echo of that write, a
// confirmation rather than a change from elsewhere. EchoLog is the memory
// of those writes that every connector's MemoryEchoes keeps, keyed by
// what the channel counts (an item at a location, a SellerSKU).

// EchoSkew is how far a report's time (the channel's clock) may lie
// before the write's time (stockgate's clock) and still be the echo of
// that write. A report stamped earlier than that shows the state before
// the write, which only happens to equal it.
const EchoSkew = time.Minute

// EchoLog remembers the quantity stockgate last wrote per key, and when.
// It keeps one entry per key ever written, so it grows with the
// catalogue, not with traffic. The zero value is ready to use; it is safe
// for concurrent use and must not be copied after first use.
type EchoLog[K comparable] struct {
	mu     sync.RWMutex
	pushed map[K]echo
}

type echo struct {
	qty int64
	at  time.Time
}

// Record notes that stockgate wrote qty at k at at. A record older than
// the one kept is ignored, so concurrent writers may record in any order.
func (l *EchoLog[K]) Record(k K, qty int64, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p, ok := l.pushed[k]; ok && at.Before(p.at) {
		return
	}
	if l.pushed == nil {
		l.pushed = make(map[K]echo)
	}
	l.pushed[k] = echo{qty, at}
}

// Pushed returns the quantity last written at k and when; ok is false
// when none was.
func (l *EchoLog[K]) Pushed(k K) (qty int64, at time.Time, ok bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	p, ok := l.pushed[k]
	return p.qty, p.at, ok
}

// IsEcho reports whether a report of qty made at at is the echo of a write
// of pushed at pushedAt (ok: there was one; a zero pushedAt matches any
// report time).
func IsEcho(qty int64, at time.Time, pushed int64, pushedAt time.Time, ok bool) bool {
	return ok && pushed == qty && (pushedAt.IsZero() || !at.Before(pushedAt.Add(-EchoSkew)))
}
