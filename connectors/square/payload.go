package square

import "encoding/json"

// Square webhook bodies are an envelope {merchant_id, type, event_id,
// created_at, data{type, id, object}} (ref §2.4, spec
// components.schemas.InventoryCountUpdatedEvent and the other *Event
// schemas). Square ids are strings, so nothing here needs the exact-integer
// care Shopify's numeric ids do; the one integer, an order's version, is an
// int64. Only the fields that matter for stock are decoded (ref §3 "Fields
// to read").

// envelope is every webhook's outer object. Object stays raw until the type
// says what it holds, so an unknown type is never rejected for its object's
// shape.
type envelope struct {
	MerchantID string `json:"merchant_id"`
	Type       string `json:"type"`
	EventID    string `json:"event_id"`
	CreatedAt  string `json:"created_at"`
	Data       struct {
		Type   string          `json:"type"`
		ID     string          `json:"id"`
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// countsObject is data.object of inventory.count.updated: an array, so one
// event can carry several counts (ref §3). A pointer tells a missing or
// null array from an empty one.
type countsObject struct {
	InventoryCounts *[]inventoryCount `json:"inventory_counts"`
}

// inventoryCount is spec InventoryCount (ref §3 "InventoryCount fields";
// fixtures/square/inventory_count_updated_event.json).
type inventoryCount struct {
	// CatalogObjectID is the item variation id.
	CatalogObjectID string `json:"catalog_object_id"`
	// CatalogObjectType is ITEM_VARIATION, or ITEM when set by Square
	// Restaurants (ref §3).
	CatalogObjectType string `json:"catalog_object_type"`
	// State is an InventoryState (ref §4.4).
	State      string `json:"state"`
	LocationID string `json:"location_id"`
	// Quantity is a decimal string, up to 5 decimals and 26 characters
	// (ref §3, §6 pitfall 8); see squareapi.ParseQuantity.
	Quantity string `json:"quantity"`
	// CalculatedAt is RFC 3339, the ordering watermark per (variation,
	// location, state) (ref §3).
	CalculatedAt string `json:"calculated_at"`
	// IsEstimated (BETA) marks an estimated count of a composed variation
	// (ref §3).
	IsEstimated bool `json:"is_estimated"`
}

// ordersObject is data.object of order.created (order_created) or
// order.updated (order_updated): an order id and state, no line items
// (ref §3; spec OrderCreatedEvent, OrderUpdatedEvent).
type ordersObject struct {
	OrderCreated *orderSummary `json:"order_created"`
	OrderUpdated *orderSummary `json:"order_updated"`
}

// orderSummary is spec OrderCreated / OrderUpdated
// (fixtures/square/order_created_event.json, order_updated_event.json).
type orderSummary struct {
	OrderID    string `json:"order_id"`
	LocationID string `json:"location_id"`
	State      string `json:"state"`
	Version    int64  `json:"version"`
	CreatedAt  string `json:"created_at"`
	UpdatedAt  string `json:"updated_at"`
}

// InventoryState values (ref §4.4, spec enum InventoryState). Only IN_STOCK
// is stock on hand; see the package doc.
const (
	stateInStock = "IN_STOCK"
)

// otherStates are the InventoryState values that are not stock on hand
// (ref §4.4). A count in one of them normalizes to nothing; a state in
// neither list is a dead letter, so a new Square state is noticed.
var otherStates = map[string]bool{
	"SOLD": true, "WASTE": true, "UNLINKED_RETURN": true, "COMPOSED": true, "DECOMPOSED": true,
	"NONE": true, "IN_TRANSIT": true, "IN_TRANSIT_TO": true, "CUSTOM": true,
	"RETURNED_BY_CUSTOMER": true, "RESERVED_FOR_SALE": true, "SOLD_ONLINE": true,
	"ORDERED_FROM_VENDOR": true, "RECEIVED_FROM_VENDOR": true,
}

// OrderState values (https://developer.squareup.com/reference/square/objects/OrderState).
const (
	// orderDraft: "Draft orders can be updated, but cannot be paid or
	// fulfilled" (same page), so they move no stock.
	orderDraft = "DRAFT"
	// orderOpen: placed, not yet completed; its units are still IN_STOCK.
	orderOpen = "OPEN"
	// orderCompleted: paid and fulfilled; Square moved its units out of
	// IN_STOCK and reports the new count (ref §3).
	orderCompleted = "COMPLETED"
	// orderCanceled: Square's spelling (one L).
	orderCanceled = "CANCELED"
)
