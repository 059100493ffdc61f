package square

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/connectortest"
	"github.com/stockgate/stockgate/event"
)

// testdataWant is what each testdata file normalizes to under testConfig.
// Every file in testdata must be listed (TestConformance fails otherwise).
var testdataWant = map[string]struct {
	want     []connectortest.Want
	unmapped int
}{
	// A POS sale: IN_STOCK went down, SOLD up; only IN_STOCK is on hand.
	"inventory_count_updated_sale.json": {want: []connectortest.Want{
		{Type: event.StockCounted, SKU: "SOCK-TRL-M-MOSS", Location: "berlin-store", Quantity: 7, State: event.StateOnHand},
	}},
	// "12.00000" is 12; WASTE and IN_TRANSIT count nothing; "2.25", an
	// unmapped location and "-1" are dead letters; an estimate is an
	// observation; "0" is a count.
	"inventory_count_updated_mixed.json": {want: []connectortest.Want{
		{Type: event.StockCounted, SKU: "BNE-RDG-CHAR", Location: "leipzig-dc", Quantity: 12, State: event.StateOnHand},
		{Type: event.StockCounted, SKU: "GIFT-BOX-TRIO", Location: "berlin-store", Quantity: 5, State: event.StateAvailable},
		{Type: event.StockCounted, SKU: "BNE-RDG-CHAR", Location: "berlin-store", Quantity: 0, State: event.StateOnHand},
	}, unmapped: 3},
	// No line items in order webhooks (ref §3): a dead letter each.
	"order_created.json":           {unmapped: 1},
	"order_updated_completed.json": {unmapped: 1},
	// A draft cannot be paid or fulfilled: nothing.
	"order_updated_draft.json":        {},
	"catalog_version_updated.json":    {},
	"webhooks_test_notification.json": {},
}

// ordersWant replaces testdataWant's entries for the order webhooks when
// the connector fetches orders (Config.Orders) from a fake holding their
// order COMPLETED with two lines: each line is committed and released,
// whichever webhook names it; the sale reaches on hand through the
// IN_STOCK count (see the package doc).
var ordersWant = func() map[string][]connectortest.Want {
	finished := []connectortest.Want{
		{Type: event.OrderCommitted, SKU: "SOCK-TRL-M-MOSS", Location: "berlin-store", Quantity: 2, OrderID: testOrder},
		{Type: event.OrderCancelled, SKU: "SOCK-TRL-M-MOSS", Location: "berlin-store", Quantity: 2, OrderID: testOrder},
		{Type: event.OrderCommitted, SKU: "BNE-RDG-CHAR", Location: "berlin-store", Quantity: 1, OrderID: testOrder},
		{Type: event.OrderCancelled, SKU: "BNE-RDG-CHAR", Location: "berlin-store", Quantity: 1, OrderID: testOrder},
	}
	return map[string][]connectortest.Want{"order_created.json": finished, "order_updated_completed.json": finished}
}()

// malformedBodies are signed bodies Normalize must refuse.
var malformedBodies = map[string]string{
	"not JSON":           `{"merchant_id":`,
	"array":              `[]`,
	"no event_id":        `{"merchant_id":"M","type":"inventory.count.updated","data":{"object":{"inventory_counts":[]}}}`,
	"no merchant_id":     `{"event_id":"e","type":"inventory.count.updated","data":{"object":{"inventory_counts":[]}}}`,
	"no type":            `{"merchant_id":"M","event_id":"e"}`,
	"counts not array":   `{"merchant_id":"M","event_id":"e","type":"inventory.count.updated","data":{"object":{"inventory_counts":{}}}}`,
	"quantity as number": `{"merchant_id":"M","event_id":"e","type":"inventory.count.updated","data":{"object":{"inventory_counts":[{"catalog_object_id":"A","location_id":"B","state":"IN_STOCK","quantity":7}]}}}`,
	"quantity float syntax": `{"merchant_id":"M","event_id":"e","type":"inventory.count.updated","data":{"object":{"inventory_counts":[` +
		`{"catalog_object_id":"A","location_id":"B","state":"IN_STOCK","quantity":"1e3"}]}}}`,
	"order without order_id": `{"merchant_id":"M","event_id":"e","type":"order.created","data":{"object":{"order_created":{"state":"OPEN"}}}}`,
}

// TestConformance runs the shared inbound suite over every testdata file,
// once verifying against the configured NotificationURL (the gateway sees
// another URL, as behind a proxy) and once against the request URL.
func TestConformance(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	for name := range testdataWant {
		if !slices.Contains(names, name) {
			t.Errorf("testdataWant lists %s, which is not in testdata", name)
		}
	}

	t.Run("NotificationURL", func(t *testing.T) {
		t.Parallel()
		sign := func(body []byte) *connectors.Request { return newRequest(body) }
		connectortest.Run(t, harness(t, names, sign, nil, func(r *connectors.Request) *connectors.Request {
			// Signed over the URL as a proxy's backend sees it: http, not
			// https (ref §6 pitfall 1).
			r.Header.Set(HeaderSignature, Sign(testKey, strings.Replace(testURL, "https:", "http:", 1), r.Body))
			return r
		}))
	})
	t.Run("RequestURL", func(t *testing.T) {
		t.Parallel()
		sign := func(body []byte) *connectors.Request {
			r := newRequest(body)
			r.URL = testURL
			return r
		}
		connectortest.Run(t, harness(t, names, sign, func(c *Config) { c.NotificationURL = "" }, func(r *connectors.Request) *connectors.Request {
			r.URL += "/" // a trailing slash the subscription does not have
			return r
		}))
	})
	t.Run("Orders", func(t *testing.T) {
		t.Parallel()
		fake, fetching := orderFake(t)
		setOrder(fake, "COMPLETED", 4)
		sign := func(body []byte) *connectors.Request { return newRequest(body) }
		h := harness(t, names, sign, nil, func(r *connectors.Request) *connectors.Request {
			r.Body = append(r.Body[:len(r.Body):len(r.Body)], '\n')
			return r
		})
		h.New = func(*testing.T) connectors.Inbound { return fetching }
		for i, tc := range h.Cases {
			if w, ok := ordersWant[tc.Name]; ok {
				h.Cases[i].Want, h.Cases[i].Unmapped = w, 0
			}
		}
		connectortest.Run(t, h)
	})
}

func harness(t *testing.T, names []string, sign func([]byte) *connectors.Request, mod func(*Config),
	tamper func(*connectors.Request) *connectors.Request) connectortest.Harness {
	t.Helper()
	h := connectortest.Harness{
		New: func(t *testing.T) connectors.Inbound {
			if mod == nil {
				return newConnector(t)
			}
			return newConnector(t, mod)
		},
		Malformed:        map[string]*connectors.Request{},
		Tamper:           tamper,
		SignatureHeaders: []string{HeaderSignature},
	}
	for _, name := range names {
		w, ok := testdataWant[name]
		if !ok {
			t.Errorf("testdata/%s has no expectation in testdataWant", name)
			continue
		}
		body, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		h.Cases = append(h.Cases, connectortest.Case{Name: name, Request: sign(body), Want: w.want, Unmapped: w.unmapped})
	}
	for name, body := range malformedBodies {
		h.Malformed[name] = sign([]byte(body))
	}
	// Two counts of one variation, the earlier arriving last (Square does
	// not promise order, ref §2.4): the older must carry its own time.
	body, err := os.ReadFile(filepath.Join("testdata", "inventory_count_updated_sale.json"))
	if err != nil {
		t.Fatal(err)
	}
	at := func(eventID, calculated string) *connectors.Request {
		b := strings.ReplaceAll(string(body), "2026-11-20T10:14:02.90412Z", calculated)
		b = strings.Replace(b, "0b7f6c2e-5a41-4d8e-9f13-6e2a8c4d1b07", eventID, 1)
		return sign([]byte(b))
	}
	h.Stale = []connectortest.StalePair{{Name: "count",
		Newer: at("stale-newer", "2026-11-20T11:00:00Z"), Older: at("stale-older", "2026-11-20T10:00:00Z")}}
	return h
}
