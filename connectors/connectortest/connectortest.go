// Package connectortest is the inbound conformance suite every connector
// passes: signatures accepted and rejected, duplicates normalized to the
// same dedup key and event ids, malformed bodies refused with
// connectors.ErrMalformed, and every sample normalized to its expected
// canonical events.
//
// A connector's test builds a Harness from its own testdata (and, where
// the shared fixtures exist, from them too) and calls Run.
package connectortest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
)

// Want is one expected canonical event.
type Want struct {
	Type       event.Type
	SKU        string
	Location   string
	ToLocation string
	Quantity   int64
	// State is checked for counts.
	State string
	// OrderID is checked when set.
	OrderID string
}

// Case is one signed request and what it must normalize to.
type Case struct {
	Name    string
	Request *connectors.Request
	// Want are the expected events, in order.
	Want []Want
	// Unmapped is how many dead letters the request must produce.
	Unmapped int
}

// Harness adapts a connector to the suite.
type Harness struct {
	// New returns a configured connector.
	New func(t *testing.T) connectors.Inbound
	// Cases are correctly signed requests with their expected events.
	Cases []Case
	// Malformed are correctly signed requests whose body or headers are
	// malformed; each must fail Normalize with ErrMalformed.
	Malformed map[string]*connectors.Request
	// Tamper, when set, changes a valid request so that its signature no
	// longer matches in a way specific to the connector (a signed header
	// or the URL). The suite always flips a body bit and drops the
	// SignatureHeaders.
	Tamper func(r *connectors.Request) *connectors.Request
	// SignatureHeaders are the headers carrying the signature; the suite
	// removes them and expects Verify to fail.
	SignatureHeaders []string
	// Stale are pairs of correctly signed requests about the same thing,
	// the second older than the first, as a late retry delivers them.
	Stale []StalePair
}

// StalePair is a newer and an older report of the same thing.
type StalePair struct {
	Name         string
	Newer, Older *connectors.Request
}

// Clone returns a deep copy of r.
func Clone(r *connectors.Request) *connectors.Request {
	c := *r
	c.Header = r.Header.Clone()
	c.Body = append([]byte(nil), r.Body...)
	return &c
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if len(h.Cases) == 0 {
		t.Fatal("connectortest: the harness has no cases")
	}
	c := h.New(t)
	ctx := context.Background()

	t.Run("SignatureAccepted", func(t *testing.T) {
		for _, tc := range h.Cases {
			if err := c.Verify(Clone(tc.Request)); err != nil {
				t.Errorf("%s: Verify of a correctly signed request: %v", tc.Name, err)
			}
		}
	})
	t.Run("SignatureRejected", func(t *testing.T) {
		for _, tc := range h.Cases {
			if len(tc.Request.Body) > 0 {
				r := Clone(tc.Request)
				r.Body[len(r.Body)/2] ^= 0x01
				if err := c.Verify(r); !errors.Is(err, connectors.ErrUnauthorized) {
					t.Errorf("%s: a body with one bit flipped: Verify = %v, want ErrUnauthorized", tc.Name, err)
				}
			}
			r := Clone(tc.Request)
			for _, hd := range h.SignatureHeaders {
				r.Header.Del(hd)
			}
			if err := c.Verify(r); !errors.Is(err, connectors.ErrUnauthorized) {
				t.Errorf("%s: no signature header: Verify = %v, want ErrUnauthorized", tc.Name, err)
			}
			if h.Tamper != nil {
				if err := c.Verify(h.Tamper(Clone(tc.Request))); !errors.Is(err, connectors.ErrUnauthorized) {
					t.Errorf("%s: tampered: Verify = %v, want ErrUnauthorized", tc.Name, err)
				}
			}
		}
	})
	t.Run("Normalized", func(t *testing.T) {
		for _, tc := range h.Cases {
			res, err := c.Normalize(ctx, Clone(tc.Request))
			if err != nil {
				t.Errorf("%s: Normalize: %v", tc.Name, err)
				continue
			}
			Check(t, tc.Name, res, tc.Want, tc.Unmapped)
		}
	})
	t.Run("Duplicate", func(t *testing.T) {
		for _, tc := range h.Cases {
			a, err1 := c.Normalize(ctx, Clone(tc.Request))
			later := Clone(tc.Request)
			later.ReceivedAt = later.ReceivedAt.Add(time.Hour)
			b, err2 := c.Normalize(ctx, later)
			if err1 != nil || err2 != nil {
				t.Errorf("%s: Normalize: %v, %v", tc.Name, err1, err2)
				continue
			}
			if a.DedupKey == "" || a.DedupKey != b.DedupKey {
				t.Errorf("%s: a redelivery has dedup key %q, first delivery %q; want equal and non-empty", tc.Name, b.DedupKey, a.DedupKey)
			}
			if len(a.Events) != len(b.Events) {
				t.Errorf("%s: redelivery gave %d events, first %d", tc.Name, len(b.Events), len(a.Events))
				continue
			}
			for i := range a.Events {
				if a.Events[i].ID() != b.Events[i].ID() {
					t.Errorf("%s: event %d id %s on redelivery, %s first: the ledger would apply it twice", tc.Name, i, b.Events[i].ID(), a.Events[i].ID())
				}
			}
		}
	})
	t.Run("Stale", func(t *testing.T) {
		// Normalized after the newer one, the older report must either be
		// dropped by the connector, or carry its own, earlier time on every
		// event so that the ledger records it as stale instead of applying
		// it over the newer state.
		for _, p := range h.Stale {
			c := h.New(t)
			newer, err := c.Normalize(ctx, Clone(p.Newer))
			if err != nil {
				t.Errorf("%s: newer: %v", p.Name, err)
				continue
			}
			older, err := c.Normalize(ctx, Clone(p.Older))
			if err != nil {
				t.Errorf("%s: older: %v", p.Name, err)
				continue
			}
			if len(newer.Events) == 0 {
				t.Errorf("%s: the newer report gave no events; the pair tests nothing", p.Name)
				continue
			}
			for _, o := range older.Events {
				for _, n := range newer.Events {
					if o.Type == n.Type && o.Movement.SKU == n.Movement.SKU && o.Movement.Location == n.Movement.Location &&
						!o.Movement.OccurredAt.Before(n.Movement.OccurredAt) {
						t.Errorf("%s: the older report's %s for %s@%s is stamped %v, not before the newer's %v: the ledger would apply it over newer state",
							p.Name, o.Type.Short(), o.Movement.SKU, o.Movement.Location, o.Movement.OccurredAt, n.Movement.OccurredAt)
					}
				}
			}
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		for name, r := range h.Malformed {
			if err := c.Verify(Clone(r)); err != nil {
				t.Errorf("%s: malformed case is not correctly signed: %v", name, err)
				continue
			}
			if _, err := c.Normalize(ctx, Clone(r)); !errors.Is(err, connectors.ErrMalformed) {
				t.Errorf("%s: Normalize = %v, want ErrMalformed", name, err)
			}
		}
	})
}

// Check compares a result with the expected events and dead letters.
func Check(t *testing.T, name string, res *connectors.Result, want []Want, unmapped int) {
	t.Helper()
	if len(res.Events) != len(want) {
		t.Errorf("%s: %d events, want %d: %v", name, len(res.Events), len(want), describe(res.Events))
		return
	}
	for i, w := range want {
		ev := res.Events[i]
		m := ev.Movement
		if ev.Type != w.Type || m == nil {
			t.Errorf("%s: event %d is %s, want %s", name, i, ev.Type, w.Type)
			continue
		}
		got := Want{Type: ev.Type, SKU: m.SKU, Location: m.Location, ToLocation: m.ToLocation, Quantity: m.Quantity, State: m.State, OrderID: w.OrderID}
		if w.OrderID != "" {
			got.OrderID = m.OrderID
		}
		if got != w {
			t.Errorf("%s: event %d = %+v, want %+v", name, i, got, w)
		}
		if m.Connector == "" || m.SourceEventID == "" || m.CorrelationID == "" || m.OccurredAt.IsZero() {
			t.Errorf("%s: event %d lacks connector, source event id, correlation id or time: %+v", name, i, m)
		}
	}
	if len(res.Unmapped) != unmapped {
		t.Errorf("%s: %d dead letters, want %d: %+v", name, len(res.Unmapped), unmapped, res.Unmapped)
	}
	for _, u := range res.Unmapped {
		if u.Reason == "" || len(u.Body) == 0 {
			t.Errorf("%s: dead letter without reason or body: %+v", name, u)
		}
	}
}

func describe(evs []*event.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = string(e.Type)
		if e.Movement != nil {
			out[i] += " " + e.Movement.SKU + "@" + e.Movement.Location
		}
	}
	return out
}

// Request builds a request for tests.
func Request(url string, header http.Header, body []byte) *connectors.Request {
	return &connectors.Request{Header: header, Body: body, URL: url, ReceivedAt: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
}
