package dispatch

import (
	"context"
	"time"

	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/ratelimit"
)

// Writer is the driver of one connector account: it writes channel
// quantities to a marketplace in batches. It classifies every failure and
// never retries, sleeps or counts failures: backoff, rate limit and breaker
// belong to the Dispatcher. The Dispatcher calls Write for one account at
// a time (never concurrently), so a Writer may keep per-item memory (the
// last quantity it wrote) without locks of its own against Write, though
// its other methods may be called concurrently with Write.
type Writer interface {
	// Key identifies the connector account ("shopify-eu"); unique among a
	// Dispatcher's accounts. It names the account in Status, dead letters
	// and alerts.
	Key() string
	// MaxBatch is the most updates one Write may carry (250 for Shopify).
	MaxBatch() int
	// SKUs lists every SKU the account syncs, for a reconcile pass.
	SKUs() []string
	// Syncs reports whether the account syncs sku.
	Syncs(sku string) bool
	// Cost estimates what a Write of n updates will take from the rate
	// budget, in the unit of the marketplace's budget (Shopify: query
	// cost points). The Dispatcher waits until the budget holds it before
	// it takes a batch, so that batches fill up while the budget refills.
	Cost(n int) float64
	// Write sends updates (1 to MaxBatch, each SKU at most once). Before
	// every call to the marketplace it takes the call's cost through
	// p.Wait, and it reports every answer's budget through p.Observe.
	//
	// On a nil error it returns one Outcome per update, in order. A non-nil
	// error means the call failed as a whole (no update is known to be
	// applied) and the outcomes are ignored; ErrorCode classifies it.
	Write(ctx context.Context, p Pacer, updates []Update) ([]Outcome, error)
	// ErrorCode classifies an error returned by Write.
	ErrorCode(err error) errcode.Code
	// RetryAfter is how long the marketplace asked to wait before the next
	// call, zero when it said nothing.
	RetryAfter(err error) time.Duration
}

// InitialBudgeter is implemented by a Writer that knows a safe budget to
// start with before the marketplace has reported one. The Dispatcher uses
// it for an account whose Limiter is nil.
type InitialBudgeter interface {
	// InitialBudget returns a refill rate (units per second) and a bucket
	// size low enough not to be throttled however full the marketplace's
	// bucket is; the first Observation replaces them.
	InitialBudget() (limit, burst float64)
}

// Pacer is the account's rate budget, lent to a Writer for one Write.
type Pacer interface {
	// Wait takes cost units from the budget, waiting until they are
	// granted; on an error (ctx done) nothing is taken.
	Wait(ctx context.Context, cost float64) error
	// Observe reports what one answer said about the budget. A Writer
	// settles each call here: ReservedCost is what it passed to Wait and
	// ActualCost what the call cost (0 when it did not run).
	Observe(o ratelimit.Observation)
}

// Update is one quantity to write.
type Update struct {
	// SKU is the stockgate SKU; the Writer maps it to the marketplace's
	// item.
	SKU string
	// Quantity is the channel quantity, computed from the ledger by the
	// account's rule.
	Quantity int64
	// Version grows with every ledger change that feeds the quantity (see
	// channel.Explanation.Version); a later Update of a SKU never has a
	// lower one. Writers may use it to tell a retry from a new write.
	Version uint64
}

// Outcome is what happened to one Update of a Write.
type Outcome struct {
	// Code is OK when the channel now shows the update's quantity. Else:
	//
	//	InvalidArgument     the marketplace refused the item (mapping,
	//	                    bounds): dead-lettered, not retried
	//	FailedPrecondition  a stale compare-and-set; the Writer re-read the
	//	                    channel, the update is sent again at once from
	//	                    a fresh ledger read
	//	Aborted             not applied because another update of the same
	//	                    call failed; sent again at once
	//	anything else       retried with backoff
	Code errcode.Code
	// Err says why, when Code is not OK.
	Err error
}
