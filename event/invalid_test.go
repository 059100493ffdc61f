package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// variant is a named bad event: a sample with its data or envelope edited.
type variant struct {
	name string
	t    Type
	// data and env edit the decoded data object and envelope object.
	data, env func(map[string]any)
	// want is the sentinel the error must wrap; field a string the message
	// must contain, naming what is wrong.
	want  error
	field string
	// schemaValid marks data that passes the schema but not the decoding
	// into Go types (a number an int64 cannot hold, a leap second), so
	// that ValidateData accepts it and Parse does not.
	schemaValid bool
}

func set(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
func del(k string) func(map[string]any)        { return func(m map[string]any) { delete(m, k) } }

// variants lists the bad events every type must reject.
func variants() []variant {
	var vs []variant
	add := func(t Type, name string, data, env func(map[string]any), want error, field string) {
		vs = append(vs, variant{name: name, t: t, data: data, env: env, want: want, field: field})
	}
	long := strings.Repeat("X", 256)
	for _, t := range Types {
		// The envelope, for every type.
		add(t, "datacontenttype text/plain", nil, set("datacontenttype", "text/plain"), ErrInvalid, "datacontenttype")
		add(t, "datacontenttype text/json", nil, set("datacontenttype", "text/json"), ErrInvalid, "datacontenttype")
		add(t, "datacontenttype missing", nil, del("datacontenttype"), ErrInvalid, "datacontenttype")
		add(t, "id missing", nil, del("id"), ErrInvalid, "id")
		add(t, "id blank", nil, set("id", "  "), ErrInvalid, "id")
		add(t, "source missing", nil, del("source"), ErrInvalid, "source")
		add(t, "specversion missing", nil, del("specversion"), ErrInvalid, "specversion")
		add(t, "specversion 0.3", nil, set("specversion", "0.3"), ErrInvalid, "specversion")
		add(t, "data missing", nil, del("data"), ErrInvalid, "data")
		add(t, "data an array", nil, set("data", []any{}), ErrInvalid, "want object")
		// The data, for every type.
		add(t, "sku missing", del("sku"), nil, ErrInvalid, "sku")
		add(t, "sku empty", set("sku", ""), nil, ErrInvalid, "sku")
		add(t, "sku over 255 chars", set("sku", long), nil, ErrInvalid, "sku")
		add(t, "sku a number", set("sku", json.Number("42")), nil, ErrInvalid, "sku")
		add(t, "location missing", del("location"), nil, ErrInvalid, "location")
		add(t, "location empty", set("location", ""), nil, ErrInvalid, "location")
		add(t, "unknown field", set("colour", "moss"), nil, ErrInvalid, "colour")
		add(t, "occurredAt not a date-time", set("occurredAt", "14/03/2026 08:26"), nil, ErrInvalid, "occurredAt")
		add(t, "occurredAt missing", del("occurredAt"), nil, ErrInvalid, "occurredAt")
		add(t, "correlationId missing", del("correlationId"), nil, ErrInvalid, "correlationId")
		vs = append(vs, variant{name: "occurredAt a leap second", t: t, data: set("occurredAt", "2016-12-31T23:59:60Z"),
			want: ErrInvalid, field: "occurredAt", schemaValid: true})
		if t == AvailabilityChanged {
			continue
		}
		// Movements.
		add(t, "connector empty", set("connector", ""), nil, ErrInvalid, "connector")
		add(t, "sourceEventId missing", del("sourceEventId"), nil, ErrInvalid, "sourceEventId")
		add(t, "reason empty", set("reason", ""), nil, ErrInvalid, "reason")
		add(t, "quantity missing", del("quantity"), nil, ErrInvalid, "quantity")
		add(t, "quantity a string", set("quantity", "2"), nil, ErrInvalid, "quantity")
		add(t, "quantity 1.5", set("quantity", json.Number("1.5")), nil, ErrInvalid, "quantity")
		add(t, "quantity over a billion", set("quantity", json.Number("1000000001")), nil, ErrInvalid, "quantity")
		if t != StockCounted {
			add(t, "quantity 0", set("quantity", json.Number("0")), nil, ErrInvalid, "quantity")
			add(t, "state set", set("state", StateOnHand), nil, ErrInvalid, "state")
		}
		if t != StockCounted && t != StockAdjusted {
			add(t, "quantity negative", set("quantity", json.Number("-2")), nil, ErrInvalid, "quantity")
		}
		if t != StockTransferred {
			add(t, "toLocation set", set("toLocation", "paris-store"), nil, ErrInvalid, "toLocation")
		}
		if t == OrderCommitted || t == OrderCancelled || t == OrderFulfilled {
			add(t, "orderId missing", del("orderId"), nil, ErrInvalid, "orderId")
		}
	}
	add(StockAdjusted, "quantity under minus a billion", set("quantity", json.Number("-1000000001")), nil, ErrInvalid, "quantity")
	add(StockCounted, "quantity negative", set("quantity", json.Number("-1")), nil, ErrInvalid, "quantity")
	add(StockCounted, "state bogus", set("state", "bogus"), nil, ErrInvalid, "state")
	add(StockCounted, "state missing", del("state"), nil, ErrInvalid, "state")
	add(StockTransferred, "toLocation missing", del("toLocation"), nil, ErrInvalid, "toLocation")
	add(StockTransferred, "toLocation empty", set("toLocation", ""), nil, ErrInvalid, "toLocation")
	add(StockTransferred, "toLocation is location", set("toLocation", "berlin-store"), nil, ErrInvalid, "toLocation")
	add(AvailabilityChanged, "seq 0", set("seq", json.Number("0")), nil, ErrInvalid, "seq")
	add(AvailabilityChanged, "seq missing", del("seq"), nil, ErrInvalid, "seq")
	add(AvailabilityChanged, "causeEventId missing", del("causeEventId"), nil, ErrInvalid, "causeEventId")
	add(AvailabilityChanged, "causeEventId empty", set("causeEventId", ""), nil, ErrInvalid, "causeEventId")
	add(AvailabilityChanged, "causeType not a type", set("causeType", "order.committed"), nil, ErrInvalid, "causeType")
	add(AvailabilityChanged, "safetyStock negative", set("safetyStock", json.Number("-1")), nil, ErrInvalid, "safetyStock")
	add(AvailabilityChanged, "recordedAt not a date-time", set("recordedAt", "yesterday"), nil, ErrInvalid, "recordedAt")
	vs = append(vs,
		variant{name: "onHand beyond int64", t: AvailabilityChanged, data: set("onHand", json.Number("99999999999999999999")),
			want: ErrInvalid, field: "onHand", schemaValid: true},
		variant{name: "seq beyond uint64", t: AvailabilityChanged, data: set("seq", json.Number("18446744073709551616")),
			want: ErrInvalid, field: "seq", schemaValid: true},
	)
	// Outside the closed set: never dropped, so Parse returns the envelope.
	add(StockReceived, "type teleported", nil, set("type", "com.stockgate.stock.teleported.v1"), ErrUnknownType, "teleported")
	add(StockReceived, "type version 2", nil, set("type", "com.stockgate.stock.received.v2"), ErrUnknownType, "received.v2")
	add(StockReceived, "type missing", nil, del("type"), ErrUnknownType, "unknown type")
	return vs
}

// encode re-encodes an edited document (json.Number keeps numbers as
// written).
func encode(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestVariantsRejected checks that each bad variant is rejected with the
// right sentinel and a message naming the field, on every path that can
// carry it: Parse, ValidateData and, where the data still fits the Go
// type, NewMovement or NewAvailability.
func TestVariantsRejected(t *testing.T) {
	t.Parallel()
	seen := map[Type]int{}
	for _, v := range variants() {
		seen[v.t]++
		t.Run(v.t.Short()+"/"+v.name, func(t *testing.T) {
			t.Parallel()
			golden := readFile(t, samplePath(v.t))
			env := decodeAny(t, golden).(map[string]any)
			id := env["id"].(string)
			data := env["data"].(map[string]any)
			if v.data != nil {
				v.data(data)
			}
			if v.env != nil {
				v.env(env)
			}
			raw := encode(t, env)
			check := func(path string, err error) {
				t.Helper()
				switch {
				case err == nil:
					t.Errorf("%s accepted %s", path, raw)
				case !errors.Is(err, v.want):
					t.Errorf("%s: %v, want %v", path, err, v.want)
				case !strings.Contains(err.Error(), v.field):
					t.Errorf("%s: %q does not name %q", path, err, v.field)
				case strings.Contains(err.Error(), "\n"):
					t.Errorf("%s: %q is not one line", path, err)
				}
			}

			ev, err := Parse(raw)
			check("Parse", err)
			if v.want == ErrUnknownType || v.name == "specversion missing" {
				// Dead-lettered with what could be read, never dropped.
				if ev == nil || ev.ID() != id {
					t.Errorf("Parse returned %v, want the envelope with id %s", ev, id)
				}
			}
			if v.data == nil {
				return
			}
			dataRaw := encode(t, data)
			if err := ValidateData(v.t, dataRaw); v.schemaValid {
				if err != nil {
					t.Errorf("ValidateData: %v, want the schema to accept it", err)
				}
			} else {
				check("ValidateData", err)
			}
			// The same data from Go, where the Go type can say it: not an
			// unknown field, nor a missing one (that decodes to a zero value,
			// which may well be valid).
			fits := func(v any) bool {
				dec := json.NewDecoder(bytes.NewReader(dataRaw))
				dec.DisallowUnknownFields()
				if dec.Decode(v) != nil {
					return false
				}
				b, err := json.Marshal(v)
				return err == nil && jsonEqual(t, b, dataRaw)
			}
			if v.t == AvailabilityChanged {
				var a Availability
				if fits(&a) {
					_, err := NewAvailability(a)
					check("NewAvailability", err)
				}
			} else {
				var m Movement
				if fits(&m) {
					_, err := NewMovement(v.t, "", m)
					check("NewMovement", err)
				}
			}
		})
	}
	for _, typ := range Types {
		if seen[typ] < 20 {
			t.Errorf("%s has %d variants", typ, seen[typ])
		}
	}
}

// TestNewMovementRejects covers what only the builders see.
func TestNewMovementRejects(t *testing.T) {
	t.Parallel()
	good := samples()[1].m // order.committed
	for _, c := range []struct {
		name  string
		t     Type
		id    string
		edit  func(*Movement)
		want  error
		field string
	}{
		{name: "availability is not a movement", t: AvailabilityChanged, want: ErrInvalid, field: "not a movement"},
		{name: "unknown type", t: "com.stockgate.stock.teleported.v1", want: ErrUnknownType, field: "teleported"},
		{name: "zero type", t: "", want: ErrInvalid, field: "not a movement"},
		{name: "blank id", t: OrderCommitted, id: " ", want: ErrInvalid, field: "id"},
		{name: "zero occurredAt", t: OrderCommitted, edit: func(m *Movement) { m.OccurredAt = time.Time{} }, want: ErrInvalid, field: "occurredAt"},
		{name: "occurredAt after 9999", t: OrderCommitted, edit: func(m *Movement) { m.OccurredAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, want: ErrInvalid, field: "year"},
		{name: "connector not a URI path", t: OrderCommitted, edit: func(m *Movement) { m.Connector = "shopify%zz" }, want: ErrInvalid, field: "source"},
		{name: "state on an order", t: OrderCommitted, edit: func(m *Movement) { m.State = StateAvailable }, want: ErrInvalid, field: "state"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := good
			if c.edit != nil {
				c.edit(&m)
			}
			ev, err := NewMovement(c.t, c.id, m)
			if ev != nil || !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.field) {
				t.Errorf("NewMovement = %v, %v; want %v naming %q", ev, err, c.want, c.field)
			}
		})
	}
}

func TestParseNotJSON(t *testing.T) {
	t.Parallel()
	good := readFile(t, samplePath(OrderCommitted))
	for _, raw := range []string{"", "null", "[]", `"event"`, string(good) + "x", string(good[:len(good)/2]), "{}"} {
		ev, err := Parse([]byte(raw))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%.40q) = %v, %v; want ErrInvalid", raw, ev, err)
		}
	}
}

// TestMessageStable: the validator reports names in map order; describe
// sorts them, so a dead-letter reason is the same every time.
func TestMessageStable(t *testing.T) {
	t.Parallel()
	data := []byte(`{"connector":"admin","sourceEventId":"x","occurredAt":"2026-03-18T07:30:00Z","sku":"S",` +
		`"location":"l","quantity":1,"reason":"r","correlationId":"c","size":"M","colour":"moss","batch":"7"}`)
	const want = "event: invalid: stock.received: at '': additional properties 'batch', 'colour', 'size' not allowed"
	for range 20 {
		if err := ValidateData(StockReceived, data); err == nil || err.Error() != want {
			t.Fatalf("ValidateData = %v, want %s", err, want)
		}
	}
}
