package square

import (
	"log/slog"
	"time"

	"github.com/stockgate/stockgate/connectors"
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

// MemoryEchoes is an in-memory Echoes: Record notes each write, Pushed
// reports the latest per (catalog object, location), as connectors.EchoLog
// keeps them. The zero value is ready to use; it is safe for concurrent
// use and must not be copied after first use.
type MemoryEchoes struct {
	log connectors.EchoLog[countID]
}

type countID struct{ object, location string }

var _ Echoes = (*MemoryEchoes)(nil)

// Record notes that stockgate set the IN_STOCK count of the catalog object
// at the location to qty at at. A record older than the one kept is
// ignored, so concurrent writers may record in any order.
func (e *MemoryEchoes) Record(catalogObjectID, locationID string, qty int64, at time.Time) {
	e.log.Record(countID{catalogObjectID, locationID}, qty, at)
}

// Pushed implements Echoes.
func (e *MemoryEchoes) Pushed(catalogObjectID, locationID string) (int64, time.Time, bool) {
	return e.log.Pushed(countID{catalogObjectID, locationID})
}

// SharedEchoes is an Echoes whose writes are kept in the store as well
// (connectors.SharedEchoLog), for a gateway with replicas or one that
// restarts: the inventory.count.updated for a count that one replica
// wrote reaches whichever replica Square calls, perhaps after a restart,
// and applied as a count there it would replace the location's stock
// with the channel quantity. It implements squarewriter's Recorder too.
type SharedEchoes struct {
	log *connectors.SharedEchoLog
}

var _ Echoes = (*SharedEchoes)(nil)

// NewSharedEchoes returns SharedEchoes over records (a *store.Store); a
// nil logger means slog.Default().
func NewSharedEchoes(records connectors.EchoRecords, logger *slog.Logger) *SharedEchoes {
	return &SharedEchoes{log: connectors.NewSharedEchoLog(records, "square", logger)}
}

// Record notes that stockgate set the IN_STOCK count of the catalog object
// at the location to qty at at; it returns once the store has it.
func (e *SharedEchoes) Record(catalogObjectID, locationID string, qty int64, at time.Time) {
	e.log.Record(catalogObjectID+"@"+locationID, qty, at)
}

// Pushed implements Echoes.
func (e *SharedEchoes) Pushed(catalogObjectID, locationID string) (int64, time.Time, bool) {
	return e.log.Pushed(catalogObjectID + "@" + locationID)
}

// isEcho reports whether an IN_STOCK count of q calculated at at reports
// what stockgate last wrote.
func (c *Connector) isEcho(object, location string, q int64, at time.Time) bool {
	if c.echoes == nil {
		return false
	}
	pushed, pushedAt, ok := c.echoes.Pushed(object, location)
	return connectors.IsEcho(q, at, pushed, pushedAt, ok)
}
