package shopify

import (
	"fmt"
	"sync"
	"time"

	"github.com/stockgate/stockgate/connectors"
)

// Mapper maps a Shopify inventory item id to a SKU from what the connector
// learned (see Learn). Normalize asks it before Config.Items, so a learned
// mapping wins over the static one. Implementations must be safe for
// concurrent use.
type Mapper interface {
	// SKU returns the SKU of the inventory item; ok is false when the
	// item is not known.
	SKU(itemID int64) (sku string, ok bool)
}

// ItemSKU is a learned inventory item → SKU pair.
type ItemSKU struct {
	ItemID int64
	SKU    string
}

// VariantItem is a learned variant → inventory item pair. Shopify gives
// each variant exactly one inventory item.
type VariantItem struct {
	VariantID int64
	ItemID    int64
}

// Mappings are what one products/* or inventory_items/* delivery says
// about the links between variants, inventory items and SKUs (ref §3.2:
// products/update variants[].{id, inventory_item_id, sku};
// inventory_items/update {id, sku}).
type Mappings struct {
	// Topic is the delivery's topic.
	Topic string
	// At is when Shopify triggered the delivery: X-Shopify-Triggered-At,
	// else the body's updated_at, else when the request was received. A
	// MemoryMapper ignores pairs older than what it holds for an item.
	At time.Time
	// Items are inventory item → SKU pairs. An item or variant whose sku
	// is empty or null gives none: a cleared SKU is not unlearned (only
	// a deleted item is), and a payload trimmed by include_fields must
	// not erase mappings.
	Items []ItemSKU
	// Variants are variant → inventory item pairs, from products/*.
	Variants []VariantItem
	// Deleted are inventory items that no longer exist
	// (inventory_items/delete): forget them and their variants.
	Deleted []int64
}

// Empty reports whether m teaches nothing.
func (m Mappings) Empty() bool {
	return len(m.Items) == 0 && len(m.Variants) == 0 && len(m.Deleted) == 0
}

// Learn reads the mappings a products/create, products/update,
// inventory_items/create, inventory_items/update or inventory_items/delete
// delivery carries; for any other topic it returns empty Mappings. Like
// Normalize it does not check the signature: call Verify first. The caller
// persists the result and feeds it to the Mapper in Config (for example
// MemoryMapper.Apply). Errors wrap connectors.ErrMalformed and name the
// header or field at fault.
func (c *Connector) Learn(r *connectors.Request) (Mappings, error) {
	topic := header(r.Header, HeaderTopic, EventsHeaderTopic)
	if topic == "" {
		return Mappings{}, fmt.Errorf("%w: shopify: missing %s header", connectors.ErrMalformed, HeaderTopic)
	}
	n := &normalizer{c: c, r: r, topic: topic}
	ms := Mappings{Topic: topic}
	var updatedAt string
	switch topic {
	case TopicProductsCreate, TopicProductsUpdate:
		var p product
		if err := n.decode(&p); err != nil {
			return Mappings{}, err
		}
		if err := n.checkID("id", p.ID, false); err != nil {
			return Mappings{}, err
		}
		for i, v := range p.Variants {
			if err := n.checkID(fmt.Sprintf("variants[%d].id", i), v.ID, false); err != nil {
				return Mappings{}, err
			}
			if err := n.checkID(fmt.Sprintf("variants[%d].inventory_item_id", i), v.InventoryItemID, false); err != nil {
				return Mappings{}, err
			}
			if v.InventoryItemID == 0 {
				continue // include_fields, or the docs example: nothing to link
			}
			if v.ID != 0 {
				ms.Variants = append(ms.Variants, VariantItem{VariantID: v.ID, ItemID: v.InventoryItemID})
			}
			if v.SKU != "" {
				ms.Items = append(ms.Items, ItemSKU{ItemID: v.InventoryItemID, SKU: v.SKU})
			}
		}
		updatedAt = p.UpdatedAt
	case TopicInventoryItemsCreate, TopicInventoryItemsUpdate, TopicInventoryItemsDelete:
		var it inventoryItem
		if err := n.decode(&it); err != nil {
			return Mappings{}, err
		}
		if err := n.checkID("id", it.ID, true); err != nil {
			return Mappings{}, err
		}
		switch {
		case topic == TopicInventoryItemsDelete:
			ms.Deleted = []int64{it.ID}
		case it.SKU != "":
			ms.Items = []ItemSKU{{ItemID: it.ID, SKU: it.SKU}}
		}
		updatedAt = it.UpdatedAt
	default:
		return ms, nil
	}
	at, ok, err := n.triggeredAt(stamp{"updated_at", updatedAt})
	if err != nil {
		return Mappings{}, err
	}
	if !ok {
		at = n.received().UTC()
	}
	ms.At = at
	return ms, nil
}

// MemoryMapper is an in-memory Mapper that learns from Mappings. Per
// inventory item it keeps the SKU with the time it was learned and ignores
// an older pair arriving late (ordering is not guaranteed, ref §2.4); a
// deletion always applies. It also keeps variant → item links for the
// outbound side, which writes by inventory item.
//
// The zero value is empty and ready to use. A MemoryMapper is safe for
// concurrent use and must not be copied after first use.
type MemoryMapper struct {
	mu       sync.RWMutex
	skus     map[int64]learned
	variants map[int64]int64 // variant → item
	itemOf   map[int64]int64 // item → variant
}

type learned struct {
	sku string
	at  time.Time
}

var _ Mapper = (*MemoryMapper)(nil)

// Apply learns m.
func (mm *MemoryMapper) Apply(m Mappings) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if mm.skus == nil {
		mm.skus = make(map[int64]learned)
		mm.variants = make(map[int64]int64)
		mm.itemOf = make(map[int64]int64)
	}
	for _, p := range m.Items {
		if old, ok := mm.skus[p.ItemID]; ok && m.At.Before(old.at) {
			continue
		}
		mm.skus[p.ItemID] = learned{p.SKU, m.At}
	}
	for _, p := range m.Variants {
		if old, ok := mm.variants[p.VariantID]; ok && old != p.ItemID {
			delete(mm.itemOf, old)
		}
		mm.variants[p.VariantID] = p.ItemID
		mm.itemOf[p.ItemID] = p.VariantID
	}
	for _, item := range m.Deleted {
		delete(mm.skus, item)
		if v, ok := mm.itemOf[item]; ok {
			delete(mm.variants, v)
			delete(mm.itemOf, item)
		}
	}
}

// SKU implements Mapper.
func (mm *MemoryMapper) SKU(itemID int64) (string, bool) {
	mm.mu.RLock()
	defer mm.mu.RUnlock()
	l, ok := mm.skus[itemID]
	return l.sku, ok
}

// Item returns the inventory item of a variant.
func (mm *MemoryMapper) Item(variantID int64) (int64, bool) {
	mm.mu.RLock()
	defer mm.mu.RUnlock()
	item, ok := mm.variants[variantID]
	return item, ok
}
