package event

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The schema validator checks a document decoded from JSON. Building that
// document straight from the typed data, rather than marshalling and
// decoding it again, is most of what makes NewMovement cheap. doc must
// therefore match the json tags of its type exactly; TestDocMatchesJSON
// checks it against json.Marshal. Integers are int64 and uint64, which
// jsonschema/v6 treats as it treats the json.Number its decoder returns
// (typeOf, numValidate and equals all take both).

// doc returns m as the schema validator sees json.Marshal(m).
func (m *Movement) doc() map[string]any {
	d := make(map[string]any, 11)
	d["connector"] = m.Connector
	d["sourceEventId"] = m.SourceEventID
	d["occurredAt"] = m.OccurredAt.Format(time.RFC3339Nano)
	d["sku"] = m.SKU
	d["location"] = m.Location
	if m.ToLocation != "" {
		d["toLocation"] = m.ToLocation
	}
	d["quantity"] = m.Quantity
	if m.State != "" {
		d["state"] = m.State
	}
	d["reason"] = m.Reason
	if m.OrderID != "" {
		d["orderId"] = m.OrderID
	}
	d["correlationId"] = m.CorrelationID
	return d
}

// doc returns a as the schema validator sees json.Marshal(a).
func (a *Availability) doc() map[string]any {
	return map[string]any{
		"sku":           a.SKU,
		"location":      a.Location,
		"onHand":        a.OnHand,
		"committed":     a.Committed,
		"safetyStock":   a.SafetyStock,
		"available":     a.Available,
		"seq":           a.Seq,
		"causeEventId":  a.CauseEventID,
		"causeType":     a.CauseType,
		"occurredAt":    a.OccurredAt.Format(time.RFC3339Nano),
		"recordedAt":    a.RecordedAt.Format(time.RFC3339Nano),
		"correlationId": a.CorrelationID,
	}
}

// movementFrom converts a document that passed its type's schema, so that
// the data is decoded once. It reads what a strict json.Decoder would
// (TestParseMatchesDecoder): strings as they are, integers that fit an
// int64, and times in RFC 3339.
func movementFrom(d map[string]any) (*Movement, error) {
	var (
		m   Movement
		err error
	)
	m.Connector = str(d, "connector")
	m.SourceEventID = str(d, "sourceEventId")
	m.SKU = str(d, "sku")
	m.Location = str(d, "location")
	m.ToLocation = str(d, "toLocation")
	m.State = str(d, "state")
	m.Reason = str(d, "reason")
	m.OrderID = str(d, "orderId")
	m.CorrelationID = str(d, "correlationId")
	if m.OccurredAt, err = timestamp(d, "occurredAt"); err != nil {
		return nil, err
	}
	if m.Quantity, err = integer(d, "quantity"); err != nil {
		return nil, err
	}
	return &m, nil
}

// availabilityFrom is movementFrom for Availability.
func availabilityFrom(d map[string]any) (*Availability, error) {
	var (
		a   Availability
		err error
	)
	a.SKU = str(d, "sku")
	a.Location = str(d, "location")
	a.CauseEventID = str(d, "causeEventId")
	a.CauseType = str(d, "causeType")
	a.CorrelationID = str(d, "correlationId")
	for _, f := range []struct {
		name string
		dst  *int64
	}{
		{"onHand", &a.OnHand}, {"committed", &a.Committed},
		{"safetyStock", &a.SafetyStock}, {"available", &a.Available},
	} {
		if *f.dst, err = integer(d, f.name); err != nil {
			return nil, err
		}
	}
	if a.Seq, err = unsigned(d, "seq"); err != nil {
		return nil, err
	}
	if a.OccurredAt, err = timestamp(d, "occurredAt"); err != nil {
		return nil, err
	}
	if a.RecordedAt, err = timestamp(d, "recordedAt"); err != nil {
		return nil, err
	}
	return &a, nil
}

func str(d map[string]any, name string) string {
	s, _ := d[name].(string)
	return s
}

func integer(d map[string]any, name string) (int64, error) {
	n, _ := d[name].(json.Number)
	if n == "" {
		return 0, nil
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("at '/%s': %s is not an int64", name, n)
	}
	return i, nil
}

func unsigned(d map[string]any, name string) (uint64, error) {
	n, _ := d[name].(json.Number)
	if n == "" {
		return 0, nil
	}
	u, err := strconv.ParseUint(string(n), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("at '/%s': %s is not a uint64", name, n)
	}
	return u, nil
}

// timestamp parses as time.Time's UnmarshalJSON does (strict RFC 3339),
// which accepts less than the schema's date-time format: a leap second,
// for one, passes the schema and fails here.
func timestamp(d map[string]any, name string) (time.Time, error) {
	s, _ := d[name].(string)
	var t time.Time
	if s == "" {
		return t, nil
	}
	if err := t.UnmarshalText([]byte(s)); err != nil {
		return t, fmt.Errorf("at '/%s': %v", name, err)
	}
	return t, nil
}
