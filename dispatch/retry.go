package dispatch

import (
	"context"
	"fmt"

	"github.com/stockgate/stockgate/event"
)

// Retry writes sku to account again although the marketplace refused its
// current version (a dispatch dead letter replayed by an operator who
// fixed the listing). The SKU is queued durably; the write happens on the
// replica that holds the account's lease, and counts as a retry there
// only if that is this Dispatcher (elsewhere it is written when the
// ledger next moves the SKU, or after that replica restarts).
func (d *Dispatcher) Retry(ctx context.Context, account, sku string) error {
	a := d.byKey[account]
	if a == nil {
		return fmt.Errorf("%w %q", ErrUnknownAccount, account)
	}
	if !a.w.Syncs(sku) {
		return fmt.Errorf("%w: %q on %q", ErrUnsynced, sku, account)
	}
	a.mu.Lock()
	if a.retry == nil {
		a.retry = map[string]bool{}
	}
	a.retry[sku] = true
	a.mu.Unlock()
	// Any location of the rule routes the SKU to the account.
	return d.Enqueue(ctx, event.Availability{SKU: sku, Location: d.ruleOf(a).Locations[0]})
}

// takeRetry reports whether sku was marked for Retry, and unmarks it.
func (a *account) takeRetry(sku string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.retry[sku] {
		return false
	}
	delete(a.retry, sku)
	return true
}
