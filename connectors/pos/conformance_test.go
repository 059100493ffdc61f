package pos

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/connectortest"
	"github.com/stockgate/stockgate/event"
)

// testdataWant is what each testdata file normalizes to under testConfig.
// Every file in testdata must be listed (TestConformance fails otherwise).
var testdataWant = map[string]struct {
	want     []connectortest.Want
	unmapped int
}{
	// The batch of the README; "berlin" is mapped to berlin-store.
	"mixed_batch.json": {want: []connectortest.Want{
		{Type: event.StockAdjusted, SKU: "SHIRT-M", Location: "berlin-store", Quantity: -1, OrderID: "receipt-981"},
		{Type: event.StockReturned, SKU: "MUG", Location: "berlin-store", Quantity: 1, OrderID: "receipt-977"},
		{Type: event.StockReceived, SKU: "MUG", Location: "berlin-store", Quantity: 24, OrderID: "delivery-5512"},
		{Type: event.StockCounted, SKU: "SHIRT-L", Location: "berlin-store", Quantity: 7, State: event.StateOnHand},
		{Type: event.StockAdjusted, SKU: "MUG", Location: "berlin-store", Quantity: -2},
	}},
	"till_sales.json": {want: []connectortest.Want{
		{Type: event.StockAdjusted, SKU: "SOCK-TRL-M-MOSS", Location: "hamburg-store", Quantity: -2},
		{Type: event.StockAdjusted, SKU: "BNE-RDG-CHAR", Location: "hamburg-store", Quantity: -1},
		{Type: event.StockReturned, SKU: "SOCK-TRL-M-MOSS", Location: "hamburg-store", Quantity: 1},
	}},
	"stock_take.json": {want: []connectortest.Want{
		{Type: event.StockCounted, SKU: "SHIRT-M", Location: "berlin-store", Quantity: 12, State: event.StateOnHand},
		{Type: event.StockCounted, SKU: "SHIRT-L", Location: "berlin-store", Quantity: 0, State: event.StateOnHand},
		{Type: event.StockAdjusted, SKU: "MUG", Location: "berlin-store", Quantity: 3},
	}},
	// "paris" is not in Stores: the whole batch is one dead letter.
	"unknown_store.json": {unmapped: 1},
	"empty_batch.json":   {},
}

// malformedBodies are signed bodies Normalize must refuse.
var malformedBodies = map[string]string{
	"not JSON":         `{"idempotencyKey":`,
	"no key":           `{"store":"berlin","sentAt":"2026-11-20T10:00:00Z","movements":[]}`,
	"unknown type":     `{"idempotencyKey":"k","store":"berlin","sentAt":"2026-11-20T10:00:00Z","movements":[{"type":"sold","sku":"A","quantity":1}]}`,
	"zero adjustment":  `{"idempotencyKey":"k","store":"berlin","sentAt":"2026-11-20T10:00:00Z","movements":[{"type":"adjustment","sku":"A","quantity":0,"reason":"x"}]}`,
	"unknown field":    `{"idempotencyKey":"k","store":"berlin","sentAt":"2026-11-20T10:00:00Z","movements":[{"type":"sale","sku":"A","qty":1}]}`,
	"string quantity":  `{"idempotencyKey":"k","store":"berlin","sentAt":"2026-11-20T10:00:00Z","movements":[{"type":"sale","sku":"A","quantity":"1"}]}`,
	"no movements":     `{"idempotencyKey":"k","store":"berlin","sentAt":"2026-11-20T10:00:00Z"}`,
	"quantity too big": `{"idempotencyKey":"k","store":"berlin","sentAt":"2026-11-20T10:00:00Z","movements":[{"type":"receipt","sku":"A","quantity":1000000001}]}`,
}

// TestConformance runs the shared inbound suite over every testdata file.
// Its tampered request is correctly signed, but six minutes before it was
// received: outside the default tolerance, a replay.
func TestConformance(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	h := connectortest.Harness{
		New: func(t *testing.T) connectors.Inbound { return newConnector(t) },
		Tamper: func(r *connectors.Request) *connectors.Request {
			r.Header.Set(HeaderSignature, Sign(testSecret, r.ReceivedAt.Add(-6*time.Minute), r.Body))
			return r
		},
		Malformed:        map[string]*connectors.Request{},
		SignatureHeaders: []string{HeaderSignature},
	}
	var names []string
	for _, f := range files {
		name := filepath.Base(f)
		names = append(names, name)
		w, ok := testdataWant[name]
		if !ok {
			t.Errorf("testdata/%s has no expectation in testdataWant", name)
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		h.Cases = append(h.Cases, connectortest.Case{Name: name, Request: newRequest(body), Want: w.want, Unmapped: w.unmapped})
	}
	for name := range testdataWant {
		if !slices.Contains(names, name) {
			t.Errorf("testdataWant lists %s, which is not in testdata", name)
		}
	}
	for name, body := range malformedBodies {
		h.Malformed[name] = newRequest([]byte(body))
	}
	// Two stock takes of one shelf, the later batch sent first.
	count := func(key, at string, n int) *connectors.Request {
		return newRequest([]byte(`{"idempotencyKey":"` + key + `","store":"berlin","sentAt":"` + at + `","movements":[{"type":"count","sku":"SHIRT-M","quantity":` + strconv.Itoa(n) + `,"at":"` + at + `"}]}`))
	}
	h.Stale = []connectortest.StalePair{{Name: "count", Newer: count("take-2", "2026-11-20T11:00:00Z", 7), Older: count("take-1", "2026-11-20T10:00:00Z", 9)}}
	connectortest.Run(t, h)
}
