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

// signed returns a delivery of body under topic, signed with secret, as
// Shopify sends it.
func signed(secret, topic, eventID, triggeredAt string, body []byte) *connectors.Request {
	h := http.Header{}
	h.Set(shopify.HeaderHMAC, shopify.Sign(secret, body))
	h.Set(shopify.HeaderTopic, topic)
	h.Set(shopify.HeaderShopDomain, "northpeak.myshopify.com")
	h.Set(shopify.HeaderEventID, eventID)
	h.Set(shopify.HeaderTriggeredAt, triggeredAt)
	return &connectors.Request{Header: h, Body: body, ReceivedAt: time.Now()}
}

// Learn reads the variant ↔ inventory item ↔ SKU links of products/* and
// inventory_items/* deliveries; a MemoryMapper in Config.Mapper lets
// Normalize map inventory levels with them.
func ExampleConnector_Learn() {
	mapper := &shopify.MemoryMapper{}
	c, err := shopify.New(shopify.Config{
		ID:        "shopify-eu",
		Secrets:   []string{"current-secret"},
		Locations: map[string]string{"71562346781": "berlin-store"},
		Mapper:    mapper,
	})
	if err != nil {
		panic(err)
	}
	product := signed("current-secret", shopify.TopicProductsUpdate, "ev-1", "2026-03-14T08:00:00Z",
		[]byte(`{"id":9182736450918273,"variants":[{"id":48213377065293811,"inventory_item_id":452938106573918264,"sku":"SOCK-TRL-M-MOSS"}]}`))
	if err := c.Verify(product); err != nil {
		panic(err)
	}
	m, err := c.Learn(product)
	if err != nil {
		panic(err)
	}
	mapper.Apply(m) // the gateway also persists m
	fmt.Printf("%+v %+v\n", m.Items, m.Variants)

	level := signed("current-secret", shopify.TopicInventoryLevelsUpdate, "ev-2", "2026-03-14T08:26:59Z",
		[]byte(`{"inventory_item_id":452938106573918264,"location_id":71562346781,"available":17,"updated_at":"2026-03-14T09:26:54+01:00"}`))
	res, err := c.Normalize(context.Background(), level)
	if err != nil {
		panic(err)
	}
	for _, e := range res.Events {
		fmt.Println(e.Type.Short(), e.Movement.SKU, e.Movement.Location, e.Movement.State, e.Movement.Quantity)
	}
	// Output:
	// [{ItemID:452938106573918264 SKU:SOCK-TRL-M-MOSS}] [{VariantID:48213377065293811 ItemID:452938106573918264}]
	// stock.counted SOCK-TRL-M-MOSS berlin-store available 17
}

// An inventory_levels/update reporting what stockgate itself pushed is an
// echo: still an observation, with reason "echo_confirmation". A delivery
// older than one already seen for the level is stale: no events.
func ExampleMemoryEchoes() {
	echoes := &shopify.MemoryEchoes{}
	c, err := shopify.New(shopify.Config{
		ID:        "shopify-eu",
		Secrets:   []string{"current-secret"},
		Locations: map[string]string{"71562346781": "berlin-store"},
		Items:     map[string]string{"452938106573918264": "SOCK-TRL-M-MOSS"},
		Echoes:    echoes,
	})
	if err != nil {
		panic(err)
	}
	// The outbound side set available to 17.
	echoes.Record(452938106573918264, 71562346781, 17, time.Date(2026, 3, 14, 8, 26, 53, 0, time.UTC))

	body := []byte(`{"inventory_item_id":452938106573918264,"location_id":71562346781,"available":17,"updated_at":"2026-03-14T09:26:54+01:00"}`)
	for _, d := range []struct{ eventID, triggeredAt string }{
		{"ev-2", "2026-03-14T08:26:59Z"},
		{"ev-1", "2026-03-14T08:20:00Z"}, // triggered earlier, retried late
	} {
		res, err := c.Normalize(context.Background(), signed("current-secret", shopify.TopicInventoryLevelsUpdate, d.eventID, d.triggeredAt, body))
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %d events", res.Topic, len(res.Events))
		for _, e := range res.Events {
			fmt.Printf(", %s %s %d", e.Type.Short(), e.Movement.Reason, e.Movement.Quantity)
		}
		fmt.Println()
	}
	// Output:
	// inventory_levels/update: 1 events, stock.counted echo_confirmation 17
	// inventory_levels/update stale: 0 events
}

// Observe reports a time strictly older than the newest seen for its key;
// an equal time (a redelivery of the same event) is not stale.
func ExampleMemoryWatermarks() {
	w := shopify.NewMemoryWatermarks(0) // DefaultWatermarkKeys
	t0 := time.Date(2026, 3, 14, 8, 26, 59, 0, time.UTC)
	key := "shopify-eu/level/452938106573918264@71562346781"
	fmt.Println(w.Observe(key, t0), w.Observe(key, t0), w.Observe(key, t0.Add(-time.Second)), w.Observe(key, t0.Add(time.Second)))
	// Output: false false true false
}
