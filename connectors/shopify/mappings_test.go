package shopify

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
)

const triggered = "2026-03-14T08:26:59.120442913Z" // newRequest's X-Shopify-Triggered-At

func TestLearn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		topic string
		file  string // testdata file; or body
		body  string
		want  Mappings // Topic is filled in
	}{
		{name: "products/create: a variant without SKU links its item, teaches no SKU", topic: TopicProductsCreate, file: "products_create.json",
			want: Mappings{
				Items:    []ItemSKU{{452938106573918270, "LNR-TRL-M"}},
				Variants: []VariantItem{{48213377065293820, 452938106573918270}, {48213377065293821, 452938106573918271}},
			}},
		{name: "products/update: sku null teaches no SKU", topic: TopicProductsUpdate, file: "products_update.json",
			want: Mappings{
				Items: []ItemSKU{{452938106573918264, "SOCK-TRL-M-MOSS"}, {452938106573918266, "SOCK-TRL-L-MOSS"}},
				Variants: []VariantItem{
					{48213377065293811, 452938106573918264}, {48213377065293814, 452938106573918266}, {48213377065293816, 452938106573918268},
				},
			}},
		{name: "inventory_items/create", topic: TopicInventoryItemsCreate, file: "inventory_items_create.json",
			want: Mappings{Items: []ItemSKU{{452938106573918266, "SOCK-TRL-L-MOSS"}}}},
		{name: "inventory_items/update", topic: TopicInventoryItemsUpdate, file: "inventory_items_update.json",
			want: Mappings{Items: []ItemSKU{{452938106573918264, "SOCK-TRL-M-MOSS"}}}},
		{name: "inventory_items/update without SKU", topic: TopicInventoryItemsUpdate, body: `{"id":5,"sku":""}`},
		{name: "inventory_items/delete", topic: TopicInventoryItemsDelete, file: "inventory_items_delete.json",
			want: Mappings{Deleted: []int64{452938106573918265}}},
		{name: "a trimmed product (include_fields) teaches nothing", topic: TopicProductsUpdate,
			body: `{"id":1,"variants":[{"id":2,"sku":"A"},{"id":3}]}`},
		{name: "ids beyond 2^53 exactly", topic: TopicProductsUpdate,
			body: `{"variants":[{"id":9007199254740993,"inventory_item_id":271878346596884015,"sku":"EXACT"}]}`,
			want: Mappings{
				Items:    []ItemSKU{{271878346596884015, "EXACT"}},
				Variants: []VariantItem{{9007199254740993, 271878346596884015}},
			}},
		{name: "other topics teach nothing and are not parsed", topic: TopicOrdersCreate, body: `not json`},
		{name: "unknown topics too", topic: "orders/paid", body: `not json`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := []byte(tt.body)
			if tt.file != "" {
				body = readTestdata(t, tt.file)
			}
			m, err := newConnector(t).Learn(newRequest(tt.topic, body))
			if err != nil {
				t.Fatalf("Learn: %v", err)
			}
			want := tt.want
			want.Topic = tt.topic
			switch tt.topic {
			case TopicOrdersCreate, "orders/paid":
			default:
				want.At = at(triggered)
			}
			if !reflect.DeepEqual(m, want) {
				t.Errorf("Learn:\n got %+v\nwant %+v", m, want)
			}
			if m.Empty() != (len(want.Items)+len(want.Variants)+len(want.Deleted) == 0) {
				t.Errorf("Empty = %v", m.Empty())
			}
		})
	}
}

func TestLearnAt(t *testing.T) {
	t.Parallel()
	c := newConnector(t)
	body := readTestdata(t, "inventory_items_update.json")
	r := newRequest(TopicInventoryItemsUpdate, body)
	r.Header.Del(HeaderTriggeredAt)
	if m, err := c.Learn(r); err != nil || !m.At.Equal(at("2026-03-12T15:45:30Z")) {
		t.Errorf("without X-Shopify-Triggered-At: At = %v, %v; want updated_at", m.At, err)
	}
	r = newRequest(TopicInventoryItemsDelete, readTestdata(t, "inventory_items_delete.json"))
	r.Header.Del(HeaderTriggeredAt)
	if m, err := c.Learn(r); err != nil || !m.At.Equal(testReceived) {
		t.Errorf("without any time: At = %v, %v; want the receipt time", m.At, err)
	}
}

func TestLearnMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, topic, body, want string
	}{
		{"not JSON", TopicProductsUpdate, `{"variants":`, "body is not JSON"},
		{"array", TopicInventoryItemsUpdate, `[]`, "body is a JSON array"},
		{"variants not an array", TopicProductsCreate, `{"variants":{}}`, "field variants: got JSON object, want an array"},
		{"string item id", TopicProductsUpdate, `{"variants":[{"id":1,"inventory_item_id":"2"}]}`, "field variants.inventory_item_id: got JSON string"},
		{"negative variant id", TopicProductsUpdate, `{"variants":[{"id":-1,"inventory_item_id":2}]}`, "field variants[0].id: -1 is not a Shopify id"},
		{"negative item id", TopicProductsUpdate, `{"variants":[{"id":1,"inventory_item_id":-2}]}`, "field variants[0].inventory_item_id: -2"},
		{"item without id", TopicInventoryItemsCreate, `{"sku":"A"}`, "field id is missing"},
		{"delete without id", TopicInventoryItemsDelete, `{}`, "field id is missing"},
		{"sku not a string", TopicInventoryItemsUpdate, `{"id":1,"sku":7}`, "field sku: got JSON number, want a string"},
		{"bad updated_at", TopicInventoryItemsUpdate, `{"id":1,"updated_at":"today"}`, `field updated_at: "today"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRequest(tt.topic, []byte(tt.body))
			if tt.name == "bad updated_at" {
				r.Header.Del(HeaderTriggeredAt)
			}
			_, err := newConnector(t).Learn(r)
			if !errors.Is(err, connectors.ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Learn = %v, want ErrMalformed saying %q", err, tt.want)
			}
		})
	}
	r := newRequest(TopicProductsUpdate, []byte(`{}`))
	r.Header.Del(HeaderTopic)
	if _, err := newConnector(t).Learn(r); !errors.Is(err, connectors.ErrMalformed) {
		t.Errorf("no topic: %v", err)
	}
	r = newRequest(TopicProductsUpdate, []byte(`{}`))
	r.Header.Set(HeaderTriggeredAt, "soon")
	if _, err := newConnector(t).Learn(r); !errors.Is(err, connectors.ErrMalformed) || !strings.Contains(err.Error(), HeaderTriggeredAt) {
		t.Errorf("bad trigger time: %v", err)
	}
}

func TestMemoryMapper(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC)
	var m MemoryMapper // the zero value is ready
	if _, ok := m.SKU(1); ok {
		t.Fatal("empty mapper knows item 1")
	}
	m.Apply(Mappings{At: t0, Items: []ItemSKU{{1, "A"}, {2, "B"}}, Variants: []VariantItem{{10, 1}, {20, 2}}})
	// A pair older than what is held arrives late: ignored. A newer one wins.
	m.Apply(Mappings{At: t0.Add(-time.Second), Items: []ItemSKU{{1, "OLD"}}})
	m.Apply(Mappings{At: t0.Add(time.Second), Items: []ItemSKU{{2, "B2"}}})
	m.Apply(Mappings{At: t0, Items: []ItemSKU{{3, "C"}}})
	// Item 2 is deleted, even by a delivery stamped earlier.
	m.Apply(Mappings{At: t0.Add(-time.Hour), Deleted: []int64{2}})
	// Variant 10 now points at item 4 (re-created).
	m.Apply(Mappings{At: t0, Variants: []VariantItem{{10, 4}}})
	for _, c := range []struct {
		item int64
		sku  string
		ok   bool
	}{{1, "A", true}, {2, "", false}, {3, "C", true}, {4, "", false}} {
		if sku, ok := m.SKU(c.item); sku != c.sku || ok != c.ok {
			t.Errorf("SKU(%d) = %q, %v; want %q, %v", c.item, sku, ok, c.sku, c.ok)
		}
	}
	for _, c := range []struct {
		variant, item int64
		ok            bool
	}{{10, 4, true}, {20, 0, false}, {30, 0, false}} {
		if item, ok := m.Item(c.variant); item != c.item || ok != c.ok {
			t.Errorf("Item(%d) = %d, %v; want %d, %v", c.variant, item, ok, c.item, c.ok)
		}
	}
	// Deleting item 1, whose variant moved away, keeps variant 10.
	m.Apply(Mappings{Deleted: []int64{1}})
	if item, ok := m.Item(10); !ok || item != 4 {
		t.Errorf("Item(10) = %d, %v after deleting item 1", item, ok)
	}
}

func TestMemoryMapperConcurrent(t *testing.T) {
	t.Parallel()
	var m MemoryMapper
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				id := int64(i%50 + 1)
				m.Apply(Mappings{At: time.Unix(int64(i), 0), Items: []ItemSKU{{id, fmt.Sprint("S", g)}}, Variants: []VariantItem{{id + 1000, id}}})
				m.SKU(id)
				m.Item(id + 1000)
				if i%20 == 0 {
					m.Apply(Mappings{Deleted: []int64{id}})
				}
			}
		})
	}
	wg.Wait()
}

// TestNormalizeUsesMapper learns from products/update and
// inventory_items/update and normalizes inventory levels with what was
// learned: a learned SKU wins over Items, Items still serves the rest.
func TestNormalizeUsesMapper(t *testing.T) {
	t.Parallel()
	mapper := &MemoryMapper{}
	c := newConnector(t, func(c *Config) {
		c.Mapper = mapper
		c.Items = map[string]string{sockItem: "STATIC-SOCK", "452938106573918267": "STATIC-ONLY"}
	})
	level := func(item string) []line {
		body := []byte(`{"inventory_item_id":` + item + `,"location_id":71562346781,"available":4,"updated_at":"2026-03-14T09:00:00Z"}`)
		res := normalize(t, c, newRequest(TopicInventoryLevelsUpdate, body))
		for _, d := range res.Unmapped {
			return []line{{Reason: d.Reason}}
		}
		return lines(t, res.Events)
	}
	if got := level(sockItem); len(got) != 1 || got[0].SKU != "STATIC-SOCK" {
		t.Fatalf("before learning: %+v", got)
	}
	for _, file := range []string{"products_update.json", "inventory_items_create.json"} {
		m, err := c.Learn(newRequest(fileTopic(t, file), readTestdata(t, file)))
		if err != nil {
			t.Fatal(err)
		}
		mapper.Apply(m)
	}
	for _, c := range []struct{ item, sku, reason string }{
		{sockItem, "SOCK-TRL-M-MOSS", ""},             // learned wins
		{"452938106573918266", "SOCK-TRL-L-MOSS", ""}, // learned only
		{"452938106573918267", "STATIC-ONLY", ""},     // Items only
		{"452938106573918268", "", "inventory level of item 452938106573918268 at location 71562346781: " +
			"Shopify inventory item 452938106573918268 is neither learned nor in Items"},
	} {
		got := level(c.item)
		if len(got) != 1 || got[0].SKU != c.sku || got[0].Reason != c.reason && c.reason != "" {
			t.Errorf("item %s: %+v; want SKU %q reason %q", c.item, got, c.sku, c.reason)
		}
		if c.sku != "" && got[0].Type != event.StockCounted {
			t.Errorf("item %s: %+v", c.item, got)
		}
	}
	// Deleting the item unlearns it: Items serves again.
	mapper.Apply(Mappings{Deleted: []int64{452938106573918264}})
	if got := level(sockItem); len(got) != 1 || got[0].SKU != "STATIC-SOCK" {
		t.Errorf("after delete: %+v", got)
	}
}
