// Package squareapi is the Square connector's API client: a driver for the
// Inventory API operations BatchRetrieveInventoryCounts, which the
// reconciler uses to catch up on inventory.count.updated webhooks that
// never arrived (ref §4.2, §6 pitfall 5: "reconcile with
// BatchRetrieveInventoryCounts + updated_after"), and BatchChangeInventory,
// with which dispatch/squarewriter writes channel quantities (ref §4.1),
// and for the Orders API operation RetrieveOrder (GET
// /v2/orders/{order_id}), which the webhook connector uses to read the line
// items that order webhooks lack (ref §3). It sends one request per call,
// classifies every failure and never retries: backoff belongs to the
// caller, which branches on ErrorCode, IsRetryable and RetryAfter.
//
// Facts are cited as "ref §N", the section of the project's Square
// reference (shared/reference/square.md). Its primary source is the
// OpenAPI spec square/connect-api-specification api.json
// @ 5733f6624e9a5b930a8426f0e02a6bf7e35c6c0f; the request's limit field
// and the ErrorCode names are from square/square-python-sdk
// doc/models/batch-retrieve-inventory-counts-request.md
// @ 16c77a0d795bddb97d830c1aadf6e77f2e7a2010 and doc/models/error-code.md
// @ 035d46f544d038253cedfa2b76774cb8b3c01320, generated from that spec.
// Package squarefake is the fake API the tests run against.
//
// # Requests
//
// POST {base}/v2/inventory/counts/batch-retrieve with
// "Authorization: Bearer {token}" and "Square-Version: YYYY-MM-DD"
// (DefaultVersion unless Options.Version says otherwise; ref §5). The body
// is {catalog_object_ids, location_ids, updated_after, states, cursor,
// limit}, each sent only when set; updated_after is RFC 3339 in UTC with
// milliseconds. The answer is {counts: [InventoryCount], cursor, errors}:
// counts newest calculated_at first, cursor empty on the last page.
// AllCounts follows cursors through a CountsReader, so a caller can pace
// or retry page by page.
//
// RetrieveOrder sends GET {base}/v2/orders/{order_id} with the same
// headers and returns the order's id, location, state, version, times and
// line items {uid, catalog_object_id, quantity, name} (spec
// RetrieveOrderResponse); an unknown order is NotFound (HTTP 404).
//
// BatchChangeInventory sends POST {base}/v2/inventory/changes/batch-create
// with the same headers and {idempotency_key, changes, ignore_unchanged_counts}
// (the spec's request example in
// shared/fixtures/square/batch_change_inventory_request.json): each change
// {"type":"PHYSICAL_COUNT","physical_count":{catalog_object_id,
// location_id, state, quantity, occurred_at, reference_id}}, quantity a
// decimal string, occurred_at formatted as TimeFormat;
// ignore_unchanged_counts only when the caller sets it (Square's default
// is true). It refuses, before sending, a request without an idempotency
// key (1 to 128 bytes) or with no changes or more than MaxChanges (100,
// ref §4.1). The answer is {counts, errors}: the current counts of every
// object the request named. Square refuses single changes with HTTP 400 and
// an error whose field names the change ("changes[3]…"); ChangeIndex reads
// it.
//
// Quantities are decimal strings; ParseQuantity turns one into whole units
// digit by digit, as the webhook connector does.
//
// # Errors
//
// Every error is an *Error with an errcode.Code (HTTP statuses mapped by
// errcode.FromHTTPStatus):
//
//	ResourceExhausted  HTTP 429 (RATE_LIMITED, RATE_LIMIT_ERROR; ref §4.3)
//	Unauthenticated    HTTP 401 or 403 (AUTHENTICATION_ERROR)
//	NotFound           HTTP 404
//	InvalidArgument    client-side validation, HTTP 400 and other 4xx but 408
//	                   (INVALID_REQUEST_ERROR: INVALID_CURSOR, VALUE_TOO_HIGH,
//	                   a BatchChangeInventory refusing single changes,
//	                   IDEMPOTENCY_KEY_REUSED, …)
//	Unavailable        HTTP 5xx or 408, transport failures and client timeouts
//	Canceled, DeadlineExceeded   the caller's context
//	Unknown            a body that is not the documented shape
//
// A 2xx answer with errors is classified by the first error's category.
// IsRetryable is true for ResourceExhausted and Unavailable. Square
// publishes no rate limit and documents no Retry-After (ref §4.3: only a
// low-quality page mentions one [U]); RetryAfter returns the header's
// value when an answer has one and zero otherwise, and the caller then
// backs off exponentially with jitter, as Square advises. Error.Errors
// holds the answer's {category, code, detail, field} entries.
package squareapi
