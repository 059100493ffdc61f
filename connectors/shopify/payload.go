package shopify

// Webhook bodies are the bare REST resource of the topic, not wrapped in
// {"order": …} (ref §1, §3.2: "the full REST resource payload for the
// topic", https://shopify.dev/docs/apps/build/webhooks/delivery-structure).
// Only the fields that move stock are decoded (ref §3.2, "Fields to read").
//
// Ids exceed 2^53 (ref §3.3: inventory_item_id 271878346596884015), so they
// are int64, which encoding/json parses exactly, never float64. A JSON null
// leaves an int64 at 0; Shopify ids are positive, so 0 means "absent".

// lineItem is an Order or Fulfillment line_items[] entry, and the
// line_item of a refund line.
type lineItem struct {
	ID       int64  `json:"id"`
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
	// FulfillmentStatus is null (nothing shipped), "partial" or
	// "fulfilled" on an order's lines
	// (https://shopify.dev/docs/api/admin-rest/latest/resources/order,
	// line_items.fulfillment_status; not in the reference).
	FulfillmentStatus string `json:"fulfillment_status"`
}

// Line fulfillment statuses read by the order snapshot topics.
const (
	lineUnshipped = ""          // null: nothing of the line shipped
	lineFulfilled = "fulfilled" // every unit shipped
)

// order is the Order resource of orders/create, orders/updated and
// orders/cancelled (ref §3.2; fixtures/shopify/rest_order.json).
type order struct {
	ID int64 `json:"id"`
	// LocationID is null for online orders (ref §3.3, rest_order.json).
	LocationID   int64      `json:"location_id"`
	CreatedAt    string     `json:"created_at"`
	UpdatedAt    string     `json:"updated_at"`
	CancelledAt  string     `json:"cancelled_at"`
	CancelReason string     `json:"cancel_reason"`
	LineItems    []lineItem `json:"line_items"`
	// Refunds are the order's refunds so far (rest_order_after_cancel.json
	// carries them); a cancel reads their cancel restocks.
	Refunds []refund `json:"refunds"`
	// Fulfillments are the order's fulfillments so far (rest_order.json
	// carries one, status "failure"); a cancel reads what they shipped.
	Fulfillments []fulfillment `json:"fulfillments"`
}

// fulfillment is the Fulfillment resource of fulfillments/create and
// fulfillments/update (ref §3.2; fixtures/shopify/rest_fulfillment.json),
// and an entry of an order's fulfillments.
type fulfillment struct {
	ID         int64      `json:"id"`
	OrderID    int64      `json:"order_id"`
	Status     string     `json:"status"`
	LocationID int64      `json:"location_id"`
	CreatedAt  string     `json:"created_at"`
	UpdatedAt  string     `json:"updated_at"`
	LineItems  []lineItem `json:"line_items"`
}

// refund is the Refund resource of refunds/create (ref §3.2;
// fixtures/shopify/rest_refund.json).
type refund struct {
	ID              int64        `json:"id"`
	OrderID         int64        `json:"order_id"`
	CreatedAt       string       `json:"created_at"`
	ProcessedAt     string       `json:"processed_at"`
	RefundLineItems []refundLine `json:"refund_line_items"`
}

// refundLine is a refund_line_items[] entry. LocationID is where the units
// were restocked; null for no_restock (ref §3.3, rest_refund.json).
type refundLine struct {
	ID          int64    `json:"id"`
	LineItemID  int64    `json:"line_item_id"`
	Quantity    int64    `json:"quantity"`
	RestockType string   `json:"restock_type"`
	LocationID  int64    `json:"location_id"`
	LineItem    lineItem `json:"line_item"`
}

// Restock types, lowercase in REST and webhooks (ref §3.2: enum
// RefundLineItemRestockType,
// https://shopify.dev/docs/api/admin-graphql/latest/enums/RefundLineItemRestockType).
const (
	restockReturn = "return"         // fulfilled units restocked
	restockCancel = "cancel"         // unfulfilled units restocked
	restockNone   = "no_restock"     // no stock change
	restockLegacy = "legacy_restock" // deprecated; no stock change recorded
)

// inventoryLevel is the InventoryLevel resource of inventory_levels/update
// and inventory_levels/connect (ref §3.2;
// fixtures/shopify/rest_inventory_level.json,
// rest_inventory_levels_connect_exchange.json), and the body of
// inventory_levels/disconnect, whose shape is not verified beyond its two
// ids (ref §3.2 [U/S]). Available is a pointer because it may be null when
// the item is not tracked (ref §3.2 [S]).
type inventoryLevel struct {
	InventoryItemID int64  `json:"inventory_item_id"`
	LocationID      int64  `json:"location_id"`
	Available       *int64 `json:"available"`
	UpdatedAt       string `json:"updated_at"`
}

// product is the Product resource of products/create and products/update
// (ref §3.2; fixtures/shopify/rest_product.json,
// docs_products_update_example.json). Only the variant ↔ inventory item ↔
// SKU links are read; the aggregate inventory_quantity is not a stock
// signal (ref §3.2, §6 pitfall 10).
type product struct {
	ID        int64     `json:"id"`
	UpdatedAt string    `json:"updated_at"`
	Variants  []variant `json:"variants"`
}

// variant is a Product variants[] entry. InventoryItemID is absent from
// docs_products_update_example.json, so 0 is possible.
type variant struct {
	ID              int64  `json:"id"`
	InventoryItemID int64  `json:"inventory_item_id"`
	SKU             string `json:"sku"`
}

// inventoryItem is the InventoryItem resource of inventory_items/create and
// inventory_items/update (ref §3.2; fixtures/shopify/rest_inventory_item.json),
// and the {"id": …} body of inventory_items/delete.
type inventoryItem struct {
	ID        int64  `json:"id"`
	SKU       string `json:"sku"`
	UpdatedAt string `json:"updated_at"`
}
