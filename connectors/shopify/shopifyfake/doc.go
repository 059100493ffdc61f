// Package shopifyfake is an in-process fake of one shop's Shopify GraphQL
// Admin API, for tests and for load runs that have no Shopify store. It
// speaks the wire protocol of POST /admin/api/{version}/graphql.json and
// serves the slice of the API the stockgate connector writes through:
// inventorySetQuantities and a level read. Start it on a local port
// (Start, URL, Close) or mount Handler in an httptest.Server.
//
// Facts are cited as "ref §N", the section of the project's Shopify
// reference (shared/reference/shopify.md) together with the shopify.dev
// page that section names; its confidence tags are kept: [P] primary,
// [S] secondary, [U] unverified. Where Shopify documents no exact shape,
// the choice the fake made is marked [U] and described here.
//
// # Endpoint and authentication
//
// POST /admin/api/{version}/graphql.json with X-Shopify-Access-Token
// (ref §4.1). {version} is a quarterly release ("2026-07") or "unstable";
// anything else is 404 [U]. A missing or wrong token is HTTP 401 with
// {"errors":"[API] Invalid API key or access token (unrecognized login or
// wrong password)"}, the body Shopify is widely reported to send [S]. The
// body is {"query", "variables", "operationName"}; numbers are decoded
// exactly (ids exceed 2^53, ref §3.3).
//
// # GraphQL
//
// The document is parsed with github.com/vektah/gqlparser/v2 and checked
// against a small built-in schema: QueryRoot.inventoryItem,
// Mutation.inventorySetQuantities and the types they return. Unknown
// fields, arguments and directives, missing selections and variables
// are request errors with graphql-ruby's messages and extensions.code
// ("undefinedField", "argumentNotAccepted", …; graphql-ruby serves the
// Admin API). Aliases, fragments and __typename work; the response keeps
// the selection order.
//
// # inventorySetQuantities
//
// The mutation of ref §4.2
// (https://shopify.dev/docs/api/admin-graphql/latest/mutations/inventorySetQuantities),
// with its payload {inventoryAdjustmentGroup, userErrors{code field
// message}} and the codes of InventorySetQuantitiesUserErrorCode, all
// with HTTP 200:
//
//   - input.name must be "available" or "on_hand" (INVALID_NAME); reason
//     non-empty (INVALID_REASON; the fake does not check the reason list,
//     which is not fully published [U]); referenceDocumentUri, if given, a
//     scheme://… URI (INVALID_REFERENCE_DOCUMENT).
//   - Ids are gid://shopify/InventoryItem/N and gid://shopify/Location/N
//     (INVALID_INVENTORY_ITEM, INVALID_LOCATION). With
//     Options.RequireStocked, unknown items and levels are
//     INVALID_INVENTORY_ITEM and ITEM_NOT_STOCKED_AT_LOCATION.
//   - Quantities within ±1,000,000,000 (INVALID_QUANTITY_TOO_HIGH/LOW);
//     a negative on_hand is INVALID_QUANTITY_NEGATIVE [U: which names
//     may go negative is not documented].
//   - The same (item, location) twice in one call is
//     NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR.
//   - Compare-and-set by API version (ref §4.2 table): from 2026-04
//     changeFromQuantity must be present on every quantity (explicit null
//     skips the check), else COMPARE_QUANTITY_REQUIRED, the code the
//     reference lists for a missing CAS field; a mismatch is
//     CHANGE_FROM_QUANTITY_STALE with field ["input","quantities","i",
//     "changeFromQuantity"]; compareQuantity and ignoreCompareQuantity are
//     no longer input fields. In 2026-01 changeFromQuantity, when present
//     (even null), overrides compareQuantity. Before 2026-01
//     compareQuantity is required unless ignoreCompareQuantity is true
//     (COMPARE_QUANTITY_REQUIRED, COMPARE_QUANTITY_STALE) and
//     changeFromQuantity does not exist.
//   - All or nothing: every quantity is checked first; if any userError
//     is found none is applied and inventoryAdjustmentGroup is null. The
//     reference does not say so in words [U]; the payload has one
//     adjustment group per call, which the fake takes as atomic.
//   - A successful call applies every quantity and returns one
//     InventoryAdjustmentGroup with two changes per quantity ("available"
//     and "on_hand", same delta; the fake keeps no committed or reserved
//     units, so on_hand equals available).
//
// Input arrays of more than 250 entries are refused before execution, per
// "Input arguments that accept an array have a maximum size of 250 for
// all APIs. Requests return an error if an input array exceeds 250 items"
// (ref §5.1 "Input limits", https://shopify.dev/api/usage/rate-limits).
// The documented page gives no error shape; the fake answers a top-level
// error, not a userError, because the limit is enforced on every input
// array of every API, before a resolver runs:
//
//	{"errors":[{"message":"The input array size of 251 is greater than the maximum allowed of 250.",
//	  "locations":[…],"path":["inventorySetQuantities","input","quantities"],
//	  "extensions":{"code":"MAX_INPUT_SIZE_EXCEEDED"}}],"extensions":{"cost":{…}}}
//
// message and code as users report them [S/U]. Nothing is applied and
// nothing is charged.
//
// # Idempotency
//
// @idempotent(key:) on inventorySetQuantities (ref §4.4,
// https://shopify.dev/docs/api/usage/implementing-idempotency): the key
// is remembered with a fingerprint of the mutation's arguments (not of
// the selection). The same key with the same arguments returns the
// original outcome, userErrors included, and applies nothing (a "replay");
// the same key with other arguments is the userError
// IDEMPOTENCY_KEY_PARAMETER_MISMATCH. So a stale write must be retried
// with a new key, as ref §4.2 advises. From 2026-04 a mutation without a
// key is "an error at runtime" (ref §4.4); its shape is undocumented [U]:
// the fake answers a top-level error with extensions.code "BAD_REQUEST",
// path ["inventorySetQuantities"] and data.inventorySetQuantities null. In
// 2026-01 the key is optional; before it the directive does not exist.
// Keys are kept for Options.IdempotencyWindow (24h by default [U]).
// Requests run one at a time, so IDEMPOTENCY_CONCURRENT_REQUEST and
// IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED never occur.
//
// # Reading levels
//
// The read shape is InventoryItem.inventoryLevel(locationId:) and
// InventoryLevel.quantities(names:)
// (https://shopify.dev/docs/api/admin-graphql/latest/objects/InventoryItem,
// https://shopify.dev/docs/api/admin-graphql/latest/objects/InventoryLevel;
// not in the reference [U]):
//
//	query($item: ID!, $location: ID!) {
//	  inventoryItem(id: $item) {
//	    inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } }
//	  }
//	}
//
// Names are those of ref §3.1/§4.3; unknown names are left out. An item
// or level that does not exist (only with RequireStocked) reads as null.
//
// # Rate limit and cost model
//
// One cost-based leaky bucket per Server, that is per app and shop
// (ref §5.1, https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits):
// restore rate by Plan (Standard 100, Advanced 200, Plus 1,000,
// Enterprise 2,000 points/s [P]); size Options.MaximumAvailable, 2,000 by
// default (observed, not published [U]). Before a request runs, its
// requested cost must be available and is taken; afterwards the
// difference between requested and actual cost is refunded
// (https://help.shopify.com/en/api/graphql-admin-api/call-limit). The
// bucket runs on Options.Now; see Bucket for the arithmetic.
//
// The cost model follows the documented per-field defaults (scalar and
// enum 0, object 1, mutation 10; shopify.dev rate-limits page) and is
// deterministic; Shopify's own costs are only knowable from
// actualQueryCost (ref §5.3), so clients must read them, never assume
// these:
//
//	requested = Σ mutation root fields (Mutation + PerInputItem × len(input.quantities))
//	          + Σ other selected fields returning an object or a list of objects (Object each;
//	            a list is priced as one element)
//	actual    = the same over the response, where a field that is null costs nothing, nor does
//	            anything below it, and a list costs as its most expensive element
//
// With DefaultCostModel (Mutation 10, Object 1, PerInputItem 0) the
// connector's write (inventoryAdjustmentGroup{… changes{…}} userErrors{…})
// requests 13 and costs 13 when applied, 11 when answered with userErrors;
// its level read costs 3. Server.RequestedCost computes it for any
// request. A requested cost over 1,000 is MAX_COST_EXCEEDED, "Query cost
// is N, which exceeds the single query max cost limit (1000)." (ref §5.1
// [S]).
//
// Every GraphQL answer (data, userErrors, request errors, THROTTLED)
// carries extensions.cost {requestedQueryCost, actualQueryCost,
// throttleStatus{maximumAvailable, currentlyAvailable, restoreRate}};
// actualQueryCost is null when nothing ran. currentlyAvailable is rounded
// down to whole points. Answers below the GraphQL layer (400 for a body
// that is not JSON, 401, 404, 405, SetDown) have no cost, as they would not at Shopify.
//
// A request that does not fit is answered, as ref §5.1 shows, with HTTP
// 200 and
//
//	{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],
//	 "extensions":{"cost":{"requestedQueryCost":13,"actualQueryCost":null,"throttleStatus":{…}}}}
//
// or, with Options.ThrottleHTTPStatus 429, the same body with HTTP 429 and
// Retry-After in whole seconds (the status Shopify's own client retries,
// ref §5.1). Waiting (requestedQueryCost − currentlyAvailable) /
// restoreRate seconds is always enough.
//
// # Faults and assertions
//
// SetDown(status, until) answers every request with status until the
// clock passes until (with Retry-After for 429 and 503 [U: Shopify's
// outage answers are not documented]). Stats counts requests, throttles,
// replays and applied quantities; Level and SetLevel read and seed the
// shop's levels.
package shopifyfake
