// Package squarefake is an in-process fake of the Square Inventory API's
// BatchRetrieveInventoryCounts and the Orders API's RetrieveOrder, for
// tests of squareapi, the reconciler and the webhook connector. A Server is an http.Handler: mount it in an
// httptest.Server and give the client its URL as Options.BaseURL. It
// serves counts from an in-memory table that tests fill with SetCount.
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
// POST /v2/inventory/counts/batch-retrieve (ref §4.2); other paths are 404
// and other methods 405. "Authorization: Bearer {token}" must carry
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
// # Errors and faults
//
// Errors use the spec's Error shape, {"errors":[{"category","code",
// "detail","field"}]} (ref §4.1, §4.3). Fail(n, status, retryAfter)
// answers the next n requests with status: 429 is
// {"errors":[{"category":"RATE_LIMIT_ERROR","code":"RATE_LIMITED",…}]}
// (ref §4.3), 500 INTERNAL_SERVER_ERROR and 503 SERVICE_UNAVAILABLE in
// category API_ERROR, and a Retry-After header in whole seconds when
// retryAfter is positive (Square documents none, ref §4.3 [U]: the option
// exists to test clients that honour one). Requests and Stats let tests
// assert what was sent.
package squarefake
