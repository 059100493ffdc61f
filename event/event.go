package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
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
func DeterministicID(parts ...string) string {
	return uuid.NewSHA1(namespace, []byte(strings.Join(parts, "\x1f"))).String()
}

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
	if id == "" {
		id = DeterministicID(m.Connector, m.SourceEventID, string(t), m.SKU, m.Location)
	}
	if m.OccurredAt.IsZero() {
		return nil, fmt.Errorf("%w: occurredAt is required", ErrInvalid)
	}
	e := ce.New()
	e.SetID(id)
	e.SetType(string(t))
	e.SetSource(Source(m.Connector))
	e.SetSubject(m.SKU + "@" + m.Location)
	e.SetTime(m.OccurredAt)
	e.SetExtension("correlationid", m.CorrelationID)
	e.SetExtension("partitionkey", m.SKU)
	mm := m
	if err := e.SetData(ce.ApplicationJSON, mm); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	ev := &Event{Envelope: e, Type: t, Movement: &mm}
	if err := ev.validate(); err != nil {
		return nil, err
	}
	return ev, nil
}

// NewAvailability builds and validates an AvailabilityChanged event. Its id
// is derived from the cause, so a re-applied cause yields the same id.
func NewAvailability(a Availability) (*Event, error) {
	e := ce.New()
	e.SetID(DeterministicID("availability", a.CauseEventID, a.SKU, a.Location))
	e.SetType(string(AvailabilityChanged))
	e.SetSource("/stockgate/ledger")
	e.SetSubject(a.SKU + "@" + a.Location)
	e.SetTime(a.RecordedAt)
	e.SetExtension("correlationid", a.CorrelationID)
	e.SetExtension("partitionkey", a.SKU)
	aa := a
	if err := e.SetData(ce.ApplicationJSON, aa); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	ev := &Event{Envelope: e, Type: AvailabilityChanged, Availability: &aa}
	if err := ev.validate(); err != nil {
		return nil, err
	}
	return ev, nil
}

// Marshal encodes the event in the CloudEvents structured JSON format.
func (e *Event) Marshal() ([]byte, error) {
	return json.Marshal(e.Envelope)
}

// Parse decodes a structured-mode CloudEvents JSON document into a canonical
// event, enforcing the CloudEvents rules, the closed type set and the
// type's JSON Schema. On error the returned envelope, when non-nil, holds
// whatever could be read, for the dead-letter record.
func Parse(b []byte) (*Event, error) {
	var env ce.Event
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("%w: envelope: %v", ErrInvalid, err)
	}
	t, err := ParseType(env.Type())
	if err != nil {
		return &Event{Envelope: env}, err
	}
	ev := &Event{Envelope: env, Type: t}
	if err := ev.validate(); err != nil {
		return ev, err
	}
	dec := json.NewDecoder(bytes.NewReader(env.Data()))
	dec.DisallowUnknownFields()
	if t == AvailabilityChanged {
		ev.Availability = new(Availability)
		err = dec.Decode(ev.Availability)
	} else {
		ev.Movement = new(Movement)
		err = dec.Decode(ev.Movement)
	}
	if err != nil {
		return ev, fmt.Errorf("%w: data: %v", ErrInvalid, err)
	}
	return ev, nil
}

// validate checks the envelope and the data against the type's schema.
func (e *Event) validate() error {
	if err := e.Envelope.Validate(); err != nil {
		return fmt.Errorf("%w: envelope: %v", ErrInvalid, err)
	}
	if ct := e.Envelope.DataContentType(); ct != ce.ApplicationJSON {
		return fmt.Errorf("%w: datacontenttype %q, want %q", ErrInvalid, ct, ce.ApplicationJSON)
	}
	return ValidateData(e.Type, e.Envelope.Data())
}
