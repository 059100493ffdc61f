package event

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestFastRulesDerived checks that every schema in use gets fast-path
// rules, so that a schema change the fast path does not understand shows
// up here and not only as a slower ingest.
func TestFastRulesDerived(t *testing.T) {
	for _, typ := range Types {
		if fastFor(typ) == nil {
			raw, _ := Schema(typ)
			doc, _ := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			_, err := deriveRules(doc)
			t.Errorf("%s: no fast path: %v", typ, err)
		}
	}
}

// TestFastRulesUnknownKeyword checks that a keyword the fast path does not
// know leaves the type to the validator.
func TestFastRulesUnknownKeyword(t *testing.T) {
	raw, err := Schema(OrderCommitted)
	if err != nil {
		t.Fatal(err)
	}
	for _, edit := range []struct{ old, new string }{
		{`"minimum": 1,`, `"exclusiveMinimum": 0,`},
		{`"format": "date-time"`, `"format": "date"`},
		{`"minimum": 1,`, `"minimum": 1.5,`},
		{`"additionalProperties": false,`, `"additionalProperties": {"type": "string"},`},
		{`"type": "object",`, `"type": "object", "minProperties": 2,`},
		{`"type": "string", "maxLength": 128}`, `"type": ["string", "null"], "maxLength": 128}`},
		{`draft/2020-12/schema"`, `draft-07/schema#"`},
	} {
		edited := strings.Replace(string(raw), edit.old, edit.new, 1)
		if edited == string(raw) {
			t.Fatalf("edit %q not applied", edit.old)
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(edited))
		if err != nil {
			t.Fatal(err)
		}
		if r, err := deriveRules(doc); err == nil {
			t.Errorf("%s: derived rules %+v, want none", edit.new, r)
		}
	}
}

var movementTypes = Types[:len(Types)-1]

// FuzzFastMovement checks that the fast path agrees with the validator on
// every Movement: it accepts exactly what the validator accepts.
func FuzzFastMovement(f *testing.F) {
	f.Add(uint8(1), "shopify-eu", "b54557e4/1", int64(1741944413), int64(0), int32(0), "SOCK", "berlin", "", int64(2), "", "sale", "567", "shopify:order:567")
	f.Add(uint8(7), "admin", "x", int64(1741944413), int64(5), int32(3600), "SOCK", "berlin", "paris", int64(2), "", "move", "", "c")
	f.Add(uint8(6), "admin", "x", int64(-62135596800), int64(0), int32(-1800), "SOCK", "berlin", "", int64(0), "on_hand", "count", "", "c")
	f.Add(uint8(5), "admin", "x", int64(253402300800), int64(999), int32(59), "S", "b", "", int64(-3), "available", "damage", "o", "c")
	f.Add(uint8(5), "admin", "x", int64(0), int64(0), int32(0), "S", "b", "", int64(0), "", "damage", "o", strings.Repeat("é", 257))
	f.Fuzz(func(t *testing.T, ti uint8, connector, sourceEventID string, sec, nsec int64, zone int32,
		sku, location, toLocation string, quantity int64, state, reason, orderID, correlationID string) {
		typ := movementTypes[int(ti)%len(movementTypes)]
		m := Movement{
			Connector: connector, SourceEventID: sourceEventID,
			OccurredAt: time.Unix(sec, nsec).In(time.FixedZone("", int(zone%(100*3600)))),
			SKU:        sku, Location: location, ToLocation: toLocation, Quantity: quantity,
			State: state, Reason: reason, OrderID: orderID, CorrelationID: correlationID,
		}
		marshalMatches(t, &m, marshalMovement)
		fast := fastFor(typ).movementOK(typ, &m)
		err := validateDoc(typ, m.doc())
		if fast != (err == nil) {
			t.Fatalf("%s %+v: fast path says %v, validator %v", typ.Short(), m, fast, err)
		}
	})
}

// FuzzFastAvailability is FuzzFastMovement for Availability.
func FuzzFastAvailability(f *testing.F) {
	f.Add("SOCK", "berlin", int64(41), int64(6), int64(2), int64(33), uint64(1872), "40d71317", "com.stockgate.order.committed.v1", int64(1741944413), int64(1741944414), int32(0), "c")
	f.Add("", "b", int64(-1), int64(0), int64(-2), int64(0), uint64(1<<63), "", "com.x.v", int64(-62167219200), int64(253402300799), int32(-7200), "")
	f.Fuzz(func(t *testing.T, sku, location string, onHand, committed, safety, available int64, seq uint64,
		causeID, causeType string, occurred, recorded int64, zone int32, correlationID string) {
		z := time.FixedZone("", int(zone%(100*3600)))
		a := Availability{
			SKU: sku, Location: location, OnHand: onHand, Committed: committed, SafetyStock: safety,
			Available: available, Seq: seq, CauseEventID: causeID, CauseType: causeType,
			OccurredAt: time.Unix(occurred, 0).In(z), RecordedAt: time.Unix(0, recorded).In(z),
			CorrelationID: correlationID,
		}
		marshalMatches(t, &a, marshalAvailability)
		fast := fastFor(AvailabilityChanged).availabilityOK(&a)
		err := validateDoc(AvailabilityChanged, a.doc())
		if fast != (err == nil) {
			t.Fatalf("%+v: fast path says %v, validator %v", a, fast, err)
		}
	})
}

// FuzzFastDoc checks the fast paths of Parse and ValidateData on raw data:
// they accept nothing the validator rejects, and the fast decoding reads
// what the slow one and a strict json.Decoder read.
func FuzzFastDoc(f *testing.F) {
	for _, sample := range goldenSamples(f) {
		raw := sample.raw
		var env struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			f.Fatal(err)
		}
		typ, err := ParseType(env.Type)
		if err != nil {
			f.Fatal(err)
		}
		ti := uint8(0)
		for i, t := range Types {
			if t == typ {
				ti = uint8(i)
			}
		}
		f.Add(ti, []byte(env.Data))
		var compact bytes.Buffer
		_ = json.Compact(&compact, env.Data)
		f.Add(ti, compact.Bytes())
	}
	f.Fuzz(func(t *testing.T, ti uint8, data []byte) {
		typ := Types[int(ti)%len(Types)]
		r := fastFor(typ)
		doc, derr := decodeDoc(typ, data)
		var full error
		if derr == nil {
			full = validateDoc(typ, doc)
			if r.docOK(typ, doc) && full != nil {
				t.Fatalf("%s %s: docOK accepts, validator: %v", typ.Short(), data, full)
			}
		}
		var got, want, strict any
		var ok bool
		var err error
		if typ == AvailabilityChanged {
			got, ok = r.parseAvailability(data)
			strict = new(Availability)
		} else {
			got, ok = r.parseMovement(typ, data)
			strict = new(Movement)
		}
		if !ok {
			return
		}
		if derr != nil || full != nil {
			t.Fatalf("%s %s: fast Parse accepts, decode %v, validator %v", typ.Short(), data, derr, full)
		}
		obj := doc.(map[string]any)
		if typ == AvailabilityChanged {
			want, err = availabilityFrom(obj)
		} else {
			want, err = movementFrom(obj)
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s %s: fast Parse read %+v, slow %+v, %v", typ.Short(), data, got, want, err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(strict); err != nil || !reflect.DeepEqual(got, strict) {
			t.Fatalf("%s %s: fast Parse read %+v, strict decoder %+v, %v", typ.Short(), data, got, strict, err)
		}
	})
}

// marshalMatches checks that marshal writes what json.Marshal writes.
func marshalMatches[T any](t *testing.T, v *T, marshal func(*T) ([]byte, error)) {
	t.Helper()
	got, err := marshal(v)
	want, werr := json.Marshal(v)
	if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
		t.Fatalf("marshal %+v:\n%s, %v\njson.Marshal:\n%s, %v", *v, got, err, want, werr)
	}
}

// TestFastPathTakesSamples checks that the sample events, which look like
// what connectors send, take the fast path both ways: built from typed
// data and parsed from JSON.
func TestFastPathTakesSamples(t *testing.T) {
	for _, sample := range goldenSamples(t) {
		raw := sample.raw
		var env struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatal(err)
		}
		typ, err := ParseType(env.Type)
		if err != nil {
			t.Fatal(err)
		}
		r := fastFor(typ)
		if typ == AvailabilityChanged {
			a, ok := r.parseAvailability(env.Data)
			if !ok || !r.availabilityOK(a) {
				t.Errorf("%s: fast path not taken", sample.path)
			}
			continue
		}
		m, ok := r.parseMovement(typ, env.Data)
		if !ok || !r.movementOK(typ, m) {
			t.Errorf("%s: fast path not taken", sample.path)
		}
	}
}
