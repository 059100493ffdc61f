package event_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/stockgate/stockgate/event"
)

func ExampleNewMovement() {
	ev, err := event.NewMovement(event.OrderCommitted, "", event.Movement{
		Connector:     "shopify-eu",
		SourceEventID: "5d3c1a7e-8f42-4b6a-9c1d-2e7f0a9b4c31/271878346596884101",
		OccurredAt:    time.Date(2026, 3, 14, 8, 26, 53, 0, time.UTC),
		SKU:           "SOCK-TRL-M-MOSS",
		Location:      "berlin-store",
		Quantity:      2,
		Reason:        "sale",
		OrderID:       "731462950184736219",
		CorrelationID: "shopify:order:731462950184736219",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(ev.ID(), ev.Type.Short(), ev.Envelope.Source(), ev.Envelope.Subject())

	// The schema is enforced when building: a commit of 0 units is refused.
	_, err = event.NewMovement(event.OrderCommitted, "", event.Movement{
		Connector: "shopify-eu", SourceEventID: "5d3c1a7e/2", OccurredAt: time.Now(),
		SKU: "SOCK-TRL-M-MOSS", Location: "berlin-store", Reason: "sale",
		OrderID: "731462950184736219", CorrelationID: "shopify:order:731462950184736219",
	})
	fmt.Println(errors.Is(err, event.ErrInvalid), err)
	// Output:
	// 40d71317-64a1-5089-88f1-cb3380589cd0 order.committed /stockgate/connectors/shopify-eu SOCK-TRL-M-MOSS@berlin-store
	// true event: invalid: order.committed: at '/quantity': minimum: got 0, want 1
}

func ExampleParse() {
	raw := []byte(`{"specversion":"1.0","id":"0b7f6a4e-2c1d-5e3f-9a8b-7c6d5e4f3a2b",` +
		`"source":"/stockgate/connectors/admin","type":"com.stockgate.stock.transferred.v1",` +
		`"datacontenttype":"application/json","time":"2026-03-18T07:30:00Z",` +
		`"data":{"connector":"admin","sourceEventId":"transfer-TR-2026-0042","occurredAt":"2026-03-18T07:30:00Z",` +
		`"sku":"SOCK-TRL-M-MOSS","location":"berlin-store","toLocation":"paris-store","quantity":12,` +
		`"reason":"rebalance","correlationId":"admin:ops-berlin:transfer-TR-2026-0042"}}`)
	ev, err := event.Parse(raw)
	if err != nil {
		panic(err)
	}
	m := ev.Movement
	fmt.Println(ev.Type.Short(), m.SKU, m.Location, "→", m.ToLocation, m.Quantity)

	// An unknown type is not dropped: the envelope comes back for the
	// dead-letter record.
	ev, err = event.Parse([]byte(`{"specversion":"1.0","id":"e-42","source":"/elsewhere",` +
		`"type":"com.stockgate.stock.teleported.v1","datacontenttype":"application/json","data":{}}`))
	fmt.Println(errors.Is(err, event.ErrUnknownType), ev.ID(), ev.Envelope.Source())
	// Output:
	// stock.transferred SOCK-TRL-M-MOSS berlin-store → paris-store 12
	// true e-42 /elsewhere
}
