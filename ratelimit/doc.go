// Package ratelimit paces stockgate's outbound calls to a marketplace so
// that one connector account stays inside the budget the marketplace grants
// it, and adapts that budget to what the marketplace reports.
//
// A [Limiter] is a token bucket per connector account: it holds up to Burst
// units and refills at Limit units per second. A call reserves its cost
// before it is sent; when the bucket holds less than the cost the
// reservation is still made (the bucket goes negative) and the caller is told
// how long to wait, so calls are granted in the order they asked and a large
// call is never starved by a stream of small ones. In any interval of length
// d the units granted never exceed Burst + Limit·d.
//
// Two implementations pass the same conformance suite
// (ratelimit/ratelimittest):
//
//   - [Local], in-process, on golang.org/x/time/rate: one replica, or a
//     budget that is not shared.
//   - ratelimit/redislimit: the bucket lives in Redis and every replica
//     reserves from it with one Lua script, so several replicas share one
//     marketplace budget exactly.
//
// # Cost
//
// Cost is in the marketplace's own unit:
//
//   - Shopify GraphQL Admin API: query cost points. Reserve the query's
//     requested cost (the single-query maximum is 1,000) and settle with
//     the actual cost when the response arrives.
//   - Amazon SP-API, Square, Shopify REST: 1 per request.
//
// Costs are resolved to 0.001 unit.
//
// # Adapting to the marketplace
//
// Every response can be passed to Observe as an [Observation]. The mapping:
//
//	Shopify extensions.cost.throttleStatus   Limit = restoreRate, Burst = maximumAvailable,
//	                                          Available = currentlyAvailable, HasAvailable = true
//	Shopify requested/actualQueryCost        ReservedCost (what was reserved), ActualCost
//	Shopify THROTTLED, HTTP 429              Throttled = true
//	Amazon x-amzn-RateLimit-Limit            Limit (requests per second; burst unchanged)
//	Amazon 429 QuotaExceeded                 Throttled = true
//	Square 429 RATE_LIMITED                  Throttled = true
//	Retry-After header (see ParseRetryAfter) RetryAfter
//
// The limiter never believes it has more than the marketplace said was left:
// a lower Available drains the bucket to it, and a throttle without one
// empties it. A Shopify throttle therefore delays the retried query by
// (requestedQueryCost − currentlyAvailable) / restoreRate, as the bucket
// model says. A Retry-After holds every grant until it has passed; the bucket
// refills meanwhile.
//
// # Time
//
// Every time-dependent method takes the time explicitly (as AllowN(t, n)
// does in golang.org/x/time/rate), so tests run on fake time; only Wait
// reads the clock and sleeps. A limiter treats time as never going
// backwards: a call with an earlier time than one already seen is computed
// at the later time and its delay measured from the caller's time.
//
// # Errors
//
// [ErrInvalidCost] and [ErrInvalidObservation] reject bad arguments.
// [ErrCostExceedsBurst] means the cost can never be granted at the current
// burst; [ErrNoRefill] that the limit is 0 and the bucket cannot cover the
// cost. Wait returns the context's error when it is done, wrapped in
// [ErrWouldExceedDeadline] when the grant would come after the deadline (so
// errors.Is(err, context.DeadlineExceeded) holds as well). A shared backend
// returns its own errors (such as a lost Redis connection) wrapped once.
// Nothing is reserved when an error is returned.
package ratelimit
