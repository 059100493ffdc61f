package shopify

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/store"
)

// Reasons written into events. Order reasons are fixed by the connector
// contract; the others are stockgate reasons.
const (
	reasonSale          = "sale"
	reasonCancelled     = "cancelled" // an order cancelled without cancel_reason
	reasonFulfillment   = "fulfillment"
	reasonReturn        = "return"
	reasonRefundCancel  = "refund_cancel"
	reasonChannelReport = "channel_report"             // inventory level observation
	reasonEcho          = event.ReasonEchoConfirmation // the level stockgate itself pushed
)

// maxEventIDLen bounds the delivery id so that "<id>/<line id>" stays
// within the schemas' 512-byte sourceEventId.
const maxEventIDLen = 256

// fulfillmentSuccess is the only fulfillment status that is a shipment.
const fulfillmentSuccess = "success"

// Normalize turns a Shopify webhook into canonical events, choosing the
// mapping by the X-Shopify-Topic (or shopify-topic) header; see the package
// doc for the table. It does not check the signature: call Verify first.
// A stale delivery (see Watermarks) gives a Result with no events whose
// Topic ends in StaleSuffix. Errors wrap connectors.ErrMalformed and name
// the header or field at fault.
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
		// Dedupe on (shop, topic, event id) (ref §2.4, connector rules),
		// keyed in trigger-time order.
		DedupKey: dedupKey(shop, topic, id, header(r.Header, HeaderTriggeredAt, EventsHeaderTriggeredAt)),
		Topic:    topic,
	}}
	var err error
	switch topic {
	case TopicOrdersCreate, TopicOrdersUpdated, TopicOrdersCancelled:
		err = n.order()
	case TopicFulfillmentsCreate, TopicFulfillmentsUpdate:
		err = n.fulfillment()
	case TopicRefundsCreate:
		err = n.refundsCreate()
	case TopicInventoryLevelsUpdate, TopicInventoryLevelsConnect, TopicInventoryLevelsDisconnect:
		err = n.inventoryLevel()
	case TopicInventoryItemsCreate, TopicInventoryItemsUpdate, TopicInventoryItemsDelete, TopicProductsCreate, TopicProductsUpdate:
		err = c.learn(r)
	default:
		n.res.Ignored = "shopify topic " + strconv.Quote(topic) + " moves no stock stockgate maps"
	}
	if err != nil {
		return nil, err
	}
	return n.res, nil
}

// Learner is a Mapper that takes what Learn reads from the
// inventory_items/* and products/* topics; MemoryMapper is one.
type Learner interface {
	Mapper
	Apply(Mappings)
}

// learn feeds the mapping topics to Config.Mapper when it is a Learner, so
// that a SKU set or changed in Shopify maps its inventory item from the next
// inventory_levels/update on.
func (c *Connector) learn(r *connectors.Request) error {
	l, ok := c.mapper.(Learner)
	if !ok {
		return nil
	}
	m, err := c.Learn(r)
	if err != nil || m.Empty() {
		return err
	}
	l.Apply(m)
	return nil
}

// normalizer holds one Normalize (or Learn) call.
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

// order maps the three order topics, each a snapshot of the Order, with
// event ids derived from the order and line ids rather than the delivery,
// so that every topic that proves a fact yields the same event for it and
// the ledger applies it once, whichever arrives first (ordering is not
// guaranteed and orders/updated can precede orders/create, ref §2.4):
//
//   - Commit: Shopify moved available → committed for each line when the
//     order was placed (ref §3.1, §3.2 "orders/create"). orders/create
//     commits every line; orders/updated and orders/cancelled commit the
//     lines of which nothing has shipped (fulfillment_status null), the
//     only lines whose commitment is surely still open, so that an update
//     to an order shipped before stockgate was connected commits nothing.
//     Same id "order/<order>/<line>", quantity, SKU, location and time
//     (created_at) from every topic.
//   - Cancel, when the order carries cancelled_at (or the topic is
//     orders/cancelled): each line releases what is still committed, its
//     quantity less what the order's successful fulfillments shipped and
//     less what refunds restocked as "cancel" (those are released by the
//     refund's refunds/create, see refundsCreate). Id
//     "order/<order>/cancel/<line>". Shopify's exact per-line effect of a
//     cancel is not documented (ref §3.2 "orders/cancelled" [U], §7).
//
// Order edits (a line's quantity lowered after the order was placed) are
// not handled: the commit keeps the ordered quantity. orders/updated and
// orders/cancelled are checked against the order's watermark; orders/create
// never is, as a later snapshot may no longer commit lines that shipped.
func (n *normalizer) order() error {
	var o order
	if err := n.decode(&o); err != nil {
		return err
	}
	base, err := n.orderBase(&o)
	if err != nil {
		return err
	}
	for i := range o.LineItems {
		if err := n.checkLine("line_items", i, o.LineItems[i].ID, o.LineItems[i].Quantity); err != nil {
			return err
		}
	}
	for i := range o.Refunds {
		for j := range o.Refunds[i].RefundLineItems {
			if q := o.Refunds[i].RefundLineItems[j].Quantity; q < 0 || q > maxQuantity {
				return n.malformed("field refunds[%d].refund_line_items[%d].quantity: %d is out of range 0..%d", i, j, q, maxQuantity)
			}
		}
	}
	for i := range o.Fulfillments {
		for j := range o.Fulfillments[i].LineItems {
			if q := o.Fulfillments[i].LineItems[j].Quantity; q < 0 || q > maxQuantity {
				return n.malformed("field fulfillments[%d].line_items[%d].quantity: %d is out of range 0..%d", i, j, q, maxQuantity)
			}
		}
	}
	placed, err := n.occurredAt(stamp{"created_at", o.CreatedAt})
	if err != nil {
		return err
	}
	cancelled := o.CancelledAt != "" || n.topic == TopicOrdersCancelled
	var cancelAt time.Time
	if cancelled {
		if cancelAt, err = n.occurredAt(stamp{"cancelled_at", o.CancelledAt}, stamp{"updated_at", o.UpdatedAt}); err != nil {
			return err
		}
	}
	if n.topic != TopicOrdersCreate {
		if stale, err := n.stale("/order/"+base.OrderID, stamp{"updated_at", o.UpdatedAt}); err != nil || stale {
			return err
		}
	}
	loc, why := n.location(o.LocationID, true)
	orderKey := "order/" + base.OrderID + "/"

	commit := base
	commit.OccurredAt, commit.Reason = placed, reasonSale
	for i := range o.LineItems {
		li := &o.LineItems[i]
		if li.Quantity == 0 || (n.topic != TopicOrdersCreate && li.FulfillmentStatus != lineUnshipped) {
			continue
		}
		n.line(event.OrderCommitted, commit, orderKey+strconv.FormatInt(li.ID, 10), li.ID, li.SKU, li.Quantity, loc, why, "line item")
		if n.err != nil {
			return n.err
		}
	}
	if !cancelled {
		return nil
	}
	cancel := base
	cancel.OccurredAt, cancel.Reason = cancelAt, o.CancelReason
	if cancel.Reason == "" {
		cancel.Reason = reasonCancelled
	}
	for i := range o.LineItems {
		li := &o.LineItems[i]
		q := o.stillCommitted(li)
		if q == 0 {
			continue
		}
		n.line(event.OrderCancelled, cancel, orderKey+"cancel/"+strconv.FormatInt(li.ID, 10), li.ID, li.SKU, q, loc, why, "line item")
		if n.err != nil {
			return n.err
		}
	}
	return nil
}

// stillCommitted is what a cancel releases of line li: its quantity less
// what the order's successful fulfillments shipped and what its refunds
// restocked as "cancel", never below 0. A line marked fulfilled releases
// nothing even when the payload omits the fulfillments.
func (o *order) stillCommitted(li *lineItem) int64 {
	if li.FulfillmentStatus == lineFulfilled {
		return 0
	}
	q := li.Quantity
	for i := range o.Fulfillments {
		if o.Fulfillments[i].Status != fulfillmentSuccess {
			continue
		}
		for _, fl := range o.Fulfillments[i].LineItems {
			if fl.ID == li.ID {
				q -= fl.Quantity
			}
		}
	}
	for i := range o.Refunds {
		for _, rl := range o.Refunds[i].RefundLineItems {
			if rl.LineItemID == li.ID && rl.RestockType == restockCancel {
				q -= rl.Quantity
			}
		}
	}
	return max(q, 0)
}

// fulfillment maps fulfillments/create and fulfillments/update: units
// shipped, committed −q and so on hand −q (ref §3.1, §3.2
// "fulfillments/create"). Only status "success" is a shipment: "pending"
// and "open" fulfillments are still with a fulfillment service and may end
// as "cancelled", "error" or "failure"
// (https://shopify.dev/docs/api/admin-rest/latest/resources/fulfillment,
// status; not in the reference, which notes rest_fulfillment.json has
// status "failure", ref §3.3). Other statuses produce no events. Event ids
// derive from the fulfillment and line ids ("fulfillment/<id>/<line>"), so
// a fulfillment created pending and updated to success ships once, and the
// create and every later update of a successful one agree. A successful
// fulfillment later cancelled is not reversed.
func (n *normalizer) fulfillment() error {
	var f fulfillment
	if err := n.decode(&f); err != nil {
		return err
	}
	if err := n.checkID("id", f.ID, true); err != nil {
		return err
	}
	if err := n.checkID("order_id", f.OrderID, true); err != nil {
		return err
	}
	if err := n.checkID("location_id", f.LocationID, false); err != nil {
		return err
	}
	for i := range f.LineItems {
		if err := n.checkLine("line_items", i, f.LineItems[i].ID, f.LineItems[i].Quantity); err != nil {
			return err
		}
	}
	if f.Status != fulfillmentSuccess {
		return nil
	}
	at, err := n.occurredAt(stamp{"created_at", f.CreatedAt}, stamp{"updated_at", f.UpdatedAt})
	if err != nil {
		return err
	}
	base := orderMovement(f.OrderID)
	base.OccurredAt, base.Reason = at, reasonFulfillment
	loc, why := n.location(f.LocationID, false)
	key := "fulfillment/" + strconv.FormatInt(f.ID, 10) + "/"
	for i := range f.LineItems {
		li := &f.LineItems[i]
		if li.Quantity == 0 {
			continue
		}
		n.line(event.OrderFulfilled, base, key+strconv.FormatInt(li.ID, 10), li.ID, li.SKU, li.Quantity, loc, why, "line item")
		if n.err != nil {
			return n.err
		}
	}
	return nil
}

// refundsCreate maps each refund line by restock_type (ref §3.2
// "refunds/create"; enum RefundLineItemRestockType): "return" restocks
// fulfilled units at location_id, "cancel" restocks unfulfilled ones, which
// releases the order's commitment; "no_restock" and the deprecated
// "legacy_restock" change no stock. Event ids derive from the refund and
// refund line ids ("refund/<id>/<refund line>").
func (n *normalizer) refundsCreate() error {
	var rf refund
	if err := n.decode(&rf); err != nil {
		return err
	}
	if err := n.checkID("id", rf.ID, true); err != nil {
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
	key := "refund/" + strconv.FormatInt(rf.ID, 10) + "/"
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
		n.line(t, base, key+strconv.FormatInt(rl.ID, 10), rl.ID, rl.LineItem.SKU, rl.Quantity, loc, why, "refund line item")
		if n.err != nil {
			return n.err
		}
	}
	return nil
}

// inventoryLevel maps inventory_levels/update and inventory_levels/connect,
// the absolute available quantity of one item at one location (ref §3.2),
// and inventory_levels/disconnect, which counts nothing. The same sale
// also arrives as orders/create (ref §3.1, §6 pitfall 7), so the event is
// a StockCounted in state available: the ledger records and compares it
// but never applies it. Its id derives from the delivery: each delivery
// is an observation of its own. A level reporting what stockgate itself
// last pushed (Config.Echoes) has reason "echo_confirmation".
//
// Every level topic is checked against the level's watermark, and a
// disconnect moves it too, so an update triggered before the disconnect
// and retried after it is stale. The disconnect body's shape is not
// verified (ref §3.2 [U/S]): without both ids it is ignored.
func (n *normalizer) inventoryLevel() error {
	var lv inventoryLevel
	if err := n.decode(&lv); err != nil {
		return err
	}
	if n.topic == TopicInventoryLevelsDisconnect {
		if lv.InventoryItemID > 0 && lv.LocationID > 0 {
			_, err := n.stale(levelKey(lv.InventoryItemID, lv.LocationID), stamp{"updated_at", lv.UpdatedAt})
			return err
		}
		return nil
	}
	if err := n.checkID("inventory_item_id", lv.InventoryItemID, true); err != nil {
		return err
	}
	if err := n.checkID("location_id", lv.LocationID, true); err != nil {
		return err
	}
	if lv.Available != nil && *lv.Available > maxQuantity {
		return n.malformed("field available: %d is more than %d", *lv.Available, maxQuantity)
	}
	at, err := n.occurredAt(stamp{"updated_at", lv.UpdatedAt})
	if err != nil {
		return err
	}
	if stale, err := n.stale(levelKey(lv.InventoryItemID, lv.LocationID), stamp{"updated_at", lv.UpdatedAt}); err != nil || stale {
		return err
	}
	if lv.Available == nil {
		// null when the item is not tracked (ref §3.2 [S]): nothing to count.
		return nil
	}
	q := *lv.Available
	var why []string
	sku, ok := n.sku(lv.InventoryItemID)
	if !ok {
		if n.c.mapper != nil {
			why = append(why, fmt.Sprintf("Shopify inventory item %d is neither learned nor in Items", lv.InventoryItemID))
		} else {
			why = append(why, fmt.Sprintf("Shopify inventory item %d is not in Items", lv.InventoryItemID))
		}
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
	reason := reasonChannelReport
	if n.c.echoes != nil {
		if pushed, pushedAt, ok := n.c.echoes.Pushed(lv.InventoryItemID, lv.LocationID); connectors.IsEcho(q, at, pushed, pushedAt, ok) {
			reason = reasonEcho
		}
	}
	n.emit(event.StockCounted, "inventory level", "", event.Movement{
		SourceEventID: n.eventID,
		OccurredAt:    at,
		SKU:           sku,
		Location:      loc,
		Quantity:      q,
		State:         event.StateAvailable,
		Reason:        reason,
		CorrelationID: "shopify:inventory_level:" + strconv.FormatInt(lv.InventoryItemID, 10) + "@" + strconv.FormatInt(lv.LocationID, 10),
	})
	return n.err
}

// sku maps an inventory item: the learned mapping first, then Items.
func (n *normalizer) sku(item int64) (string, bool) {
	if n.c.mapper != nil {
		if sku, ok := n.c.mapper.SKU(item); ok && sku != "" {
			return sku, true
		}
	}
	sku, ok := n.c.items[item]
	return sku, ok
}

// levelKey is the watermark key suffix of an inventory level.
func levelKey(item, location int64) string {
	return "/level/" + strconv.FormatInt(item, 10) + "@" + strconv.FormatInt(location, 10)
}

// stale observes the delivery's trigger time on the watermark of key
// (prefixed with the connector id) and reports whether the delivery is
// older than one already seen; if so it marks the result stale. A delivery
// with neither X-Shopify-Triggered-At nor the body stamp is never stale.
func (n *normalizer) stale(key string, body stamp) (bool, error) {
	at, ok, err := n.triggeredAt(body)
	if err != nil || !ok {
		return false, err
	}
	if !n.c.watermarks.Observe(n.c.id+key, at) {
		return false, nil
	}
	n.res.Topic = n.topic + StaleSuffix
	n.res.Stale = fmt.Sprintf("%s triggered at %s, before a delivery already seen for %s", n.topic, at.Format(time.RFC3339Nano), key)
	n.res.Events, n.res.Unmapped = nil, nil
	return true, nil
}

// dedupKey is the dedup key of the delivery of event id on topic from
// shop, triggered at triggeredAt (the X-Shopify-Triggered-At value, "" when
// absent): "shopify:<shop>:<trigger time>:<topic>:<id>", the time written
// by connectors.DedupTime so that keys come in about the order deliveries
// arrive. A retry carries the original delivery's trigger time (ref §2.4,
// "Retry payload"), so its key is the same. Without the header, or with
// one that is not an RFC 3339 time, the key has no time:
// "shopify:<shop>:<topic>:<id>".
func dedupKey(shop, topic, id, triggeredAt string) string {
	shop = strings.ToLower(shop)
	t, err := time.Parse(time.RFC3339Nano, triggeredAt)
	if triggeredAt == "" || err != nil {
		return "shopify:" + shop + ":" + topic + ":" + id
	}
	return "shopify:" + shop + ":" + connectors.DedupTime(t) + ":" + topic + ":" + id
}

// triggeredAt is when Shopify triggered the delivery, for ordering
// deliveries: X-Shopify-Triggered-At (ref §2.1, §2.4: "use
// X-Shopify-Triggered-At or a payload timestamp to detect staleness"),
// else the body stamp. ok is false when there is neither.
func (n *normalizer) triggeredAt(body stamp) (t time.Time, ok bool, err error) {
	if v := header(n.r.Header, HeaderTriggeredAt, EventsHeaderTriggeredAt); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("%w: shopify: header %s: %q is not an RFC 3339 time", connectors.ErrMalformed, HeaderTriggeredAt, v)
		}
		return t.UTC(), true, nil
	}
	if body.value == "" {
		return time.Time{}, false, nil
	}
	t, err = time.Parse(time.RFC3339Nano, body.value)
	if err != nil {
		return time.Time{}, false, n.malformed("field %s: %q is not an RFC 3339 time", body.field, body.value)
	}
	return t.UTC(), true, nil
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

// line emits one line's event, or a dead letter when its SKU or location
// is missing or unmapped. key is the business key the event id derives
// from; what names the line kind in reasons.
func (n *normalizer) line(t event.Type, base event.Movement, key string, lineID int64, sku string, q int64, loc, why, what string) {
	src := n.sourceID(lineID)
	switch {
	case sku == "":
		n.unmapped(src, what+" "+strconv.FormatInt(lineID, 10)+" has no sku")
	case why != "":
		n.unmapped(src, fmt.Sprintf("%s %d (sku %q): %s", what, lineID, sku, why))
	default:
		m := base
		m.SourceEventID, m.SKU, m.Location, m.Quantity = src, sku, loc, q
		n.emit(t, what+" "+strconv.FormatInt(lineID, 10), key, m)
	}
}

// emit builds an event. Its id derives from the connector, key, type, SKU
// and location when key is set, and from the SourceEventID (the delivery)
// when not. One the event schema rejects (a SKU longer than the schema
// allows, say) becomes a dead letter; any other failure is the gateway's
// and is kept in n.err.
func (n *normalizer) emit(t event.Type, what, key string, m event.Movement) {
	m.Connector = n.c.id
	var id string
	if key != "" {
		id = event.DeterministicID(m.Connector, key, string(t), m.SKU, m.Location)
	}
	ev, err := event.NewMovement(t, id, m)
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
// the line id, so the ledger's history shows which delivery applied an
// event. The event id itself derives from business keys (see emit).
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
// source id of the line ("<event id>/<line id>"), as no event exists. A
// line both committed and cancelled by one snapshot is kept once.
func (n *normalizer) unmapped(sourceID, reason string) {
	for _, d := range n.res.Unmapped {
		if d.EventID == sourceID && d.Reason == reason {
			return
		}
	}
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
//
// It uses github.com/goccy/go-json, a drop-in for encoding/json (same
// struct tags, case-insensitive keys, exact int64, null leaves a field
// zero, unknown fields ignored, the same error types), about ten times
// faster on an order (BenchmarkDecodeOrder). Strings are copied out of
// the body, as with encoding/json.
func (n *normalizer) decode(v any) error {
	err := json.Unmarshal(n.r.Body, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return n.malformed("field %s: got JSON %s, want %s", fieldPath(te.Field), te.Value, kindName(te.Type))
	case errors.As(err, &te):
		return n.malformed("body is a JSON %s, want an object", te.Value)
	case errors.As(err, &se):
		return n.malformed("body is not JSON (byte %d): %v", se.Offset, se)
	default:
		return n.malformed("body is not JSON: %v", err)
	}
}

// fieldPath is the dotted path of a type error without the array
// indices go-json puts in it ("line_items.0.quantity" is
// "line_items.quantity"), as encoding/json reports it. No decoded field
// name is all digits, so every such segment is an index.
func fieldPath(field string) string {
	if !strings.ContainsAny(field, "0123456789") {
		return field
	}
	segs := strings.Split(field, ".")
	out := segs[:0]
	for _, s := range segs {
		if strings.Trim(s, "0123456789") != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, ".")
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
