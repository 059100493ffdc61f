package event_test

import (
	"testing"
	"time"

	"github.com/stockgate/stockgate/event"
)

// benchMovement is one line of a typical Shopify order webhook: the ingest
// path builds one to three of these per delivery.
var benchMovement = event.Movement{
	Connector:     "shopify-eu",
	SourceEventID: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043/1",
	OccurredAt:    time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC),
	SKU:           "SOCK-TRL-M-MOSS",
	Location:      "berlin-store",
	Quantity:      2,
	Reason:        "sale",
	OrderID:       "5678901234",
	CorrelationID: "shopify:order:5678901234",
}

func BenchmarkNewMovement(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		e, err := event.NewMovement(event.OrderCommitted, "", benchMovement)
		if err != nil || e.ID() == "" || e.Movement.Quantity != 2 {
			b.Fatal(e, err)
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	e, err := event.NewMovement(event.OrderCommitted, "", benchMovement)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		raw, err := e.Marshal()
		if err != nil || len(raw) < 100 {
			b.Fatal(string(raw), err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	e, err := event.NewMovement(event.OrderCommitted, "", benchMovement)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := e.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		p, err := event.Parse(raw)
		if err != nil || p.Type != event.OrderCommitted || p.Movement.SKU != benchMovement.SKU {
			b.Fatal(p, err)
		}
	}
}

func BenchmarkNewAvailability(b *testing.B) {
	a := event.Availability{
		SKU: benchMovement.SKU, Location: benchMovement.Location,
		OnHand: 41, Committed: 6, SafetyStock: 2, Available: 33, Seq: 1872,
		CauseEventID: "40d71317-64a1-5089-88f1-cb3380589cd0", CauseType: string(event.OrderCommitted),
		OccurredAt: benchMovement.OccurredAt, RecordedAt: benchMovement.OccurredAt.Add(time.Second),
		CorrelationID: benchMovement.CorrelationID,
	}
	b.ReportAllocs()
	for b.Loop() {
		e, err := event.NewAvailability(a)
		if err != nil || e.ID() == "" || e.Availability.Available != 33 {
			b.Fatal(e, err)
		}
	}
}
