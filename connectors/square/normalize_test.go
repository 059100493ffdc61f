package square

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
)

// countBody is an inventory.count.updated event with the given counts.
func countBody(counts string) string {
	return `{"merchant_id":"` + testMerchant + `","type":"inventory.count.updated","event_id":"ev-1",` +
		`"created_at":"2026-11-20T10:00:00.5Z","data":{"type":"inventory_counts","id":"d","object":{"inventory_counts":[` + counts + `]}}}`
}

func TestNormalizeTypes(t *testing.T) {
	t.Parallel()
	const (
		saleEvent  = "0b7f6c2e-5a41-4d8e-9f13-6e2a8c4d1b07"
		mixedEvent = "9e4d2a71-3c8b-4f05-b6e9-1a7c5d3f8e20"
		mixedAt    = "2026-11-20T11:02:44.5Z"
	)
	corr := func(item, loc string) string { return "square:inventory_count:" + item + "@" + loc }
	tests := []struct {
		name     string
		file     string // testdata file; or body
		body     string
		config   func(*Config)
		topic    string
		dedup    string
		want     []line
		unmapped []string
		ignored  string // a part of Result.Ignored; empty: not ignored
	}{
		{
			name: "POS sale: IN_STOCK is counted on hand, SOLD is not", file: "inventory_count_updated_sale.json",
			topic: TypeInventoryCountUpdated, dedup: "square:" + testMerchant + ":2026-11-20T10:14:03.512884213Z:" + saleEvent,
			want: []line{{event.StockCounted, "SOCK-TRL-M-MOSS", "berlin-store", 7, event.StateOnHand, "inventory_count",
				corr(sockVariation, berlinLocation), saleEvent + "/0", at("2026-11-20T10:14:02.90412Z")}},
		},
		{
			name: "mixed counts", file: "inventory_count_updated_mixed.json",
			topic: TypeInventoryCountUpdated, dedup: "square:" + testMerchant + ":2026-11-20T11:02:45.118201442Z:" + mixedEvent,
			want: []line{
				{event.StockCounted, "BNE-RDG-CHAR", "leipzig-dc", 12, event.StateOnHand, "inventory_count",
					corr(beanieVariation, leipzigLocation), mixedEvent + "/0", at(mixedAt)},
				{event.StockCounted, "GIFT-BOX-TRIO", "berlin-store", 5, event.StateAvailable, "channel_report",
					corr(giftVariation, berlinLocation), mixedEvent + "/5", at(mixedAt)},
				{event.StockCounted, "BNE-RDG-CHAR", "berlin-store", 0, event.StateOnHand, "inventory_count",
					corr(beanieVariation, berlinLocation), mixedEvent + "/7", at(mixedAt)},
			},
			unmapped: []string{
				`count 2 (ITEM_VARIATION C6RZ9W2YQ5M8TK3PXJ4HNB7D at location L8YQ2W4K7ZB3D): quantity "2.25" is not a whole number of units; stockgate counts whole units`,
				`count 3 (ITEM_VARIATION VXKQ3J7T5M2PZ8RB6WCN4YHD at location LQQQ9Z9Z9Z9Z9): Square location LQQQ9Z9Z9Z9Z9 is not in Locations`,
				`count 4 (ITEM_VARIATION VXKQ3J7T5M2PZ8RB6WCN4YHD at location L5NP0T6R2HX9M): quantity -1 is negative; stock.counted needs 0 or more`,
			},
		},
		{
			name: "unmapped item and location, absurd quantity, unknown state", topic: TypeInventoryCountUpdated, dedup: "square:" + testMerchant + ":2026-11-20T10:00:00.500000000Z:ev-1",
			body: countBody(`{"catalog_object_id":"NOPE","catalog_object_type":"ITEM","location_id":"NOWHERE","state":"IN_STOCK","quantity":"1000000001"},` +
				`{"catalog_object_id":"` + sockVariation + `","location_id":"` + berlinLocation + `","state":"SUPPORTED_BY_NEWER_VERSION","quantity":"3"}`),
			unmapped: []string{
				`count 0 (ITEM NOPE at location NOWHERE): Square catalog object NOPE is not in Items; Square location NOWHERE is not in Locations; ` +
					`quantity "1000000001" is beyond ±1000000000; stockgate counts whole units`,
				`count 1 (catalog object ` + sockVariation + ` at location ` + berlinLocation + `): unknown state "SUPPORTED_BY_NEWER_VERSION"; only IN_STOCK is stock on hand`,
			},
		},
		{
			name: "no calculated_at: the envelope's created_at", topic: TypeInventoryCountUpdated, dedup: "square:" + testMerchant + ":2026-11-20T10:00:00.500000000Z:ev-1",
			body: countBody(`{"catalog_object_id":"` + sockVariation + `","location_id":"` + berlinLocation + `","state":"IN_STOCK","quantity":"4"}`),
			want: []line{{event.StockCounted, "SOCK-TRL-M-MOSS", "berlin-store", 4, event.StateOnHand, "inventory_count",
				corr(sockVariation, berlinLocation), "ev-1/0", at("2026-11-20T10:00:00.5Z")}},
		},
		{
			name: "no time at all: received", topic: TypeInventoryCountUpdated, dedup: "square:M:e",
			body: `{"merchant_id":"M","type":"inventory.count.updated","event_id":"e","data":{"object":{"inventory_counts":[` +
				`{"catalog_object_id":"` + sockVariation + `","location_id":"` + berlinLocation + `","state":"IN_STOCK","quantity":"4"}]}}}`,
			want: []line{{event.StockCounted, "SOCK-TRL-M-MOSS", "berlin-store", 4, event.StateOnHand, "inventory_count",
				corr(sockVariation, berlinLocation), "e/0", testReceived}},
		},
		{
			name: "empty counts", topic: TypeInventoryCountUpdated, dedup: "square:" + testMerchant + ":2026-11-20T10:00:00.500000000Z:ev-1", body: countBody(``),
		},
		{
			name: "order.created is a dead letter to fetch", file: "order_created.json", topic: TypeOrderCreated,
			dedup: "square:" + testMerchant + ":2026-11-20T10:13:58.204000000Z:6a2f8d14-9b70-4c3e-8e52-d1f7a3b9c046",
			unmapped: []string{"order Qm8Xz3Rt6YpL2wKv9NcB4hFgJ7s: line items not in the webhook; fetch from the Orders API " +
				"(state OPEN, version 1, location L8YQ2W4K7ZB3D)"},
		},
		{
			name: "order.updated is a dead letter to fetch", file: "order_updated_completed.json", topic: TypeOrderUpdated,
			dedup: "square:" + testMerchant + ":2026-11-20T10:14:02.877000000Z:d81e5b3a-27c9-4f6d-a0b4-5c3e9f1a7d28",
			unmapped: []string{"order Qm8Xz3Rt6YpL2wKv9NcB4hFgJ7s: line items not in the webhook; fetch from the Orders API " +
				"(state COMPLETED, version 4, location L8YQ2W4K7ZB3D)"},
		},
		{
			name: "draft order moves nothing", file: "order_updated_draft.json", topic: TypeOrderUpdated,
			dedup: "square:" + testMerchant + ":2026-11-20T09:40:11.031000000Z:27c4e9a0-6f1b-4d83-b5e2-9a8d3c7f0e14",
		},
		{
			name: "catalog change: no events, ignored with what to do", file: "catalog_version_updated.json", topic: TypeCatalogVersionUpdated,
			dedup:   "square:" + testMerchant + ":2026-11-20T08:00:12.661073118Z:f3b9a6d2-8e15-4c70-9d4a-2b6e1f8c5a39",
			ignored: "map(kind: SKU)",
		},
		{
			name: "other types: object not parsed, ignored", topic: "customer.created", dedup: "square:M:e",
			body:    `{"merchant_id":"M","type":"customer.created","event_id":"e","data":{"object":{"inventory_counts":"not an array"}}}`,
			ignored: `square event type "customer.created"`,
		},
		{
			name: "a mapping the event schema rejects is a dead letter", topic: TypeInventoryCountUpdated, dedup: "square:M:e",
			config: func(c *Config) { c.Items[strings.Repeat("V", 300)] = "LONG-ID" },
			body: `{"merchant_id":"M","type":"inventory.count.updated","event_id":"e","data":{"object":{"inventory_counts":[` +
				`{"catalog_object_id":"` + strings.Repeat("V", 300) + `","location_id":"` + berlinLocation + `","state":"IN_STOCK","quantity":"4"}]}}}`,
			unmapped: []string{"count 0 (catalog object " + strings.Repeat("V", 300) + " at location " + berlinLocation + "): cannot build stock.counted"},
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
			r := newRequest(body)
			if err := c.Verify(r); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			res := normalize(t, c, r)
			if res.Topic != tt.topic || res.DedupKey != tt.dedup {
				t.Errorf("Topic, DedupKey = %q, %q; want %q, %q", res.Topic, res.DedupKey, tt.topic, tt.dedup)
			}
			if (tt.ignored == "") != (res.Ignored == "") || !strings.Contains(res.Ignored, tt.ignored) {
				t.Errorf("Ignored = %q, want %q", res.Ignored, tt.ignored)
			}
			if got := lines(t, res.Events); !reflect.DeepEqual(got, nonNil(tt.want)) {
				t.Errorf("events:\n got %+v\nwant %+v", got, tt.want)
			}
			if len(res.Unmapped) != len(tt.unmapped) {
				t.Fatalf("dead letters %+v, want %q", res.Unmapped, tt.unmapped)
			}
			for i, d := range res.Unmapped {
				if !strings.HasPrefix(d.Reason, tt.unmapped[i]) {
					t.Errorf("dead letter %d reason\n got %q\nwant %q", i, d.Reason, tt.unmapped[i])
				}
				if d.Connector != testID || d.EventType != tt.topic || string(d.Body) != string(body) ||
					d.EventID == "" || !d.CreatedAt.Equal(testReceived) {
					t.Errorf("dead letter %+v: want connector, type, raw body, source id and receive time", d)
				}
			}
		})
	}
}

func TestNormalizeIsDeterministic(t *testing.T) {
	t.Parallel()
	c := newConnector(t)
	body := readTestdata(t, "inventory_count_updated_mixed.json")
	ids := func(body []byte) []string {
		var out []string
		for _, e := range normalize(t, c, newRequest(body)).Events {
			out = append(out, e.ID())
		}
		return out
	}
	first := ids(body)
	if len(first) != 3 || first[0] == first[1] || first[1] == first[2] || first[0] == first[2] {
		t.Fatalf("ids = %v, want three distinct", first)
	}
	if got := ids(body); !reflect.DeepEqual(got, first) {
		t.Errorf("redelivery ids = %v, want %v", got, first)
	}
	other := ids([]byte(strings.Replace(string(body), "9e4d2a71", "00000000", 1)))
	for i := range other {
		if other[i] == first[i] {
			t.Errorf("another event_id reused id %s", other[i])
		}
	}
}

func TestNormalizeMalformed(t *testing.T) {
	t.Parallel()
	count := func(fields string) string { return countBody(`{` + fields + `}`) }
	const ok = `"catalog_object_id":"A","location_id":"B","state":"IN_STOCK"`
	tests := []struct {
		name, body, want string
	}{
		{"empty body", ``, "body is not JSON"},
		{"truncated", `{"type":`, "body is not JSON"},
		{"array", `[]`, "body is a JSON array, want an object"},
		{"type not a string", `{"type":1}`, "field type: got JSON number, want a string"},
		{"no type", `{"merchant_id":"M","event_id":"e"}`, "field type is missing"},
		{"no event_id", `{"merchant_id":"M","type":"x"}`, "field event_id is missing"},
		{"event_id too long", `{"merchant_id":"M","type":"x","event_id":"` + strings.Repeat("e", 257) + `"}`, "field event_id is 257 bytes"},
		{"no merchant_id", `{"event_id":"e","type":"x"}`, "field merchant_id is missing"},
		{"merchant_id too long", `{"event_id":"e","type":"x","merchant_id":"` + strings.Repeat("m", 129) + `"}`, "field merchant_id is 129 bytes"},
		{"bad created_at", `{"merchant_id":"M","event_id":"e","type":"x","created_at":"yesterday"}`, `field created_at: "yesterday" is not an RFC 3339 time`},
		{"data not an object", `{"merchant_id":"M","event_id":"e","type":"x","data":[]}`, "field data: got JSON array"},
		{"no object", `{"merchant_id":"M","event_id":"e","type":"inventory.count.updated","data":{}}`, "field data.object is missing"},
		{"object null", `{"merchant_id":"M","event_id":"e","type":"inventory.count.updated","data":{"object":null}}`, "field data.object is missing"},
		{"object not an object", `{"merchant_id":"M","event_id":"e","type":"inventory.count.updated","data":{"object":[1]}}`, "field data.object: got JSON array, want an object"},
		{"no counts", `{"merchant_id":"M","event_id":"e","type":"inventory.count.updated","data":{"object":{}}}`, "field data.object.inventory_counts is missing"},
		{"counts not an array", `{"merchant_id":"M","event_id":"e","type":"inventory.count.updated","data":{"object":{"inventory_counts":{}}}}`,
			"field data.object.inventory_counts: got JSON object, want an array"},
		{"no catalog_object_id", count(`"location_id":"B","state":"IN_STOCK","quantity":"1"`), "field data.object.inventory_counts[0].catalog_object_id is missing"},
		{"no location_id", count(`"catalog_object_id":"A","state":"IN_STOCK","quantity":"1"`), "field data.object.inventory_counts[0].location_id is missing"},
		{"no state", count(`"catalog_object_id":"A","location_id":"B","quantity":"1"`), "field data.object.inventory_counts[0].state is missing"},
		{"no quantity", count(ok), "field data.object.inventory_counts[0].quantity is missing"},
		{"quantity a number", count(ok + `,"quantity":7`), "field data.object.inventory_counts.quantity: got JSON number, want a string"},
		{"quantity float syntax", count(ok + `,"quantity":"1e3"`), `field data.object.inventory_counts[0].quantity: "1e3" is not a decimal quantity`},
		{"quantity too long", count(ok + `,"quantity":"` + strings.Repeat("0", 27) + `"`), "is not a decimal quantity"},
		{"state of another SOLD count still checked", count(`"catalog_object_id":"A","location_id":"B","state":"SOLD","quantity":"x"`), `"x" is not a decimal quantity`},
		{"bad calculated_at", count(ok + `,"quantity":"1","calculated_at":"2026-11-20 10:00"`), "field data.object.inventory_counts[0].calculated_at"},
		{"is_estimated not a boolean", count(ok + `,"quantity":"1","is_estimated":"yes"`), "field data.object.inventory_counts.is_estimated: got JSON string, want a boolean"},
		{"no order object", `{"merchant_id":"M","event_id":"e","type":"order.updated","data":{"object":{"order_created":{}}}}`, "field data.object.order_updated is missing"},
		{"no order_id", `{"merchant_id":"M","event_id":"e","type":"order.created","data":{"object":{"order_created":{"state":"OPEN"}}}}`,
			"field data.object.order_created.order_id is missing"},
		{"no order state", `{"merchant_id":"M","event_id":"e","type":"order.created","data":{"object":{"order_created":{"order_id":"o"}}}}`,
			"field data.object.order_created.state is missing"},
		{"version a string", `{"merchant_id":"M","event_id":"e","type":"order.created","data":{"object":{"order_created":{"order_id":"o","state":"OPEN","version":"1"}}}}`,
			"field data.object.order_created.version: got JSON string, want an integer"},
		{"negative version", `{"merchant_id":"M","event_id":"e","type":"order.created","data":{"object":{"order_created":{"order_id":"o","state":"OPEN","version":-1}}}}`,
			"field data.object.order_created.version: -1 is negative"},
		{"bad updated_at", `{"merchant_id":"M","event_id":"e","type":"order.updated","data":{"object":{"order_updated":{"order_id":"o","state":"OPEN","updated_at":"now"}}}}`,
			"field data.object.order_updated.updated_at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newConnector(t)
			res, err := c.Normalize(context.Background(), newRequest([]byte(tt.body)))
			if !errors.Is(err, connectors.ErrMalformed) {
				t.Fatalf("Normalize = %+v, %v; want ErrMalformed", res, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestNormalizeCancelledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := newConnector(t)
	if _, err := c.Normalize(ctx, newRequest(readTestdata(t, "order_created.json"))); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}
