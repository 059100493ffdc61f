package shopify

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/stockgate/stockgate/connectors"
)

// fuzzTopics are the topics the fuzzer picks from by index: every topic
// the connector reads, and one it ignores.
var fuzzTopics = append(slices.Clone(testTopics), "orders/paid")

// FuzzNormalize checks that Normalize and Learn never panic and fail only
// with ErrMalformed, that every event Normalize returns passed the schema,
// that a redelivery normalizes to the same event ids, and that Verify never
// accepts a body under a signature that is not the body's.
func FuzzNormalize(f *testing.F) {
	for _, name := range testdataFiles(f) {
		f.Add(uint8(slices.Index(fuzzTopics, fileTopic(f, name))), readTestdata(f, name), "")
	}
	f.Add(uint8(0), []byte(`{"id":1,"line_items":[{"id":2,"sku":"A","quantity":-1}]}`), vectorHMAC)
	f.Add(uint8(slices.Index(fuzzTopics, TopicOrdersUpdated)), []byte(`{"id":1,"cancelled_at":"2026-01-01T00:00:00Z",`+
		`"line_items":[{"id":2,"sku":"A","quantity":3,"fulfillment_status":"partial"}],`+
		`"fulfillments":[{"status":"success","line_items":[{"id":2,"quantity":5}]}],`+
		`"refunds":[{"refund_line_items":[{"line_item_id":2,"quantity":1,"restock_type":"cancel"}]}]}`), "")
	f.Add(uint8(slices.Index(fuzzTopics, TopicProductsUpdate)), []byte(`{"variants":[{"id":9007199254740993,"inventory_item_id":271878346596884015,"sku":"A"}]}`), "")
	f.Add(uint8(slices.Index(fuzzTopics, TopicInventoryLevelsDisconnect)), []byte(`{"inventory_item_id":1}`), "")
	mapper, echoes := &MemoryMapper{}, &MemoryEchoes{}
	echoes.Record(452938106573918264, 71562346781, 17, testReceived)
	c := newConnector(f, func(c *Config) { c.Mapper, c.Echoes = mapper, echoes })
	f.Fuzz(func(t *testing.T, topic uint8, body []byte, sig string) {
		r := newRequest(fuzzTopics[int(topic)%len(fuzzTopics)], body)
		valid := r.Header.Get(HeaderHMAC)

		// Any signature but the body's own is refused.
		r.Header.Set(HeaderHMAC, sig)
		err := c.Verify(r)
		if err == nil && sig != valid && sig != Sign(oldSecret, body) {
			t.Fatalf("Verify accepted signature %q for a body signed %q", sig, valid)
		}
		if err != nil && !errors.Is(err, connectors.ErrUnauthorized) {
			t.Fatalf("Verify error %v does not wrap ErrUnauthorized", err)
		}
		// The body's signature does not carry over to a changed body.
		r.Header.Set(HeaderHMAC, valid)
		if err := c.Verify(r); err != nil {
			t.Fatalf("Verify rejected the body's own signature: %v", err)
		}
		r.Body = append(append([]byte(nil), body...), ' ')
		if err := c.Verify(r); err == nil {
			t.Fatal("Verify accepted a changed body")
		}
		r.Body = body

		m, err := c.Learn(r)
		switch {
		case err != nil && !errors.Is(err, connectors.ErrMalformed):
			t.Fatalf("Learn error %v does not wrap ErrMalformed", err)
		case err == nil:
			for _, p := range m.Items {
				if p.ItemID <= 0 || p.SKU == "" {
					t.Fatalf("learned %+v", p)
				}
			}
			for _, p := range m.Variants {
				if p.ItemID <= 0 || p.VariantID <= 0 {
					t.Fatalf("learned %+v", p)
				}
			}
			mapper.Apply(m)
		}

		res, err := c.Normalize(context.Background(), r)
		if err != nil {
			if !errors.Is(err, connectors.ErrMalformed) {
				t.Fatalf("Normalize error %v does not wrap ErrMalformed", err)
			}
			return
		}
		again, err := c.Normalize(context.Background(), r)
		if err != nil || !slices.Equal(eventIDs(again.Events), eventIDs(res.Events)) || again.DedupKey != res.DedupKey {
			t.Fatalf("redelivery: %v, ids %v, first %v", err, eventIDs(again.Events), eventIDs(res.Events))
		}
		for _, e := range res.Events {
			if m := e.Movement; m == nil || m.Quantity < 0 || m.Quantity > maxQuantity || m.SKU == "" || m.Location == "" {
				t.Fatalf("event %+v", e.Movement)
			}
		}
		for _, d := range res.Unmapped {
			if d.Reason == "" || d.Connector != testID {
				t.Fatalf("dead letter %+v", d)
			}
		}
	})
}
