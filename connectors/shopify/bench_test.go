package shopify

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/goccy/go-json"

	"github.com/stockgate/stockgate/event"
)

// BenchmarkVerifyNormalizeOrder is the hot path of an orders/create
// delivery: verify the signature, then normalize. "testdata" is the
// project's POS order (3.5 KB, 2 events and 1 dead letter); "fixture" is
// Shopify's 27 KB documentation order (3 events), when present.
func BenchmarkVerifyNormalizeOrder(b *testing.B) {
	c := newConnector(b)
	run := func(b *testing.B, body []byte, events, unmapped int) {
		r := newRequest(TopicOrdersCreate, body)
		ctx := context.Background()
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if err := c.Verify(r); err != nil {
				b.Fatal(err)
			}
			res, err := c.Normalize(ctx, r)
			if err != nil || len(res.Events) != events || len(res.Unmapped) != unmapped {
				b.Fatalf("Normalize = %d events, %d unmapped, %v", len(res.Events), len(res.Unmapped), err)
			}
		}
	}
	b.Run("testdata", func(b *testing.B) { run(b, readTestdata(b, "orders_create.json"), 2, 1) })
	b.Run("fixture", func(b *testing.B) {
		body, err := os.ReadFile(filepath.Join(fixtureDir, "rest_order.json"))
		if err != nil {
			b.Skipf("shared fixtures not present: %v", err)
		}
		run(b, body, 3, 0)
	})
}

// The parts of the hot path, to see where the time goes.

func BenchmarkVerify(b *testing.B) {
	c := newConnector(b)
	r := newRequest(TopicOrdersCreate, readTestdata(b, "orders_create.json"))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeOrder(b *testing.B) {
	body := readTestdata(b, "orders_create.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var o order
		if err := json.Unmarshal(body, &o); err != nil || len(o.LineItems) != 3 {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewMovement is the cost of one canonical event in package event
// (CloudEvents envelope and JSON Schema validation), paid per line.
func BenchmarkNewMovement(b *testing.B) {
	m := event.Movement{Connector: testID, SourceEventID: testEventID + "/1", OccurredAt: testReceived,
		SKU: "SOCK-TRL-M-MOSS", Location: "berlin-store", Quantity: 2, Reason: "sale",
		OrderID: posOrder, CorrelationID: "shopify:order:" + posOrder}
	b.ReportAllocs()
	for b.Loop() {
		if e, err := event.NewMovement(event.OrderCommitted, "", m); err != nil || e.ID() == "" {
			b.Fatal(err)
		}
	}
}
