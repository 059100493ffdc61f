package event

import (
	"bytes"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/google/uuid"
)

// Sentinel errors; match with errors.Is.
var (
	// ErrUnknownType reports an event type or version outside the closed set.
	ErrUnknownType = errors.New("event: unknown type")
	// ErrInvalid reports an event that breaks the CloudEvents rules or its
	// type's JSON Schema.
	ErrInvalid = errors.New("event: invalid")
)

// Type is a canonical event type, including its major version.
// The zero value is not a valid type; use [ParseType] for untrusted input.
type Type string

// The closed set of canonical event types.
const (
	// StockReceived adds units to on hand (a delivery from a supplier).
	StockReceived Type = "com.stockgate.stock.received.v1"
	// OrderCommitted reserves units for an order: committed grows.
	OrderCommitted Type = "com.stockgate.order.committed.v1"
	// OrderCancelled releases units an order had reserved: committed shrinks.
	OrderCancelled Type = "com.stockgate.order.cancelled.v1"
	// OrderFulfilled ships reserved units: on hand and committed shrink.
	OrderFulfilled Type = "com.stockgate.order.fulfilled.v1"
	// StockReturned puts returned units back on hand (a restock).
	StockReturned Type = "com.stockgate.stock.returned.v1"
	// StockAdjusted changes on hand by a signed delta, with a reason such
	// as damage, theft or correction.
	StockAdjusted Type = "com.stockgate.stock.adjusted.v1"
	// StockCounted states an absolute quantity as of a time (a stock take,
	// or a channel reporting what it shows).
	StockCounted Type = "com.stockgate.stock.counted.v1"
	// StockTransferred moves on-hand units from one location to another.
	StockTransferred Type = "com.stockgate.stock.transferred.v1"
	// AvailabilityChanged is the ledger's output: the quantities of one SKU
	// at one location after an event was applied.
	AvailabilityChanged Type = "com.stockgate.availability.changed.v1"
)

// Types lists every canonical type, inputs first and the output last.
var Types = []Type{
	StockReceived, OrderCommitted, OrderCancelled, OrderFulfilled,
	StockReturned, StockAdjusted, StockCounted, StockTransferred,
	AvailabilityChanged,
}

// ParseType returns the Type named by s, or an error wrapping
// ErrUnknownType.
func ParseType(s string) (Type, error) {
	for _, t := range Types {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("%w %q", ErrUnknownType, s)
}

// Short returns the type's name without prefix and version, such as
// "order.committed".
func (t Type) Short() string {
	s := strings.TrimPrefix(string(t), "com.stockgate.")
	if i := strings.LastIndex(s, ".v"); i >= 0 {
		s = s[:i]
	}
	return s
}

// IsMovement reports whether t is an input that moves stock (every type but
// AvailabilityChanged).
func (t Type) IsMovement() bool { return t != AvailabilityChanged && t != "" }

// Count states: what a StockCounted quantity measures.
const (
	// StateOnHand: the quantity is the physical units on hand. Applied.
	StateOnHand = "on_hand"
	// StateAvailable: the quantity is what a channel shows as sellable. It
	// is recorded as an observation and compared, never applied, because the
	// same sale also arrives as an order event.
	StateAvailable = "available"
)

// ReasonEchoConfirmation is the reason of a StateAvailable count in which a
// channel reports back the quantity stockgate pushed to it.
const ReasonEchoConfirmation = "echo_confirmation"

// Movement is the data of every stock-moving event type. Quantity is a
// positive magnitude, except for StockAdjusted (a signed, non-zero delta)
// and StockCounted (an absolute quantity, zero or more).
type Movement struct {
	// Connector is the id of the connector that produced the event, or
	// "admin" for an admin mutation.
	Connector string `json:"connector"`
	// SourceEventID is the source's own id for what happened (webhook or
	// event id, plus a line suffix where one message carries many lines).
	SourceEventID string `json:"sourceEventId"`
	// OccurredAt is when it happened at the source.
	OccurredAt time.Time `json:"occurredAt"`
	// SKU is the stock keeping unit.
	SKU string `json:"sku"`
	// Location is the stockgate location id.
	Location string `json:"location"`
	// ToLocation is the destination of a StockTransferred; empty otherwise.
	ToLocation string `json:"toLocation,omitempty"`
	// Quantity is described on the type.
	Quantity int64 `json:"quantity"`
	// State is what a StockCounted quantity measures (StateOnHand or
	// StateAvailable); empty otherwise.
	State string `json:"state,omitempty"`
	// Reason says why, in the source's words or a stockgate reason such as
	// "sale", "damage", "theft", "correction", "restock".
	Reason string `json:"reason"`
	// OrderID is the source's order id where there is one.
	OrderID string `json:"orderId,omitempty"`
	// CorrelationID ties together every event caused by one source message.
	CorrelationID string `json:"correlationId"`
}

// Availability is the data of an AvailabilityChanged event.
type Availability struct {
	SKU       string `json:"sku"`
	Location  string `json:"location"`
	OnHand    int64  `json:"onHand"`
	Committed int64  `json:"committed"`
	// SafetyStock is held back from Available.
	SafetyStock int64 `json:"safetyStock"`
	// Available is OnHand − Committed − SafetyStock; it may be negative
	// when the location is oversold.
	Available int64 `json:"available"`
	// Seq is the ledger sequence number of the entry that produced it; a
	// consumer keeps the highest it has seen per SKU and location.
	Seq uint64 `json:"seq"`
	// CauseEventID and CauseType name the event that caused the change.
	CauseEventID string `json:"causeEventId"`
	CauseType    string `json:"causeType"`
	// OccurredAt is when the cause happened; RecordedAt when the ledger
	// applied it.
	OccurredAt    time.Time `json:"occurredAt"`
	RecordedAt    time.Time `json:"recordedAt"`
	CorrelationID string    `json:"correlationId"`
}

// Event is a parsed canonical event: the CloudEvents envelope and its typed
// data. Exactly one of Movement and Availability is set.
type Event struct {
	Envelope     ce.Event
	Type         Type
	Movement     *Movement
	Availability *Availability
}

// ID returns the event id.
func (e *Event) ID() string { return e.Envelope.ID() }

// Source is the CloudEvents source for events from a connector.
func Source(connector string) string { return "/stockgate/connectors/" + connector }

// namespace roots the deterministic event ids.
var namespace = uuid.MustParse("5f0c6f4e-3c55-4d4e-9a51-7b1a9c1f0a11")

// DeterministicID derives an event id from the parts that identify what
// happened at the source, so that a redelivered webhook normalizes to the
// same ids and the ledger can apply it once.
//
// The id is the version 5 UUID of the parts joined by U+001F in
// namespace, as uuid.NewSHA1 computes it, hashed from a stack buffer.
func DeterministicID(parts ...string) string {
	var buf [256]byte
	b := append(buf[:0], namespace[:]...)
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0x1f)
		}
		b = append(b, p...)
	}
	sum := sha1.Sum(b)
	var id uuid.UUID
	copy(id[:], sum[:])
	id[6] = id[6]&0x0f | 0x50 // version 5
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id.String()
}

// ledgerSource is the CloudEvents source of AvailabilityChanged events.
const ledgerSource = "/stockgate/ledger"

// NewMovement builds and validates a stock-moving event. id may be empty,
// in which case it is derived from the connector, source event id, type,
// SKU and location.
func NewMovement(t Type, id string, m Movement) (*Event, error) {
	if !t.IsMovement() {
		return nil, fmt.Errorf("%w: %s is not a movement type", ErrInvalid, t)
	}
	if _, err := ParseType(string(t)); err != nil {
		return nil, err
	}
	if m.OccurredAt.IsZero() {
		return nil, fmt.Errorf("%w: %s: occurredAt is required", ErrInvalid, t.Short())
	}
	if id == "" {
		id = DeterministicID(m.Connector, m.SourceEventID, string(t), m.SKU, m.Location)
	}
	data, err := marshalMovement(&m)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, t.Short(), err)
	}
	if r := fastFor(t); r == nil || !r.movementOK(t, &m) {
		// The validator writes the message, or has the last word.
		if err := validateDoc(t, m.doc()); err != nil {
			return nil, err
		}
	}
	env, err := envelope(id, t, Source(m.Connector), m.SKU, m.Location, m.OccurredAt, m.CorrelationID, data)
	if err != nil {
		return nil, err
	}
	return &Event{Envelope: env, Type: t, Movement: &m}, nil
}

// NewAvailability builds and validates an AvailabilityChanged event. Its id
// is derived from the cause, so a re-applied cause yields the same id.
func NewAvailability(a Availability) (*Event, error) {
	const t = AvailabilityChanged
	data, err := marshalAvailability(&a)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, t.Short(), err)
	}
	if r := fastFor(t); r == nil || !r.availabilityOK(&a) {
		if err := validateDoc(t, a.doc()); err != nil {
			return nil, err
		}
	}
	id := DeterministicID("availability", a.CauseEventID, a.SKU, a.Location)
	env, err := envelope(id, t, ledgerSource, a.SKU, a.Location, a.RecordedAt, a.CorrelationID, data)
	if err != nil {
		return nil, err
	}
	return &Event{Envelope: env, Type: t, Availability: &a}, nil
}

// envelope builds the CloudEvents 1.0 envelope of a new event around its
// already validated JSON data. It sets the attributes through the SDK's
// setters, which trim and parse as before, but does not run the SDK's
// Validate: every attribute it could reject is either a constant here or
// checked on the way (id, source), and TestSamplesBuild checks the result
// with Validate.
func envelope(id string, t Type, source, sku, location string, at time.Time, correlationID string, data []byte) (ce.Event, error) {
	ct := ce.ApplicationJSON
	ec := &ce.EventContextV1{
		Type:            string(t),
		DataContentType: &ct,
		Extensions: map[string]any{
			"correlationid": correlationID,
			"partitionkey":  sku,
		},
	}
	if err := ec.SetID(id); err != nil {
		return ce.Event{}, fmt.Errorf("%w: envelope: id: %v", ErrInvalid, err)
	}
	if err := ec.SetSource(source); err != nil {
		return ce.Event{}, fmt.Errorf("%w: envelope: source: %v", ErrInvalid, err)
	}
	_ = ec.SetSubject(sku + "@" + location) // never fails
	_ = ec.SetTime(at)                      // never fails; zero unsets
	return ce.Event{Context: ec, DataEncoded: data}, nil
}

// Marshal encodes the event in the CloudEvents structured JSON format.
// Attributes are written in the SDK's fixed order and extensions sorted by
// name, so equal events marshal to equal bytes.
func (e *Event) Marshal() ([]byte, error) {
	if b, ok := appendEnvelope(make([]byte, 0, 320+len(e.Envelope.DataEncoded)), &e.Envelope); ok {
		return b, nil
	}
	var buf bytes.Buffer
	buf.Grow(320 + len(e.Envelope.DataEncoded))
	if err := ce.WriteJson(&e.Envelope, &buf); err != nil {
		return nil, fmt.Errorf("event: marshal %s: %w", e.ID(), err)
	}
	return buf.Bytes(), nil
}

// Parse decodes a structured-mode CloudEvents JSON document into a canonical
// event, enforcing the CloudEvents 1.0 rules, the closed type set and the
// type's JSON Schema. On error the returned event, when non-nil, holds
// whatever of the envelope could be read (at least the id, type or
// source), for the dead-letter record: always for an error wrapping
// ErrUnknownType.
func Parse(b []byte) (*Event, error) {
	if ev, ok := parseEnvelope(b); ok {
		return ev, nil
	}
	return parseSDK(b)
}

// parseSDK is Parse through the SDK's envelope decoder.
func parseSDK(b []byte) (*Event, error) {
	if !json.Valid(b) {
		return nil, fmt.Errorf("%w: envelope: not a JSON document", ErrInvalid)
	}
	var env ce.Event
	if err := env.UnmarshalJSON(b); err != nil {
		ev, ct := salvage(b)
		if ct != "" && ct != ce.ApplicationJSON {
			// The SDK reads the data by its content type and fails on that.
			return ev, fmt.Errorf("%w: envelope: datacontenttype %q, want %q", ErrInvalid, ct, ce.ApplicationJSON)
		}
		return ev, fmt.Errorf("%w: envelope: %s", ErrInvalid, describeEnvelope(err))
	}
	t, err := ParseType(env.Type())
	if err != nil {
		return &Event{Envelope: env}, err
	}
	ev := &Event{Envelope: env, Type: t}
	if v := env.SpecVersion(); v != ce.CloudEventsVersionV1 {
		return ev, fmt.Errorf("%w: envelope: specversion %q, want %q", ErrInvalid, v, ce.CloudEventsVersionV1)
	}
	if err := env.Validate(); err != nil {
		return ev, fmt.Errorf("%w: envelope: %s", ErrInvalid, describeEnvelope(err))
	}
	if ct := env.DataContentType(); ct != ce.ApplicationJSON {
		return ev, fmt.Errorf("%w: envelope: datacontenttype %q, want %q", ErrInvalid, ct, ce.ApplicationJSON)
	}
	data := env.Data()
	if len(data) == 0 {
		return ev, fmt.Errorf("%w: envelope: data is required", ErrInvalid)
	}
	if r := fastFor(t); r != nil {
		// Most data is plain and valid: decode it once, straight into its
		// type, and check it without the validator.
		var ok bool
		if t == AvailabilityChanged {
			ev.Availability, ok = r.parseAvailability(data)
		} else {
			ev.Movement, ok = r.parseMovement(t, data)
		}
		if ok {
			return ev, nil
		}
	}
	doc, err := decodeDoc(t, data)
	if err != nil {
		return ev, err
	}
	if err := validateDoc(t, doc); err != nil {
		return ev, err
	}
	// The schema has checked every property's presence and type, so the
	// conversions below only fail on a number or time Go cannot hold.
	obj := doc.(map[string]any)
	if t == AvailabilityChanged {
		ev.Availability, err = availabilityFrom(obj)
	} else {
		ev.Movement, err = movementFrom(obj)
	}
	if err != nil {
		return ev, fmt.Errorf("%w: %s: %v", ErrInvalid, t.Short(), err)
	}
	return ev, nil
}

// salvage reads the id, type and source of a document the SDK could not
// read as an event (no specversion, say), so that its dead-letter record
// still says what it was, and its datacontenttype, to say what was wrong.
// The event is nil when there is nothing to keep.
func salvage(b []byte) (*Event, string) {
	var w struct {
		ID              any `json:"id"`
		Type            any `json:"type"`
		Source          any `json:"source"`
		DataContentType any `json:"datacontenttype"`
	}
	if json.Unmarshal(b, &w) != nil {
		return nil, ""
	}
	id, _ := w.ID.(string)
	typ, _ := w.Type.(string)
	src, _ := w.Source.(string)
	ct, _ := w.DataContentType.(string)
	if id == "" && typ == "" && src == "" {
		return nil, ct
	}
	ec := &ce.EventContextV1{ID: id, Type: typ}
	if u := types.ParseURIRef(src); u != nil {
		ec.Source = *u
	}
	return &Event{Envelope: ce.Event{Context: ec}}, ct
}

// describeEnvelope renders the SDK's per-attribute validation errors on
// one line in a stable order.
func describeEnvelope(err error) string {
	var ve ce.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	msgs := make([]string, 0, len(ve))
	for attr, e := range ve {
		msgs = append(msgs, attr+": "+e.Error())
	}
	slices.Sort(msgs)
	return strings.Join(msgs, "; ")
}
