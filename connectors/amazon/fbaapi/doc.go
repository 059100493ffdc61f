// Package fbaapi is a read client for the SP-API FBA Inventory API v1
// operation getInventorySummaries: the FBA stock Amazon holds for a
// seller, per marketplace, which the reconciler reads back to repair
// missed FBA_INVENTORY_AVAILABILITY_CHANGES notifications (ref §5.3, §7
// pitfall 3). It sends one request per call, classifies every failure and
// never retries or paces: the caller does, branching on ErrorCode,
// IsRetryable and RetryAfter.
//
// Facts are cited as "ref §N", the section of the project's Amazon
// reference (shared/reference/amazon.md), and "fbaInventory.json", the
// operation's model: amzn/selling-partner-api-models
// models/fba-inventory-api-model/fbaInventory.json
// @ 061b6a12057b7279d6862b0f37d02a7f1d40c867 (parameters, response
// schema, usage plan and the sandbox example this package's tests
// decode). Package fbafake is the fake API the tests run against.
//
// # Requests
//
// GET {endpoint}/fba/inventory/v1/summaries?details=true
// &granularityType=Marketplace&granularityId={marketplace}
// &marketplaceIds={marketplace}[&startDateTime=…][&sellerSkus=…]
// [&nextToken=…], with the LWA access token in x-amz-access-token (no
// SigV4, ref §6.2), x-amz-date and a User-Agent. With startDateTime
// Amazon returns only summaries that changed since then and ignores
// sellerSkus; a nextToken expires after 30 seconds and must be sent with
// the same startDateTime (ref §5.3; fbaInventory.json "use both
// startDateTime and nextToken"). AllSummaries follows nextToken through a
// SummariesReader, so a caller can pace or retry page by page. The usage
// plan is 2 requests per second with a burst of 2 (fbaInventory.json);
// x-amzn-RateLimit-Limit, when sent, is returned as Response.RateLimit.
//
// The answer is {"payload":{"granularity":{…},"inventorySummaries":[…]},
// "pagination":{"nextToken":…}}; pagination is absent on the last page.
// lastUpdatedTime may be an empty string (the model's sandbox example has
// it so for untouched SKUs): Summary.LastUpdatedTime is then zero.
//
// # Errors
//
// Requests, headers and errors are package spapi's, which every SP-API
// client of stockgate shares. Every error is an *Error (spapi.Error) with
// an errcode.Code (HTTP statuses mapped by errcode.FromHTTPStatus):
//
//	ResourceExhausted  HTTP 429 {"errors":[{"code":"QuotaExceeded",…}]} (ref §6.1)
//	Unauthenticated    HTTP 401 or 403, or the token func failed
//	NotFound           HTTP 404
//	InvalidArgument    client-side validation, HTTP 400 (InvalidInput) and other 4xx
//	Unavailable        HTTP 5xx (500 InternalFailure, 503) or 408, transport failures,
//	                   timeouts
//	Canceled, DeadlineExceeded   the caller's context
//	Unknown            a body that is not the documented shape
//
// IsRetryable is true for ResourceExhausted and Unavailable. SP-API sends
// no Retry-After (ref §6.1 [U]), so RetryAfter is usually zero and the
// caller backs off exponentially with jitter, as Amazon advises; a retry
// of a page must come within the nextToken's 30 seconds.
package fbaapi
