package event

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sample is the typed input of one golden event in testdata/samples. Ids
// are derived (NewMovement with id ""), so the goldens also pin
// DeterministicID.
type sample struct {
	t Type
	m Movement     // for movement types
	a Availability // for AvailabilityChanged
}

func (s sample) build() (*Event, error) {
	if s.t == AvailabilityChanged {
		return NewAvailability(s.a)
	}
	return NewMovement(s.t, "", s.m)
}

// path is the golden file of s: testdata/samples/<short>.<version>.json.
func (s sample) path() string { return samplePath(s.t) }

func samplePath(t Type) string {
	return filepath.Join("testdata", "samples", t.Short()+"."+version(t)+".json")
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

const (
	shopifyOrder    = "731462950184736219"
	shopifyDelivery = "5d3c1a7e-8f42-4b6a-9c1d-2e7f0a9b4c31"
	shopifyLine     = "271878346596884101"
)

// samples returns one realistic event per type, in the order of Types.
func samples() []sample {
	committed := Movement{
		Connector:     "shopify-eu",
		SourceEventID: shopifyDelivery + "/" + shopifyLine,
		OccurredAt:    at("2026-03-14T08:26:53Z"),
		SKU:           "SOCK-TRL-M-MOSS",
		Location:      "berlin-store",
		Quantity:      2,
		Reason:        "sale",
		OrderID:       shopifyOrder,
		CorrelationID: "shopify:order:" + shopifyOrder,
	}
	committedID := DeterministicID(committed.Connector, committed.SourceEventID, string(OrderCommitted), committed.SKU, committed.Location)
	return []sample{
		{t: StockReceived, m: Movement{ // a supplier delivery booked in Square
			Connector:     "square-eu",
			SourceEventID: "a9e1f4c2-77b3-4d0e-8c55-3f2b19e0d6a4",
			OccurredAt:    at("2026-03-13T07:45:12Z"),
			SKU:           "SOCK-TRL-M-MOSS",
			Location:      "leipzig-dc",
			Quantity:      240,
			Reason:        "purchase_order",
			CorrelationID: "square:inventory_adjustment:HGJ3VGFBI6VPBMOD44YIKBXN",
		}},
		{t: OrderCommitted, m: committed}, // Shopify orders/create, one line
		{t: OrderCancelled, m: Movement{ // Shopify orders/cancelled of the same order
			Connector:     "shopify-eu",
			SourceEventID: "e0b6a3f1-2c4d-4e8f-9a1b-6c7d8e9f0a1b/" + shopifyLine,
			OccurredAt:    at("2026-03-14T10:02:11Z"),
			SKU:           "SOCK-TRL-M-MOSS",
			Location:      "berlin-store",
			Quantity:      2,
			Reason:        "customer",
			OrderID:       shopifyOrder,
			CorrelationID: "shopify:order:" + shopifyOrder,
		}},
		{t: OrderFulfilled, m: Movement{ // Shopify fulfillments/create
			Connector:     "shopify-eu",
			SourceEventID: "3f8e2d1c-0b9a-4f7e-8d6c-5b4a39281706/271878346596884205",
			OccurredAt:    at("2026-03-15T13:40:02Z"),
			SKU:           "BEANIE-MERINO-OS-RUST",
			Location:      "leipzig-dc",
			Quantity:      1,
			Reason:        "fulfillment",
			OrderID:       "731462950184736220",
			CorrelationID: "shopify:order:731462950184736220",
		}},
		{t: StockReturned, m: Movement{ // Shopify refunds/create with restock_type return
			Connector:     "shopify-eu",
			SourceEventID: "9c2b7a61-5d4e-4f3a-b2c1-0e9f8d7c6b5a/" + shopifyLine,
			OccurredAt:    at("2026-03-21T16:15:40+01:00"),
			SKU:           "SOCK-TRL-M-MOSS",
			Location:      "berlin-store",
			Quantity:      1,
			Reason:        "return",
			OrderID:       shopifyOrder,
			CorrelationID: "shopify:order:" + shopifyOrder,
		}},
		{t: StockAdjusted, m: Movement{ // an admin write-off: a negative delta
			Connector:     "admin",
			SourceEventID: "adj-2026-03-16-berlin-water-damage",
			OccurredAt:    at("2026-03-16T09:12:30.25Z"),
			SKU:           "SOCK-TRL-M-MOSS",
			Location:      "berlin-store",
			Quantity:      -3,
			Reason:        "damage",
			CorrelationID: "admin:ops-berlin:adj-2026-03-16-berlin-water-damage",
		}},
		{t: StockCounted, m: Movement{ // a Square physical count
			Connector:     "square-eu",
			SourceEventID: "c41d0e8b-6a5f-4b2c-9d3e-7f1a2b3c4d5e",
			OccurredAt:    at("2026-03-17T19:05:00Z"),
			SKU:           "SOCK-TRL-M-MOSS",
			Location:      "paris-store",
			Quantity:      57,
			State:         StateOnHand,
			Reason:        "physical_count",
			CorrelationID: "square:physical_count:XKQ4S2DWHIVCH3GO6NQYQ2AN",
		}},
		{t: StockTransferred, m: Movement{ // an admin transfer berlin → paris
			Connector:     "admin",
			SourceEventID: "transfer-TR-2026-0042",
			OccurredAt:    at("2026-03-18T07:30:00Z"),
			SKU:           "SOCK-TRL-M-MOSS",
			Location:      "berlin-store",
			ToLocation:    "paris-store",
			Quantity:      12,
			Reason:        "rebalance",
			CorrelationID: "admin:ops-berlin:transfer-TR-2026-0042",
		}},
		{t: AvailabilityChanged, a: Availability{ // the ledger after the commit
			SKU:           "SOCK-TRL-M-MOSS",
			Location:      "berlin-store",
			OnHand:        41,
			Committed:     6,
			SafetyStock:   2,
			Available:     33,
			Seq:           1872,
			CauseEventID:  committedID,
			CauseType:     string(OrderCommitted),
			OccurredAt:    committed.OccurredAt,
			RecordedAt:    at("2026-03-14T08:26:54.183Z"),
			CorrelationID: committed.CorrelationID,
		}},
	}
}

// indent renders an event's JSON as the golden files hold it.
func indent(tb testing.TB, raw []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		tb.Fatalf("indent %s: %v", raw, err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// jsonEqual reports whether two JSON documents are equal as values
// (numbers compared as written, object keys unordered).
func jsonEqual(tb testing.TB, a, b []byte) bool {
	tb.Helper()
	return reflect.DeepEqual(decodeAny(tb, a), decodeAny(tb, b))
}

func decodeAny(tb testing.TB, b []byte) any {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test ./event -update to write the golden files)", err)
	}
	return b
}

// TestSamplesBuild builds each sample from its typed data and compares it
// with its golden file: a change to the schemas, the envelope or the
// derived ids shows up as a diff in review. -update rewrites the goldens.
func TestSamplesBuild(t *testing.T) {
	ss := samples()
	if len(ss) != len(Types) {
		t.Fatalf("%d samples for %d types", len(ss), len(Types))
	}
	for i, s := range ss {
		if s.t != Types[i] {
			t.Fatalf("sample %d is %s, want %s (the order of Types)", i, s.t, Types[i])
		}
		t.Run(s.t.Short(), func(t *testing.T) {
			ev, err := s.build()
			if err != nil {
				t.Fatal(err)
			}
			// The builders skip the SDK's Validate (see envelope); check here
			// that nothing they set would fail it.
			if err := ev.Envelope.Validate(); err != nil {
				t.Errorf("Envelope.Validate: %v", err)
			}
			raw, err := ev.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got := indent(t, raw)
			if *update {
				if err := os.MkdirAll(filepath.Dir(s.path()), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(s.path(), got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := readFile(t, s.path())
			if !jsonEqual(t, got, want) {
				t.Errorf("built %s differs from %s (run with -update if the change is intended):\ngot:\n%s\nwant:\n%s", s.t, s.path(), got, want)
			}
		})
	}
}

// TestSamplesParse parses each golden file, checks its type and typed data
// against the sample, and that it marshals back to the same document.
func TestSamplesParse(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "samples", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(Types) {
		t.Errorf("%d sample files for %d types: %v", len(files), len(Types), files)
	}
	for _, s := range samples() {
		t.Run(s.t.Short(), func(t *testing.T) {
			t.Parallel()
			raw := readFile(t, s.path())
			ev, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != s.t {
				t.Errorf("Type = %s, want %s", ev.Type, s.t)
			}
			switch {
			case s.t == AvailabilityChanged && (ev.Availability == nil || ev.Movement != nil):
				t.Fatalf("Availability = %v, Movement = %v", ev.Availability, ev.Movement)
			case s.t == AvailabilityChanged:
				if !sameAvailability(*ev.Availability, s.a) {
					t.Errorf("Availability = %+v, want %+v", *ev.Availability, s.a)
				}
			case ev.Movement == nil || ev.Availability != nil:
				t.Fatalf("Movement = %v, Availability = %v", ev.Movement, ev.Availability)
			default:
				if !sameMovement(*ev.Movement, s.m) {
					t.Errorf("Movement = %+v, want %+v", *ev.Movement, s.m)
				}
			}
			if got, _ := ev.Envelope.Extensions()["partitionkey"].(string); got != "SOCK-TRL-M-MOSS" && got != "BEANIE-MERINO-OS-RUST" {
				t.Errorf("partitionkey = %q", got)
			}
			again, err := ev.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, again, raw) {
				t.Errorf("re-marshalled:\n%s\nwant:\n%s", again, raw)
			}
		})
	}
}

// sameMovement compares movements with times compared as instants and as
// written (the offset is part of the data).
func sameMovement(a, b Movement) bool {
	if !a.OccurredAt.Equal(b.OccurredAt) || a.OccurredAt.Format(time.RFC3339Nano) != b.OccurredAt.Format(time.RFC3339Nano) {
		return false
	}
	a.OccurredAt, b.OccurredAt = time.Time{}, time.Time{}
	return a == b
}

func sameAvailability(a, b Availability) bool {
	for _, p := range [][2]*time.Time{{&a.OccurredAt, &b.OccurredAt}, {&a.RecordedAt, &b.RecordedAt}} {
		if !p[0].Equal(*p[1]) || p[0].Format(time.RFC3339Nano) != p[1].Format(time.RFC3339Nano) {
			return false
		}
		*p[0], *p[1] = time.Time{}, time.Time{}
	}
	return a == b
}

// TestSamplesEnvelope pins what the envelope carries beyond the data.
func TestSamplesEnvelope(t *testing.T) {
	t.Parallel()
	for _, s := range samples() {
		ev, err := s.build()
		if err != nil {
			t.Fatal(err)
		}
		env := ev.Envelope
		sku, loc, src, tm := s.m.SKU, s.m.Location, Source(s.m.Connector), s.m.OccurredAt
		if s.t == AvailabilityChanged {
			sku, loc, src, tm = s.a.SKU, s.a.Location, ledgerSource, s.a.RecordedAt
		}
		if env.SpecVersion() != ce.CloudEventsVersionV1 || env.Type() != string(s.t) || env.Source() != src ||
			env.Subject() != sku+"@"+loc || !env.Time().Equal(tm) || env.DataContentType() != ce.ApplicationJSON {
			t.Errorf("%s: envelope %s", s.t.Short(), env)
		}
	}
}
