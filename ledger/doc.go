// Package ledger is stockgate's event-sourced stock ledger: it applies
// canonical stock events to the store idempotently, one immutable entry per
// change, and emits an availability change for every key it moved.
//
// The inventory rules live in [Step], a pure function from a projection and
// an event to the next entry and projection; [Ledger] reads, computes and
// commits with optimistic concurrency (retrying on a sequence conflict), and
// [Ledger.Run] consumes the inbound topic of the bus.
//
// # Rules
//
// Quantity states per SKU and location: on hand, committed, and available
// (on hand − committed − safety stock).
//
//   - received, returned: on hand grows.
//   - order committed: committed grows; cancelled: committed shrinks;
//     fulfilled: on hand and committed shrink.
//   - adjusted: on hand changes by the signed delta.
//   - counted (on hand): on hand becomes the count, unless the count is
//     older than the last count applied for that key: then the entry is
//     recorded as stale and nothing changes. A count dated more than
//     MaxCountAhead after the ledger's clock is kept as a dead letter: it
//     would make every count until its date stale.
//   - counted (available): a channel's report; recorded as observed and
//     compared with the ledger's available, raising a drift alert on a
//     difference. It never changes quantities: the sale behind it arrives as
//     an order event, and applying both would count it twice.
//   - transferred: on hand moves between two locations in one commit.
//
// A change that takes a quantity below zero, or further below, is applied,
// recorded with the outcome oversold and raises an alert: never silently.
// Available counts as lowered by what the event moved (on hand less
// committed), not by a change of safety stock; an event that leaves a
// negative quantity as it was or raises it is not flagged again.
//
// # Delivery semantics
//
// Applying an event whose id was applied before changes nothing. An event
// of unknown type or version, or one naming a SKU or location the catalog
// does not know, is kept as a dead letter (and counted as consumed), never
// dropped.
package ledger
