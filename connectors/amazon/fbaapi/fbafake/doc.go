// Package fbafake is an in-process fake of the SP-API FBA Inventory API
// v1 operation getInventorySummaries, for tests of fbaapi and the
// reconciler. A Server is an http.Handler: mount it in an
// httptest.Server and give the client its URL as the endpoint. It serves
// summaries from an in-memory table that tests fill with SetSummary.
//
// Facts are cited from the operation's model, amzn/selling-partner-api-models
// models/fba-inventory-api-model/fbaInventory.json
// @ 061b6a12057b7279d6862b0f37d02a7f1d40c867 ("model"), and from the
// project's Amazon reference (shared/reference/amazon.md, "ref §N").
// Where Amazon documents no exact behaviour, the choice the fake made is
// marked [U].
//
// # Endpoint and authentication
//
// GET /fba/inventory/v1/summaries; other paths are 404 and other methods
// 405 [U]. x-amz-access-token must carry Options.Token (ref §6.2), else
// 403 {"errors":[{"code":"Unauthorized","message":"Access to requested
// resource is denied.","details":"The access token you provided is
// revoked, malformed or invalid."}]}: the model lists 403 for "Access
// Denied, Unauthorized, Expired Token"; the body is as users report it
// [S/U].
//
// # Parameters
//
// As the model defines them: granularityType (required, "Marketplace"),
// granularityId (required), marketplaceIds (required, at most 1),
// details (boolean, default false; without it summaries carry no
// inventoryDetails), startDateTime (ISO 8601, no earlier than 18 months
// before now), sellerSkus (comma-separated, at most 50; ignored when
// startDateTime is set) and nextToken. A violation is 400
// {"errors":[{"code":"InvalidInput","message":…}]} (the code SP-API uses
// for bad parameters; the messages are [U]).
//
// With startDateTime only summaries whose lastUpdatedTime is at or after
// it are served ("all inventory summaries that have changed since then";
// inclusive [U]). Summaries are ordered by sellerSku [U] and served
// Options.PageSize to a page (Amazon's page size is not documented [U]).
// The nextToken is opaque; it encodes the offset, a hash of the query and
// when it was issued. It expires Options.NextTokenTTL after it was issued
// ("nextToken will expire in 30 seconds", ref §5.3), and is only valid
// with the query that made it, startDateTime included ("To avoid errors,
// use both startDateTime and nextToken", model); otherwise 400
// InvalidInput [U: Amazon's error for this is not documented].
//
// # Answers
//
// 200 {"payload":{"granularity":{"granularityType":"Marketplace",
// "granularityId":…},"inventorySummaries":[…]},"pagination":{"nextToken":…}}
// in the shape of the model's sandbox example; "pagination" is left out
// on the last page (model Pagination: "If nextToken is not returned,
// there are no more items"). 200 and 400 carry x-amzn-RateLimit-Limit
// and every answer x-amzn-RequestId (ref §6.1).
//
// # Rate limits and faults
//
// With Options.Rate set, a token bucket (Rate per second, Options.Burst;
// the model's plan is 2 and 2) runs on Options.Now; a request that finds
// it empty is 429. Throttle(n) answers the next n requests 429. Either
// way the body is the one of shared/fixtures/amazon/error_429_quota_exceeded.sample.json,
// {"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota
// for the requested resource.","details":""}]} (transcribed from user
// reports, ref §6.1 [S]), without x-amzn-RateLimit-Limit and without
// Retry-After (none is documented, ref §6.1). Fail(n, status) answers the
// next n requests with another status (500 InternalFailure as in the
// model's sandbox example, 503 ServiceUnavailable [U]).
package fbafake
