package amazon

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
)

// editJSON decodes a testdata file, lets f change it and encodes it again.
func editJSON(tb testing.TB, file string, f func(m map[string]any)) []byte {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(readTestdata(tb, file), &m); err != nil {
		tb.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func orderNotification(m map[string]any) map[string]any {
	return m["Payload"].(map[string]any)["OrderChangeNotification"].(map[string]any)
}

func orderSummary(m map[string]any) map[string]any {
	return orderNotification(m)["Summary"].(map[string]any)
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	f := newSNSFake(t)
	orders := newOrdersFake(t)
	const o1, o3, o4 = "114-3941689-8772232", "114-3941689-8772234", "114-3941689-8772235"
	corr := func(o string) string { return "amazon:order:" + o }
	unshipped, shipped := at("2026-11-19T08:15:30.120Z"), at("2026-11-20T10:02:44.500Z")
	tests := []struct {
		name     string
		file     string // testdata file; or body
		body     []byte
		config   func(*Config)
		want     []line
		unmapped []string // dead letter reasons
		dedup    string
		ignored  string // a part of Result.Ignored; empty: not ignored
	}{
		{
			name: "ORDER_CHANGE Unshipped commits each MFN item", file: "order_change_unshipped.json",
			dedup: "amazon:2026-11-19T08:15:31.004000000Z:9f3c6a1e-2d4b-4e8a-b7c1-5a6d7e8f9012",
			want: []line{
				{event.OrderCommitted, "SOCK-TRL-M-MOSS", "main-wh", 2, "", "sale", o1, corr(o1), o1 + "/27466182938410", unshipped},
				{event.OrderCommitted, "BNE-RDG-CHAR", "reno-dc", 1, "", "sale", o1, corr(o1), o1 + "/27466182938411", unshipped},
			},
			unmapped: []string{`order 114-3941689-8772232 item 27466182938412 (SellerSKU "MUG-ENAMEL-BLU"): supply source "f0a9d8c7-b6a5-4433-8211-00ffeeddccbb" is not in Locations`},
		},
		{
			name: "ORDER_CHANGE Shipped commits (once) and fulfils", file: "order_change_shipped.json",
			want: []line{
				{event.OrderCommitted, "SOCK-TRL-M-MOSS", "main-wh", 2, "", "sale", o1, corr(o1), o1 + "/27466182938410", shipped},
				{event.OrderFulfilled, "SOCK-TRL-M-MOSS", "main-wh", 2, "", "fulfillment", o1, corr(o1), o1 + "/27466182938410", shipped},
			},
		},
		{
			name: "ORDER_CHANGE InvoiceUnconfirmed fulfils like Shipped", config: nil,
			body: editJSON(t, "order_change_shipped.json", func(m map[string]any) { orderSummary(m)["OrderStatus"] = "InvoiceUnconfirmed" }),
			want: []line{
				{event.OrderCommitted, "SOCK-TRL-M-MOSS", "main-wh", 2, "", "sale", o1, corr(o1), o1 + "/27466182938410", shipped},
				{event.OrderFulfilled, "SOCK-TRL-M-MOSS", "main-wh", 2, "", "fulfillment", o1, corr(o1), o1 + "/27466182938410", shipped},
			},
		},
		{
			name: "ORDER_CHANGE Pending commits",
			body: editJSON(t, "order_change_shipped.json", func(m map[string]any) { orderSummary(m)["OrderStatus"] = "Pending" }),
			want: []line{{event.OrderCommitted, "SOCK-TRL-M-MOSS", "main-wh", 2, "", "sale", o1, corr(o1), o1 + "/27466182938410", shipped}},
		},
		{
			name: "ORDER_CHANGE PendingAvailability (pre-order) commits",
			body: editJSON(t, "order_change_shipped.json", func(m map[string]any) { orderSummary(m)["OrderStatus"] = "PendingAvailability" }),
			want: []line{{event.OrderCommitted, "SOCK-TRL-M-MOSS", "main-wh", 2, "", "sale", o1, corr(o1), o1 + "/27466182938410", shipped}},
		},
		{
			name: "ORDER_CHANGE Unfulfillable: nothing",
			body: editJSON(t, "order_change_shipped.json", func(m map[string]any) { orderSummary(m)["OrderStatus"] = "Unfulfillable" }),
		},
		{
			name: "ORDER_CHANGE unknown status: nothing",
			body: editJSON(t, "order_change_shipped.json", func(m map[string]any) { orderSummary(m)["OrderStatus"] = "Teleported" }),
		},
		{
			name: "ORDER_CHANGE PartiallyShipped: per item status", file: "order_change_partially_shipped.json",
			want: []line{
				{event.OrderCommitted, "SOCK-TRL-M-MOSS", "main-wh", 1, "", "sale", o3, corr(o3), o3 + "/27466182938630", at("2026-11-20T09:30:00Z")},
				{event.OrderFulfilled, "SOCK-TRL-M-MOSS", "main-wh", 1, "", "fulfillment", o3, corr(o3), o3 + "/27466182938630", at("2026-11-20T09:30:00Z")},
				{event.OrderCommitted, "BNE-RDG-CHAR", "main-wh", 4, "", "sale", o3, corr(o3), o3 + "/27466182938631", at("2026-11-20T09:30:00Z")},
			},
		},
		{
			name: "ORDER_CHANGE AFN: nothing (FBA stock is counted)", file: "order_change_afn.json",
		},
		{
			name:     "ORDER_CHANGE with unknown FulfillmentType is a dead letter",
			body:     editJSON(t, "order_change_shipped.json", func(m map[string]any) { orderSummary(m)["FulfillmentType"] = "" }),
			unmapped: []string{`order 114-3941689-8772232: FulfillmentType "" is neither MFN nor AFN`},
		},
		{
			name: "ORDER_CHANGE for another seller is a dead letter", file: "order_change_shipped.json",
			config:   func(c *Config) { c.SellerID = "A9OTHERSELLER9" },
			unmapped: []string{`notification for seller "A1SGNORTHPEAK7", but this connector serves seller "A9OTHERSELLER9" (Config.SellerID)`},
		},
		{
			name: "ORDER_CHANGE without DefaultLocation", file: "order_change_shipped.json",
			config:   func(c *Config) { c.DefaultLocation = "" },
			unmapped: []string{`order 114-3941689-8772232 item 27466182938410 (SellerSKU "NP-SOCK-MOSS-M"): no SupplySourceId and no DefaultLocation is configured`},
		},
		{
			name: "ORDER_CHANGE item without SellerSKU",
			body: editJSON(t, "order_change_shipped.json", func(m map[string]any) {
				orderSummary(m)["OrderItems"].([]any)[0].(map[string]any)["SellerSKU"] = ""
			}),
			unmapped: []string{"order 114-3941689-8772232 item 27466182938410 has no SellerSKU"},
		},
		{
			name: "ORDER_CHANGE zero-quantity item: nothing",
			body: editJSON(t, "order_change_shipped.json", func(m map[string]any) {
				orderSummary(m)["OrderItems"].([]any)[0].(map[string]any)["Quantity"] = 0
			}),
		},
		{
			name: "ORDER_CHANGE without items, fetched from the Orders API", file: "order_change_no_items.json",
			config: func(c *Config) { c.OrderItems = orders.client(t) },
			want: []line{
				{event.OrderCommitted, "SOCK-TRL-M-MOSS", "main-wh", 3, "", "sale", o4, corr(o4), o4 + "/27466182938750", at("2026-11-19T12:00:05.250Z")},
				{event.OrderCommitted, "BNE-RDG-CHAR", "main-wh", 1, "", "sale", o4, corr(o4), o4 + "/27466182938751", at("2026-11-19T12:00:05.250Z")},
			},
		},
		{
			name: "ORDER_CHANGE without items and no fetcher is a dead letter", file: "order_change_no_items.json",
			unmapped: []string{"order 114-3941689-8772235: the notification has no OrderItems and no OrderItems fetcher is configured (Config.OrderItems)"},
		},
		{
			name:     "ORDER_CHANGE without items for an order the Orders API does not know",
			body:     editJSON(t, "order_change_no_items.json", func(m map[string]any) { orderNotification(m)["AmazonOrderId"] = "404-0000000-0000000" }),
			config:   func(c *Config) { c.OrderItems = orders.client(t) },
			unmapped: []string{"order 404-0000000-0000000: the notification has no OrderItems and the Orders API does not know the order: amazon: Orders API: HTTP 404 NotFound: Order not found (request 9e4c3b2a-test)"},
		},
		{
			name: "ORDER_CHANGE without items, not needing them (Unfulfillable): no fetch",
			body: editJSON(t, "order_change_no_items.json", func(m map[string]any) {
				orderNotification(m)["AmazonOrderId"] = "429-0000000-0000000"
				orderSummary(m)["OrderStatus"] = "Unfulfillable"
			}),
			config: func(c *Config) { c.OrderItems = orders.client(t) },
		},
		{
			name: "FBA inventory counts on hand per marketplace", file: "fba_inventory_availability_changes.json",
			config: func(c *Config) { c.Locations[mxMarket] = "amazon-fba-mx" },
			dedup:  "amazon:2026-11-19T06:00:13.001000000Z:c4e6a8b0-1d3f-4b5d-9f1b-3d5f7b9d1f3b",
			want: []line{
				{event.StockCounted, "SOCK-TRL-M-MOSS", "amazon-fba-us", 120, "on_hand", "fba_snapshot", "", "amazon:notification:c4e6a8b0-1d3f-4b5d-9f1b-3d5f7b9d1f3b", "c4e6a8b0-1d3f-4b5d-9f1b-3d5f7b9d1f3b/ATVPDKIKX0DER", at("2026-11-19T06:00:12.345Z")},
				{event.StockCounted, "SOCK-TRL-M-MOSS", "amazon-fba-mx", 15, "on_hand", "fba_snapshot", "", "amazon:notification:c4e6a8b0-1d3f-4b5d-9f1b-3d5f7b9d1f3b", "c4e6a8b0-1d3f-4b5d-9f1b-3d5f7b9d1f3b/A1AM78C64UM0Y8", at("2026-11-19T06:00:12.345Z")},
			},
		},
		{
			name: "FBA inventory in an unmapped marketplace is a dead letter", file: "fba_inventory_availability_changes.json",
			want: []line{
				{event.StockCounted, "SOCK-TRL-M-MOSS", "amazon-fba-us", 120, "on_hand", "fba_snapshot", "", "amazon:notification:c4e6a8b0-1d3f-4b5d-9f1b-3d5f7b9d1f3b", "c4e6a8b0-1d3f-4b5d-9f1b-3d5f7b9d1f3b/ATVPDKIKX0DER", at("2026-11-19T06:00:12.345Z")},
			},
			unmapped: []string{`FBA inventory of SKU "NP-SOCK-MOSS-M" in marketplace A1AM78C64UM0Y8: marketplace A1AM78C64UM0Y8 is not in Locations`},
		},
		{
			name: "MFN quantity is an available observation at DefaultLocation", file: "listings_item_mfn_quantity_change.json",
			dedup: "amazon:2026-11-19T09:41:08.115000000Z:e7a9c1e3-5b7d-4f9b-9d3f-5b7d9f1b3d5f",
			want: []line{
				{event.StockCounted, "BNE-RDG-CHAR", "main-wh", 37, "available", "channel_report", "", "amazon:notification:e7a9c1e3-5b7d-4f9b-9d3f-5b7d9f1b3d5f", "e7a9c1e3-5b7d-4f9b-9d3f-5b7d9f1b3d5f", at("2026-11-19T09:41:07.702Z")},
			},
		},
		{
			name: "MFN quantity of a mapped channel code",
			body: editJSON(t, "listings_item_mfn_quantity_change.json", func(m map[string]any) {
				m["Payload"].(map[string]any)["FulfillmentChannelCode"] = "RENO_DC"
			}),
			config: func(c *Config) { c.Locations["RENO_DC"] = "reno-dc" },
			want: []line{
				{event.StockCounted, "BNE-RDG-CHAR", "reno-dc", 37, "available", "channel_report", "", "amazon:notification:e7a9c1e3-5b7d-4f9b-9d3f-5b7d9f1b3d5f", "e7a9c1e3-5b7d-4f9b-9d3f-5b7d9f1b3d5f", at("2026-11-19T09:41:07.702Z")},
			},
		},
		{
			name: "MFN quantity of an unmapped channel, negative",
			body: editJSON(t, "listings_item_mfn_quantity_change.json", func(m map[string]any) {
				m["Payload"].(map[string]any)["FulfillmentChannelCode"] = "AMAZON_NA"
				m["Payload"].(map[string]any)["Quantity"] = -2
			}),
			unmapped: []string{`MFN quantity of SKU "BNE-RDG-CHAR", channel "AMAZON_NA": fulfillment channel "AMAZON_NA" is not in Locations; quantity -2 is negative; stock.counted needs 0 or more`},
		},
		{
			name: "MFN quantity of a SKU too long for the schema is a dead letter",
			body: editJSON(t, "listings_item_mfn_quantity_change.json", func(m map[string]any) {
				m["Payload"].(map[string]any)["Sku"] = strings.Repeat("S", 256)
			}),
			unmapped: []string{"MFN quantity of SKU \"" + strings.Repeat("S", 256) + "\", channel \"DEFAULT\": cannot build stock.counted: "},
		},
		{name: "LISTINGS_ITEM_STATUS_CHANGE: no events", file: "listings_item_status_change.json"},
		{name: "no PublishTime: keyed by the NotificationId alone", dedup: "amazon:0a2c4e6a-8c0e-4a2c-8e4a-6c8e0a2c4e6a",
			body: editJSON(t, "listings_item_status_change.json", func(m map[string]any) {
				delete(m["NotificationMetadata"].(map[string]any), "PublishTime")
			})},
		{name: "a PublishTime that does not parse: keyed by the NotificationId alone", dedup: "amazon:0a2c4e6a-8c0e-4a2c-8e4a-6c8e0a2c4e6a",
			body: editJSON(t, "listings_item_status_change.json", func(m map[string]any) {
				m["NotificationMetadata"].(map[string]any)["PublishTime"] = "yesterday"
			})},
		{name: "PublishTime with an offset: the key holds it in UTC", dedup: "amazon:2026-11-19T08:05:01.250000000Z:0a2c4e6a-8c0e-4a2c-8e4a-6c8e0a2c4e6a",
			body: editJSON(t, "listings_item_status_change.json", func(m map[string]any) {
				m["NotificationMetadata"].(map[string]any)["PublishTime"] = "2026-11-19T10:05:01.25+02:00"
			})},
		{name: "camelCase FEED_PROCESSING_FINISHED: no events, ignored", file: "feed_processing_finished.json", dedup: "amazon:2026-11-19T11:22:34.000000000Z:2c4e6a8c-0e2a-4c4e-8a6c-8e0a2c4e6a8c",
			ignored: `amazon notification type "FEED_PROCESSING_FINISHED"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newConnector(t, f, func(c *Config) {
				c.Locations = map[string]string{usMarket: "amazon-fba-us", renoSupply: "reno-dc"}
				if tt.config != nil {
					tt.config(c)
				}
			})
			body := tt.body
			if tt.file != "" {
				body = readTestdata(t, tt.file)
			}
			r := ebRequest(body, testAPIKey)
			if err := c.Verify(r); err != nil {
				t.Fatal(err)
			}
			res, err := c.Normalize(context.Background(), r)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if got := lines(t, res.Events); !reflect.DeepEqual(got, nonNil(tt.want)) {
				t.Errorf("events:\n got %+v\nwant %+v", got, tt.want)
			}
			got := reasons(res)
			if len(got) != len(tt.unmapped) {
				t.Fatalf("dead letters %q, want %q", got, tt.unmapped)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.unmapped[i]) {
					t.Errorf("dead letter %d:\n got %q\nwant %q…", i, got[i], tt.unmapped[i])
				}
				if d := res.Unmapped[i]; d.Connector != testID || len(d.Body) == 0 || d.EventID == "" || !d.CreatedAt.Equal(testNow) {
					t.Errorf("dead letter %+v", d)
				}
			}
			if tt.dedup != "" && res.DedupKey != tt.dedup {
				t.Errorf("DedupKey %q, want %q", res.DedupKey, tt.dedup)
			}
			if (tt.ignored == "") != (res.Ignored == "") || !strings.Contains(res.Ignored, tt.ignored) {
				t.Errorf("Ignored = %q, want %q", res.Ignored, tt.ignored)
			}
		})
	}
}

func nonNil(ls []line) []line {
	if ls == nil {
		return []line{}
	}
	return ls
}

// Successive notifications of one order (Pending, then Unshipped, then a
// buyer's cancel request on the Unshipped order) commit each item once:
// their events share ids, which the ledger applies once (ref §4: the
// fixture's BuyerRequestedChange "is a request, not yet a cancellation").
func TestOrderEventsIdempotentAcrossNotifications(t *testing.T) {
	t.Parallel()
	c := newConnector(t, newSNSFake(t))
	ids := func(body []byte) []string {
		res, err := c.normalize(context.Background(), requestAt(nil, body), false)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range res.Events {
			out = append(out, e.ID())
		}
		return out
	}
	unshipped := ids(readTestdata(t, "order_change_unshipped.json"))
	pending := ids(editJSON(t, "order_change_unshipped.json", func(m map[string]any) {
		m["NotificationMetadata"].(map[string]any)["NotificationId"] = "another-notification"
		orderSummary(m)["OrderStatus"] = "Pending"
	}))
	cancelRequest := ids(editJSON(t, "order_change_unshipped.json", func(m map[string]any) {
		m["NotificationMetadata"].(map[string]any)["NotificationId"] = "yet-another"
		orderNotification(m)["OrderChangeType"] = "BuyerRequestedChange"
		for _, it := range orderSummary(m)["OrderItems"].([]any) {
			it.(map[string]any)["IsBuyerRequestedCancel"] = true
		}
	}))
	if len(unshipped) != 2 || !reflect.DeepEqual(unshipped, pending) || !reflect.DeepEqual(unshipped, cancelRequest) {
		t.Errorf("ids: unshipped %v, pending %v, cancel request %v; want equal", unshipped, pending, cancelRequest)
	}
	// A cancel commits each item with the commit's id (applied once), then
	// releases it with an id of its own.
	canceled := ids(editJSON(t, "order_change_unshipped.json", func(m map[string]any) { orderSummary(m)["OrderStatus"] = "Canceled" }))
	if len(canceled) != 4 || canceled[0] != unshipped[0] || canceled[2] != unshipped[1] ||
		canceled[1] == unshipped[0] || canceled[3] == unshipped[1] || canceled[1] == canceled[3] {
		t.Errorf("ids: canceled %v, unshipped %v; want each commit id followed by a cancel id of its own", canceled, unshipped)
	}
}

// A notification without NotificationId (the FBA schema has none, ref §3.1)
// dedupes on its content: the same over every transport and formatting.
func TestDedupWithoutNotificationID(t *testing.T) {
	t.Parallel()
	f := newSNSFake(t)
	c := newConnector(t, f, func(c *Config) { c.Locations[mxMarket] = "amazon-fba-mx" })
	body := editJSON(t, "fba_inventory_availability_changes.json", func(m map[string]any) { delete(m, "NotificationMetadata") })
	indented, _ := json.MarshalIndent(json.RawMessage(body), "", "    ")
	var keys []string
	var firstIDs []string
	for _, r := range []*connectors.Request{
		requestAt(nil, body),
		requestAt(nil, indented),
		ebRequest(ebEnvelope(indented), testAPIKey),
		snsNotification(f.host(), "2", body).request(),
	} {
		res, err := c.normalize(context.Background(), r, false)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, res.DedupKey)
		var ids []string
		for _, e := range res.Events {
			ids = append(ids, e.ID())
		}
		if firstIDs == nil {
			firstIDs = ids
		} else if !reflect.DeepEqual(ids, firstIDs) {
			t.Errorf("event ids %v, first %v", ids, firstIDs)
		}
	}
	for _, k := range keys {
		if k != keys[0] || !strings.HasPrefix(k, "amazon:sha256-") {
			t.Fatalf("dedup keys %q", keys)
		}
	}
	other := editJSON(t, "fba_inventory_availability_changes.json", func(m map[string]any) {
		delete(m, "NotificationMetadata")
		m["EventTime"] = "2026-11-19T06:30:00.000Z"
	})
	res, err := c.normalize(context.Background(), requestAt(nil, other), false)
	if err != nil || res.DedupKey == keys[0] {
		t.Errorf("a later snapshot has key %q (err %v), the same as the first", res.DedupKey, err)
	}
}

func TestNormalizeErrors(t *testing.T) {
	t.Parallel()
	f := newSNSFake(t)
	orders := newOrdersFake(t)
	c := newConnector(t, f, func(c *Config) { c.OrderItems = orders.client(t) })
	throttled := editJSON(t, "order_change_no_items.json", func(m map[string]any) { orderNotification(m)["AmazonOrderId"] = "429-0000000-0000000" })
	_, err := c.Normalize(context.Background(), ebRequest(throttled, testAPIKey))
	var apiErr *APIError
	switch {
	case err == nil || errors.Is(err, connectors.ErrMalformed):
		t.Fatalf("a throttled fetch: Normalize = %v, want an error to retry", err)
	case !errors.As(err, &apiErr) || !apiErr.Temporary() || apiErr.Code != "QuotaExceeded":
		t.Errorf("error %v: want an *APIError QuotaExceeded, temporary", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Normalize(ctx, ebRequest(readTestdata(t, "order_change_shipped.json"), testAPIKey)); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}
}

func TestParseListingStatus(t *testing.T) {
	t.Parallel()
	f := newSNSFake(t)
	body := readTestdata(t, "listings_item_status_change.json")
	want := ListingStatus{
		NotificationID: "0a2c4e6a-8c0e-4a2c-8e4a-6c8e0a2c4e6a",
		SellerID:       testSeller,
		MarketplaceID:  usMarket,
		ASIN:           "B0NPBNERDG",
		SellerSKU:      "BNE-RDG-CHAR",
		Statuses:       []string{"DISCOVERABLE"},
		Discoverable:   true,
		EventTime:      at("2026-11-19T10:05:00Z"),
		CreatedDate:    at("2025-03-02T14:20:11Z"),
	}
	for name, b := range map[string][]byte{
		"bare":        body,
		"EventBridge": ebEnvelope(body),
		"SNS":         snsNotification(f.host(), "2", body).body(),
		"SNS+EB":      snsNotification(f.host(), "2", ebEnvelope(body)).body(),
	} {
		got, err := ParseListingStatus(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
		}
	}
	buyable, err := ParseListingStatus(editJSON(t, "listings_item_status_change.json", func(m map[string]any) {
		m["Payload"].(map[string]any)["Status"] = []string{"BUYABLE", "DISCOVERABLE", "NEW_ONE"}
	}))
	if err != nil || !buyable.Buyable || !buyable.Discoverable || buyable.Deleted || len(buyable.Statuses) != 3 {
		t.Errorf("buyable: %+v, %v", buyable, err)
	}
	for name, b := range map[string][]byte{
		"other type":   readTestdata(t, "listings_item_mfn_quantity_change.json"),
		"not JSON":     []byte("BUYABLE"),
		"confirmation": snsConfirmation(f.host(), SNSSubscriptionConfirmation, "t").body(),
		"no Sku": editJSON(t, "listings_item_status_change.json", func(m map[string]any) {
			delete(m["Payload"].(map[string]any), "Sku")
		}),
	} {
		if _, err := ParseListingStatus(b); !errors.Is(err, connectors.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// Dedup keys sort as the notifications were published, whatever their
// random NotificationIds, so that a store's dedup index grows at its end.
func TestDedupKeysSortByPublishTime(t *testing.T) {
	c := newConnector(t, newSNSFake(t))
	var prev string
	for i, at := range []string{"2026-11-19T09:59:59.999Z", "2026-11-19T10:00:00Z", "2026-11-19T10:00:00.5Z", "2026-11-20T00:00:00.000001Z"} {
		body := editJSON(t, "listings_item_status_change.json", func(m map[string]any) {
			md := m["NotificationMetadata"].(map[string]any)
			md["PublishTime"] = at
			md["NotificationId"] = messageID(strconv.Itoa(i)) // random, as Amazon's
		})
		res, err := c.normalize(context.Background(), requestAt(nil, body), false)
		if err != nil {
			t.Fatal(err)
		}
		if res.DedupKey <= prev {
			t.Errorf("key %q of the notification published at %s sorts before %q", res.DedupKey, at, prev)
		}
		prev = res.DedupKey
	}
}
