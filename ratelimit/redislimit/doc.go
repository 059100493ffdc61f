// Package redislimit is a [ratelimit.Limiter] whose token bucket lives in
// Redis, so that every replica of the gateway reserves from one budget per
// connector account: three replicas pushing to one Shopify store together
// stay inside the store's bucket.
//
// # Algorithm
//
// The bucket is the one [ratelimit.Local] keeps, with the same
// reservations, settlements, drains and Retry-After holds, and it passes the
// same conformance suite (ratelimit/ratelimittest). Its state is one hash
// per account (limit, burst, tokens, last, hold) and every operation is one
// Lua script run with EVALSHA (redis.NewScript), so a reservation from any
// replica is atomic: in any interval of length d, all replicas together are
// granted at most Burst + Limit·d units. The script uses no FUNCTION, so it
// runs on Redis 7 and on miniredis alike.
//
// An Observe updates the shared hash: one replica's throttled answer, new
// limit or drained bucket slows every replica.
//
// # Keys
//
// The key is Options.Prefix followed by the account, such as
// "stockgate:ratelimit:shopify:example.myshopify.com". A new key starts full
// with the limit and burst passed to New; after that, the stored limit and
// burst win (they are what the marketplace last reported), until Observe
// changes them or the key expires. A key expires Options.TTL after its
// bucket would be full again and any hold over, when it no longer holds
// anything a fresh key would not.
//
// # Time
//
// Which clock the bucket runs on is a choice, made per limiter:
//
//   - By default the caller's time: the now given to Reserve, Observe and
//     State (Wait gives time.Now()), in microseconds. That is what makes
//     the explicit-time methods mean what they say, so the conformance
//     suite runs on fake time. The bucket's time never goes back, so clock
//     skew between replicas costs a bounded amount, not a growing one: a
//     replica whose clock is δ ahead of the others may act up to δ early,
//     so up to δ·Limit units more than the budget in a window (at
//     Shopify Plus's 1,000 points/s, 10 ms of skew is 10 points); a replica
//     δ behind waits up to δ longer than needed. Keep clocks synchronised
//     (NTP), or:
//   - With Options.ServerTime, the script reads Redis TIME and ignores the
//     now arguments: exact across replicas whatever their clocks, and the
//     returned delay is measured from the server's time. Use it when the
//     replicas' clocks cannot be trusted; the explicit-time methods then
//     cannot be driven on fake time.
//
// # Errors
//
// Invalid arguments and budget errors are those of package ratelimit
// (ErrInvalidCost, ErrCostExceedsBurst, ErrNoRefill, …). A Redis failure is
// returned wrapped once, with the operation and the key; nothing is
// reserved then. The limiter never retries.
package redislimit
