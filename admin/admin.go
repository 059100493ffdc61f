// Package admin turns admin commands (adjust stock, …) into canonical
// events and submits them through the same path as webhooks: the outbox,
// the bus and the ledger. Nothing an admin does bypasses the ledger.
package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/ledger"
	"github.com/stockgate/stockgate/store"
)

// ConnectorID is the connector name admin events carry.
const ConnectorID = "admin"

// Options configure a Service. A nil *Options means the defaults.
type Options struct {
	// Submitted, when set, is called after an event was stored (the
	// relay's Notify).
	Submitted func()
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// DedupTTL is how long idempotency keys are remembered; zero means
	// 7 days.
	DedupTTL time.Duration
	// Catalog refuses commands that name a SKU or location it does not
	// know, before anything is stored (the ledger would dead-letter the
	// event); nil accepts every one.
	Catalog ledger.Catalog
}

// Service runs admin commands.
type Service struct {
	st   *store.Store
	opts Options
}

// New returns a service over st.
func New(st *store.Store, opts *Options) *Service {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DedupTTL == 0 {
		o.DedupTTL = 7 * 24 * time.Hour
	}
	return &Service{st: st, opts: o}
}

// Adjust is an adjust-stock command.
type Adjust struct {
	SKU, Location string
	// Delta is the signed change to on hand.
	Delta  int64
	Reason string
	// IdempotencyKey makes a retry apply once; required.
	IdempotencyKey string
	// Actor is the key name that asked, recorded as correlation.
	Actor string
}

// Submitted says what a command did.
type Submitted struct {
	EventID string
	// Duplicate: the idempotency key was used before.
	Duplicate bool
}

// Adjust submits a stock adjustment. A zero delta is refused.
func (s *Service) Adjust(ctx context.Context, a Adjust) (Submitted, error) {
	if a.Delta == 0 {
		return Submitted{}, fmt.Errorf("%w: adjust: delta must not be 0", event.ErrInvalid)
	}
	return s.movement(ctx, "adjust", event.StockAdjusted, a.IdempotencyKey, a.Actor, event.Movement{
		SKU: a.SKU, Location: a.Location, Quantity: a.Delta, Reason: a.Reason,
	})
}

// Count is a stock-count command: on hand (or available) is Quantity as
// of At.
type Count struct {
	SKU, Location string
	Quantity      int64
	// State is event.StateOnHand (the default) or event.StateAvailable.
	State string
	// At is when the count was taken; zero means now. A count older than
	// the last one applied for the key is recorded as stale.
	At     time.Time
	Reason string
	// IdempotencyKey makes a retry apply once; required.
	IdempotencyKey string
	Actor          string
}

// Count submits a stock count.
func (s *Service) Count(ctx context.Context, c Count) (Submitted, error) {
	if c.State == "" {
		c.State = event.StateOnHand
	}
	if c.Reason == "" {
		c.Reason = "count"
	}
	if now := s.opts.Now(); c.State == event.StateOnHand && c.At.After(now.Add(ledger.MaxCountAhead)) {
		return Submitted{}, fmt.Errorf("%w: count: countedAt %s is more than %v in the future; a count dated later would make every count until then stale",
			event.ErrInvalid, c.At.UTC().Format(time.RFC3339), ledger.MaxCountAhead)
	}
	return s.movement(ctx, "count", event.StockCounted, c.IdempotencyKey, c.Actor, event.Movement{
		SKU: c.SKU, Location: c.Location, Quantity: c.Quantity, State: c.State, Reason: c.Reason, OccurredAt: c.At,
	})
}

// Transfer is a stock-transfer command: Quantity units of on hand move
// from Location to ToLocation.
type Transfer struct {
	SKU, Location, ToLocation string
	Quantity                  int64
	Reason                    string
	// IdempotencyKey makes a retry apply once; required.
	IdempotencyKey string
	Actor          string
}

// Transfer submits a stock transfer.
func (s *Service) Transfer(ctx context.Context, t Transfer) (Submitted, error) {
	if t.Reason == "" {
		t.Reason = "transfer"
	}
	return s.movement(ctx, "transfer", event.StockTransferred, t.IdempotencyKey, t.Actor, event.Movement{
		SKU: t.SKU, Location: t.Location, ToLocation: t.ToLocation, Quantity: t.Quantity, Reason: t.Reason,
	})
}

// movement builds an admin event of type t from m and submits it.
func (s *Service) movement(ctx context.Context, kind string, t event.Type, key, actor string, m event.Movement) (Submitted, error) {
	if key == "" {
		return Submitted{}, errors.New("admin: idempotency key is required")
	}
	if s.opts.Catalog != nil {
		locs := []string{m.Location}
		if m.ToLocation != "" {
			locs = append(locs, m.ToLocation)
		}
		for _, loc := range locs {
			if err := s.opts.Catalog.Known(m.SKU, loc); err != nil {
				return Submitted{}, fmt.Errorf("%w: %s: %v", event.ErrInvalid, kind, err)
			}
		}
	}
	given := m // as the caller gave it, for the idempotency key's record
	m.Connector = ConnectorID
	m.SourceEventID = kind + ":" + key
	if kind == "adjust" {
		m.SourceEventID = key // as before counts and transfers existed
	}
	if m.OccurredAt.IsZero() {
		m.OccurredAt = s.opts.Now()
	}
	m.OccurredAt = m.OccurredAt.UTC()
	m.CorrelationID = "admin:" + actor + ":" + key
	ev, err := event.NewMovement(t, "", m)
	if err != nil {
		return Submitted{}, err
	}
	// Claimed once the command is valid: a refused one leaves its key free.
	if err := s.claim(ctx, kind, key, given); err != nil {
		return Submitted{}, err
	}
	dedup := "admin:" + kind + ":" + key
	return s.submit(ctx, dedup, ev)
}

// ErrKeyReused: an idempotency key already used for a different request.
// Answering the first request's outcome would let the caller believe the
// second one happened.
var ErrKeyReused = errors.New("admin: idempotency key reused for a different request")

// claim records what key is first used for and refuses it for anything
// else: a retry of the same request passes. m is the command as given
// (OccurredAt zero when the caller gave no time).
func (s *Service) claim(ctx context.Context, kind, key string, m event.Movement) error {
	at := ""
	if !m.OccurredAt.IsZero() {
		at = m.OccurredAt.UTC().Format(time.RFC3339Nano)
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%q %q %q %q %d %q %q %q", kind, m.SKU, m.Location, m.ToLocation, m.Quantity, m.State, m.Reason, at))
	r := store.Record{Kind: store.RecordIdempotency, ID: kind + ":" + key, Data: []byte(hex.EncodeToString(sum[:])), UpdatedAt: s.opts.Now().UTC()}
	err := s.st.CreateRecord(ctx, r)
	if !errors.Is(err, store.ErrDuplicate) {
		return err
	}
	first, err := s.st.GetRecord(ctx, r.Kind, r.ID)
	if err != nil {
		return err
	}
	if !bytes.Equal(first.Data, r.Data) {
		return fmt.Errorf("%w: %s key %q was first used at %s with other arguments; use a new key",
			ErrKeyReused, kind, key, first.UpdatedAt.Format(time.RFC3339))
	}
	return nil
}

func (s *Service) submit(ctx context.Context, dedup string, ev *event.Event) (Submitted, error) {
	body, err := ev.Marshal()
	if err != nil {
		return Submitted{}, err
	}
	err = s.st.Accept(ctx, store.Acceptance{
		DedupKey: dedup,
		DedupTTL: s.opts.DedupTTL,
		Messages: []store.Message{{
			Topic: ledger.TopicInbound, EventID: ev.ID(), Body: body,
			Key: ev.Movement.SKU, CreatedAt: s.opts.Now().UTC(),
		}},
	})
	switch {
	case errors.Is(err, store.ErrDuplicate):
		return Submitted{EventID: ev.ID(), Duplicate: true}, nil
	case err != nil:
		return Submitted{}, fmt.Errorf("admin: %w", err)
	}
	if s.opts.Submitted != nil {
		s.opts.Submitted()
	}
	return Submitted{EventID: ev.ID()}, nil
}

// WaitApplied waits until the ledger applied an event or ctx is done, and
// reports whether it was applied.
func (s *Service) WaitApplied(ctx context.Context, eventID string) bool {
	delay := time.Millisecond
	for {
		ok, err := s.st.Applied(ctx, eventID)
		if ok {
			return true
		}
		if err != nil && ctx.Err() != nil {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
		if delay < 50*time.Millisecond {
			delay *= 2
		}
	}
}
