// Package redisstore is the store driver for Redis, for gateways that run
// as several replicas: they share one Redis, and its scripts make every
// Accept and Commit item atomic across them. It needs Redis 6.2 or later
// (tested on 7.0) and works with a standalone server, Sentinel or a
// Cluster through any redis.UniversalClient.
//
// # URLs
//
// [OpenURL] opens "redis://" and "rediss://" (TLS) URLs with a client of
// its own, which Close closes:
//
//	redis://127.0.0.1:6379/0
//	rediss://cache.internal:6380/2?prefix={stockgate-eu}:&dedup_grace=2h
//
// Query parameters set [Options]; the rest are go-redis's connection
// options (dial_timeout, pool_size, …; see redis.ParseURL), and any other
// parameter is an error:
//
//	prefix={stockgate}:     Options.Prefix
//	dedup_grace=1h          Options.DedupGrace
//
// The password is the URL's user info or, better since URLs get logged,
// the REDIS_PASSWORD environment variable. Errors show URLs redacted.
// Unless the URL sets max_retries, the client does not retry commands
// (see [Open]). [Open] takes a client the caller made and leaves it open.
//
// # Atomicity
//
// Two Lua scripts (EVALSHA, loaded by Open, reloaded when Redis lost them)
// do every write of an item in one step, checking everything before they
// write anything:
//
//   - accept: checks the dedup key against the caller's clock (Options.Now)
//     and sets it with its expiry, numbers the messages from the outbox
//     counter and adds them, and records the dead letters; or, when the
//     key is remembered, returns duplicate having written nothing.
//   - commit: checks the applied mark and every keyed step's expected seq
//     (a key's second step in one commit expects what its first writes),
//     then appends the entries, replaces the projections, marks the event
//     applied, queues the outbox messages and records the alerts and the
//     dead letter; or returns already-applied or conflict having written
//     nothing.
//
// A call with one item is one EVALSHA. A call with more sends one script
// call per item in a single MULTI/EXEC, one round trip: Redis runs the
// items in order (each sees the ones before it) with no other client's
// command between them, each with its own outcome, and runs none of them
// unless the whole transaction arrived. A Redis over maxmemory refuses a
// script's first write, so then every item fails whole and the call
// returns the error. A reply lost on the network leaves the outcome
// unknown, as with any server; a retried Commit then reports
// ErrAlreadyApplied. A batch holds Redis for its whole run, some 10-20 µs
// per item on a small machine: callers bound their batch sizes.
//
// The dispatcher's queue operations (Enqueue, Pending, Dequeue,
// SeedQueue) are one script call each, whatever the number of items.
//
// Values are JSON encoded by the driver; the scripts only compare sequence
// numbers, as decimal strings, and times, as 20-digit Unix nanoseconds.
//
// # Durability
//
// Redis keeps its data in memory; what survives a crash or restart is the
// operator's choice of persistence, and an acknowledged webhook is only as
// safe as that choice:
//
//   - appendonly yes, appendfsync always: Accept returns after the write is
//     on disk; nothing acknowledged is lost (at the cost of an fsync per
//     write, shared between concurrent clients).
//   - appendonly yes, appendfsync everysec (Redis's default with AOF): a
//     crash of the Redis host may lose the last second of acknowledged
//     webhooks, which their sources will not send again; the rest of the
//     gateway's state loses that second consistently.
//   - RDB snapshots only, or no persistence (as the CI server runs): a
//     crash loses everything since the last snapshot, or everything.
//
// Replication is asynchronous: a failover to a replica may lose writes the
// primary acknowledged. The store does not use WAIT.
//
// # Layout
//
// Every key starts with Options.Prefix (P, default "{stockgate}:", whose
// hash tag keeps them in one Cluster slot):
//
//	P seqs                 HASH   last seq of outbox, deadletter, alert
//	P outbox               ZSET   score seq, member "<seq>:<message JSON>"
//	P deadletters          ZSET   likewise, dead letters
//	P deadletters:ids      HASH   dead letter id → seq
//	P alerts               ZSET   likewise, alerts
//	P alerts:ids           HASH   alert id → seq
//	P applied              HASH   event id → when applied (Unix ns)
//	P dedup:<dedup key>    STRING expiry (20-digit Unix ns, "0": never),
//	                              with a Redis TTL of DedupTTL + DedupGrace
//	P proj:<sku>           HASH   location → "<seq>:<projection JSON>"
//	P entries:<n>:<sku><location>  LIST  entry JSON, seq n at index n−1;
//	                              <n> is the SKU's length in bytes
//	P queue:tokens:<account>  ZSET  the dispatcher's queue: score token, member SKU
//	P queue:since:<account>   HASH  SKU → when queued (20-digit Unix ns)
//	P queue:seeded            HASH  account → when its queue was seeded
//
// A family's variable part is the rest of the key name (or a hash field),
// and the SKU in an entries key is length-prefixed, so no two SKUs,
// locations or dedup keys share a key whatever characters they contain.
// Sequence numbers and queue tokens come from the seqs counters and are
// never reused.
//
// # Semantics
//
// As boltstore: the projection of a key with no entries is
// store.Projection{Key: k}; a dedup key stops deduplicating when Now
// reaches acceptance time + DedupTTL (Redis frees it DedupGrace later);
// dead letters and alerts without an ID get "dl-" or "al-" and their
// sequence number in 16 hex digits; paging after an unknown ID fails with
// store.ErrNotFound. After Close every call fails with an error that
// matches store.ErrClosed.
package redisstore
