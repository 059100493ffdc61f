package shopify

import (
	"slices"
	"testing"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/connectortest"
	"github.com/stockgate/stockgate/event"
)

// testdataWant is what each testdata file normalizes to under testConfig,
// as the topic its name gives (fileTopic). Every file in testdata must be
// listed, and every topic must have a file (TestConformance fails
// otherwise).
var testdataWant = map[string]struct {
	want     []connectortest.Want
	unmapped int
}{
	// POS order: two lines commit at its location; the gift card has no SKU.
	"orders_create.json": {want: []connectortest.Want{
		{Type: event.OrderCommitted, SKU: "SOCK-TRL-M-MOSS", Location: "berlin-store", Quantity: 2, OrderID: posOrder},
		{Type: event.OrderCommitted, SKU: "BNE-RDG-CHAR", Location: "berlin-store", Quantity: 1, OrderID: posOrder},
	}, unmapped: 1},
	// Web order without location_id: DefaultLocation.
	"orders_create_web.json": {want: []connectortest.Want{
		{Type: event.OrderCommitted, SKU: "BNE-RDG-CHAR", Location: "leipzig-dc", Quantity: 3, OrderID: webOrder},
	}},
	// The same POS order, updated (tags, note): the same commits.
	"orders_updated.json": {want: []connectortest.Want{
		{Type: event.OrderCommitted, SKU: "SOCK-TRL-M-MOSS", Location: "berlin-store", Quantity: 2, OrderID: posOrder},
		{Type: event.OrderCommitted, SKU: "BNE-RDG-CHAR", Location: "berlin-store", Quantity: 1, OrderID: posOrder},
	}, unmapped: 1},
	// Cancelled with one sock restocked by a "cancel" refund already.
	"orders_cancelled.json":         {want: cancelledPOSOrder},
	"orders_updated_cancelled.json": {want: cancelledPOSOrder},
	// The web order after its beanies shipped: only the socks still commit.
	"orders_updated_shipped.json": {want: []connectortest.Want{
		{Type: event.OrderCommitted, SKU: "SOCK-TRL-M-MOSS", Location: "leipzig-dc", Quantity: 1, OrderID: webOrder},
	}},
	"fulfillments_create.json": {want: []connectortest.Want{
		{Type: event.OrderFulfilled, SKU: "BNE-RDG-CHAR", Location: "leipzig-dc", Quantity: 3, OrderID: webOrder},
	}},
	"fulfillments_update.json": {want: []connectortest.Want{
		{Type: event.OrderFulfilled, SKU: "BNE-RDG-CHAR", Location: "leipzig-dc", Quantity: 3, OrderID: webOrder},
	}},
	// return → returned, cancel → released at DefaultLocation, no_restock → nothing.
	"refunds_create.json": {want: []connectortest.Want{
		{Type: event.StockReturned, SKU: "BNE-RDG-CHAR", Location: "leipzig-dc", Quantity: 2},
		{Type: event.OrderCancelled, SKU: "SOCK-TRL-M-MOSS", Location: "leipzig-dc", Quantity: 1, OrderID: webOrder},
	}},
	"inventory_levels_update.json": {want: []connectortest.Want{
		{Type: event.StockCounted, SKU: "SOCK-TRL-M-MOSS", Location: "berlin-store", Quantity: 17, State: event.StateAvailable},
	}},
	"inventory_levels_update_untracked.json": {},
	"inventory_levels_connect.json": {want: []connectortest.Want{
		{Type: event.StockCounted, SKU: "SOCK-TRL-M-MOSS", Location: "leipzig-dc", Quantity: 0, State: event.StateAvailable},
	}},
	"inventory_levels_disconnect.json": {},
	// Mapping topics: read by Learn, no events.
	"inventory_items_create.json": {},
	"inventory_items_update.json": {},
	"inventory_items_delete.json": {},
	"products_create.json":        {},
	"products_update.json":        {},
}

var cancelledPOSOrder = []connectortest.Want{
	{Type: event.OrderCommitted, SKU: "SOCK-TRL-M-MOSS", Location: "berlin-store", Quantity: 2, OrderID: posOrder},
	{Type: event.OrderCommitted, SKU: "BNE-RDG-CHAR", Location: "berlin-store", Quantity: 1, OrderID: posOrder},
	{Type: event.OrderCancelled, SKU: "SOCK-TRL-M-MOSS", Location: "berlin-store", Quantity: 1, OrderID: posOrder},
	{Type: event.OrderCancelled, SKU: "BNE-RDG-CHAR", Location: "berlin-store", Quantity: 1, OrderID: posOrder},
}

// malformedBodies are signed bodies Normalize must refuse, by topic.
var malformedBodies = map[string]struct{ topic, body string }{
	"order not JSON":            {TopicOrdersCreate, `{"id":`},
	"updated order without id":  {TopicOrdersUpdated, `{"line_items":[]}`},
	"cancelled order id string": {TopicOrdersCancelled, `{"id":"42"}`},
	"fulfillment without id":    {TopicFulfillmentsCreate, `{"order_id":1,"status":"success"}`},
	"fulfillment update array":  {TopicFulfillmentsUpdate, `[]`},
	"refund line quantity":      {TopicRefundsCreate, `{"id":9,"order_id":1,"refund_line_items":[{"id":3,"quantity":-2}]}`},
	"level available string":    {TopicInventoryLevelsUpdate, `{"inventory_item_id":1,"location_id":2,"available":"7"}`},
	"connect without item":      {TopicInventoryLevelsConnect, `{"location_id":2,"available":1}`},
	"disconnect not JSON":       {TopicInventoryLevelsDisconnect, `nope`},
}

// TestConformance runs the shared inbound suite over every testdata file,
// once with X-Shopify-* headers and once with the lowercase shopify-*
// family (ref §2.1).
func TestConformance(t *testing.T) {
	t.Parallel()
	files := testdataFiles(t)
	covered := map[string]bool{}
	for _, name := range files {
		covered[fileTopic(t, name)] = true
		if _, ok := testdataWant[name]; !ok {
			t.Errorf("testdata %s has no entry in testdataWant", name)
		}
	}
	for name := range testdataWant {
		if !slices.Contains(files, name) {
			t.Errorf("testdataWant lists %s, which is not in testdata", name)
		}
	}
	for _, topic := range testTopics {
		if !covered[topic] {
			t.Errorf("no testdata file for topic %s", topic)
		}
	}
	families := []struct {
		name      string
		request   func(topic string, body []byte) *connectors.Request
		signature []string
	}{
		{"X-Shopify", newRequest, []string{HeaderHMAC}},
		{"shopify-", func(topic string, body []byte) *connectors.Request { return eventsRequest(topic, body, false) },
			[]string{EventsHeaderHMAC}},
	}
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			h := connectortest.Harness{
				New:              func(t *testing.T) connectors.Inbound { return newConnector(t) },
				Malformed:        map[string]*connectors.Request{},
				SignatureHeaders: f.signature,
				// Shop is configured: a delivery claiming another shop is
				// refused even with a valid signature.
				Tamper: func(r *connectors.Request) *connectors.Request {
					r.Header.Del(HeaderShopDomain)
					r.Header.Del(EventsHeaderShopDomain)
					r.Header.Set(HeaderShopDomain, "evil.myshopify.com")
					return r
				},
			}
			for _, name := range files {
				w := testdataWant[name]
				h.Cases = append(h.Cases, connectortest.Case{
					Name:     name,
					Request:  f.request(fileTopic(t, name), readTestdata(t, name)),
					Want:     w.want,
					Unmapped: w.unmapped,
				})
			}
			for name, m := range malformedBodies {
				h.Malformed[name] = f.request(m.topic, []byte(m.body))
			}
			missingTopic := f.request(TopicOrdersCreate, readTestdata(t, "orders_create.json"))
			missingTopic.Header.Del(HeaderTopic)
			missingTopic.Header.Del(EventsHeaderTopic)
			h.Malformed["no topic header"] = missingTopic
			connectortest.Run(t, h)
		})
	}
}
