package shopify

import (
	"time"

	"github.com/stockgate/stockgate/connectors"
)

// Echoes tells the inbound side what stockgate itself last wrote to
// Shopify, so that the inventory_levels/update Shopify sends back for that
// write (an echo, ref §3.2, §6 pitfall 6) is recorded as a confirmation,
// not as a change from elsewhere. Shopify names no writing app in the
// webhook body (ref §3.2 [U]); the reference's rule is to compare the
// reported available with the value last written. The outbound side
// implements it. Implementations must be safe for concurrent use.
type Echoes interface {
	// Pushed returns the available quantity stockgate last set for the
	// Shopify inventory item at the Shopify location, and when; ok is
	// false when it never set one (or no longer remembers).
	Pushed(itemID, locationID int64) (qty int64, at time.Time, ok bool)
}

// MemoryEchoes is an in-memory Echoes: Record notes each write, Pushed
// reports the latest per (item, location), as connectors.EchoLog keeps
// them. The zero value is ready to use; it is safe for concurrent use and
// must not be copied after first use.
type MemoryEchoes struct {
	log connectors.EchoLog[levelID]
}

type levelID struct{ item, location int64 }

var _ Echoes = (*MemoryEchoes)(nil)

// Record notes that stockgate set the available quantity of the inventory
// item at the location to qty at at. A record older than the one kept for
// the level is ignored, so concurrent writers may record in any order.
func (e *MemoryEchoes) Record(itemID, locationID, qty int64, at time.Time) {
	e.log.Record(levelID{itemID, locationID}, qty, at)
}

// Pushed implements Echoes.
func (e *MemoryEchoes) Pushed(itemID, locationID int64) (int64, time.Time, bool) {
	return e.log.Pushed(levelID{itemID, locationID})
}
