// Package squarewriter is the dispatch.Writer of a Square location: it
// writes channel quantities as the IN_STOCK counts of item variations at
// one Square location with the Inventory API's BatchChangeInventory,
// through connectors/square/squareapi. Like every driver it classifies
// failures and never retries, sleeps or counts them; the Dispatcher does.
//
// Facts are cited as "ref §N", the section of the project's Square
// reference (shared/reference/square.md).
//
// # Writes
//
// One Write is one POST /v2/inventory/changes/batch-create of up to 100
// changes (ref §4.1 "max 100 per request"), each a PHYSICAL_COUNT
// {catalog_object_id, location_id, state IN_STOCK, quantity, occurred_at,
// reference_id "stockgate:{account}:{version}"}. A physical count is
// absolute, which suits a channel quantity computed from the ledger:
// stockgate is the source of truth for what the location offers (ref
// §4.1 design note). Square has no compare-and-set (ref §4.1) and orders
// changes by occurred_at; a physical count resets the baseline and changes
// dated after it apply on top (ref §4.1, inventory-api/how-it-works), so a
// POS sale Square records after the write still counts, and reaches the
// ledger as its own inventory.count.updated.
//
// ignore_unchanged_counts is sent true (Square's default, ref §4.1): the
// Dispatcher's reconcile passes send every synced SKU again every few
// minutes, and an unchanged count would otherwise add an entry to the
// merchant's inventory history (and an inventory.count.updated) each time. The spec words it "unchanged
// since the last physical count"; should Square compare with the last
// physical count rather than the current one [U], a count equal to the
// last one written would be skipped after a sale the ledger has not yet
// heard of, and the sale's own webhook corrects it.
//
// # Idempotency
//
// The idempotency key (ref §4.1: required, 1 to 128 characters) is a
// version-5 UUID of the account, the location and, for each change in
// catalog object order, the catalog object, the quantity, the ledger
// Version of the update, its occurred_at and the stamp's number (so that
// two operations stamped in the same millisecond differ). occurred_at is
// stamped when a (SKU, Version) is sent and kept until Square answers the
// write: a call
// whose outcome is unknown (5xx, transport failure, timeout) or that was
// throttled keeps its stamps, so the Dispatcher's retry of the same batch
// is byte for byte the same request under the same key, and Square answers
// it with the first answer without applying it twice (Square's idempotency
// page: "the endpoint knows it's a duplicate request"). Should the retry
// be a different batch (more SKUs became due meanwhile), each SKU still
// carries its stamp, and the same count with the same occurred_at applied
// again changes nothing. A stamp is renewed after 23 hours (Square refuses
// an occurred_at older than 24, ref §4.1).
//
// A write Square confirmed (or refused) drops its stamps: the next write
// of the SKU, even of the same version (a reconcile pass), is a new
// operation, dated now and under a new key, which puts back a count
// someone changed by hand at Square, as the Shopify writer's reconcile
// does. The stamps live in memory: after a restart a write that was in
// doubt is sent again dated now, the Shopify writer's unconditional set
// after a restart. IDEMPOTENCY_KEY_REUSED (the key already named other
// content) fails the call as Aborted and drops the stamps: the Dispatcher
// sends the updates again under a new key.
//
// # Rate limit
//
// Square publishes no rate limit (ref §4.3). Cost is 1 per call, and
// InitialBudget is Options.RequestsPerSecond (10 by default) with a burst
// of one second's worth. Square's advice on 429 RATE_LIMITED is to back
// off exponentially with jitter (ref §4.3): each 429 is reported as a
// throttle (the limiter empties its bucket, and holds a Retry-After if the
// answer had one) and halves the rate given to the limiter; each answered
// call gives a hundredth of RequestsPerSecond back, up to it. The burst
// follows the rate: one second's worth.
//
// # Errors
//
// ErrorCode passes squareapi's errcode.Code through (429 →
// ResourceExhausted, 5xx and transport → Unavailable, 401/403 →
// Unauthenticated, other 4xx → InvalidArgument). An HTTP 400 whose errors
// name single changes ("changes[3]…", squareapi.ChangeIndex) is sorted per
// update: each named update is InvalidArgument (dead-lettered), except
// that an error about occurred_at, the Writer's own stamp, is Unknown
// (retried with a new stamp); the others are Aborted and sent again at
// once, as Square applies nothing of a refused call [U: not documented].
// A 400 that names no change fails the whole call as InvalidArgument. A
// SKU without a catalog object, or a negative quantity, is
// InvalidArgument without a call.
//
// # Echoes
//
// Every count is recorded with Options.Echoes just before its call, so
// the inventory.count.updated reporting it back is recorded as a
// confirmation, not applied as on hand (connectors/square, Echoes), even
// when the call's answer is lost to a stop or a crash. The gateway
// passes square.SharedEchoes, which keeps the counts in the store: Square
// may deliver the echo to another replica, or after a restart.
package squarewriter
