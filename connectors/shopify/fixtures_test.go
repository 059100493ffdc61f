package shopify

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/stockgate/stockgate/event"
)

// fixtureDir holds the shared Shopify fixtures: public payloads from
// Shopify's own repositories (ref §3.3; sources in sources.json). The repo
// is /work/main and the fixtures sit beside it in shared/, so from this
// package they are three levels up. They are not copied into the repo.
const fixtureDir = "../../../shared/fixtures/shopify"

const fixtureID = "shopify-fixtures"

// fixtureCase is what one fixture file normalizes to.
type fixtureCase struct {
	topic string
	// extract, when set, picks the webhook body out of the file (the
	// REST exchanges hold an InventoryLevel in response_body).
	extract  func(t *testing.T, raw []byte) []byte
	want     []line
	unmapped []string
	// learn, when set, is what Learn must return (At aside).
	learn *Mappings
}

func fixtureCases() map[string]fixtureCase {
	const (
		order   = "450789469"
		corr    = "shopify:order:" + order
		ordered = "2008-01-10T16:00:00Z" // created_at 2008-01-10T11:00:00-05:00
	)
	src := func(id string) string { return testEventID + "/" + id }
	level := func(t *testing.T, raw []byte) []byte {
		var x struct {
			ResponseBody struct {
				InventoryLevel json.RawMessage `json:"inventory_level"`
			} `json:"response_body"`
		}
		if err := json.Unmarshal(raw, &x); err != nil || len(x.ResponseBody.InventoryLevel) == 0 {
			t.Fatalf("no response_body.inventory_level: %v", err)
		}
		return x.ResponseBody.InventoryLevel
	}
	// rest_order.json: location_id null → DefaultLocation (ref §3.3).
	committed := func(id, sku string) line {
		return line{event.OrderCommitted, sku, "fx-web", 1, "", "sale", order, corr, src(id), at(ordered)}
	}
	// rest_order_after_cancel.json: cancel_reason "other"; no line has a
	// fulfillment_status and its one fulfillment failed, so every line
	// commits; its refunds restock as legacy_restock, not cancel, so every
	// line is released.
	cancelled := func(id, sku string) line {
		return line{event.OrderCancelled, sku, "fx-web", 1, "", "other", order, corr, src(id), at("2025-04-02T16:31:25Z")}
	}
	counted := func(item, sku string, q int64, updated string) line {
		return line{event.StockCounted, sku, "fx-main", q, event.StateAvailable, "channel_report", "",
			"shopify:inventory_level:" + item + "@655441491", testEventID, at(updated)}
	}
	return map[string]fixtureCase{
		"rest_order.json": {topic: TopicOrdersCreate, want: []line{
			committed("466157049", "IPOD2008GREEN"),
			committed("518995019", "IPOD2008RED"),
			committed("703073504", "IPOD2008BLACK"),
		}},
		"rest_order_after_cancel.json": {topic: TopicOrdersCancelled, want: []line{
			committed("466157049", "IPOD2008GREEN"),
			committed("518995019", "IPOD2008RED"),
			committed("703073504", "IPOD2008BLACK"),
			cancelled("466157049", "IPOD2008GREEN"),
			cancelled("518995019", "IPOD2008RED"),
			cancelled("703073504", "IPOD2008BLACK"),
		}},
		// status "failure" (ref §3.3): nothing shipped.
		"rest_fulfillment.json": {topic: TopicFulfillmentsCreate},
		// restock_type "no_restock" (ref §3.3): no stock change.
		"rest_refund.json": {topic: TopicRefundsCreate},
		"rest_inventory_level.json": {topic: TopicInventoryLevelsUpdate, want: []line{
			counted("808950810", "IPOD2008PINK", 42, "2025-04-02T16:30:13Z"),
		}},
		"rest_inventory_levels_set_exchange.json": {topic: TopicInventoryLevelsUpdate, extract: level, want: []line{
			counted("808950810", "IPOD2008PINK", 42, "2025-04-02T16:30:13Z"),
		}},
		"rest_inventory_levels_adjust_exchange.json": {topic: TopicInventoryLevelsUpdate, extract: level, want: []line{
			counted("808950810", "IPOD2008PINK", 6, "2025-04-02T16:30:19Z"),
		}},
		// Location 844681632 is deliberately not configured.
		"rest_inventory_levels_connect_exchange.json": {topic: TopicInventoryLevelsConnect, extract: level, unmapped: []string{
			"inventory level of item 457924702 at location 844681632: Shopify location 844681632 is not in Locations",
		}},
		// No quantities per location (ref §3.2): no events, only mappings.
		// The mocked product's variant ids equal their inventory item ids.
		"rest_inventory_item.json": {topic: TopicInventoryItemsUpdate, learn: &Mappings{
			Items: []ItemSKU{{808950810, "IPOD2008PINK"}},
		}},
		"rest_product.json": {topic: TopicProductsUpdate, learn: &Mappings{
			Items: []ItemSKU{{808950810, "IPOD2008PINK"}, {49148385, "IPOD2008RED"}, {39072856, "IPOD2008GREEN"}, {457924702, "IPOD2008BLACK"}},
			Variants: []VariantItem{
				{808950810, 808950810}, {49148385, 49148385}, {39072856, 39072856}, {457924702, 457924702},
			},
		}},
		// No inventory_item_id in the docs example: nothing to link.
		"docs_products_update_example.json": {topic: TopicProductsUpdate, learn: &Mappings{}},
	}
}

// TestSharedFixtures signs, verifies and normalizes every payload in the
// shared fixture folder under its topic, and runs the published HMAC
// vector file. A new fixture without an expectation fails the test.
func TestSharedFixtures(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(fixtureDir)
	if os.IsNotExist(err) {
		t.Skipf("shared fixtures not present at %s", fixtureDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	cases := fixtureCases()
	c := newConnector(t, func(c *Config) {
		c.ID = fixtureID
		c.Shop = ""
		c.Locations = map[string]string{"655441491": "fx-main", "487838322": "fx-returns"}
		c.DefaultLocation = "fx-web"
		c.Items = map[string]string{"808950810": "IPOD2008PINK", "457924702": "IPOD2008BLACK"}
	})
	seen := 0
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || filepath.Ext(name) != ".json" {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(fixtureDir, name))
		if err != nil {
			t.Fatal(err)
		}
		switch name {
		case "sources.json":
			continue
		case "hmac_test_vector.json":
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				var v struct {
					Secret         string            `json:"secret"`
					Body           string            `json:"body"`
					ExpectedHeader map[string]string `json:"expected_header"`
				}
				if err := json.Unmarshal(raw, &v); err != nil {
					t.Fatal(err)
				}
				checkVector(t, v.Secret, []byte(v.Body), v.ExpectedHeader[HeaderHMAC], []byte(vectorReserialised))
			})
			continue
		}
		tc, ok := cases[name]
		if !ok {
			t.Errorf("fixture %s has no expectation in fixtureCases", name)
			continue
		}
		seen++
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body := raw
			if tc.extract != nil {
				body = tc.extract(t, raw)
			}
			r := newRequest(tc.topic, body)
			if err := c.Verify(r); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			res := normalize(t, c, r)
			if got := lines(t, res.Events); !reflect.DeepEqual(got, nonNil(tc.want)) {
				t.Errorf("events:\n got %+v\nwant %+v", got, tc.want)
			}
			var reasons []string
			for _, d := range res.Unmapped {
				reasons = append(reasons, d.Reason)
			}
			if !reflect.DeepEqual(reasons, tc.unmapped) {
				t.Errorf("unmapped:\n got %q\nwant %q", reasons, tc.unmapped)
			}
			m, err := c.Learn(r)
			if err != nil {
				t.Fatalf("Learn: %v", err)
			}
			want := Mappings{Topic: tc.topic}
			if tc.learn != nil {
				want = *tc.learn
				want.Topic = tc.topic
				if m.At.IsZero() {
					t.Error("Learn: At is zero")
				}
			}
			m.At = time.Time{}
			if !reflect.DeepEqual(m, want) {
				t.Errorf("Learn:\n got %+v\nwant %+v", m, want)
			}
		})
	}
	if seen != len(cases) {
		t.Errorf("ran %d of %d expected fixtures; some are missing from %s", seen, len(cases), fixtureDir)
	}
}
