// Package spapi is the HTTP plumbing shared by stockgate's Selling
// Partner API clients (connectors/amazon/listingsapi; fbaapi predates it
// and keeps its own copy): the endpoint check, the LWA access token
// header, the SP-API error envelope and its classification into
// errcode.Code, and the x-amzn-RateLimit-Limit header. It sends one
// request per call and never retries or paces: callers do, branching on
// ErrorCode, IsRetryable and RetryAfter.
//
// Facts are cited as "ref §N", the section of the project's Amazon
// reference (shared/reference/amazon.md), and by the model files of
// amzn/selling-partner-api-models they come from.
//
// # Requests
//
// Every request carries x-amz-access-token (an LWA access token; SigV4
// has not been required since 2023-10-02, ref §6.2), x-amz-date, Accept:
// application/json and a User-Agent of at most 500 characters (ref
// §6.2). A request with a body sends it as JSON with Content-Type
// application/json, the one type the models consume (a wrong one is 415,
// e.g. models/feeds-api-model/feeds_2021-06-30.json responses).
//
// # Errors
//
// Every error is an *Error with an errcode.Code:
//
//	ResourceExhausted  HTTP 429 {"errors":[{"code":"QuotaExceeded",…}]} (ref §6.1)
//	Unauthenticated    HTTP 401 or 403, or the token func failed
//	NotFound           HTTP 404
//	InvalidArgument    client-side validation, HTTP 400 and the other 4xx
//	Unavailable        HTTP 5xx or 408, transport failures, timeouts
//	Canceled, DeadlineExceeded   the caller's context
//	Unknown            a body that is not the documented shape
//
// A 2xx answer that carries "errors" is classified by the first error's
// code (QuotaExceeded, InternalFailure, Unauthorized, InvalidInput, …).
// Error.RateLimit keeps the answer's x-amzn-RateLimit-Limit, which Amazon
// sends "on a best-effort basis, for HTTP status codes 20x, 400 and 404
// only" (ref §6.1), so a caller can adapt its limiter to failed answers
// too. SP-API documents no Retry-After (ref §6.1 [U]); one that is sent
// is kept in Error.RetryAfter.
package spapi
