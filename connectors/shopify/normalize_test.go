package shopify

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
)

const (
	posOrder = "731462950184736219"
	webOrder = "731462950184736220"
)

func TestNormalizeTopics(t *testing.T) {
	t.Parallel()
	posCorr, webCorr := "shopify:order:"+posOrder, "shopify:order:"+webOrder
	src := func(line string) string { return testEventID + "/" + line }
	tests := []struct {
		name     string
		topic    string
		file     string // testdata file; or body
		body     string
		config   func(*Config)
		want     []line
		unmapped []string // dead letter reasons
	}{
		{
			name: "POS order commits each line at its location", topic: TopicOrdersCreate, file: "orders_create.json",
			want: []line{
				{event.OrderCommitted, "SOCK-TRL-M-MOSS", "berlin-store", 2, "", "sale", posOrder, posCorr, src("271878346596884101"), at("2026-03-14T08:26:53Z")},
				{event.OrderCommitted, "BNE-RDG-CHAR", "berlin-store", 1, "", "sale", posOrder, posCorr, src("271878346596884102"), at("2026-03-14T08:26:53Z")},
			},
			unmapped: []string{"line item 271878346596884103 has no sku"},
		},
		{
			name: "web order without location_id uses DefaultLocation", topic: TopicOrdersCreate, file: "orders_create_web.json",
			want: []line{
				{event.OrderCommitted, "BNE-RDG-CHAR", "leipzig-dc", 3, "", "sale", webOrder, webCorr, src("271878346596884201"), at("2026-03-14T14:02:11Z")},
			},
		},
		{
			name: "web order without DefaultLocation is a dead letter", topic: TopicOrdersCreate, file: "orders_create_web.json",
			config:   func(c *Config) { c.DefaultLocation = "" },
			unmapped: []string{`line item 271878346596884201 (sku "BNE-RDG-CHAR"): no location_id and no DefaultLocation is configured`},
		},
		{
			name: "order at an unmapped location is a dead letter per line, not the default", topic: TopicOrdersCreate,
			body: `{"id":42,"location_id":999,"created_at":"2026-01-02T03:04:05Z","line_items":[{"id":7,"sku":"A","quantity":1},{"id":8,"sku":"B","quantity":4}]}`,
			unmapped: []string{
				`line item 7 (sku "A"): Shopify location 999 is not in Locations`,
				`line item 8 (sku "B"): Shopify location 999 is not in Locations`,
			},
		},
		{
			name: "order time falls back to X-Shopify-Triggered-At; zero-quantity lines skipped", topic: TopicOrdersCreate,
			body: `{"id":42,"line_items":[{"id":7,"sku":"A","quantity":0},{"id":8,"sku":"B","quantity":4}]}`,
			want: []line{
				{event.OrderCommitted, "B", "leipzig-dc", 4, "", "sale", "42", "shopify:order:42", src("8"), at("2026-03-14T08:26:59.120442913Z")},
			},
		},
		{
			name: "cancel commits what nothing shipped of and releases what no cancel-restock refund released", topic: TopicOrdersCancelled, file: "orders_cancelled.json",
			want: []line{
				{event.OrderCommitted, "SOCK-TRL-M-MOSS", "berlin-store", 2, "", "sale", posOrder, posCorr, src("271878346596884101"), at("2026-03-14T08:26:53Z")},
				{event.OrderCommitted, "BNE-RDG-CHAR", "berlin-store", 1, "", "sale", posOrder, posCorr, src("271878346596884102"), at("2026-03-14T08:26:53Z")},
				{event.OrderCancelled, "SOCK-TRL-M-MOSS", "berlin-store", 1, "", "customer", posOrder, posCorr, src("271878346596884101"), at("2026-03-15T15:40:02Z")},
				{event.OrderCancelled, "BNE-RDG-CHAR", "berlin-store", 1, "", "customer", posOrder, posCorr, src("271878346596884102"), at("2026-03-15T15:40:02Z")},
			},
		},
		{
			name: "cancel without cancel_reason", topic: TopicOrdersCancelled,
			body: `{"id":42,"cancelled_at":"2026-01-02T03:04:05Z","cancel_reason":null,"location_id":null,"line_items":[{"id":7,"sku":"A","quantity":2}]}`,
			want: []line{
				// No created_at: the commit takes X-Shopify-Triggered-At.
				{event.OrderCommitted, "A", "leipzig-dc", 2, "", "sale", "42", "shopify:order:42", src("7"), at("2026-03-14T08:26:59.120442913Z")},
				{event.OrderCancelled, "A", "leipzig-dc", 2, "", "cancelled", "42", "shopify:order:42", src("7"), at("2026-01-02T03:04:05Z")},
			},
		},
		{
			name: "cancel releases what success fulfillments did not ship; shipped lines commit nothing", topic: TopicOrdersCancelled,
			body: `{"id":42,"created_at":"2026-01-01T00:00:00Z","cancelled_at":"2026-01-02T03:04:05Z","cancel_reason":"inventory","line_items":[
				{"id":7,"sku":"A","quantity":5,"fulfillment_status":"partial"},
				{"id":8,"sku":"B","quantity":2,"fulfillment_status":"fulfilled"},
				{"id":9,"sku":"C","quantity":1,"fulfillment_status":null}],
				"fulfillments":[
				{"id":1,"status":"success","line_items":[{"id":7,"quantity":2}]},
				{"id":2,"status":"cancelled","line_items":[{"id":7,"quantity":3}]}],
				"refunds":[{"id":3,"refund_line_items":[{"id":4,"line_item_id":7,"quantity":1,"restock_type":"cancel"}]}]}`,
			want: []line{
				{event.OrderCommitted, "C", "leipzig-dc", 1, "", "sale", "42", "shopify:order:42", src("9"), at("2026-01-01T00:00:00Z")},
				// 5 − 2 shipped − 1 refund-cancelled; line 8 shipped in full.
				{event.OrderCancelled, "A", "leipzig-dc", 2, "", "inventory", "42", "shopify:order:42", src("7"), at("2026-01-02T03:04:05Z")},
				{event.OrderCancelled, "C", "leipzig-dc", 1, "", "inventory", "42", "shopify:order:42", src("9"), at("2026-01-02T03:04:05Z")},
			},
		},
		{
			name: "a cancelled line without SKU is one dead letter, not one per event", topic: TopicOrdersCancelled,
			body: `{"id":42,"created_at":"2026-01-01T00:00:00Z","cancelled_at":"2026-01-02T03:04:05Z","cancel_reason":"other","location_id":999,
				"line_items":[{"id":7,"sku":null,"quantity":1},{"id":8,"sku":"B","quantity":1}]}`,
			unmapped: []string{"line item 7 has no sku", `line item 8 (sku "B"): Shopify location 999 is not in Locations`},
		},
		{
			name: "orders/updated before orders/create commits the same lines", topic: TopicOrdersUpdated, file: "orders_updated.json",
			want: []line{
				{event.OrderCommitted, "SOCK-TRL-M-MOSS", "berlin-store", 2, "", "sale", posOrder, posCorr, src("271878346596884101"), at("2026-03-14T08:26:53Z")},
				{event.OrderCommitted, "BNE-RDG-CHAR", "berlin-store", 1, "", "sale", posOrder, posCorr, src("271878346596884102"), at("2026-03-14T08:26:53Z")},
			},
			unmapped: []string{"line item 271878346596884103 has no sku"},
		},
		{
			name: "orders/updated with cancelled_at commits and releases as orders/cancelled", topic: TopicOrdersUpdated, file: "orders_updated_cancelled.json",
			want: []line{
				{event.OrderCommitted, "SOCK-TRL-M-MOSS", "berlin-store", 2, "", "sale", posOrder, posCorr, src("271878346596884101"), at("2026-03-14T08:26:53Z")},
				{event.OrderCommitted, "BNE-RDG-CHAR", "berlin-store", 1, "", "sale", posOrder, posCorr, src("271878346596884102"), at("2026-03-14T08:26:53Z")},
				{event.OrderCancelled, "SOCK-TRL-M-MOSS", "berlin-store", 1, "", "customer", posOrder, posCorr, src("271878346596884101"), at("2026-03-15T15:40:02Z")},
				{event.OrderCancelled, "BNE-RDG-CHAR", "berlin-store", 1, "", "customer", posOrder, posCorr, src("271878346596884102"), at("2026-03-15T15:40:02Z")},
			},
		},
		{
			name: "orders/updated after shipping commits only the unshipped line", topic: TopicOrdersUpdated, file: "orders_updated_shipped.json",
			want: []line{
				{event.OrderCommitted, "SOCK-TRL-M-MOSS", "leipzig-dc", 1, "", "sale", webOrder, webCorr, src("271878346596884202"), at("2026-03-14T14:02:11Z")},
			},
		},
		{
			name: "orders/create commits lines even when already shipped (POS)", topic: TopicOrdersCreate,
			body: `{"id":42,"created_at":"2026-01-02T03:04:05Z","line_items":[{"id":7,"sku":"A","quantity":1,"fulfillment_status":"fulfilled"}]}`,
			want: []line{
				{event.OrderCommitted, "A", "leipzig-dc", 1, "", "sale", "42", "shopify:order:42", src("7"), at("2026-01-02T03:04:05Z")},
			},
		},
		{
			name: "successful fulfillment ships at its location", topic: TopicFulfillmentsCreate, file: "fulfillments_create.json",
			want: []line{
				{event.OrderFulfilled, "BNE-RDG-CHAR", "leipzig-dc", 3, "", "fulfillment", webOrder, webCorr, src("271878346596884201"), at("2026-03-16T12:12:45Z")},
			},
		},
		{
			name: "fulfillment update ships as the create did", topic: TopicFulfillmentsUpdate, file: "fulfillments_update.json",
			want: []line{
				{event.OrderFulfilled, "BNE-RDG-CHAR", "leipzig-dc", 3, "", "fulfillment", webOrder, webCorr, src("271878346596884201"), at("2026-03-16T12:12:45Z")},
			},
		},
		{
			name: "cancelled fulfillment update moves nothing", topic: TopicFulfillmentsUpdate,
			body: `{"id":5,"order_id":42,"status":"cancelled","location_id":71562346782,"line_items":[{"id":7,"sku":"A","quantity":1}]}`,
		},
		{
			name: "open fulfillment moves nothing", topic: TopicFulfillmentsCreate,
			body: `{"id":5,"order_id":42,"status":"open","location_id":71562346782,"line_items":[{"id":7,"sku":"A","quantity":1}]}`,
		},
		{
			name: "pending fulfillment moves nothing", topic: TopicFulfillmentsCreate,
			body: `{"id":5,"order_id":42,"status":"pending","location_id":71562346782,"line_items":[{"id":7,"sku":"A","quantity":1}]}`,
		},
		{
			name: "fulfillment at an unmapped location", topic: TopicFulfillmentsCreate,
			body:     `{"id":5,"order_id":42,"status":"success","location_id":31337,"created_at":"2026-01-02T03:04:05Z","line_items":[{"id":7,"sku":"A","quantity":1}]}`,
			unmapped: []string{`line item 7 (sku "A"): Shopify location 31337 is not in Locations`},
		},
		{
			name: "fulfillment without location never takes the default", topic: TopicFulfillmentsCreate,
			body:     `{"id":5,"order_id":42,"status":"success","location_id":null,"created_at":"2026-01-02T03:04:05Z","line_items":[{"id":7,"sku":"A","quantity":1}]}`,
			unmapped: []string{`line item 7 (sku "A"): no location_id`},
		},
		{
			name: "refund: return restocks, cancel releases, no_restock nothing", topic: TopicRefundsCreate, file: "refunds_create.json",
			want: []line{
				{event.StockReturned, "BNE-RDG-CHAR", "leipzig-dc", 2, "", "return", webOrder, webCorr, src("887766554433301"), at("2026-03-20T17:05:09Z")},
				{event.OrderCancelled, "SOCK-TRL-M-MOSS", "leipzig-dc", 1, "", "refund_cancel", webOrder, webCorr, src("887766554433302"), at("2026-03-20T17:05:09Z")},
			},
		},
		{
			name: "refund: legacy_restock nothing, unknown restock_type and unlocated return dead letters", topic: TopicRefundsCreate,
			body: `{"id":9,"order_id":42,"created_at":"2026-01-02T03:04:05Z","refund_line_items":[
				{"id":1,"line_item_id":7,"quantity":1,"restock_type":"legacy_restock","location_id":71562346781,"line_item":{"id":7,"sku":"A"}},
				{"id":2,"line_item_id":7,"quantity":1,"restock_type":"teleport","location_id":71562346781,"line_item":{"id":7,"sku":"A"}},
				{"id":3,"line_item_id":7,"quantity":1,"restock_type":"return","location_id":null,"line_item":{"id":7,"sku":"A"}},
				{"id":4,"line_item_id":8,"quantity":1,"restock_type":"return","location_id":71562346781,"line_item":{"id":8,"sku":null}}]}`,
			unmapped: []string{
				`refund line item 2: unknown restock_type "teleport"`,
				`refund line item 3 (sku "A"): no location_id`,
				`refund line item 4 has no sku`,
			},
		},
		{
			name: "inventory level is an available observation", topic: TopicInventoryLevelsUpdate, file: "inventory_levels_update.json",
			want: []line{
				{event.StockCounted, "SOCK-TRL-M-MOSS", "berlin-store", 17, event.StateAvailable, "channel_report", "",
					"shopify:inventory_level:452938106573918264@71562346781", testEventID, at("2026-03-14T08:26:54Z")},
			},
		},
		{
			name: "connected level is an available observation", topic: TopicInventoryLevelsConnect, file: "inventory_levels_connect.json",
			want: []line{
				{event.StockCounted, "SOCK-TRL-M-MOSS", "leipzig-dc", 0, event.StateAvailable, "channel_report", "",
					"shopify:inventory_level:452938106573918264@71562346782", testEventID, at("2026-03-14T08:40:00Z")},
			},
		},
		{
			name: "disconnected level counts nothing", topic: TopicInventoryLevelsDisconnect, file: "inventory_levels_disconnect.json",
		},
		{
			name: "disconnect body without ids is ignored", topic: TopicInventoryLevelsDisconnect, body: `{}`,
		},
		{
			name: "untracked level (available null) counts nothing", topic: TopicInventoryLevelsUpdate, file: "inventory_levels_update_untracked.json",
		},
		{
			name: "unmapped inventory item", topic: TopicInventoryLevelsUpdate, file: "inventory_levels_update.json",
			config:   func(c *Config) { c.Items = nil },
			unmapped: []string{"inventory level of item 452938106573918264 at location 71562346781: Shopify inventory item 452938106573918264 is not in Items"},
		},
		{
			name: "unmapped item and location, negative available", topic: TopicInventoryLevelsUpdate,
			body: `{"inventory_item_id":5,"location_id":6,"available":-3,"updated_at":"2026-01-02T03:04:05Z"}`,
			unmapped: []string{"inventory level of item 5 at location 6: Shopify inventory item 5 is not in Items; " +
				"Shopify location 6 is not in Locations; available -3 is negative; stock.counted needs 0 or more"},
		},
		{
			name: "products/create is for Learn", topic: TopicProductsCreate, file: "products_create.json",
		},
		{
			name: "products/update is for Learn", topic: TopicProductsUpdate, file: "products_update.json",
		},
		{
			name: "inventory_items/create is for Learn", topic: TopicInventoryItemsCreate, file: "inventory_items_create.json",
		},
		{
			name: "inventory_items/update is for Learn", topic: TopicInventoryItemsUpdate, file: "inventory_items_update.json",
		},
		{
			name: "inventory_items/delete is for Learn", topic: TopicInventoryItemsDelete, file: "inventory_items_delete.json",
		},
		{
			name: "mapping topics are not parsed by Normalize", topic: TopicProductsUpdate, body: `not json`,
		},
		{
			name: "other topics are not parsed", topic: "orders/paid", body: `not json`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mods []func(*Config)
			if tt.config != nil {
				mods = append(mods, tt.config)
			}
			c := newConnector(t, mods...)
			body := []byte(tt.body)
			if tt.file != "" {
				body = readTestdata(t, tt.file)
			}
			r := newRequest(tt.topic, body)
			if err := c.Verify(r); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			res := normalize(t, c, r)
			if res.Topic != tt.topic {
				t.Errorf("Topic = %q, want %q", res.Topic, tt.topic)
			}
			if want := "shopify:" + testShop + ":2026-03-14T08:26:59.120442913Z:" + tt.topic + ":" + testEventID; res.DedupKey != want {
				t.Errorf("DedupKey = %q, want %q", res.DedupKey, want)
			}
			if got := lines(t, res.Events); !reflect.DeepEqual(got, nonNil(tt.want)) {
				t.Errorf("events:\n got %+v\nwant %+v", got, tt.want)
			}
			var reasons []string
			for _, d := range res.Unmapped {
				reasons = append(reasons, d.Reason)
				if d.Connector != testID || d.EventType != tt.topic || string(d.Body) != string(body) ||
					!strings.HasPrefix(d.EventID, testEventID) || !d.CreatedAt.Equal(testReceived) {
					t.Errorf("dead letter %+v: want connector, topic, raw body, source id and receive time", d)
				}
			}
			if !reflect.DeepEqual(reasons, tt.unmapped) {
				t.Errorf("unmapped:\n got %q\nwant %q", reasons, tt.unmapped)
			}
		})
	}
}

func nonNil(l []line) []line {
	if l == nil {
		return []line{}
	}
	return l
}

func TestNormalizeIsDeterministic(t *testing.T) {
	t.Parallel()
	c := newConnector(t)
	body := readTestdata(t, "orders_create.json")
	ids := func(r *connectors.Request) []string {
		var out []string
		for _, e := range normalize(t, c, r).Events {
			out = append(out, e.ID())
		}
		return out
	}
	first := ids(newRequest(TopicOrdersCreate, body))
	if len(first) != 2 || first[0] == first[1] {
		t.Fatalf("ids = %v, want two distinct", first)
	}
	// A redelivery: same event id, new webhook id, later receipt.
	again := newRequest(TopicOrdersCreate, body)
	again.Header.Set(HeaderWebhookID, "another-delivery")
	again.ReceivedAt = again.ReceivedAt.Add(4 * 3600e9)
	if got := ids(again); !reflect.DeepEqual(got, first) {
		t.Errorf("redelivery ids = %v, want %v", got, first)
	}
	// Another delivery of the same order (a second subscription, or
	// Shopify sending it again as a new event): the ids come from the
	// order and its lines, so the ledger still commits once.
	other := newRequest(TopicOrdersCreate, body)
	other.Header.Set(HeaderEventID, "another-event")
	if got := ids(other); !reflect.DeepEqual(got, first) {
		t.Errorf("another delivery of the order: ids %v, want %v", got, first)
	}
}

func TestDedupKeyTriggerTime(t *testing.T) {
	t.Parallel()
	body := readTestdata(t, "orders_create.json")
	const prefix = "shopify:" + testShop + ":"
	tests := []struct {
		name, triggered, want string
	}{
		{"nanoseconds", "2026-03-14T08:26:59.120442913Z", prefix + "2026-03-14T08:26:59.120442913Z:orders/create:ev-1"},
		{"fewer digits, fixed width", "2026-03-14T08:26:59.12Z", prefix + "2026-03-14T08:26:59.120000000Z:orders/create:ev-1"},
		{"no fraction", "2026-03-14T08:26:59Z", prefix + "2026-03-14T08:26:59.000000000Z:orders/create:ev-1"},
		{"offset, in UTC", "2026-03-14T10:26:59.5+02:00", prefix + "2026-03-14T08:26:59.500000000Z:orders/create:ev-1"},
		{"absent", "", prefix + "orders/create:ev-1"},
		// Orders do not read the header otherwise, so a bad one is no error.
		{"not a time", "yesterday", prefix + "orders/create:ev-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{HeaderTopic: {TopicOrdersCreate}, HeaderShopDomain: {testShop}, HeaderEventID: {"ev-1"}}
			if tt.triggered != "" {
				h.Set(HeaderTriggeredAt, tt.triggered)
			}
			res := normalize(t, newConnector(t), &connectors.Request{Header: h, Body: body, ReceivedAt: testReceived})
			if res.DedupKey != tt.want {
				t.Errorf("DedupKey = %q, want %q", res.DedupKey, tt.want)
			}
		})
	}
}

// TestDedupKeysSortByTriggerTime: deliveries with random event ids (as
// Shopify's are) get dedup keys in the order they were triggered, so the
// store's dedup index grows at its end.
func TestDedupKeysSortByTriggerTime(t *testing.T) {
	t.Parallel()
	c := newConnector(t)
	body := readTestdata(t, "orders_create.json")
	start := time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC)
	var keys []string
	for i := range 200 {
		r := newRequest(TopicOrdersCreate, body)
		// Step 1.37 ms: RFC 3339 values of every length, from "…:00Z" on.
		r.Header.Set(HeaderTriggeredAt, start.Add(time.Duration(i)*1370*time.Microsecond).Format(time.RFC3339Nano))
		r.Header.Set(HeaderEventID, uuid.NewString())
		keys = append(keys, normalize(t, c, r).DedupKey)
	}
	if !slices.IsSorted(keys) {
		for i := 1; i < len(keys); i++ {
			if keys[i] < keys[i-1] {
				t.Fatalf("key %d sorts before key %d:\n%s\n%s", i, i-1, keys[i], keys[i-1])
			}
		}
	}
}

func TestNormalizeHeaders(t *testing.T) {
	t.Parallel()
	body := readTestdata(t, "inventory_levels_update.json")
	tests := []struct {
		name   string
		header http.Header
		config func(*Config)
		dedup  string
	}{
		{
			name: "events family, raw lowercase keys",
			header: http.Header{
				EventsHeaderTopic: {TopicInventoryLevelsUpdate}, EventsHeaderShopDomain: {testShop},
				EventsHeaderEventID: {"ev-1"}, EventsHeaderWebhookID: {"wh-1"},
			},
			dedup: "shopify:" + testShop + ":inventory_levels/update:ev-1",
		},
		{
			name: "webhook id when there is no event id",
			header: http.Header{
				HeaderTopic: {TopicInventoryLevelsUpdate}, HeaderShopDomain: {"NorthPeak.myshopify.com"},
				HeaderWebhookID: {"wh-2"},
			},
			dedup: "shopify:northpeak.myshopify.com:inventory_levels/update:wh-2",
		},
		{
			name:   "configured shop when the header is missing",
			header: http.Header{HeaderTopic: {TopicInventoryLevelsUpdate}, HeaderEventID: {"ev-3"}},
			dedup:  "shopify:" + testShop + ":inventory_levels/update:ev-3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newConnector(t)
			res := normalize(t, c, &connectors.Request{Header: tt.header, Body: body, ReceivedAt: testReceived})
			if res.DedupKey != tt.dedup {
				t.Errorf("DedupKey = %q, want %q", res.DedupKey, tt.dedup)
			}
			if len(res.Events) != 1 {
				t.Errorf("events = %d, want 1", len(res.Events))
			}
		})
	}
}

func TestNormalizeBigIDsExact(t *testing.T) {
	t.Parallel()
	// 271878346596884015 and its float64 rounding 271878346596884000
	// (ref §3.3) map to different SKUs; only exact decoding picks the right one.
	c := newConnector(t, func(c *Config) {
		c.Items = map[string]string{"271878346596884015": "EXACT", "271878346596884000": "ROUNDED"}
		c.Locations = map[string]string{"9007199254740993": "beyond-2^53"}
	})
	body := []byte(`{"inventory_item_id":271878346596884015,"location_id":9007199254740993,"available":5,"updated_at":"2026-01-02T03:04:05Z"}`)
	got := lines(t, normalize(t, c, newRequest(TopicInventoryLevelsUpdate, body)).Events)
	if len(got) != 1 || got[0].SKU != "EXACT" || got[0].Location != "beyond-2^53" ||
		got[0].CorrelationID != "shopify:inventory_level:271878346596884015@9007199254740993" {
		t.Errorf("got %+v", got)
	}
	order := []byte(`{"id":9223372036854775807,"location_id":9007199254740993,"created_at":"2026-01-02T03:04:05Z","line_items":[{"id":9007199254740995,"sku":"A","quantity":1}]}`)
	got = lines(t, normalize(t, c, newRequest(TopicOrdersCreate, order)).Events)
	if len(got) != 1 || got[0].OrderID != "9223372036854775807" || got[0].SourceEventID != testEventID+"/9007199254740995" {
		t.Errorf("got %+v", got)
	}
}

func TestNormalizeMalformed(t *testing.T) {
	t.Parallel()
	order := func(lines string) string {
		return `{"id":42,"created_at":"2026-01-02T03:04:05Z","line_items":[` + lines + `]}`
	}
	tests := []struct {
		name  string
		topic string
		body  string
		edit  func(h http.Header)
		want  string
	}{
		{"missing topic", TopicOrdersCreate, order(""), func(h http.Header) { h.Del(HeaderTopic) }, "missing X-Shopify-Topic"},
		{"missing event ids", TopicOrdersCreate, order(""), func(h http.Header) { h.Del(HeaderEventID); h.Del(HeaderWebhookID) },
			"missing X-Shopify-Event-Id / X-Shopify-Webhook-Id"},
		{"event id too long", TopicOrdersCreate, order(""), func(h http.Header) { h.Set(HeaderEventID, strings.Repeat("e", 300)) }, "event id is 300 bytes"},
		{"truncated JSON", TopicOrdersCreate, `{"id":42,`, nil, "body is not JSON"},
		{"empty body", TopicInventoryLevelsUpdate, ``, nil, "body is not JSON"},
		{"array body", TopicRefundsCreate, `[]`, nil, "body is a JSON array, want an object"},
		{"string id", TopicOrdersCreate, `{"id":"42"}`, nil, "field id: got JSON string, want an integer"},
		{"id beyond int64", TopicOrdersCreate, `{"id":99999999999999999999}`, nil, "field id: got JSON number 99999999999999999999, want an integer"},
		{"missing order id", TopicOrdersCreate, `{"line_items":[]}`, nil, "field id is missing"},
		{"negative location", TopicOrdersCreate, `{"id":1,"location_id":-5}`, nil, "field location_id: -5 is not a Shopify id"},
		{"string quantity", TopicOrdersCreate, order(`{"id":1,"sku":"A","quantity":"2"}`), nil, "field line_items.quantity: got JSON string, want an integer"},
		{"fractional quantity", TopicOrdersCancelled, order(`{"id":1,"sku":"A","quantity":1.5}`), nil, "field line_items.quantity: got JSON number 1.5"},
		{"negative quantity", TopicOrdersCreate, order(`{"id":1,"sku":"A","quantity":2},{"id":2,"sku":"B","quantity":-1}`), nil,
			"field line_items[1].quantity: -1 is out of range 0..1000000000"},
		{"absurd quantity", TopicOrdersCreate, order(`{"id":1,"sku":"A","quantity":1000000001}`), nil, "field line_items[0].quantity: 1000000001 is out of range"},
		{"line without id", TopicOrdersCreate, order(`{"sku":"A","quantity":1}`), nil, "field line_items[0].id is missing"},
		{"line_items not an array", TopicOrdersCreate, `{"id":1,"line_items":{}}`, nil, "field line_items: got JSON object, want an array"},
		{"sku not a string", TopicOrdersCreate, order(`{"id":1,"sku":12,"quantity":1}`), nil, "field line_items.sku: got JSON number, want a string"},
		{"bad created_at", TopicOrdersCreate, `{"id":1,"created_at":"yesterday"}`, nil, `field created_at: "yesterday" is not an RFC 3339 time`},
		{"bad triggered-at", TopicOrdersCreate, `{"id":1}`, func(h http.Header) { h.Set(HeaderTriggeredAt, "soon") }, "header X-Shopify-Triggered-At"},
		{"cancel refund quantity", TopicOrdersCancelled, `{"id":1,"refunds":[{"refund_line_items":[{"id":3,"quantity":-2}]}]}`, nil,
			"field refunds[0].refund_line_items[0].quantity: -2 is out of range"},
		{"fulfillment without id", TopicFulfillmentsUpdate, `{"order_id":1,"status":"success"}`, nil, "field id is missing"},
		{"fulfillment line quantity", TopicFulfillmentsUpdate, `{"id":5,"order_id":1,"status":"open","line_items":[{"id":7,"quantity":-1}]}`, nil,
			"field line_items[0].quantity: -1 is out of range"},
		{"order fulfillment quantity", TopicOrdersUpdated, `{"id":1,"fulfillments":[{"line_items":[{"id":7,"quantity":-1}]}]}`, nil,
			"field fulfillments[0].line_items[0].quantity: -1 is out of range"},
		{"updated order without id", TopicOrdersUpdated, `{"line_items":[]}`, nil, "field id is missing"},
		{"bad cancelled_at", TopicOrdersUpdated, `{"id":1,"cancelled_at":"later"}`, nil, `field cancelled_at: "later" is not an RFC 3339 time`},
		{"bad triggered-at on a snapshot", TopicOrdersUpdated, `{"id":1,"created_at":"2026-01-02T03:04:05Z"}`,
			func(h http.Header) { h.Set(HeaderTriggeredAt, "soon") }, "header X-Shopify-Triggered-At"},
		{"connect without location", TopicInventoryLevelsConnect, `{"inventory_item_id":2,"available":1}`, nil, "field location_id is missing"},
		{"bad level updated_at", TopicInventoryLevelsUpdate, `{"inventory_item_id":1,"location_id":2,"available":1,"updated_at":"now"}`, nil,
			`field updated_at: "now" is not an RFC 3339 time`},
		{"disconnect not JSON", TopicInventoryLevelsDisconnect, `{`, nil, "body is not JSON"},
		{"fulfillment without order", TopicFulfillmentsCreate, `{"id":5,"status":"success"}`, nil, "field order_id is missing"},
		{"fulfillment status type", TopicFulfillmentsCreate, `{"id":5,"order_id":1,"status":1}`, nil, "field status: got JSON number, want a string"},
		{"refund without id", TopicRefundsCreate, `{"order_id":1,"refund_line_items":[]}`, nil, "field id is missing"},
		{"refund line quantity", TopicRefundsCreate, `{"id":9,"order_id":1,"refund_line_items":[{"id":3,"quantity":-2,"restock_type":"return"}]}`, nil,
			"field refund_line_items[0].quantity: -2 is out of range"},
		{"refund line location", TopicRefundsCreate, `{"id":9,"order_id":1,"refund_line_items":[{"id":3,"quantity":2,"location_id":-1}]}`, nil,
			"field refund_line_items[0].location_id: -1 is not a Shopify id"},
		{"refund line without id", TopicRefundsCreate, `{"id":9,"order_id":1,"refund_line_items":[{"quantity":2}]}`, nil,
			"field refund_line_items[0].id is missing"},
		{"available not a number", TopicInventoryLevelsUpdate, `{"inventory_item_id":1,"location_id":2,"available":"7"}`, nil,
			"field available: got JSON string, want an integer"},
		{"available absurd", TopicInventoryLevelsUpdate, `{"inventory_item_id":1,"location_id":2,"available":1000000001}`, nil,
			"field available: 1000000001 is more than 1000000000"},
		{"level without item", TopicInventoryLevelsUpdate, `{"location_id":2,"available":1}`, nil, "field inventory_item_id is missing"},
		{"level without location", TopicInventoryLevelsUpdate, `{"inventory_item_id":2,"available":1}`, nil, "field location_id is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newConnector(t)
			r := newRequest(tt.topic, []byte(tt.body))
			if tt.edit != nil {
				tt.edit(r.Header)
			}
			res, err := c.Normalize(context.Background(), r)
			if !errors.Is(err, connectors.ErrMalformed) {
				t.Fatalf("Normalize = %+v, %v; want ErrMalformed", res, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestNormalizeMissingShop(t *testing.T) {
	t.Parallel()
	c := newConnector(t, func(c *Config) { c.Shop = "" })
	r := newRequest(TopicOrdersCreate, []byte(`{}`))
	r.Header.Del(HeaderShopDomain)
	if _, err := c.Normalize(context.Background(), r); !errors.Is(err, connectors.ErrMalformed) ||
		!strings.Contains(err.Error(), "X-Shopify-Shop-Domain") {
		t.Errorf("err = %v", err)
	}
}

func TestNormalizeCancelledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := newConnector(t)
	if _, err := c.Normalize(ctx, newRequest(TopicOrdersCreate, []byte(`{}`))); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestNormalizeSchemaRejectIsDeadLetter(t *testing.T) {
	t.Parallel()
	// A SKU longer than the schema's 255 bytes cannot become an event.
	c := newConnector(t)
	body := []byte(`{"id":1,"created_at":"2026-01-02T03:04:05Z","line_items":[{"id":2,"sku":"` + strings.Repeat("S", 300) + `","quantity":1}]}`)
	res := normalize(t, c, newRequest(TopicOrdersCreate, body))
	if len(res.Events) != 0 || len(res.Unmapped) != 1 || !strings.Contains(res.Unmapped[0].Reason, "line item 2: cannot build order.committed") {
		t.Errorf("result %+v", res)
	}
}
