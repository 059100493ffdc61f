package square_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/square"
)

func Example() {
	const notificationURL = "https://stockgate.example.com/webhooks/square-berlin"
	c, err := square.New(square.Config{
		ID:              "square-berlin",
		SignatureKeys:   []string{"current-signature-key", "previous-signature-key"},
		NotificationURL: notificationURL, // exactly as registered with Square
		Locations:       map[string]string{"L8YQ2W4K7ZB3D": "berlin-store"},
		Items:           map[string]string{"VXKQ3J7T5M2PZ8RB6WCN4YHD": "SOCK-TRL-M-MOSS"},
	})
	if err != nil {
		panic(err)
	}
	body := []byte(`{"merchant_id":"MLN7Q2C5X9ZKB","type":"inventory.count.updated","event_id":"0b7f6c2e-5a41-4d8e-9f13-6e2a8c4d1b07",` +
		`"created_at":"2026-11-20T10:14:03Z","data":{"type":"inventory_counts","id":"5d1c9e0a","object":{"inventory_counts":[` +
		`{"catalog_object_id":"VXKQ3J7T5M2PZ8RB6WCN4YHD","catalog_object_type":"ITEM_VARIATION","state":"IN_STOCK","location_id":"L8YQ2W4K7ZB3D","quantity":"7","calculated_at":"2026-11-20T10:14:02.904Z"},` +
		`{"catalog_object_id":"VXKQ3J7T5M2PZ8RB6WCN4YHD","catalog_object_type":"ITEM_VARIATION","state":"SOLD","location_id":"L8YQ2W4K7ZB3D","quantity":"41","calculated_at":"2026-11-20T10:14:02.904Z"},` +
		`{"catalog_object_id":"C6RZ9W2YQ5M8TK3PXJ4HNB7D","catalog_object_type":"ITEM_VARIATION","state":"IN_STOCK","location_id":"L8YQ2W4K7ZB3D","quantity":"2.25","calculated_at":"2026-11-20T10:14:02.904Z"}]}}}`)
	h := http.Header{}
	h.Set(square.HeaderSignature, square.Sign("previous-signature-key", notificationURL, body)) // still accepted during rotation
	// Behind a proxy the gateway sees another URL; the configured one is signed.
	r := &connectors.Request{Header: h, Body: body, URL: "http://10.0.3.7:8080/webhooks/square-berlin", ReceivedAt: time.Now()}

	if err := c.Verify(r); err != nil {
		panic(err)
	}
	res, err := c.Normalize(context.Background(), r)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.DedupKey)
	for _, e := range res.Events {
		m := e.Movement
		fmt.Println(e.Type.Short(), m.State, m.SKU, m.Location, m.Quantity, m.OccurredAt.Format(time.RFC3339Nano))
	}
	for _, d := range res.Unmapped {
		fmt.Println("dead letter:", d.Reason)
	}
	// Output:
	// square:MLN7Q2C5X9ZKB:2026-11-20T10:14:03.000000000Z:0b7f6c2e-5a41-4d8e-9f13-6e2a8c4d1b07
	// stock.counted on_hand SOCK-TRL-M-MOSS berlin-store 7 2026-11-20T10:14:02.904Z
	// dead letter: count 2 (ITEM_VARIATION C6RZ9W2YQ5M8TK3PXJ4HNB7D at location L8YQ2W4K7ZB3D): Square catalog object C6RZ9W2YQ5M8TK3PXJ4HNB7D is not in Items; quantity "2.25" is not a whole number of units; stockgate counts whole units
}

// What dispatch/squarewriter wrote, Square reports back in
// inventory.count.updated: recorded in a MemoryEchoes, the report is a
// confirmation (state available, reason echo_confirmation) that the ledger
// never applies as on hand.
func ExampleMemoryEchoes() {
	echoes := &square.MemoryEchoes{}
	c, err := square.New(square.Config{
		ID:            "square-berlin",
		SignatureKeys: []string{"signature-key"},
		Locations:     map[string]string{"L8YQ2W4K7ZB3D": "berlin-store"},
		Items:         map[string]string{"VXKQ3J7T5M2PZ8RB6WCN4YHD": "SOCK-TRL-M-MOSS"},
		Echoes:        echoes,
	})
	if err != nil {
		panic(err)
	}
	echoes.Record("VXKQ3J7T5M2PZ8RB6WCN4YHD", "L8YQ2W4K7ZB3D", 12, time.Date(2026, 11, 20, 10, 14, 2, 0, time.UTC))
	for _, qty := range []string{"12", "11"} { // the echo, then a sale at the till
		body := []byte(`{"merchant_id":"MLN7Q2C5X9ZKB","type":"inventory.count.updated","event_id":"evt-` + qty + `",` +
			`"created_at":"2026-11-20T10:14:03Z","data":{"type":"inventory_counts","id":"d","object":{"inventory_counts":[` +
			`{"catalog_object_id":"VXKQ3J7T5M2PZ8RB6WCN4YHD","state":"IN_STOCK","location_id":"L8YQ2W4K7ZB3D","quantity":"` + qty + `","calculated_at":"2026-11-20T10:14:02.904Z"}]}}}`)
		res, err := c.Normalize(context.Background(), &connectors.Request{Body: body, ReceivedAt: time.Now()})
		if err != nil {
			panic(err)
		}
		m := res.Events[0].Movement
		fmt.Println(m.Quantity, m.State, m.Reason)
	}
	// Output:
	// 12 available echo_confirmation
	// 11 on_hand inventory_count
}
