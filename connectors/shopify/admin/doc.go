// Package admin is the write side of the Shopify connector: a driver for
// the GraphQL Admin API that sets absolute inventory levels with
// compare-and-set (inventorySetQuantities) and re-reads a level after a
// stale write. It sends one request per call, classifies every failure
// and never retries: backoff, rate limiting and the breaker belong to the
// portable layer above it, which branches on Code, IsRetryable and
// RetryAfter.
//
// Facts are cited as "ref §N", the section of the project's Shopify
// reference (shared/reference/shopify.md) and the shopify.dev page it
// names. Package shopifyfake is the fake shop the tests run against.
//
// # Requests
//
// POST {shop}/admin/api/{version}/graphql.json with X-Shopify-Access-Token
// (ref §4.1); version 2026-07 unless Options.APIVersion says otherwise.
// SetQuantities sends
//
//	inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey)
//
// selecting inventoryAdjustmentGroup and userErrors (ref §4.2), with ids
// as gid://shopify/InventoryItem/N and gid://shopify/Location/N and
// changeFromQuantity on every quantity: the value the caller read, or an
// explicit null to skip the check, as API 2026-04 requires. Available
// reads inventoryItem(id).inventoryLevel(locationId).quantities(names:
// ["available"]).
//
// Requests that Shopify would refuse are refused before sending, with
// every problem listed: more than 250 quantities (ref §5.1 "Input
// limits"; wraps ErrTooManyQuantities), no quantities, the same (item,
// location) twice (NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR: coalesce
// first), quantities beyond ±1,000,000,000, no reason, and no idempotency
// key from API 2026-04 (ref §4.4).
//
// # Compare-and-set and idempotency
//
// A mutation is all or nothing: Shopify answers userErrors with HTTP 200
// and a null adjustment group, so any userError fails the whole call
// (nothing was applied; the reference does not state atomicity in words
// and the fake implements it). SetQuantities then returns the SetResult
// with every UserError and the Cost, and an *Error. The recovery from a
// stale write (CHANGE_FROM_QUANTITY_STALE → FailedPrecondition) is:
// Available, recompute, and a new SetQuantities with the new ChangeFrom
// and a new IdempotencyKey. Re-sending the same key with different
// variables is IDEMPOTENCY_KEY_PARAMETER_MISMATCH (InvalidArgument); the
// same key with the same variables returns the original result without
// applying again, so a retry after a timeout is safe (ref §4.4).
//
// # Errors
//
// Every error is an *Error with an errcode.Code (HTTP statuses mapped by
// errcode.FromHTTPStatus):
//
//	ResourceExhausted   HTTP 429, or errors[].extensions.code THROTTLED (HTTP 200)
//	FailedPrecondition  CHANGE_FROM_QUANTITY_STALE, COMPARE_QUANTITY_STALE,
//	                    IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED
//	InvalidArgument     client-side validation; INVALID_*, NO_DUPLICATE_…,
//	                    COMPARE_QUANTITY_REQUIRED, ITEM_NOT_STOCKED_AT_LOCATION,
//	                    NON_MUTABLE_INVENTORY_ITEM, IDEMPOTENCY_KEY_PARAMETER_MISMATCH;
//	                    GraphQL request errors (MAX_COST_EXCEEDED,
//	                    MAX_INPUT_SIZE_EXCEEDED, undefinedField, …); HTTP 400
//	                    and other 4xx not listed here
//	Aborted             IDEMPOTENCY_CONCURRENT_REQUEST (retry the same key later)
//	Unauthenticated     HTTP 401 or 403, ACCESS_DENIED
//	Unavailable         HTTP 5xx or 408, INTERNAL_SERVER_ERROR, transport errors and
//	                    timeouts
//	NotFound            HTTP 404; Available of a missing item or level
//	Canceled, DeadlineExceeded   the caller's context
//	Unknown             anything else (an unexpected userError code or body; HTTP
//	                    402 and 423, a frozen or locked shop)
//
// When one call has several userErrors the most severe class wins, in
// the order InvalidArgument, Unknown, FailedPrecondition, Aborted: a
// re-read does not fix a bad id. IsRetryable is true for
// ResourceExhausted, Unavailable and Aborted. RetryAfter follows ref
// §5.1: the Retry-After header (seconds) when the answer has one, else for
// a throttle (requestedQueryCost − currentlyAvailable) / restoreRate from
// extensions.cost, rounded up to the millisecond.
//
// extensions.cost is read from every answer that carries it, success or
// failure, and returned as SetResult.Cost, Available's Cost and
// Error.Cost, so the layer above can pace itself on the bucket Shopify
// reports instead of assuming one (bucket sizes are not published, ref
// §5.1).
package admin
