package squareapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/stockgate/stockgate/errcode"
)

// OrdersPath is the prefix of RetrieveOrder's endpoint, GET
// /v2/orders/{order_id} (Square API reference, Orders API RetrieveOrder,
// https://developer.squareup.com/reference/square/orders-api/retrieve-order;
// spec paths./v2/orders/{order_id}.get, scope ORDERS_READ, ref §5). The
// project's reference does not cover the Orders API beyond "fetch the
// order" (ref §3); BatchRetrieveOrders (POST /v2/orders/batch-retrieve)
// would fetch several at once, but a webhook names one order.
const OrdersPath = "/v2/orders/"

// maxOrderIDLen bounds the order id sent in the path. Square's order ids
// are short opaque strings ("eA3vssLHKJrv9H0IdJCM3gNqfdcZY", ref §3
// fixtures); the webhook connector accepts up to 256 bytes.
const maxOrderIDLen = 256

// Order is the part of a Square Order (spec components.schemas.Order) that
// matters for stock.
type Order struct {
	ID         string
	LocationID string
	// State is an OrderState: OPEN, COMPLETED, CANCELED or DRAFT
	// (https://developer.squareup.com/reference/square/objects/OrderState).
	State string
	// Version increases with every update of the order.
	Version int64
	// CreatedAt and UpdatedAt are zero when the answer had none.
	CreatedAt time.Time
	UpdatedAt time.Time
	LineItems []LineItem
}

// LineItem is an OrderLineItem (spec components.schemas.OrderLineItem).
type LineItem struct {
	// UID is the line's id, unique within the order.
	UID string
	// CatalogObjectID is the item variation sold; empty for an ad hoc
	// (custom amount) line.
	CatalogObjectID string
	// Quantity is a decimal string ("1", "2.5" for a unit sold by
	// measure); see ParseQuantity. Never parse it as a float.
	Quantity string
	Name     string
}

type wireLineItem struct {
	UID             string `json:"uid"`
	CatalogObjectID string `json:"catalog_object_id"`
	Quantity        string `json:"quantity"`
	Name            string `json:"name"`
}

type wireOrder struct {
	ID         string         `json:"id"`
	LocationID string         `json:"location_id"`
	State      string         `json:"state"`
	Version    int64          `json:"version"`
	CreatedAt  string         `json:"created_at"`
	UpdatedAt  string         `json:"updated_at"`
	LineItems  []wireLineItem `json:"line_items"`
}

// wireOrderResponse is spec RetrieveOrderResponse: {order, errors}.
type wireOrderResponse struct {
	Order  *wireOrder `json:"order"`
	Errors []APIError `json:"errors"`
}

// RetrieveOrder fetches one order: GET /v2/orders/{order_id} (see
// OrdersPath). An unknown order is a NotFound *Error (HTTP 404); every
// other failure is classified as the package doc lists. It sends nothing
// for an empty or over-long orderID (InvalidArgument).
func (c *Client) RetrieveOrder(ctx context.Context, orderID string) (Order, error) {
	if orderID == "" || len(orderID) > maxOrderIDLen {
		return Order{}, &Error{Code: errcode.InvalidArgument,
			Err: fmt.Errorf("orderID: %d bytes: want 1 to %d", len(orderID), maxOrderIDLen)}
	}
	var wr wireOrderResponse
	status, err := c.send(ctx, http.MethodGet, c.base+OrdersPath+url.PathEscape(orderID), nil, &wr, &wr.Errors, "RetrieveOrderResponse")
	if err != nil {
		return Order{}, err
	}
	bad := func(format string, args ...any) (Order, error) {
		return Order{}, &Error{Code: errcode.Unknown, HTTPStatus: status, Err: fmt.Errorf("RetrieveOrderResponse: "+format, args...)}
	}
	w := wr.Order
	if w == nil {
		return bad("no order")
	}
	if w.ID != orderID {
		return bad("order id %q, asked for %q", w.ID, orderID)
	}
	o := Order{ID: w.ID, LocationID: w.LocationID, State: w.State, Version: w.Version}
	for _, f := range [...]struct {
		name, v string
		t       *time.Time
	}{{"created_at", w.CreatedAt, &o.CreatedAt}, {"updated_at", w.UpdatedAt, &o.UpdatedAt}} {
		if f.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, f.v)
		if err != nil {
			return bad("order.%s: %q is not RFC 3339", f.name, f.v)
		}
		*f.t = t
	}
	o.LineItems = make([]LineItem, 0, len(w.LineItems))
	for _, li := range w.LineItems {
		o.LineItems = append(o.LineItems, LineItem(li))
	}
	return o, nil
}
