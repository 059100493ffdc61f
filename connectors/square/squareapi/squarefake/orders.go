package squarefake

import (
	"net/http"
	"slices"
	"time"
)

// Order is an order the fake serves from GET /v2/orders/{order_id}: the
// fields of spec Order that the connector reads.
type Order struct {
	ID         string
	LocationID string
	// State is an OrderState (OPEN, COMPLETED, CANCELED, DRAFT). Zero:
	// "OPEN".
	State string
	// Version zero: 1.
	Version int64
	// CreatedAt and UpdatedAt zero: Options.Now() when set.
	CreatedAt time.Time
	UpdatedAt time.Time
	LineItems []LineItem
}

// LineItem is an OrderLineItem.
type LineItem struct {
	UID             string
	CatalogObjectID string
	// Quantity is the decimal string served as is.
	Quantity string
	Name     string
}

// SetOrder adds or replaces the order with o.ID, filling the zero fields
// as Order describes.
func (s *Server) SetOrder(o Order) {
	if o.State == "" {
		o.State = "OPEN"
	}
	if o.Version == 0 {
		o.Version = 1
	}
	now := s.now()
	if o.CreatedAt.IsZero() {
		o.CreatedAt = now
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = now
	}
	o.LineItems = slices.Clone(o.LineItems)
	s.mu.Lock()
	s.orders[o.ID] = o
	s.mu.Unlock()
}

// DeleteOrder removes an order, so that it is answered 404.
func (s *Server) DeleteOrder(id string) {
	s.mu.Lock()
	delete(s.orders, id)
	s.mu.Unlock()
}

type wireLineItem struct {
	UID             string `json:"uid"`
	CatalogObjectID string `json:"catalog_object_id,omitempty"`
	Name            string `json:"name,omitempty"`
	Quantity        string `json:"quantity"`
}

type wireOrder struct {
	CreatedAt  string         `json:"created_at"`
	ID         string         `json:"id"`
	LineItems  []wireLineItem `json:"line_items,omitempty"`
	LocationID string         `json:"location_id"`
	State      string         `json:"state"`
	UpdatedAt  string         `json:"updated_at"`
	Version    int64          `json:"version"`
}

// serveOrder answers GET /v2/orders/{order_id}: {"order": Order} (spec
// RetrieveOrderResponse), or 404 NOT_FOUND for an id it does not hold
// [U: the detail text].
func (s *Server) serveOrder(w http.ResponseWriter, id string) {
	s.mu.Lock()
	o, ok := s.orders[id]
	if ok {
		s.stats.Orders++
	}
	s.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, notFound("Order not found: "+id))
		return
	}
	wo := wireOrder{
		CreatedAt: o.CreatedAt.UTC().Format(timeFormat), ID: o.ID, LocationID: o.LocationID,
		State: o.State, UpdatedAt: o.UpdatedAt.UTC().Format(timeFormat), Version: o.Version,
	}
	for _, li := range o.LineItems {
		wo.LineItems = append(wo.LineItems, wireLineItem{UID: li.UID, CatalogObjectID: li.CatalogObjectID, Name: li.Name, Quantity: li.Quantity})
	}
	writeJSON(w, http.StatusOK, map[string]any{"order": wo})
}

const timeFormat = "2006-01-02T15:04:05.000Z07:00"
