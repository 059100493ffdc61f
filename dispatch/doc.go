// Package dispatch is stockgate's outbound sync: it writes each channel's
// quantity, computed from the stock ledger by the channel's rule (package
// channel), to every connector account, as fast as each marketplace's rate
// budget allows and never faster.
//
// A [Dispatcher] is the portable type; each connector account is a
// [Writer], a small driver that knows one marketplace's write call and
// classifies its failures (dispatch/shopifywriter for Shopify). Everything
// else is written once, here, one concern per file: the pending queue with
// coalescing (queue.go), fair scheduling across accounts (dispatch.go),
// the rate budget lent to the driver (pacer.go), jittered backoff
// (backoff.go), the circuit breaker (breaker.go), dead letters and alerts
// (deadletter.go), and the operator's view (status.go).
//
// # Flow
//
//	ledger ──availability change──▶ Source ─▶ Notify ─▶ per-account queue (SKU set)
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
// The Dispatcher keeps no queue in the store, and this replaces one: the
// state it must reach is derived, at any time, from the durable ledger.
// The desired quantity of every (account, SKU) is Rule.Compute of the
// SKU's projections, which the store keeps durably; the pending queue only
// says which SKUs to look at first. So:
//
//   - Run starts with a reconcile: every SKU each account syncs is queued
//     and written from the ledger. After a kill -9 nothing of the lost
//     queue is needed: each SKU gets the ledger's current quantity, which
//     includes every change the lost queue held and every change committed
//     while nothing ran.
//   - Every ReconcileInterval (5 minutes), and whenever an account's
//     breaker closes or it is resumed, the same pass runs again. A
//     notification lost while running (a bus hiccup, a Source that drops
//     values) is therefore repaired within one interval, and a value that
//     somebody changed by hand at the marketplace is put back (the
//     compare-and-set finds it).
//   - A failed write is put back in the queue; while an account is down
//     or paused its queue keeps every SKU (at most one entry per SKU, so it
//     is bounded by the catalogue) and drains when the account returns.
//   - A write the marketplace applied just before a crash is written again
//     with the ledger's value after the restart: a no-op, or the newer
//     value.
//   - The Source is only a trigger. A Dispatcher that consumes its own bus
//     subscription may acknowledge each message as soon as Notify returns:
//     the effect that must be durable (the ledger entry) already is.
//
// Dead letters are durable (store), and their dedup keys make the pass
// after a restart record a refused SKU once. What is not durable, by
// design: the pause (a restarted gateway tries the account once more and
// pauses it again, with a new alert) and the drivers' knowledge of what
// the channel shows (the Shopify driver's first write of a SKU after a
// restart is an unconditional set; see dispatch/shopifywriter).
//
// The argument needs one Dispatcher per account: two replicas writing one
// account would each be in order, but not with each other. Run the
// Dispatcher on one replica (sharing a Limiter across replicas is then
// unnecessary, but harmless).
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
// The package's tests run in testing/synctest bubbles, where all of these
// are one fake clock.
package dispatch
