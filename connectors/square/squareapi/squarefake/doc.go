// Package squarefake is an in-process fake of the Square Inventory API's
// BatchRetrieveInventoryCounts and BatchChangeInventory and the Orders
// API's RetrieveOrder, for tests of squareapi, the reconciler, the webhook
// connector and dispatch/squarewriter. A Server is an http.Handler: mount
// it in an httptest.Server and give the client its URL as
// Options.BaseURL. It serves counts from an in-memory table that tests
// fill with SetCount and BatchChangeInventory writes to, so what is
// written is what the counts endpoint reads back.
//
// Facts are cited as "ref §N", the section of the project's Square
// reference (shared/reference/square.md), whose primary source is the
// spec square/connect-api-specification api.json
// @ 5733f6624e9a5b930a8426f0e02a6bf7e35c6c0f; error codes are the spec's
// ErrorCode enum as square/square-python-sdk doc/models/error-code.md
// @ 035d46f544d038253cedfa2b76774cb8b3c01320 lists it, and the limit
// bounds are from doc/models/batch-retrieve-inventory-counts-request.md
// @ 16c77a0d795bddb97d830c1aadf6e77f2e7a2010. Where Square documents no
// exact behaviour, the choice the fake made is marked [U].
//
// # Endpoint and authentication
//
// POST /v2/inventory/counts/batch-retrieve (ref §4.2) and POST
// /v2/inventory/changes/batch-create (ref §4.1); other paths are 404 and
// other methods 405. "Authorization: Bearer {token}" must carry
// Options.Token, else 401 {"errors":[{"category":"AUTHENTICATION_ERROR",
// "code":"UNAUTHORIZED",…}]} (ref §5; the detail text is [U]). A
// Square-Version header, when present, must be YYYY-MM-DD, else 400
// INVALID_SQUARE_VERSION_FORMAT; it is recorded, not interpreted.
//
// GET /v2/orders/{order_id} (Square API reference, Orders API
// RetrieveOrder, https://developer.squareup.com/reference/square/orders-api/retrieve-order)
// answers {"order":{id, location_id, state, version, created_at,
// updated_at, line_items:[{uid, catalog_object_id, name, quantity}]}} for
// an order stored with SetOrder (other Order fields of the spec are left
// out), and 404 {"errors":[{"category":"INVALID_REQUEST_ERROR",
// "code":"NOT_FOUND",…}]} for any other id (the detail text is [U]). Other
// methods on it are 405; authentication and Square-Version are checked as
// for counts, and Fail applies to it too.
//
// # Filtering and paging
//
// The body is {catalog_object_ids, location_ids, updated_after, states,
// cursor, limit} (ref §4.2, the spec's request example in
// shared/fixtures/square/batch_retrieve_inventory_counts_request.json).
// Every filter applies only when set. updated_after keeps counts whose
// calculated_at is strictly after it (spec: "results with their
// calculated_at value after the given time"); it must be RFC 3339, else
// 400 INVALID_TIME. states must be InventoryState values (else 400
// INVALID_ENUM_VALUE); the untracked NONE, SOLD and UNLINKED_RETURN are
// ignored (ref §4.2), and a states filter left empty by that applies no
// filter [U]. limit must be 1 to 1000 (VALUE_TOO_LOW, VALUE_TOO_HIGH);
// without one a page holds Options.PageSize counts (Square's default page
// size is not documented [U]).
//
// Results are sorted by calculated_at, newest first (ref §4.2), then by
// catalog object, location and state so that pages are stable. The
// cursor is opaque: it encodes the offset of the next page and a hash of
// the query's filters; a cursor that does not decode, or was made for
// other filters, is 400 INVALID_CURSOR [U: Square's exact rule]. The
// table is read afresh for each page, so a count that changes between
// pages can move across them, as with any offset cursor [U].
//
// The answer is {"counts":[InventoryCount…],"cursor":"…"}: counts in the
// shape of shared/fixtures/square/batch_retrieve_inventory_counts_response.json,
// "cursor" left out on the last page (spec: "If unset, this is the final
// response"), "counts" left out when there are none [U].
//
// # BatchChangeInventory
//
// The body is {idempotency_key, changes, ignore_unchanged_counts} (ref
// §4.1; the spec's example in
// shared/fixtures/square/batch_change_inventory_request.json). Refused
// with HTTP 400 and nothing applied:
//
//	no idempotency_key, or longer       MISSING_REQUIRED_PARAMETER, VALUE_TOO_LONG
//	than 128 (ref §4.1)                 at idempotency_key
//	more than 100 changes (ref §4.1     ARRAY_LENGTH_TOO_LONG at changes (the
//	"Max size is 100 changes")          ErrorCode enum; detail [U])
//	a bad change                        one error per problem, field
//	                                    "changes[i].physical_count.<field>" [U]:
//	                                    a missing field, an unknown or read-only
//	                                    state (ref §4.4), a quantity that is not
//	                                    a decimal string, occurred_at older than
//	                                    24 hours or in the future (ref §4.1), a
//	                                    catalog object outside SetCatalog
//	                                    (NOT_FOUND, the shape of
//	                                    square/square-nodejs-sdk issue #150)
//
// When any change is bad the whole request is refused [U: Square does not
// say whether a batch applies partly]. ADJUSTMENT and TRANSFER are valid
// types the fake does not implement (400 BAD_REQUEST).
//
// Idempotency follows Square's idempotency page
// (developer.squareup.com/docs/build-basics/common-api-patterns/idempotency):
// a request repeated under a key that already succeeded is answered with
// the first answer and applies nothing (Stats.Replays); the key with a
// different request (compared as JSON, not bytes) is 400
// IDEMPOTENCY_KEY_REUSED (the ErrorCode enum; status and detail [U]). A
// refused request does not use up its key. Keys are remembered for the
// Server's life.
//
// A physical count sets the count of (catalog_object_id, location_id,
// state), calculated_at now, unless one with a later occurred_at was
// applied (Square orders changes by occurred_at, ref §4.1) or, with
// ignore_unchanged_counts (default true), it equals the current count [U:
// the spec compares with "the last physical count"]. The fake keeps only
// the current count: unlike Square it does not re-apply adjustments dated
// after a physical count on top of it (counts set with SetCount are not
// dated changes). The answer is
// {"counts":[…],"errors":[]}, the current count of every count the
// request named, as in
// shared/fixtures/square/batch_change_inventory_response.json. Applied
// lists what was applied; CountUpdatedEvent builds the
// inventory.count.updated webhook for a count (the fake sends none).
//
// # Rate limit
//
// Square publishes no rate limit (ref §4.3); the fake answers at most
// Options.RateLimit requests per second with bursts of Options.Burst (a
// token bucket, golang.org/x/time/rate, on Options.Now), and every request
// beyond it 429 {"errors":[{"category":"RATE_LIMIT_ERROR",
// "code":"RATE_LIMITED",…}]} (ref §4.3) without Retry-After (Square
// documents none [U]). Every endpoint draws from the same bucket.
//
// # Errors and faults
//
// Errors use the spec's Error shape, {"errors":[{"category","code",
// "detail","field"}]} (ref §4.1, §4.3). Fail(n, status, retryAfter)
// answers the next n requests with status: 429 is
// {"errors":[{"category":"RATE_LIMIT_ERROR","code":"RATE_LIMITED",…}]}
// (ref §4.3), 500 INTERNAL_SERVER_ERROR and 503 SERVICE_UNAVAILABLE in
// category API_ERROR, and a Retry-After header in whole seconds when
// retryAfter is positive (Square documents none, ref §4.3 [U]: the option
// exists to test clients that honour one). SetDown(status, until) is an
// outage: every request until then gets status and its body. Requests,
// Applied and Stats let tests assert what was sent.
package squarefake
