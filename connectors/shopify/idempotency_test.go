package shopify

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/stockgate/stockgate/event"
)

// TestSameFactSameID checks that every topic proving the same fact yields
// the same event id, whatever delivery carries it, so the ledger (which
// applies an event id once) counts each fact once.
func TestSameFactSameID(t *testing.T) {
	t.Parallel()
	c := newConnector(t)
	ids := func(topic, file, eventID string, types ...event.Type) []string {
		t.Helper()
		r := newRequest(topic, readTestdata(t, file))
		r.Header.Set(HeaderEventID, eventID)
		var out []string
		for _, e := range normalize(t, c, r).Events {
			if slices.Contains(types, e.Type) {
				out = append(out, e.ID())
			}
		}
		return out
	}
	commits := ids(TopicOrdersCreate, "orders_create.json", "ev-create", event.OrderCommitted)
	if len(commits) != 2 {
		t.Fatalf("orders/create commits: %v", commits)
	}
	cancels := ids(TopicOrdersCancelled, "orders_cancelled.json", "ev-cancelled", event.OrderCancelled)
	if len(cancels) != 2 {
		t.Fatalf("orders/cancelled cancels: %v", cancels)
	}
	same := []struct {
		name      string
		got, want []string
	}{
		{"orders/updated commits = orders/create commits",
			ids(TopicOrdersUpdated, "orders_updated.json", "ev-updated", event.OrderCommitted), commits},
		{"orders/cancelled commits = orders/create commits",
			ids(TopicOrdersCancelled, "orders_cancelled.json", "ev-cancelled", event.OrderCommitted), commits},
		{"orders/updated (cancelled_at) commits = orders/create commits",
			ids(TopicOrdersUpdated, "orders_updated_cancelled.json", "ev-updated-2", event.OrderCommitted), commits},
		{"orders/updated (cancelled_at) cancels = orders/cancelled cancels",
			ids(TopicOrdersUpdated, "orders_updated_cancelled.json", "ev-updated-3", event.OrderCancelled), cancels},
		{"fulfillments/update = fulfillments/create",
			ids(TopicFulfillmentsUpdate, "fulfillments_update.json", "ev-f2", event.OrderFulfilled),
			ids(TopicFulfillmentsCreate, "fulfillments_create.json", "ev-f1", event.OrderFulfilled)},
		{"refunds/create under another event id",
			ids(TopicRefundsCreate, "refunds_create.json", "ev-r2", event.StockReturned, event.OrderCancelled),
			ids(TopicRefundsCreate, "refunds_create.json", "ev-r1", event.StockReturned, event.OrderCancelled)},
	}
	for _, s := range same {
		if len(s.want) == 0 || !reflect.DeepEqual(s.got, s.want) {
			t.Errorf("%s: got %v, want %v", s.name, s.got, s.want)
		}
	}
	// Different facts, different ids: a line's commit and its cancel; a
	// refund's cancel restock and the order's cancel; each observation.
	all := append(append([]string{}, commits...), cancels...)
	all = append(all, ids(TopicRefundsCreate, "refunds_create.json", "ev-r1", event.OrderCancelled)...)
	all = append(all, ids(TopicInventoryLevelsUpdate, "inventory_levels_update.json", "ev-l1", event.StockCounted)...)
	all = append(all, ids(TopicInventoryLevelsUpdate, "inventory_levels_update.json", "ev-l2", event.StockCounted)...)
	seen := map[string]bool{}
	for _, id := range all {
		if seen[id] {
			t.Errorf("id %s stands for two facts: %v", id, all)
		}
		seen[id] = true
	}
	// Another connector (another shop) never shares an id.
	other := newConnector(t, func(c *Config) { c.ID = "shopify-us" })
	r := newRequest(TopicOrdersCreate, readTestdata(t, "orders_create.json"))
	r.Header.Set(HeaderEventID, "ev-create")
	for _, id := range eventIDs(normalize(t, other, r).Events) {
		if seen[id] {
			t.Errorf("connector shopify-us reuses id %s", id)
		}
	}
}

// TestOrderTopicsInAnyOrder feeds an order's deliveries in every order to
// a fold that, like the ledger, applies an event id once, and checks that
// the committed quantity per SKU always ends where Shopify's does: 0 once
// the order is cancelled or shipped. Each delivery has its own trigger
// time, so late snapshots are also stale.
func TestOrderTopicsInAnyOrder(t *testing.T) {
	t.Parallel()
	type delivery struct{ topic, file, body, triggered string }
	scenarios := map[string][]delivery{
		// The POS order, cancelled; one sock restocked by a "cancel"
		// refund, which also arrives as its own refunds/create.
		"cancelled": {
			{TopicOrdersCreate, "orders_create.json", "", "2026-03-14T08:26:54Z"},
			{TopicOrdersUpdated, "orders_updated.json", "", "2026-03-14T08:31:12Z"},
			{TopicOrdersUpdated, "orders_updated_cancelled.json", "", "2026-03-15T15:40:03Z"},
			{TopicOrdersCancelled, "orders_cancelled.json", "", "2026-03-15T15:40:03Z"},
			{TopicRefundsCreate, "", `{"id":1034598271650,"order_id":731462950184736219,"created_at":"2026-03-15T16:40:01+01:00",
				"refund_line_items":[{"id":887766554433221,"line_item_id":271878346596884101,"location_id":71562346781,
				"quantity":1,"restock_type":"cancel","line_item":{"id":271878346596884101,"sku":"SOCK-TRL-M-MOSS"}}]}`,
				"2026-03-15T15:40:01Z"},
		},
		// An order shipped, then updated: the update no longer commits the
		// shipped line, so orders/create must never be dropped as stale.
		"shipped": {
			{TopicOrdersCreate, "", `{"id":42,"created_at":"2026-01-01T00:00:00Z","line_items":[{"id":7,"sku":"A","quantity":2},{"id":8,"sku":"B","quantity":1}]}`,
				"2026-01-01T00:00:01Z"},
			{TopicOrdersUpdated, "", `{"id":42,"created_at":"2026-01-01T00:00:00Z","line_items":[{"id":7,"sku":"A","quantity":2},{"id":8,"sku":"B","quantity":1}]}`,
				"2026-01-01T00:00:02Z"},
			{TopicFulfillmentsCreate, "", `{"id":5,"order_id":42,"status":"success","location_id":71562346782,"created_at":"2026-01-02T00:00:00Z",
				"line_items":[{"id":7,"sku":"A","quantity":2},{"id":8,"sku":"B","quantity":1}]}`, "2026-01-02T00:00:01Z"},
			{TopicOrdersUpdated, "", `{"id":42,"created_at":"2026-01-01T00:00:00Z","line_items":[
				{"id":7,"sku":"A","quantity":2,"fulfillment_status":"fulfilled"},{"id":8,"sku":"B","quantity":1,"fulfillment_status":"fulfilled"}],
				"fulfillments":[{"id":5,"status":"success","line_items":[{"id":7,"quantity":2},{"id":8,"quantity":1}]}]}`,
				"2026-01-02T00:00:02Z"},
		},
	}
	for name, deliveries := range scenarios {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			perm := make([]int, len(deliveries))
			for i := range perm {
				perm[i] = i
			}
			for {
				c := newConnector(t)
				applied := map[string]bool{}
				committed := map[string]int64{}
				for i, p := range perm {
					d := deliveries[p]
					body := []byte(d.body)
					if d.file != "" {
						body = readTestdata(t, d.file)
					}
					r := newRequest(d.topic, body)
					r.Header.Set(HeaderEventID, fmt.Sprintf("ev-%d", i))
					r.Header.Set(HeaderTriggeredAt, d.triggered)
					for _, e := range normalize(t, c, r).Events {
						if applied[e.ID()] {
							continue
						}
						applied[e.ID()] = true
						switch e.Type {
						case event.OrderCommitted:
							committed[e.Movement.SKU] += e.Movement.Quantity
						case event.OrderCancelled, event.OrderFulfilled:
							committed[e.Movement.SKU] -= e.Movement.Quantity
						}
					}
				}
				for sku, q := range committed {
					if q != 0 {
						t.Errorf("deliveries in order %v: %s committed %d, want 0", perm, sku, q)
					}
				}
				if len(committed) == 0 {
					t.Errorf("deliveries in order %v committed nothing", perm)
				}
				if !nextPerm(perm) {
					break
				}
			}
		})
	}
}

// nextPerm advances p to the next permutation in lexical order.
func nextPerm(p []int) bool {
	i := len(p) - 2
	for i >= 0 && p[i] >= p[i+1] {
		i--
	}
	if i < 0 {
		return false
	}
	j := len(p) - 1
	for p[j] <= p[i] {
		j--
	}
	p[i], p[j] = p[j], p[i]
	slices.Reverse(p[i+1:])
	return true
}
