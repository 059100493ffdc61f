package dispatch

import (
	"fmt"
	"slices"

	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/ratelimit"
)

// ruleOf returns a's rule now.
func (d *Dispatcher) ruleOf(a *account) channel.Rule {
	d.routes.RLock()
	defer d.routes.RUnlock()
	return a.rule
}

// Rule returns an account's channel rule.
func (d *Dispatcher) Rule(account string) (channel.Rule, error) {
	a := d.byKey[account]
	if a == nil {
		return channel.Rule{}, fmt.Errorf("%w %q", ErrUnknownAccount, account)
	}
	return d.ruleOf(a), nil
}

// SetRule replaces an account's channel rule (which locations feed it,
// its buffer, max and floor) and writes every SKU it syncs again with the
// new rule. The rule's channel defaults to the account.
func (d *Dispatcher) SetRule(key string, r channel.Rule) error {
	a := d.byKey[key]
	if a == nil {
		return fmt.Errorf("%w %q", ErrUnknownAccount, key)
	}
	if r.Channel == "" {
		r.Channel = key
	}
	if err := r.Validate(); err != nil {
		return err
	}
	d.routes.Lock()
	for _, loc := range a.rule.Locations {
		d.byLoc[loc] = slices.DeleteFunc(d.byLoc[loc], func(x *account) bool { return x == a })
		if len(d.byLoc[loc]) == 0 {
			delete(d.byLoc, loc)
		}
	}
	a.rule = r
	for _, loc := range r.Locations {
		d.byLoc[loc] = append(d.byLoc[loc], a)
	}
	d.routes.Unlock()
	d.log.Info("dispatch: channel rule set", "account", key)
	return d.Reconcile(key)
}

// Limiter returns an account's rate budget, to share with whatever else
// calls the same marketplace account (a reconciliation's reads).
func (d *Dispatcher) Limiter(account string) (ratelimit.Limiter, bool) {
	a := d.byKey[account]
	if a == nil {
		return nil, false
	}
	return a.lim, true
}

// Route returns the accounts whose channel quantity a change of sku at
// location moves: their rule counts the location and they sync the SKU.
// The ledger queues the SKU for them in the commit of the change
// (ledger.Options.Route).
func (d *Dispatcher) Route(sku, location string) []string {
	d.routes.RLock()
	defer d.routes.RUnlock()
	var out []string
	for _, a := range d.byLoc[location] {
		if a.w.Syncs(sku) {
			out = append(out, a.key)
		}
	}
	return out
}
