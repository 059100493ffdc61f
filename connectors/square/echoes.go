package square

import (
	"sync"
	"time"
)

// Echoes tells the inbound side what stockgate itself last wrote to Square,
// so that the inventory.count.updated Square sends for that write (an
// echo: the webhook is "triggered by … API changes, including stockgate's
// own writes", ref §3) is recorded as a confirmation, not applied as a
// count from the shop floor. Square does not mark the writer in the event
// [U, ref §8]; the reference's rule is to compare the reported IN_STOCK
// quantity with the last value stockgate wrote for that (variation,
// location) (ref §3 "Echo handling"). The outbound side
// (dispatch/squarewriter) implements it with MemoryEchoes.
// Implementations must be safe for concurrent use.
type Echoes interface {
	// Pushed returns the IN_STOCK quantity stockgate last wrote for the
	// catalog object (item variation) at the Square location, and when;
	// ok is false when it never wrote one (or no longer remembers).
	Pushed(catalogObjectID, locationID string) (qty int64, at time.Time, ok bool)
}

// echoSkew is how far a count's calculated_at (Square's clock) may lie
// before the write's time (stockgate's clock) and still be the echo of
// that write. A count calculated earlier than that is the state before the
// write, which only happens to equal it.
const echoSkew = time.Minute

// MemoryEchoes is an in-memory Echoes: Record notes each write, Pushed
// reports the latest per (catalog object, location). It keeps one entry
// per count ever written, so it grows with the catalogue, not with
// traffic. The zero value is ready to use; it is safe for concurrent use
// and must not be copied after first use.
type MemoryEchoes struct {
	mu     sync.RWMutex
	pushed map[countID]push
}

type countID struct{ object, location string }

type push struct {
	qty int64
	at  time.Time
}

var _ Echoes = (*MemoryEchoes)(nil)

// Record notes that stockgate set the IN_STOCK count of the catalog object
// at the location to qty at at. A record older than the one kept is
// ignored, so concurrent writers may record in any order.
func (e *MemoryEchoes) Record(catalogObjectID, locationID string, qty int64, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := countID{catalogObjectID, locationID}
	if p, ok := e.pushed[k]; ok && at.Before(p.at) {
		return
	}
	if e.pushed == nil {
		e.pushed = make(map[countID]push)
	}
	e.pushed[k] = push{qty, at}
}

// Pushed implements Echoes.
func (e *MemoryEchoes) Pushed(catalogObjectID, locationID string) (int64, time.Time, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	p, ok := e.pushed[countID{catalogObjectID, locationID}]
	return p.qty, p.at, ok
}

// isEcho reports whether an IN_STOCK count of q calculated at at reports
// what stockgate last wrote.
func (c *Connector) isEcho(object, location string, q int64, at time.Time) bool {
	if c.echoes == nil {
		return false
	}
	pushed, pushedAt, ok := c.echoes.Pushed(object, location)
	return ok && pushed == q && (pushedAt.IsZero() || !at.Before(pushedAt.Add(-echoSkew)))
}
