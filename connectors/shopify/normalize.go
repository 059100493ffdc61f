package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/store"
)

// Reasons written into events. Order reasons are fixed by the connector
// contract; the others are stockgate reasons.
const (
	reasonSale          = "sale"
	reasonCancelled     = "cancelled" // orders/cancelled without cancel_reason
	reasonFulfillment   = "fulfillment"
	reasonReturn        = "return"
	reasonRefundCancel  = "refund_cancel"
	reasonChannelReport = "channel_report" // inventory_levels/update observation
)

// maxEventIDLen bounds the delivery id so that "<id>/<line id>" stays
// within the schemas' 512-byte sourceEventId.
const maxEventIDLen = 256

// Normalize turns a Shopify webhook into canonical events, choosing the
// mapping by the X-Shopify-Topic (or shopify-topic) header; see the package
// doc for the table. It does not check the signature: call Verify first.
// Errors wrap connectors.ErrMalformed and name the header or field at
// fault.
func (c *Connector) Normalize(ctx context.Context, r *connectors.Request) (*connectors.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	topic := header(r.Header, HeaderTopic, EventsHeaderTopic)
	if topic == "" {
		return nil, fmt.Errorf("%w: shopify: missing %s header", connectors.ErrMalformed, HeaderTopic)
	}
	shop := header(r.Header, HeaderShopDomain, EventsHeaderShopDomain)
	if shop == "" {
		shop = c.shop
	}
	if shop == "" {
		return nil, fmt.Errorf("%w: shopify: missing %s header", connectors.ErrMalformed, HeaderShopDomain)
	}
	// X-Shopify-Event-Id is the documented duplicate key; the app libraries
	// treat X-Shopify-Webhook-Id as the idempotency key, and it is the one
	// Shopify's validator requires (ref §2.1, §2.4;
	// https://shopify.dev/docs/apps/build/webhooks/ignore-duplicates).
	id := header(r.Header, HeaderEventID, EventsHeaderEventID)
	if id == "" {
		id = header(r.Header, HeaderWebhookID, EventsHeaderWebhookID)
	}
	if id == "" {
		return nil, fmt.Errorf("%w: shopify: missing %s / %s", connectors.ErrMalformed, HeaderEventID, HeaderWebhookID)
	}
	if len(id) > maxEventIDLen {
		return nil, fmt.Errorf("%w: shopify: event id is %d bytes, more than %d", connectors.ErrMalformed, len(id), maxEventIDLen)
	}
	n := &normalizer{c: c, r: r, topic: topic, eventID: id, res: &connectors.Result{
		// Dedupe on (shop, topic, event id) (ref §2.4, connector rules).
		DedupKey: "shopify:" + strings.ToLower(shop) + ":" + topic + ":" + id,
		Topic:    topic,
	}}
	var err error
	switch topic {
	case TopicOrdersCreate:
		err = n.ordersCreate()
	case TopicOrdersCancelled:
		err = n.ordersCancelled()
	case TopicFulfillmentsCreate:
		err = n.fulfillmentsCreate()
	case TopicRefundsCreate:
		err = n.refundsCreate()
	case TopicInventoryLevelsUpdate:
		err = n.inventoryLevelsUpdate()
	}
	if err != nil {
		return nil, err
	}
	return n.res, nil
}

// normalizer holds one Normalize call.
type normalizer struct {
	c       *Connector
	r       *connectors.Request
	topic   string
	eventID string
	res     *connectors.Result
	// err is a failure of the gateway's own (not the request's), kept by
	// emit; Normalize returns it.
	err error
}

// ordersCreate: Shopify moved available → committed for each line
// (ref §3.1, §3.2 "orders/create"), so each line commits its quantity.
func (n *normalizer) ordersCreate() error {
	var o order
	if err := n.decode(&o); err != nil {
		return err
	}
	base, err := n.orderBase(&o)
	if err != nil {
		return err
	}
	at, err := n.occurredAt(stamp{"created_at", o.CreatedAt})
	if err != nil {
		return err
	}
	base.OccurredAt, base.Reason = at, reasonSale
	loc, why := n.location(o.LocationID, true)
	return n.lines(o.LineItems, event.OrderCommitted, base, loc, why, nil)
}

// ordersCancelled releases each line's committed units. Units that a
// refund on the order already restocked as "cancel" are released by that
// refund's refunds/create delivery (see refundsCreate), so they are not
// released twice here. Shopify's exact per-line effect of a cancel is not
// documented (ref §3.2 "orders/cancelled" [U], §7).
func (n *normalizer) ordersCancelled() error {
	var o order
	if err := n.decode(&o); err != nil {
		return err
	}
	base, err := n.orderBase(&o)
	if err != nil {
		return err
	}
	at, err := n.occurredAt(stamp{"cancelled_at", o.CancelledAt}, stamp{"updated_at", o.UpdatedAt})
	if err != nil {
		return err
	}
	base.OccurredAt, base.Reason = at, o.CancelReason
	if base.Reason == "" {
		base.Reason = reasonCancelled
	}
	for i := range o.Refunds {
		for j := range o.Refunds[i].RefundLineItems {
			if q := o.Refunds[i].RefundLineItems[j].Quantity; q < 0 || q > maxQuantity {
				return n.malformed("field refunds[%d].refund_line_items[%d].quantity: %d is out of range 0..%d", i, j, q, maxQuantity)
			}
		}
	}
	release := func(li *lineItem) int64 {
		q := li.Quantity
		for i := range o.Refunds {
			for _, rl := range o.Refunds[i].RefundLineItems {
				if rl.LineItemID == li.ID && rl.RestockType == restockCancel {
					q -= rl.Quantity
				}
			}
		}
		return max(q, 0)
	}
	loc, why := n.location(o.LocationID, true)
	return n.lines(o.LineItems, event.OrderCancelled, base, loc, why, release)
}

// fulfillmentsCreate: units shipped, committed −q and so on hand −q
// (ref §3.1, §3.2 "fulfillments/create"). Only status "success" is a
// shipment: "pending" and "open" fulfillments are still with a fulfillment
// service and may end as "cancelled", "error" or "failure"
// (https://shopify.dev/docs/api/admin-rest/latest/resources/fulfillment,
// status; not in the reference, which notes rest_fulfillment.json has
// status "failure", ref §3.3). Other statuses produce no events.
func (n *normalizer) fulfillmentsCreate() error {
	var f fulfillment
	if err := n.decode(&f); err != nil {
		return err
	}
	if err := n.checkID("order_id", f.OrderID, true); err != nil {
		return err
	}
	if err := n.checkID("location_id", f.LocationID, false); err != nil {
		return err
	}
	if f.Status != "success" {
		return nil
	}
	at, err := n.occurredAt(stamp{"created_at", f.CreatedAt}, stamp{"updated_at", f.UpdatedAt})
	if err != nil {
		return err
	}
	base := orderMovement(f.OrderID)
	base.OccurredAt, base.Reason = at, reasonFulfillment
	loc, why := n.location(f.LocationID, false)
	return n.lines(f.LineItems, event.OrderFulfilled, base, loc, why, nil)
}

// refundsCreate maps each refund line by restock_type (ref §3.2
// "refunds/create"; enum RefundLineItemRestockType): "return" restocks
// fulfilled units at location_id, "cancel" restocks unfulfilled ones, which
// releases the order's commitment; "no_restock" and the deprecated
// "legacy_restock" change no stock.
func (n *normalizer) refundsCreate() error {
	var rf refund
	if err := n.decode(&rf); err != nil {
		return err
	}
	if err := n.checkID("order_id", rf.OrderID, true); err != nil {
		return err
	}
	at, err := n.occurredAt(stamp{"created_at", rf.CreatedAt}, stamp{"processed_at", rf.ProcessedAt})
	if err != nil {
		return err
	}
	base := orderMovement(rf.OrderID)
	base.OccurredAt = at
	for i := range rf.RefundLineItems {
		rl := &rf.RefundLineItems[i]
		if err := n.checkLine("refund_line_items", i, rl.ID, rl.Quantity); err != nil {
			return err
		}
		if rl.LocationID < 0 {
			return n.checkID(fmt.Sprintf("refund_line_items[%d].location_id", i), rl.LocationID, false)
		}
		if rl.Quantity == 0 {
			continue
		}
		var t event.Type
		var allowDefault bool
		switch rl.RestockType {
		case restockReturn:
			t, base.Reason = event.StockReturned, reasonReturn
		case restockCancel:
			t, base.Reason, allowDefault = event.OrderCancelled, reasonRefundCancel, true
		case restockNone, restockLegacy:
			continue
		default:
			n.unmapped(n.sourceID(rl.ID), fmt.Sprintf("refund line item %d: unknown restock_type %q", rl.ID, rl.RestockType))
			continue
		}
		loc, why := n.location(rl.LocationID, allowDefault)
		n.line(t, base, rl.ID, rl.LineItem.SKU, rl.Quantity, loc, why, "refund line item")
		if n.err != nil {
			return n.err
		}
	}
	return nil
}

// inventoryLevelsUpdate reports the absolute available quantity of one
// item at one location (ref §3.2 "inventory_levels/update"). The same sale
// also arrives as orders/create (ref §3.1, §6 pitfall 7), so the event is
// a StockCounted in state available: the ledger records and compares it
// but never applies it.
func (n *normalizer) inventoryLevelsUpdate() error {
	var lv inventoryLevel
	if err := n.decode(&lv); err != nil {
		return err
	}
	if err := n.checkID("inventory_item_id", lv.InventoryItemID, true); err != nil {
		return err
	}
	if err := n.checkID("location_id", lv.LocationID, true); err != nil {
		return err
	}
	if lv.Available == nil {
		// null when the item is not tracked (ref §3.2 [S]): nothing to count.
		return nil
	}
	q := *lv.Available
	if q > maxQuantity {
		return n.malformed("field available: %d is more than %d", q, maxQuantity)
	}
	at, err := n.occurredAt(stamp{"updated_at", lv.UpdatedAt})
	if err != nil {
		return err
	}
	var why []string
	sku, ok := n.c.items[lv.InventoryItemID]
	if !ok {
		why = append(why, fmt.Sprintf("Shopify inventory item %d is not in Items", lv.InventoryItemID))
	}
	loc, locWhy := n.location(lv.LocationID, false)
	if locWhy != "" {
		why = append(why, locWhy)
	}
	if q < 0 {
		// Shopify lets available go negative when an item may be sold out
		// of stock; a 400 would make Shopify retry and finally remove the
		// subscription (ref §2.4), so this is a dead letter, not ErrMalformed.
		why = append(why, fmt.Sprintf("available %d is negative; stock.counted needs 0 or more", q))
	}
	if len(why) > 0 {
		n.unmapped(n.eventID, fmt.Sprintf("inventory level of item %d at location %d: %s",
			lv.InventoryItemID, lv.LocationID, strings.Join(why, "; ")))
		return nil
	}
	n.emit(event.StockCounted, "inventory level", event.Movement{
		SourceEventID: n.eventID,
		OccurredAt:    at,
		SKU:           sku,
		Location:      loc,
		Quantity:      q,
		State:         event.StateAvailable,
		Reason:        reasonChannelReport,
		CorrelationID: "shopify:inventory_level:" + strconv.FormatInt(lv.InventoryItemID, 10) + "@" + strconv.FormatInt(lv.LocationID, 10),
	})
	return n.err
}

// orderBase checks an order's ids and returns the movement fields common
// to its lines.
func (n *normalizer) orderBase(o *order) (event.Movement, error) {
	if err := n.checkID("id", o.ID, true); err != nil {
		return event.Movement{}, err
	}
	if err := n.checkID("location_id", o.LocationID, false); err != nil {
		return event.Movement{}, err
	}
	return orderMovement(o.ID), nil
}

// orderMovement returns the order id and correlation id of an order's
// events.
func orderMovement(orderID int64) event.Movement {
	id := strconv.FormatInt(orderID, 10)
	return event.Movement{OrderID: id, CorrelationID: "shopify:order:" + id}
}

// lines emits one event of type t per line item with a positive quantity
// (qty, when set, overrides the line's quantity).
func (n *normalizer) lines(items []lineItem, t event.Type, base event.Movement, loc, why string, qty func(*lineItem) int64) error {
	for i := range items {
		li := &items[i]
		if err := n.checkLine("line_items", i, li.ID, li.Quantity); err != nil {
			return err
		}
		q := li.Quantity
		if qty != nil {
			q = qty(li)
		}
		if q == 0 {
			continue
		}
		n.line(t, base, li.ID, li.SKU, q, loc, why, "line item")
		if n.err != nil {
			return n.err
		}
	}
	return nil
}

// line emits one line's event, or a dead letter when its SKU or location
// is missing or unmapped. what names the line kind in reasons.
func (n *normalizer) line(t event.Type, base event.Movement, lineID int64, sku string, q int64, loc, why, what string) {
	src := n.sourceID(lineID)
	switch {
	case sku == "":
		n.unmapped(src, what+" "+strconv.FormatInt(lineID, 10)+" has no sku")
	case why != "":
		n.unmapped(src, fmt.Sprintf("%s %d (sku %q): %s", what, lineID, sku, why))
	default:
		m := base
		m.SourceEventID, m.SKU, m.Location, m.Quantity = src, sku, loc, q
		n.emit(t, what+" "+strconv.FormatInt(lineID, 10), m)
	}
}

// emit builds an event. One the event schema rejects (a SKU longer than
// the schema allows, say) becomes a dead letter; any other failure is the
// gateway's and is kept in n.err.
func (n *normalizer) emit(t event.Type, what string, m event.Movement) {
	m.Connector = n.c.id
	ev, err := event.NewMovement(t, "", m)
	switch {
	case err == nil:
		n.res.Events = append(n.res.Events, ev)
	case errors.Is(err, event.ErrInvalid):
		n.unmapped(m.SourceEventID, fmt.Sprintf("%s: cannot build %s: %v", what, t.Short(), err))
	case n.err == nil:
		n.err = fmt.Errorf("shopify: %s: %w", what, err)
	}
}

// sourceID is the SourceEventID of one line: the delivery's event id and
// the line id, unique per line so each line's event id is distinct.
func (n *normalizer) sourceID(lineID int64) string {
	return n.eventID + "/" + strconv.FormatInt(lineID, 10)
}

// location maps a Shopify location id. id 0 is a null location_id, which
// takes DefaultLocation when allowDefault. why says what is unmapped.
func (n *normalizer) location(id int64, allowDefault bool) (loc, why string) {
	if id == 0 {
		switch {
		case allowDefault && n.c.defaultLocation != "":
			return n.c.defaultLocation, ""
		case allowDefault:
			return "", "no location_id and no DefaultLocation is configured"
		default:
			return "", "no location_id"
		}
	}
	if loc, ok := n.c.locations[id]; ok {
		return loc, ""
	}
	return "", "Shopify location " + strconv.FormatInt(id, 10) + " is not in Locations"
}

// unmapped keeps part of the message as a dead letter. Its EventID is the
// source id of the line ("<event id>/<line id>"), as no event exists.
func (n *normalizer) unmapped(sourceID, reason string) {
	n.res.Unmapped = append(n.res.Unmapped, store.DeadLetter{
		Connector: n.c.id,
		EventID:   sourceID,
		EventType: n.topic,
		Reason:    reason,
		Body:      n.r.Body,
		CreatedAt: n.received(),
	})
}

func (n *normalizer) received() time.Time {
	if !n.r.ReceivedAt.IsZero() {
		return n.r.ReceivedAt
	}
	return n.c.now()
}

// stamp is a payload time field, by name and raw value.
type stamp struct{ field, value string }

// occurredAt parses the first non-empty stamp; without one it falls back
// to X-Shopify-Triggered-At (ref §2.1, §2.4), then to when the request was
// received. Times are RFC 3339 with an offset, such as
// "2008-01-10T11:00:00-05:00" (ref §3.3 fixtures) or
// "2023-03-29T18:00:27.877041743Z" (ref §2.1).
func (n *normalizer) occurredAt(stamps ...stamp) (time.Time, error) {
	for _, s := range stamps {
		if s.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, s.value)
		if err != nil {
			return time.Time{}, n.malformed("field %s: %q is not an RFC 3339 time", s.field, s.value)
		}
		return t.UTC(), nil
	}
	if v := header(n.r.Header, HeaderTriggeredAt, EventsHeaderTriggeredAt); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: shopify: header %s: %q is not an RFC 3339 time", connectors.ErrMalformed, HeaderTriggeredAt, v)
		}
		return t.UTC(), nil
	}
	return n.received().UTC(), nil
}

// checkID rejects a negative id, and a missing (null or 0) one when
// required.
func (n *normalizer) checkID(field string, id int64, required bool) error {
	switch {
	case id < 0:
		return n.malformed("field %s: %d is not a Shopify id", field, id)
	case id == 0 && required:
		return n.malformed("field %s is missing", field)
	}
	return nil
}

// checkLine checks a line's id and quantity (0..maxQuantity).
func (n *normalizer) checkLine(path string, i int, id, q int64) error {
	if id <= 0 {
		if err := n.checkID(fmt.Sprintf("%s[%d].id", path, i), id, true); err != nil {
			return err
		}
	}
	if q < 0 || q > maxQuantity {
		return n.malformed("field %s[%d].quantity: %d is out of range 0..%d", path, i, q, maxQuantity)
	}
	return nil
}

func (n *normalizer) malformed(format string, args ...any) error {
	return fmt.Errorf("%w: shopify %s: %s", connectors.ErrMalformed, n.topic, fmt.Sprintf(format, args...))
}

// decode unmarshals the body into v, turning JSON errors into
// ErrMalformed naming the field.
func (n *normalizer) decode(v any) error {
	err := json.Unmarshal(n.r.Body, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return n.malformed("field %s: got JSON %s, want %s", te.Field, te.Value, kindName(te.Type))
	case errors.As(err, &te):
		return n.malformed("body is a JSON %s, want an object", te.Value)
	case errors.As(err, &se):
		return n.malformed("body is not JSON (byte %d): %v", se.Offset, se)
	default:
		return n.malformed("body is not JSON: %v", err)
	}
}

// kindName names the JSON a Go type decodes from.
func kindName(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.Int64, reflect.Int:
		return "an integer"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "an array"
	case reflect.Struct:
		return "an object"
	}
	return t.String()
}
