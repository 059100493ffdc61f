// Package shopifywriter is the dispatch.Writer of a Shopify shop: it
// writes channel quantities to one Shopify location with the GraphQL
// Admin API's inventorySetQuantities, through the admin client
// (connectors/shopify/admin). Like every driver it classifies failures and
// never retries, sleeps or counts them; the Dispatcher does.
//
// Facts are cited as "ref §N", the section of the project's Shopify
// reference (shared/reference/shopify.md).
//
// # Writes
//
// One Write is one inventorySetQuantities call of up to 250 quantities
// (ref §5.1 input limits), name "available", reason "correction", with
// referenceDocumentUri gid://stockgate/ChannelSync/{account}. Each
// quantity carries changeFromQuantity (ref §4.2): the quantity the Writer
// believes the channel shows, which it learns from its own successful
// writes, from re-reads and from SetKnown. When it knows nothing (after a
// restart) it sends an explicit null, an unconditional set: stockgate is
// the source of truth for these levels (the mutation's documented use),
// and the alternative, reading every level first, costs 3 points per item
// against 13 per 250 for the write.
//
// # Compare-and-set and idempotency
//
// A mutation is all or nothing. When Shopify answers
// CHANGE_FROM_QUANTITY_STALE for some quantities, the Writer re-reads each
// of those levels (a 3-point query each, paced like every call), remembers
// what the channel shows, and reports those updates FailedPrecondition and
// the others Aborted: the Dispatcher sends them again at once, computed
// from a fresh read of the ledger, with the new changeFromQuantity and so
// a new idempotency key (ref §4.2: "retry with a new idempotency key").
//
// Idempotency keys (ref §4.4) are reused for exactly one case: a call
// whose outcome is unknown (5xx, transport failure, timeout,
// IDEMPOTENCY_CONCURRENT_REQUEST) retried with the same content, so that a
// write Shopify did apply is answered with its original result instead of
// a stale error. Any other call gets a new key. The key is deliberately
// not a pure hash of the content: the same content can be a new operation
// (the level was set back by hand, and the same quantity is sent again
// from the same old value), and Shopify would answer it from its 24h key
// memory without applying it. Keys are version-5 UUIDs of the account, a
// random per-process nonce and a counter. A replay after a crash therefore
// uses a new key; compare-and-set (or the unconditional set after a
// restart) makes that harmless: a write applied before the crash is
// either found already equal or rewritten with the same value.
//
// # Rate limit
//
// Before each call the Writer reserves, through the Dispatcher's Pacer, the
// cost it predicts for the call, and it reports every answer's
// extensions.cost as a ratelimit.Observation: Limit = restoreRate, Burst
// = maximumAvailable, Available = currentlyAvailable, and the reserved and
// actual cost to settle. A call that failed without a cost report is
// settled as if it cost what was reserved. A read reserves the
// requestedQueryCost of the last read (10 before any). A write, and Cost
// (the Dispatcher's estimate of the next batch), reserves a cost predicted
// from the number of quantities (50 plus one per quantity before any
// answer). Shopify documents a flat price per mutation, but a price that
// grew with the input would otherwise be reserved short after a smaller
// write, and the shop would throttle what the limiter granted. The
// prediction scales the last write's cost up for a larger write until
// writes of two sizes have been priced, and then follows the line through
// them (flat, for Shopify's documented prices). InitialBudget (50
// points/s, 100 points) is deliberately below every plan, so a restart
// against a drained bucket is not throttled by a limiter that believes it
// is full; the first answer sets the real rate and size.
//
// # Errors
//
// ErrorCode passes the admin client's errcode.Code through unchanged.
// Per quantity: CHANGE_FROM_QUANTITY_STALE and COMPARE_QUANTITY_STALE are
// FailedPrecondition; INVALID_*, ITEM_NOT_STOCKED_AT_LOCATION,
// NON_MUTABLE_INVENTORY_ITEM, NO_DUPLICATE_… and COMPARE_QUANTITY_REQUIRED
// are InvalidArgument (dead-lettered); an unknown code is Unknown. A SKU
// without an inventory item, or a quantity beyond 1,000,000,000, is
// InvalidArgument without a call. IDEMPOTENCY_KEY_PARAMETER_MISMATCH and
// IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED fail the call as Aborted (retried
// with a new key) rather than InvalidArgument, which would dead-letter a
// whole batch for the Writer's own key bookkeeping.
//
// # Echoes
//
// Every quantity Shopify confirmed is recorded with Options.Echoes
// (shopify.MemoryEchoes), so the inventory_levels/update webhook reporting
// it is taken as a confirmation.
package shopifywriter
