// Package store is stockgate's durable state: the event-sourced stock
// ledger (an immutable entry log per SKU and location plus the current
// projection), the webhook dedup memory, the transactional outbox that feeds
// the bus, dead letters and alerts, and the outbound dispatcher's durable
// queue of SKUs to write per connector account ([QueueDriver]).
//
// [Store] is the portable type that every part of the gateway uses; backends
// implement the small [Driver] interface and prove themselves with the
// conformance suite in store/storetest. The embedded backend is boltstore (a
// bbolt file in the data dir); memstore keeps everything in memory for tests.
//
// # Transactions
//
// Two operations carry the gateway's guarantees, and a driver must make each
// item of them atomic:
//
//   - Accept stores a webhook's canonical events in the outbox and its dedup
//     key in one step, so an acknowledged webhook is never lost and a
//     redelivered one is never accepted twice.
//   - Commit applies one ledger step: it appends the entry, replaces the
//     projection, marks the event applied and queues the availability
//     change, all or nothing, and only when the key's sequence number is
//     still the one the caller read (optimistic concurrency, as in an
//     expected-sequence append). The consumer then deletes the event's
//     outbox message; a crash in between only means the event is relayed
//     again and found applied.
//
// Drivers may group many items into one physical transaction (group commit)
// as long as each item's outcome is reported on its own.
//
// # Errors
//
// Per-item outcomes are [ErrDuplicate], [ErrAlreadyApplied] and
// [ErrConflict]; a failure of the whole call is returned as the call's error
// and leaves nothing half-written. After Close every call fails with
// [ErrClosed].
package store
