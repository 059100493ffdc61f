// Package connectors is the port every marketplace connector implements.
// A connector package (connectors/shopify, …) turns what its marketplace
// sends into canonical events (package event) and, later, writes
// availability back.
//
// The inbound side is two steps that the ingest handler calls in order:
// Verify checks the request's signature over the raw body, before any
// parsing; Normalize parses the body and returns the canonical events, the
// dedup key of the delivery and anything that could not be mapped.
//
// # Errors
//
// Verify returns an error wrapping ErrUnauthorized (answered 401);
// Normalize returns one wrapping ErrMalformed (answered 400, the message
// says why). Anything else is the gateway's fault (500).
package connectors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/store"
)

// Sentinel errors; match with errors.Is.
var (
	// ErrUnauthorized: the request's signature is missing or wrong.
	ErrUnauthorized = errors.New("connectors: bad or missing signature")
	// ErrMalformed: the body or a required header cannot be understood.
	ErrMalformed = errors.New("connectors: malformed request")
)

// Kind is a marketplace kind; the set is closed.
type Kind string

// The connector kinds.
const (
	Shopify Kind = "shopify"
	Amazon  Kind = "amazon"
	Square  Kind = "square"
	POS     Kind = "pos"
)

// Kinds lists every kind.
var Kinds = []Kind{Shopify, Amazon, Square, POS}

// ParseKind returns the Kind named s or an error listing the valid kinds.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("connectors: unknown kind %q (want one of %v)", s, Kinds)
}

// Request is a received webhook, as the ingest handler read it.
type Request struct {
	// Header holds the request headers.
	Header http.Header
	// Body is the raw body, byte for byte.
	Body []byte
	// URL is the full URL the request was sent to, as the sender saw it
	// (some signatures cover it).
	URL string
	// ReceivedAt is when the gateway received it.
	ReceivedAt time.Time
}

// Result is what a delivery normalizes to.
type Result struct {
	// DedupKey identifies the delivery at its source (for Shopify, the
	// shop, topic and event id). Empty: no dedup possible. Where the
	// source stamps a delivery with a time that every redelivery repeats,
	// the key holds it, written by DedupTime, ahead of the source's id.
	DedupKey string
	// Topic is the source's name for what the message is, for logs.
	Topic string
	// Events are the canonical events, in source order.
	Events []*event.Event
	// Unmapped are parts of the message that name a SKU or location the
	// connector cannot map; they are kept as dead letters, never dropped.
	Unmapped []store.DeadLetter
	// Alerts record what a channel reports that moves no stock but needs
	// an operator (a listing no longer buyable); kept with the delivery.
	Alerts []store.Alert
	// Ignored says why a verified delivery of a kind the connector does
	// not map (a topic or event type it was not built for) produced
	// nothing: it is answered as accepted and logged, so that a
	// subscription made by mistake is visible, and nothing is stored.
	Ignored string
	// Stale says why a delivery is older than one the connector has
	// already seen for the same thing (a level, an order) and so moves
	// nothing: it has no events or dead letters; its dedup key is kept and
	// it is answered {"status":"stale"} with this reason, and logged.
	Stale string
}

// Inbound is the receiving side of a connector.
type Inbound interface {
	// ID returns the connector's id (the {connectorID} of its webhook URL).
	ID() string
	// Kind returns the marketplace kind.
	Kind() Kind
	// Verify checks the signature of r over its raw body.
	Verify(r *Request) error
	// Normalize turns a verified request into canonical events.
	Normalize(ctx context.Context, r *Request) (*Result, error)
}

// dedupTimeLayout is DedupTime's layout: fixed width, so that strings of
// it sort as the times do.
const dedupTimeLayout = "2006-01-02T15:04:05.000000000Z"

// DedupTime writes t for a dedup key: in UTC, at a fixed width, so that
// keys which share a prefix and then hold it sort by time.
//
// It is there for the store's sake. Marketplaces' delivery ids are random
// (Shopify's and Square's are UUIDs), and a store's dedup index is ordered
// by key, so a key that starts with the id lands at a random place of the
// index: in bbolt, a page written per delivery. Deliveries arrive about in
// the order they were stamped, so keys that hold the stamp before the id
// make the index grow at its end (BENCHMARKS.md §1). The stamp must be one
// every redelivery repeats (a signed body's field, or a header the source
// sets once per delivery); a duplicate whose stamp differed would then
// pass the dedup check, and still be applied once, as its canonical event
// ids never depend on the stamp.
func DedupTime(t time.Time) string { return t.UTC().Format(dedupTimeLayout) }
