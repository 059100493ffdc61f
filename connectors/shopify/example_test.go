package shopify_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/shopify"
)

func Example() {
	c, err := shopify.New(shopify.Config{
		ID:              "shopify-eu",
		Secrets:         []string{"current-secret", "previous-secret"},
		Shop:            "northpeak.myshopify.com",
		Locations:       map[string]string{"71562346781": "berlin-store"},
		DefaultLocation: "leipzig-dc",
	})
	if err != nil {
		panic(err)
	}
	body := []byte(`{"id":731462950184736219,"location_id":71562346781,"created_at":"2026-03-14T09:26:53+01:00",` +
		`"line_items":[{"id":271878346596884101,"sku":"SOCK-TRL-M-MOSS","quantity":2},{"id":271878346596884103,"sku":null,"quantity":1}]}`)
	h := http.Header{}
	h.Set(shopify.HeaderHMAC, shopify.Sign("previous-secret", body)) // still accepted during rotation
	h.Set(shopify.HeaderTopic, shopify.TopicOrdersCreate)
	h.Set(shopify.HeaderShopDomain, "northpeak.myshopify.com")
	h.Set(shopify.HeaderEventID, "5d3c1a7e-8f42-4b6a-9c1d-2e7f0a9b4c31")
	r := &connectors.Request{Header: h, Body: body, ReceivedAt: time.Now()}

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
		fmt.Println(e.Type.Short(), m.SKU, m.Location, m.Quantity, m.OrderID, m.OccurredAt.Format(time.RFC3339))
	}
	for _, d := range res.Unmapped {
		fmt.Println("dead letter:", d.Reason)
	}
	// Output:
	// shopify:northpeak.myshopify.com:orders/create:5d3c1a7e-8f42-4b6a-9c1d-2e7f0a9b4c31
	// order.committed SOCK-TRL-M-MOSS berlin-store 2 731462950184736219 2026-03-14T08:26:53Z
	// dead letter: line item 271878346596884103 has no sku
}
