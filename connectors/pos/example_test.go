package pos_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/pos"
)

func Example() {
	c, err := pos.New(pos.Config{
		ID:      "pos-stores",
		Secrets: []string{"current-secret", "previous-secret"},
		Stores:  map[string]string{"berlin": "berlin-store"},
		// Tolerance zero: 5 minutes.
	})
	if err != nil {
		panic(err)
	}
	body := []byte(`{"idempotencyKey":"berlin-3-000123","store":"berlin","register":"3","sentAt":"2026-11-20T10:00:00Z","movements":[` +
		`{"type":"sale","sku":"SHIRT-M","quantity":1,"at":"2026-11-20T09:59:58Z","ref":"receipt-981"},` +
		`{"type":"count","sku":"SHIRT-L","quantity":7},` +
		`{"type":"adjustment","sku":"MUG","quantity":-2,"reason":"damage"}]}`)
	sent := time.Date(2026, 11, 20, 10, 0, 1, 0, time.UTC)
	h := http.Header{}
	h.Set(pos.HeaderSignature, pos.Sign("current-secret", sent, body))
	fmt.Println(h.Get(pos.HeaderSignature)[:13])
	r := &connectors.Request{Header: h, Body: body, ReceivedAt: sent.Add(2 * time.Second)}

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
		fmt.Println(e.Type.Short(), m.SKU, m.Location, m.Quantity, m.Reason, m.OccurredAt.Format(time.RFC3339))
	}

	// The same request an hour later is a replay.
	r.ReceivedAt = sent.Add(time.Hour)
	fmt.Println(c.Verify(r) != nil)
	// Output:
	// t=1795168801,
	// pos:pos-stores:berlin-3-000123
	// stock.adjusted SHIRT-M berlin-store -1 sale 2026-11-20T09:59:58Z
	// stock.counted SHIRT-L berlin-store 7 count 2026-11-20T10:00:00Z
	// stock.adjusted MUG berlin-store -2 damage 2026-11-20T10:00:00Z
	// true
}
