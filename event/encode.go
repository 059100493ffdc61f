package event

import (
	"encoding/json"
	"strconv"
	"time"
)

// marshalMovement returns json.Marshal(m). The common case, plain ASCII
// strings and a time json.Marshal can write, is appended by hand, which
// is a third of the cost of NewMovement otherwise; anything else goes to
// json.Marshal. FuzzFastMovement checks the two write the same bytes.
func marshalMovement(m *Movement) ([]byte, error) {
	if !plain(m.Connector, m.SourceEventID, m.SKU, m.Location, m.ToLocation,
		m.State, m.Reason, m.OrderID, m.CorrelationID) || !plainTime(m.OccurredAt) {
		return json.Marshal(m)
	}
	b := make([]byte, 0, 160+len(m.Connector)+len(m.SourceEventID)+len(m.SKU)+len(m.Location)+
		len(m.ToLocation)+len(m.State)+len(m.Reason)+len(m.OrderID)+len(m.CorrelationID))
	b = appendField(b, `{"connector":`, m.Connector)
	b = appendField(b, `,"sourceEventId":`, m.SourceEventID)
	b = appendTime(append(b, `,"occurredAt":`...), m.OccurredAt)
	b = appendField(b, `,"sku":`, m.SKU)
	b = appendField(b, `,"location":`, m.Location)
	if m.ToLocation != "" {
		b = appendField(b, `,"toLocation":`, m.ToLocation)
	}
	b = strconv.AppendInt(append(b, `,"quantity":`...), m.Quantity, 10)
	if m.State != "" {
		b = appendField(b, `,"state":`, m.State)
	}
	b = appendField(b, `,"reason":`, m.Reason)
	if m.OrderID != "" {
		b = appendField(b, `,"orderId":`, m.OrderID)
	}
	b = appendField(b, `,"correlationId":`, m.CorrelationID)
	return append(b, '}'), nil
}

// marshalAvailability is marshalMovement for Availability.
func marshalAvailability(a *Availability) ([]byte, error) {
	if !plain(a.SKU, a.Location, a.CauseEventID, a.CauseType, a.CorrelationID) ||
		!plainTime(a.OccurredAt) || !plainTime(a.RecordedAt) {
		return json.Marshal(a)
	}
	b := make([]byte, 0, 256+len(a.SKU)+len(a.Location)+len(a.CauseEventID)+len(a.CauseType)+len(a.CorrelationID))
	b = appendField(b, `{"sku":`, a.SKU)
	b = appendField(b, `,"location":`, a.Location)
	b = strconv.AppendInt(append(b, `,"onHand":`...), a.OnHand, 10)
	b = strconv.AppendInt(append(b, `,"committed":`...), a.Committed, 10)
	b = strconv.AppendInt(append(b, `,"safetyStock":`...), a.SafetyStock, 10)
	b = strconv.AppendInt(append(b, `,"available":`...), a.Available, 10)
	b = strconv.AppendUint(append(b, `,"seq":`...), a.Seq, 10)
	b = appendField(b, `,"causeEventId":`, a.CauseEventID)
	b = appendField(b, `,"causeType":`, a.CauseType)
	b = appendTime(append(b, `,"occurredAt":`...), a.OccurredAt)
	b = appendTime(append(b, `,"recordedAt":`...), a.RecordedAt)
	b = appendField(b, `,"correlationId":`, a.CorrelationID)
	return append(b, '}'), nil
}

// plain reports whether json.Marshal writes every s as it is, in quotes:
// printable ASCII without a quote, backslash or HTML character.
func plain(ss ...string) bool {
	for _, s := range ss {
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
				return false
			}
		}
	}
	return true
}

// plainTime reports whether time.Time's MarshalJSON writes t without
// error: a four-digit year and an offset of whole minutes under a day.
func plainTime(t time.Time) bool {
	if y := t.Year(); y < 0 || y > 9999 {
		return false
	}
	_, off := t.Zone()
	return off%60 == 0 && off > -24*3600 && off < 24*3600
}

func appendField(b []byte, key, s string) []byte {
	b = append(b, key...)
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
