// Package dispatch is stockgate's outbound sync: it writes each channel's
// quantity, computed from the stock ledger by the channel's rule (package
// channel), to every connector account, as fast as each marketplace's rate
// budget allows and never faster.
//
// A [Dispatcher] is the portable type; each connector account is a
// [Writer], a small driver that knows one marketplace's write call and
// classifies its failures (dispatch/shopifywriter for Shopify). Everything
// else is written once, here, one concern per file: the pending queue with
// coalescing (queue.go), its durable twin in the store (durable.go), fair
// scheduling across accounts (dispatch.go), the write leases that make one
// replica the writer of an account (lease.go), the rate budget lent to the
// driver (pacer.go), jittered backoff (backoff.go), the circuit breaker
// (breaker.go), dead letters and alerts (deadletter.go), and the
// operator's view (status.go).
//
// # Flow
//
//	ledger ──availability change──▶ Source ─▶ Enqueue ─▶ store: per-account queue (one write per batch)
//	                                                       │ and, on the lease holder, in memory
//	                                                       ▼
//	                                              per-account queue (SKU set)
//	                                                       │ due: quiet for Window, or MaxDelay
//	                                                       ▼
//	        scheduler: round-robin over due accounts, one batch in flight each,
//	        a turn starts once the breaker is not open, the backoff has passed
//	        and the account's budget holds Writer.Cost of the batch
//	                                                       │
//	        take ≤ MaxBatch SKUs, earliest due first; read each SKU's projections
//	        at the rule's locations NOW; Rule.Compute → Update{SKU, Quantity, Version}
//	                                                       │
//	        breaker ─▶ Writer.Write(ctx, Pacer, updates) ─▶ outcomes
//	                                                       │ written or dead-lettered
//	                                                       ▼
//	                                  store: dequeue, if not queued again meanwhile
//
// A change only marks its SKU pending for the accounts whose rule includes
// the change's location and that sync the SKU; the quantity is read from
// the store when the batch is taken, so a SKU that changed a hundred times
// while it waited is written once, with the latest value (the design
// brief computed it on every change; reading at send time gives the same
// result with one store read per write instead of one per change, and
// never a value older than the ledger's). Update.Version is the sum of the
// rule's locations' ledger sequence numbers: it grows with every change
// and lets a driver tell a retry from a new write.
//
// # Scheduling and fairness
//
// Each account has at most one batch in flight, so a SKU's writes happen
// in ledger order: a later batch reads a later (or the same) ledger state.
// At most Options.Concurrency batches run at once; due accounts queue for
// them first come, first served, and an account that just wrote goes to
// the back. A busy account therefore delays a quiet one by at most one of
// its batches. A turn starts only when the account's budget already holds
// the batch's cost, so no worker waits for a budget and, under a backlog,
// each batch is as full as the driver allows.
//
// # Rate limit
//
// Each account has a ratelimit.Limiter (Account.Limiter, or a
// ratelimit.Local started at the Writer's InitialBudget). The Dispatcher
// lends it to the Writer as a [Pacer]: the Writer reserves each call's cost
// before sending it and reports each answer's budget (Shopify's
// extensions.cost: restore rate, bucket size, what is left, the actual
// cost) with Observe, so the limiter follows the marketplace's own bucket.
//
// # Errors
//
// Drivers classify; the Dispatcher decides (see [errcode.Code]):
//
//	InvalidArgument        dead letter at once, in the store (store.Accept with a
//	                       dead-letter-only Acceptance; DedupKey
//	                       dispatch/{account}/{sku}/{version}, so a retried or
//	                       replayed turn records it once); not sent again until
//	                       the ledger moves the SKU
//	FailedPrecondition     stale compare-and-set: the driver re-read the channel;
//	                       sent again at once from a fresh ledger read
//	Aborted (per update)   not applied for a sibling's sake: sent again at once
//	ResourceExhausted      throttled: wait the driver's RetryAfter
//	Unavailable, Unknown   retry after jittered exponential backoff ([Backoff]);
//	                       counts against the breaker
//	Unauthenticated,       pause the account, raise a store alert
//	NotFound               (AlertConnectorPaused); Resume restarts it
//	Canceled, DeadlineExceeded   the Dispatcher's own context: retried later
//
// The breaker (sony/gobreaker/v2, one per account, [BreakerSettings])
// counts only Unavailable and Unknown as failures; throttling, the
// Dispatcher's cancellation and a pause are not counted at all. Open, it
// lets one probe batch through per Timeout. A Retry-After is honoured for
// throttling only: for 5xx, Shopify documents no outage answer and the
// breaker bounds the load already. An update that fails on its own
// MaxItemAttempts times in a row is dead-lettered, so one bad item cannot
// hold its account back for ever. Failures are wrapped once, as *[Error]
// with the account and code, in Status.LastError.
//
// # Durability
//
// Each account has a durable queue in the store (store.QueueDriver): a set
// of SKUs to write, each with the time it was first queued and a token
// that changes whenever it is queued again. The quantity is not in it:
// what the channel should show is always computed from the durable
// ledger when the write is made. So:
//
//   - The ledger queues each change itself, in the transaction that
//     commits it (ledger.Options.Route = Dispatcher.Route, store.Commit's
//     Enqueue): a change committed is queued for every account it moves,
//     whatever happens to the process afterwards.
//   - Run also reads a Source batch, queues the SKUs it concerns for every
//     account that syncs them in one store write, and only then reads the
//     next batch (which is when a Source acknowledges the last one). Enqueue
//     does the same for one call; Notify too, falling back to memory when
//     the store fails.
//   - A SKU leaves the store's queue when its write succeeded or was
//     dead-lettered, and only if its token is still the one taken with the
//     batch: a change that arrived during the write queued it again, so it
//     stays, and is written again with the newer value. A failed write, a
//     throttle, an open breaker or a pause leave it queued; while an
//     account is down the queue keeps every SKU (once each, so it is
//     bounded by the catalogue) and drains when the account returns.
//   - When Run starts, or takes an account's lease over from another
//     replica, it restores the account's queue from the store and writes
//     what is queued: after a kill -9 nothing queued is lost, and nothing
//     that was written is written again (but the batch in flight at the
//     kill: its SKUs were not dequeued, and are written again with the
//     ledger's value, a no-op or the newer value). The very first Run over
//     a store queues every SKU an account syncs (store.SeedQueue), so that
//     a new channel starts in step with the ledger.
//   - Every ReconcileInterval (5 minutes), and whenever an account's
//     breaker closes or it is resumed, the replica that writes the account
//     queues every synced SKU again (in memory) and writes each one even
//     if the ledger did not move: a value somebody changed by hand at the
//     marketplace is put back (the compare-and-set finds it).
//   - Dead letters are durable (store), and their dedup keys make a write
//     refused again after a restart record once.
//
// What is not durable, by design: the pause (a restarted gateway tries
// the account once more and pauses it again, with a new alert), the
// drivers' knowledge of what the channel shows (the Shopify driver's
// first write of a SKU after a restart is an unconditional set; see
// dispatch/shopifywriter), and, where the ledger is not given a Route,
// the trigger between the ledger and Run: the live hub acknowledges the
// bus message once it has handed the change over, so a kill -9 in the
// instant before the Dispatcher queues it would lose the trigger (not the
// quantity, which the next reconcile writes).
//
// # Replicas
//
// Several gateways may run a Dispatcher each over one store (Redis). Every
// one of them queues what it hears durably, but each account is written
// by one replica at a time: the holder of its lease (Options.Leases,
// dispatch/redislease). A replica renews the leases it holds every
// LeaseTTL/3 and stops writing an account the moment its lease is lost or
// runs out unrenewed, cancelling the write in flight; another replica
// takes a lease over when it runs out (LeaseTTL after the holder died) or
// at once when a stopping holder releases it, and restores the account's
// queue from the store. The holder learns what the other replicas queued
// by reading the store's queue every PollInterval (the Window by
// default): one cheap read of what was queued since the last (by token),
// instead of a message bus of its own. A change heard by several replicas
// is written once: the holder skips a SKU whose ledger version it already
// wrote, unless a reconcile asks for it. So each (SKU, version) reaches
// the marketplace once, from one writer, in ledger order, except around a
// holder's death as above.
//
// Replicas share each account's breaker (Options.BreakerStore,
// dispatch/redisbreaker: gobreaker v2's DistributedCircuitBreaker) and
// should share its rate budget (Account.Limiter, ratelimit/redislimit): a
// new holder then starts from the marketplace's real state, an open
// breaker and a drained bucket included, instead of hammering it afresh.
// gobreaker's distributed breaker has no two-step form and locks its
// state for a whole write; only the holder writes, and the other replicas
// read the state without the lock (Status). A Dispatcher without
// Options.Leases is alone: it holds every lease in memory and never polls.
// Pause and Resume, the counters and errors of Status, and Reconcile are
// per replica.
//
// # Delivery semantics
//
// Every account eventually shows the ledger's channel quantity of every
// SKU it syncs, unless the marketplace refuses it (a dead letter) or the
// account is paused. Intermediate quantities may be skipped (coalescing);
// a SKU's writes are never reordered. A change is written within Window
// (250ms) of the SKU going quiet, at most MaxDelay (1s) after its first
// change, when the budget allows; Status.Lag says how far behind an
// account is when it does not.
//
// # Time
//
// The Dispatcher reads and sleeps on Options.Clock (the system clock by
// default); the queue and the backoff take explicit times. gobreaker reads
// the wall clock itself, so BreakerSettings.Timeout is wall-clock time.
// Leases are renewed and run out on Options.Clock too (a Redis lease's
// expiry is Redis's, which the holder's clock only has to keep up with).
// The package's tests run in testing/synctest bubbles, where all of these
// are one fake clock, but for the one against the real Redis, which runs
// on real time.
package dispatch
