package amazon

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/connectortest"
	"github.com/stockgate/stockgate/event"
)

// notificationCase is a testdata notification and what it normalizes to
// under testConfig (with the Orders API fake as Config.OrderItems).
type notificationCase struct {
	file     string
	want     []connectortest.Want
	unmapped int
}

func notificationCases() []notificationCase {
	const (
		o1 = "114-3941689-8772232"
		o2 = "114-3941689-8772233"
		o3 = "114-3941689-8772234"
		o4 = "114-3941689-8772235"
	)
	return []notificationCase{
		// Item 3's supply source is not in Locations: a dead letter.
		{file: "order_change_unshipped.json", unmapped: 1, want: []connectortest.Want{
			{Type: event.OrderCommitted, SKU: "SOCK-TRL-M-MOSS", Location: "main-wh", Quantity: 2, OrderID: o1},
			{Type: event.OrderCommitted, SKU: "BNE-RDG-CHAR", Location: "reno-dc", Quantity: 1, OrderID: o1},
		}},
		// A shipment or cancel commits first, with the commit's own id
		// (applied once, so never counted twice).
		{file: "order_change_shipped.json", want: []connectortest.Want{
			{Type: event.OrderCommitted, SKU: "SOCK-TRL-M-MOSS", Location: "main-wh", Quantity: 2, OrderID: o1},
			{Type: event.OrderFulfilled, SKU: "SOCK-TRL-M-MOSS", Location: "main-wh", Quantity: 2, OrderID: o1},
		}},
		{file: "order_change_canceled.json", want: []connectortest.Want{
			{Type: event.OrderCommitted, SKU: "BNE-RDG-CHAR", Location: "main-wh", Quantity: 3, OrderID: o2},
			{Type: event.OrderCancelled, SKU: "BNE-RDG-CHAR", Location: "main-wh", Quantity: 3, OrderID: o2},
		}},
		{file: "order_change_partially_shipped.json", want: []connectortest.Want{
			{Type: event.OrderCommitted, SKU: "SOCK-TRL-M-MOSS", Location: "main-wh", Quantity: 1, OrderID: o3},
			{Type: event.OrderFulfilled, SKU: "SOCK-TRL-M-MOSS", Location: "main-wh", Quantity: 1, OrderID: o3},
			{Type: event.OrderCommitted, SKU: "BNE-RDG-CHAR", Location: "main-wh", Quantity: 4, OrderID: o3},
		}},
		// No OrderItems: fetched from the Orders API fake (two pages).
		{file: "order_change_no_items.json", want: []connectortest.Want{
			{Type: event.OrderCommitted, SKU: "SOCK-TRL-M-MOSS", Location: "main-wh", Quantity: 3, OrderID: o4},
			{Type: event.OrderCommitted, SKU: "BNE-RDG-CHAR", Location: "main-wh", Quantity: 1, OrderID: o4},
		}},
		{file: "order_change_afn.json"},
		// The MX marketplace is not in Locations: a dead letter.
		{file: "fba_inventory_availability_changes.json", unmapped: 1, want: []connectortest.Want{
			{Type: event.StockCounted, SKU: "SOCK-TRL-M-MOSS", Location: "amazon-fba-us", Quantity: 120, State: event.StateOnHand},
		}},
		{file: "listings_item_mfn_quantity_change.json", want: []connectortest.Want{
			{Type: event.StockCounted, SKU: "BNE-RDG-CHAR", Location: "main-wh", Quantity: 37, State: event.StateAvailable},
		}},
		{file: "listings_item_status_change.json"},
		{file: "feed_processing_finished.json"},
	}
}

// TestConformance runs the shared inbound suite over SNS-signed deliveries
// of every testdata notification (signature versions 2 and 1), an
// EventBridge event inside SNS, and a SubscriptionConfirmation; its
// malformed cases include header-authenticated (EventBridge) ones.
//
// EventBridge deliveries are not among the suite's Cases: an API
// destination authenticates with a fixed header and signs nothing, so the
// suite's "one body bit flipped must fail Verify" cannot hold for them.
// TestEventBridge covers their acceptance, rejection and duplicates.
func TestConformance(t *testing.T) {
	t.Parallel()
	sns := newSNSFake(t)
	orders := newOrdersFake(t)
	var cases []connectortest.Case
	for i, nc := range notificationCases() {
		body := readTestdata(t, nc.file)
		version := "2"
		if i%3 == 1 {
			version = "1"
		}
		cases = append(cases, connectortest.Case{
			Name:     "SNS v" + version + " " + nc.file,
			Request:  snsNotification(sns.host(), version, body).request(),
			Want:     nc.want,
			Unmapped: nc.unmapped,
		})
	}
	mfn := readTestdata(t, "listings_item_mfn_quantity_change.json")
	cases = append(cases,
		connectortest.Case{
			Name:    "SNS Message holding an EventBridge event",
			Request: snsNotification(sns.host(), "2", ebEnvelope(mfn)).request(),
			Want:    []connectortest.Want{{Type: event.StockCounted, SKU: "BNE-RDG-CHAR", Location: "main-wh", Quantity: 37, State: event.StateAvailable}},
		},
		connectortest.Case{
			Name:    "SNS SubscriptionConfirmation",
			Request: snsConfirmation(sns.host(), SNSSubscriptionConfirmation, "2336412f37fb687f5d51e6e241d09c805a5a57b3").request(),
		},
		connectortest.Case{
			Name:    "SNS UnsubscribeConfirmation",
			Request: snsConfirmation(sns.host(), SNSUnsubscribeConfirmation, "47138184f37fb687f5d51e6e241d09c805a5a57b").request(),
		},
	)

	signed := func(notification string) *connectors.Request {
		return snsNotification(sns.host(), "2", []byte(notification)).request()
	}
	edit := func(file string, f func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal(readTestdata(t, file), &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	payload := func(m map[string]any) map[string]any { return m["Payload"].(map[string]any) }
	malformed := map[string]*connectors.Request{
		"SNS Message is not JSON":     signed("Hello world!"),
		"SNS Message is a JSON array": signed(`[{"NotificationType":"ORDER_CHANGE"}]`),
		"no NotificationType":         signed(edit("listings_item_mfn_quantity_change.json", func(m map[string]any) { delete(m, "NotificationType") })),
		"EventTime is not a time":     signed(edit("listings_item_mfn_quantity_change.json", func(m map[string]any) { m["EventTime"] = "yesterday" })),
		"Quantity is a string":        signed(edit("listings_item_mfn_quantity_change.json", func(m map[string]any) { payload(m)["Quantity"] = "37" })),
		"Quantity is missing":         signed(edit("listings_item_mfn_quantity_change.json", func(m map[string]any) { delete(payload(m), "Quantity") })),
		"Quantity is too large":       signed(edit("listings_item_mfn_quantity_change.json", func(m map[string]any) { payload(m)["Quantity"] = 1_000_000_001 })),
		"ORDER_CHANGE without Summary": signed(edit("order_change_unshipped.json", func(m map[string]any) {
			delete(payload(m)["OrderChangeNotification"].(map[string]any), "Summary")
		})),
		"ORDER_CHANGE item without OrderItemId": signed(strings.Replace(string(readTestdata(t, "order_change_shipped.json")),
			`"OrderItemId": "27466182938410"`, `"OrderItemId": ""`, 1)),
		"FBA Fulfillable missing": signed(strings.Replace(string(readTestdata(t, "fba_inventory_availability_changes.json")),
			`"Fulfillable": 120,`, ``, 1)),
		"SNS message inside an SNS message":     signed(string(snsNotification(sns.host(), "2", mfn).body())),
		"EventBridge source is not SP-API":      ebRequest([]byte(strings.Replace(string(ebEnvelope(mfn)), ebSource, "aws.partner/example.com/123", 1)), testAPIKey),
		"EventBridge detail is a string":        ebRequest([]byte(`{"version":"0","id":"x","detail-type":"ORDER_CHANGE","source":"`+ebSource+`","detail":"{}"}`), testAPIKey),
		"EventBridge inside EventBridge":        ebRequest(ebEnvelope(ebEnvelope(mfn)), testAPIKey),
		"header-authenticated body is not JSON": ebRequest([]byte(`NotificationType=ORDER_CHANGE`), testAPIKey),
	}

	// The same FBA item reported twice, the earlier report arriving last
	// (SQS and SNS retries do not keep order, ref §3.2).
	fbaAt := func(at string) *connectors.Request {
		return signed(edit("fba_inventory_availability_changes.json", func(m map[string]any) {
			m["EventTime"] = at
			if md, ok := m["NotificationMetadata"].(map[string]any); ok {
				md["NotificationId"] = "stale-pair-" + at
			}
		}))
	}
	stale := []connectortest.StalePair{{Name: "FBA count", Newer: fbaAt("2026-11-19T07:00:00.000Z"), Older: fbaAt("2026-11-19T06:00:00.000Z")}}
	connectortest.Run(t, connectortest.Harness{
		Stale: stale,
		New: func(t *testing.T) connectors.Inbound {
			return newConnector(t, sns, func(c *Config) { c.OrderItems = orders.client(t) })
		},
		Cases:     cases,
		Malformed: malformed,
		// Swapping SignatureVersion 2 and 1 changes the digest the signature
		// is checked under (ref §2.4).
		Tamper: func(r *connectors.Request) *connectors.Request {
			var m snsMsg
			if err := json.Unmarshal(r.Body, &m); err != nil {
				t.Fatal(err)
			}
			m.SignatureVersion = map[string]string{"1": "2", "2": "1"}[m.SignatureVersion]
			r.Body = m.body()
			return r
		},
		// SNS signs the body; its deliveries always carry
		// x-amz-sns-message-type (ref §2.4), which Verify requires.
		SignatureHeaders: []string{HeaderSNSMessageType},
	})
	if got := len(sns.confirmations()); got == 0 {
		t.Error("the SubscriptionConfirmation case confirmed nothing")
	}
}
