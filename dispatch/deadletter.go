package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/store"
)

// DeadLetterType is the EventType of the dead letters the Dispatcher
// writes for updates a marketplace refused.
const DeadLetterType = "dispatch.write"

// AlertConnectorPaused is the store.Alert kind raised when an account is
// paused (credentials or endpoint refused).
const AlertConnectorPaused = "connector_paused"

// storeTimeout bounds a store write made for a turn that may have been
// canceled meanwhile: a dead letter must not be lost to a shutdown.
const storeTimeout = 10 * time.Second

// deadLetterBody is the Body of a dispatch dead letter.
type deadLetterBody struct {
	Account  string `json:"account"`
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
	Version  uint64 `json:"version"`
	Code     string `json:"code"`
	Error    string `json:"error"`
}

// deadLetter records a refused update in the store, once per (account,
// SKU, version): the dedup key makes a retried or replayed turn record it
// only once. The SKU is not written again until the ledger moves it.
func (d *Dispatcher) deadLetter(ctx context.Context, a *account, u Update, code errcode.Code, err error) {
	now := d.clock.Now()
	if err == nil {
		err = errors.New(code.String())
	}
	a.dead[u.SKU] = u.Version
	version := strconv.FormatUint(u.Version, 10)
	body, _ := json.Marshal(deadLetterBody{
		Account: a.key, SKU: u.SKU, Quantity: u.Quantity, Version: u.Version,
		Code: code.String(), Error: err.Error(),
	})
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	serr := d.st.Accept(sctx, store.Acceptance{
		DedupKey: "dispatch/" + a.key + "/" + u.SKU + "/" + version,
		DedupTTL: d.opts.DeadLetterDedupTTL,
		DeadLetters: []store.DeadLetter{{
			Connector: a.key,
			EventID:   event.DeterministicID("dispatch", a.key, u.SKU, version),
			EventType: DeadLetterType,
			Reason:    code.String() + ": " + err.Error(),
			Body:      body,
			CreatedAt: now,
		}},
	})
	a.mu.Lock()
	a.stats.DeadLettered++
	a.setErrorLocked(code, &Error{Account: a.key, Code: code, Err: err}, now)
	a.mu.Unlock()
	switch {
	case serr == nil, errors.Is(serr, store.ErrDuplicate):
		d.log.Warn("dispatch: dead-lettered", "account", a.key, "sku", u.SKU, "version", u.Version, "err", err)
	default:
		// The SKU is still marked dead in memory; the next reconcile after a
		// restart tries it again and dead-letters it then.
		d.log.Error("dispatch: dead letter not stored", "account", a.key, "sku", u.SKU, "err", serr)
	}
}

// pause stops writing to a and raises an alert in the store.
func (d *Dispatcher) pause(ctx context.Context, a *account, code errcode.Code, err error) {
	now := d.clock.Now()
	e := &Error{Account: a.key, Code: code, Err: err}
	a.mu.Lock()
	already := a.paused
	a.paused = true
	a.setErrorLocked(code, e, now)
	a.mu.Unlock()
	if already {
		return
	}
	d.log.Error("dispatch: account paused", "account", a.key, "code", code.String(), "err", err)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	stamp := strconv.FormatInt(now.UnixNano(), 10)
	serr := d.st.Commit(sctx, store.Commit{
		EventID: event.DeterministicID("dispatch-pause", a.key, stamp),
		Alerts: []store.Alert{{
			Kind:      AlertConnectorPaused,
			EventID:   event.DeterministicID("dispatch-pause", a.key, stamp),
			Message:   "connector " + a.key + " paused, nothing is written until it is resumed: " + e.Error(),
			CreatedAt: now,
		}},
	})
	if serr != nil && !errors.Is(serr, store.ErrAlreadyApplied) {
		d.log.Error("dispatch: pause alert not stored", "account", a.key, "err", serr)
	}
}
