package amazon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/store"
)

// Reasons written into events.
const (
	reasonSale          = "sale"
	reasonCancelled     = "cancelled"
	reasonFulfillment   = "fulfillment"
	reasonFBASnapshot   = "fba_snapshot"   // FBA_INVENTORY_AVAILABILITY_CHANGES count
	reasonChannelReport = "channel_report" // MFN quantity observation
)

// wire is every envelope the connector accepts, decoded in one pass: an SNS
// message, an EventBridge event, or a bare SP-API notification. Their
// top-level keys do not collide, even case-insensitively.
type wire struct {
	snsEnvelope
	eventBridgeEnvelope
	notification
}

// Normalize turns a verified delivery into canonical events; see the
// package doc for the mapping. It accepts an SNS message whose Message is
// a notification or an EventBridge event, an EventBridge event, or a bare
// notification. For a verified SNS SubscriptionConfirmation it visits the
// SubscribeURL, which confirms the subscription, and returns a Result with
// Topic TopicSubscriptionConfirmation and no events; a failure to confirm
// is returned as an error (not ErrMalformed), so that SNS retries.
//
// It does not check the signature: call Verify first. Malformed input
// gives errors wrapping connectors.ErrMalformed that name the field at
// fault; a failure to fetch order items is returned as is (the delivery
// should be retried).
func (c *Connector) Normalize(ctx context.Context, r *connectors.Request) (*connectors.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.normalize(ctx, r, true)
}

// normalize unwraps r's body and maps the notification inside. verified
// says r came through Verify: only then is a SubscriptionConfirmation
// confirmed.
func (c *Connector) normalize(ctx context.Context, r *connectors.Request, verified bool) (*connectors.Result, error) {
	n := &normalizer{c: c, r: r}
	raw, w, err := n.unwrap(r.Body)
	if err != nil {
		return nil, err
	}
	if w == nil {
		return n.snsControl(ctx, raw, verified)
	}
	return n.notification(ctx, raw, &w.notification)
}

// normalizer holds one Normalize call.
type normalizer struct {
	c *Connector
	r *connectors.Request
	// sns is the outer SNS envelope, when there is one.
	sns *snsEnvelope
	// typ and key are the notification type and its dedup id.
	typ, key string
	res      *connectors.Result
	// err is a failure of the gateway's own (not the request's), kept by
	// emit; Normalize returns it.
	err error
}

// unwrap peels the envelopes off body: at most an SNS message, then an
// EventBridge event, then the notification (ref §2.3, §2.4; Amazon's SQS
// adapter unwraps "detail" the same way, samples SqsMessageAdapter.java).
// It returns the notification's bytes and decoded form; for an SNS
// control message (subscription and unsubscribe confirmations) w is nil and
// n.sns is set.
func (n *normalizer) unwrap(body []byte) (raw []byte, w *wire, err error) {
	raw = body
	for depth := 0; ; depth++ {
		w = new(wire)
		if err := n.decode(raw, w, depth); err != nil {
			return nil, nil, err
		}
		switch {
		case isSNSType(w.Type):
			if n.sns != nil || depth > 0 {
				return nil, nil, n.malformed("an SNS message inside %s", layerName(depth))
			}
			env := w.snsEnvelope
			n.sns = &env
			if env.MessageID == "" {
				return nil, nil, n.malformed("SNS message has no MessageId")
			}
			if env.Type != SNSNotification {
				return raw, nil, nil
			}
			raw = []byte(env.Message)
			continue
		case w.DetailType != "" || w.Detail != nil:
			if depth > 1 || (depth == 1 && n.sns == nil) {
				return nil, nil, n.malformed("an EventBridge event inside %s", layerName(depth))
			}
			if !strings.HasPrefix(w.Source, spapiSourcePrefix) {
				return nil, nil, n.malformed("EventBridge source %q is not an SP-API partner source (%s…)", w.Source, spapiSourcePrefix)
			}
			if len(w.Detail) == 0 || w.Detail[0] != '{' {
				return nil, nil, n.malformed("EventBridge detail is not a JSON object")
			}
			dt := w.DetailType
			raw = w.Detail
			w = new(wire)
			if err := n.decode(raw, w, depth+1); err != nil {
				return nil, nil, err
			}
			if isSNSType(w.Type) || w.DetailType != "" || w.Detail != nil {
				return nil, nil, n.malformed("an envelope inside an EventBridge detail")
			}
			if w.NotificationType == "" {
				// detail-type is the notification type (ref §2.3).
				w.NotificationType = dt
			}
			return raw, w, nil
		default:
			return raw, w, nil
		}
	}
}

// digestKey identifies a message by a digest of its JSON with the
// insignificant whitespace removed, so that an envelope that re-serialises
// the notification (an EventBridge detail) gives the same key as the bare
// notification. Bytes that are not JSON are digested as they are.
func digestKey(b []byte) string {
	var buf bytes.Buffer
	buf.Grow(len(b))
	if json.Compact(&buf, b) == nil {
		b = buf.Bytes()
	}
	sum := sha256.Sum256(b)
	return "sha256-" + hex.EncodeToString(sum[:16])
}

func layerName(depth int) string {
	if depth == 0 {
		return "the body"
	}
	return "an SNS Message"
}

// snsControl handles an SNS SubscriptionConfirmation or
// UnsubscribeConfirmation: no events. A verified SubscriptionConfirmation
// is confirmed; one that arrived unverified (from an SQS queue) becomes a
// dead letter for an operator to confirm by hand, because nothing proves
// SNS sent it. An UnsubscribeConfirmation is not acted on: re-subscribing
// is an operator's decision.
func (n *normalizer) snsControl(ctx context.Context, raw []byte, verified bool) (*connectors.Result, error) {
	env := n.sns
	n.typ = env.Type
	n.res = &connectors.Result{DedupKey: "amazon:sns:" + env.MessageID, Topic: env.Type}
	if env.Type == SNSSubscriptionConfirmation {
		if !verified {
			n.unmapped("sns/"+env.MessageID, fmt.Sprintf("SNS subscription confirmation for topic %q arrived unverified (from a queue); "+
				"confirm it by visiting its SubscribeURL if the topic is yours", env.TopicARN))
			return n.res, nil
		}
		// Verify confirmed the signature; the topic is checked again so that
		// a request authenticated otherwise (an SNS raw delivery with the
		// header secret) cannot subscribe the gateway to a foreign topic.
		if !n.c.topicAllowed(env.TopicARN) {
			return nil, n.malformed("SubscriptionConfirmation for topic %q, which is not in SNS.AllowedTopicARNs", env.TopicARN)
		}
		if err := n.c.confirmSubscription(ctx, env); err != nil {
			return nil, err
		}
	}
	return n.res, nil
}

// dedupStamp is the part of a notification's dedup key ahead of its
// NotificationId: NotificationMetadata.PublishTime by
// connectors.DedupTime and a colon, so that keys of notifications sort
// about as they arrive (SQS, SNS and EventBridge all deliver the body
// Amazon published, so a redelivery repeats the stamp). Empty when the
// notification has no NotificationId (it is then keyed by its digest) or
// no PublishTime that parses.
func dedupStamp(nt *notification) string {
	md := &nt.NotificationMetadata
	if md.NotificationID == "" {
		return ""
	}
	t, err := time.Parse(time.RFC3339Nano, md.PublishTime)
	if err != nil {
		return ""
	}
	return connectors.DedupTime(t) + ":"
}

// notification maps one SP-API notification.
func (n *normalizer) notification(ctx context.Context, raw []byte, nt *notification) (*connectors.Result, error) {
	n.typ = nt.NotificationType
	if n.typ == "" {
		return nil, n.malformed("field NotificationType is missing")
	}
	if len(n.typ) > 128 {
		return nil, n.malformed("field NotificationType is longer than 128 bytes")
	}
	// Dedupe on NotificationId, "A unique identifier for this notification
	// instance" (ref §3.1). Without one (the FBA inventory schema has no
	// NotificationMetadata, ref §3.1), the notification's content is the
	// identity: every redelivery of one notification carries it.
	n.key = nt.NotificationMetadata.NotificationID
	switch {
	case len(n.key) > maxIDLen:
		return nil, n.malformed("field NotificationMetadata.NotificationId is longer than %d bytes", maxIDLen)
	case n.key == "":
		n.key = digestKey(raw)
	}
	n.res = &connectors.Result{DedupKey: "amazon:" + dedupStamp(nt) + n.key, Topic: n.typ}
	var err error
	switch n.typ {
	case TypeOrderChange:
		err = n.orderChange(ctx, nt)
	case TypeFBAInventoryAvailability:
		err = n.fbaInventory(nt)
	case TypeMFNQuantityChange:
		err = n.mfnQuantity(nt)
	case TypeListingStatusChange:
		// No stock moves, but the channel changed: a listing that stops
		// (or starts) being buyable is recorded as an alert.
		var ls ListingStatus
		if ls, err = parseListingStatus(n, nt); err == nil {
			n.listingAlert(ls)
		}
	default:
		n.res.Ignored = "amazon notification type " + strconv.Quote(n.typ) + " moves no stock stockgate maps"
	}
	if err != nil {
		return nil, err
	}
	return n.res, nil
}

// orderChange maps an ORDER_CHANGE by order status, per item (ref §4):
//
//	Pending, Unshipped, PendingAvailability   order.committed
//	Canceled                                  order.committed, order.cancelled
//	Shipped, InvoiceUnconfirmed               order.committed, order.fulfilled
//	PartiallyShipped                          per item: Shipped → committed, fulfilled; Unshipped → committed
//	Unfulfillable, anything else              nothing
//
// AFN orders ship from Amazon's FBA stock, which FBA inventory
// notifications count absolutely; they produce no events (ref §4: "AFN
// orders come from Amazon's FBA stock: do not deduct merchant stock").
//
// Every status change of an order arrives as its own notification, so the
// source event id of an item is the order and item ids, not the
// notification id: Pending and then Unshipped commit the same item once,
// and the ledger applies an event id only once.
//
// A Canceled or Shipped item also commits, before it releases or ships,
// with that same id. Whether ORDER_CHANGE fires for a brand-new order is
// disputed (ref §4 [U]; models #2662, docs #3278) and it may come late; a
// release or shipment of units never committed would leave committed
// below zero and available too high. When the item's commit was applied
// already, the ledger finds its id and applies only the release or
// shipment; when the commit arrives later, it is the duplicate. The id
// names the item's SKU and location: if either changed between the
// notifications (a SupplySourceId or SellerSKU mapping changed), the item
// is committed again at the new key and the old key keeps its units
// committed, so available there is too low, never too high, until an
// admin corrects it.
func (n *normalizer) orderChange(ctx context.Context, nt *notification) error {
	var p orderChangePayload
	if err := n.decodePayload(nt, &p); err != nil {
		return err
	}
	o := p.OrderChangeNotification
	if o == nil {
		return n.malformed("field Payload.OrderChangeNotification is missing")
	}
	if o.AmazonOrderID == "" {
		return n.malformed("field Payload.OrderChangeNotification.AmazonOrderId is missing")
	}
	if len(o.AmazonOrderID) > maxOrderIDLen {
		return n.malformed("field AmazonOrderId is longer than %d bytes", maxOrderIDLen)
	}
	s := o.Summary
	if s == nil {
		return n.malformed("field Payload.OrderChangeNotification.Summary is missing")
	}
	if n.otherSeller(o.SellerID) {
		return nil
	}
	switch s.FulfillmentType {
	case fulfillmentAFN:
		return nil
	case fulfillmentMFN:
	default:
		n.unmapped(n.key, fmt.Sprintf("order %s: FulfillmentType %q is neither MFN nor AFN", o.AmazonOrderID, s.FulfillmentType))
		return nil
	}
	action := orderAction(s.OrderStatus)
	if action == actNone && s.OrderStatus != statusPartiallyShipped {
		return nil
	}
	at, err := n.eventTime(nt)
	if err != nil {
		return err
	}
	items := s.OrderItems
	for i := range items {
		it := &items[i]
		if it.OrderItemID == "" {
			return n.malformed("field Summary.OrderItems[%d].OrderItemId is missing", i)
		}
		if it.Quantity < 0 || it.Quantity > maxQuantity {
			return n.malformed("field Summary.OrderItems[%d].Quantity: %d is out of range 0..%d", i, it.Quantity, maxQuantity)
		}
	}
	if len(items) == 0 {
		// Amazon's schema requires OrderItems (ref §4), but a notification
		// without them asks for them from the Orders API.
		if items, err = n.fetchItems(ctx, o.AmazonOrderID); err != nil || items == nil {
			return err
		}
	}
	base := event.Movement{
		OccurredAt:    at,
		OrderID:       o.AmazonOrderID,
		CorrelationID: "amazon:order:" + o.AmazonOrderID,
	}
	for i := range items {
		it := &items[i]
		act := action
		if s.OrderStatus == statusPartiallyShipped {
			act = partialAction(it)
		}
		if act == actNone || it.Quantity == 0 {
			continue
		}
		m := base
		m.SourceEventID = o.AmazonOrderID + "/" + it.OrderItemID
		m.Quantity = it.Quantity
		var t event.Type
		switch act {
		case actCommit:
			t, m.Reason = event.OrderCommitted, reasonSale
		case actCancel:
			t, m.Reason = event.OrderCancelled, reasonCancelled
		case actFulfil:
			t, m.Reason = event.OrderFulfilled, reasonFulfillment
		}
		what := "order " + o.AmazonOrderID + " item " + it.OrderItemID
		if it.SellerSKU == "" {
			n.unmapped(m.SourceEventID, what+" has no SellerSKU")
			continue
		}
		loc, why := n.mfnLocation(it.SupplySourceID)
		if why != "" {
			n.unmapped(m.SourceEventID, fmt.Sprintf("%s (SellerSKU %q): %s", what, it.SellerSKU, why))
			continue
		}
		m.SKU, m.Location = n.c.sku(it.SellerSKU), loc
		if act != actCommit {
			c := m
			c.Reason = reasonSale
			n.emit(event.OrderCommitted, what, c)
		}
		n.emit(t, what, m)
		if n.err != nil {
			return n.err
		}
	}
	return nil
}

type orderAct uint8

const (
	actNone orderAct = iota
	actCommit
	actCancel
	actFulfil
)

func orderAction(status string) orderAct {
	switch status {
	case statusPending, statusUnshipped, statusPendingAvailability:
		return actCommit
	case statusCanceled:
		return actCancel
	case statusShipped, statusInvoiceUnconfirmed:
		return actFulfil
	}
	return actNone
}

// partialAction is an item's action in a PartiallyShipped order: by its
// OrderItemStatus (enum Unshipped, Shipped, ref §4) or, for items from the
// Orders API, by QuantityShipped. An item shipped in part waits for the
// Shipped notification: fulfilling part now and all later would ship the
// part twice.
func partialAction(it *orderChangeItem) orderAct {
	switch {
	case it.OrderItemStatus == statusShipped:
		return actFulfil
	case it.OrderItemStatus == statusUnshipped:
		return actCommit
	case it.OrderItemStatus != "":
		return actNone
	case it.QuantityShipped == 0:
		return actCommit
	case it.QuantityShipped >= it.Quantity:
		return actFulfil
	}
	return actNone
}

// fetchItems asks Config.OrderItems for an order's items. Without a
// fetcher, or for an order the Orders API does not know, the notification
// becomes a dead letter (items == nil, err == nil). Any other failure is
// returned, so that the delivery is retried.
func (n *normalizer) fetchItems(ctx context.Context, orderID string) ([]orderChangeItem, error) {
	if n.c.orderItems == nil {
		n.unmapped(n.key, fmt.Sprintf("order %s: the notification has no OrderItems and no OrderItems fetcher is configured (Config.OrderItems)", orderID))
		return nil, nil
	}
	got, err := n.c.orderItems.OrderItems(ctx, orderID)
	switch {
	case errors.Is(err, ErrOrderNotFound):
		n.unmapped(n.key, fmt.Sprintf("order %s: the notification has no OrderItems and the Orders API does not know the order: %v", orderID, err))
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("amazon: %s: fetching the items of order %s: %w", n.typ, orderID, err)
	case len(got) == 0:
		n.unmapped(n.key, fmt.Sprintf("order %s: no items in the notification nor from the Orders API", orderID))
		return nil, nil
	}
	items := make([]orderChangeItem, len(got))
	for i, g := range got {
		if g.OrderItemID == "" || g.QuantityOrdered < 0 || g.QuantityOrdered > maxQuantity || g.QuantityShipped < 0 {
			return nil, fmt.Errorf("amazon: %s: order %s: the Orders API returned item %d with id %q, quantity %d, shipped %d",
				n.typ, orderID, i, g.OrderItemID, g.QuantityOrdered, g.QuantityShipped)
		}
		items[i] = orderChangeItem{OrderItemID: g.OrderItemID, SellerSKU: g.SellerSKU, Quantity: g.QuantityOrdered, QuantityShipped: g.QuantityShipped}
	}
	return items, nil
}

// mfnLocation is the location of merchant-fulfilled stock: the item's
// supply source when it has one (it must be in Locations), else
// DefaultLocation. why says what is unmapped.
func (n *normalizer) mfnLocation(supplySource *string) (loc, why string) {
	if supplySource != nil && *supplySource != "" {
		if loc, ok := n.c.locations[*supplySource]; ok {
			return loc, ""
		}
		return "", fmt.Sprintf("supply source %q is not in Locations", *supplySource)
	}
	if n.c.defaultLocation == "" {
		return "", "no SupplySourceId and no DefaultLocation is configured"
	}
	return n.c.defaultLocation, ""
}

// fbaInventory maps FBA_INVENTORY_AVAILABILITY_CHANGES, "a snapshot of the
// FBA inventory in all eligible marketplaces in a particular region"
// (ref §4): one stock.counted per marketplace, state on_hand, quantity
// Fulfillable, at the location Locations maps the marketplace to. Amazon
// holds this stock and the snapshot is absolute, so the ledger applies it
// (AFN orders produce no events, see orderChange). Fulfillable is what
// Amazon can still sell: it excludes units reserved for pending orders,
// unfulfillable and inbound units.
func (n *normalizer) fbaInventory(nt *notification) error {
	var p fbaInventoryPayload
	if err := n.decodePayload(nt, &p); err != nil {
		return err
	}
	if n.otherSeller(p.SellerID) {
		return nil
	}
	for i, mk := range p.FulfillmentInventoryByMarketplace {
		if mk.FulfillmentInventory == nil || mk.FulfillmentInventory.Fulfillable == nil {
			return n.malformed("field Payload.FulfillmentInventoryByMarketplace[%d].FulfillmentInventory.Fulfillable is missing", i)
		}
		if q := *mk.FulfillmentInventory.Fulfillable; q < 0 || q > maxQuantity {
			return n.malformed("field Payload.FulfillmentInventoryByMarketplace[%d].FulfillmentInventory.Fulfillable: %d is out of range 0..%d", i, q, maxQuantity)
		}
		if mk.MarketplaceID == "" || len(mk.MarketplaceID) > maxIDLen {
			return n.malformed("field Payload.FulfillmentInventoryByMarketplace[%d].MarketplaceId is missing or too long", i)
		}
	}
	if len(p.FulfillmentInventoryByMarketplace) == 0 {
		return nil
	}
	at, err := n.eventTime(nt)
	if err != nil {
		return err
	}
	for _, mk := range p.FulfillmentInventoryByMarketplace {
		src := n.key + "/" + mk.MarketplaceID
		what := fmt.Sprintf("FBA inventory of SKU %q in marketplace %s", p.SKU, mk.MarketplaceID)
		if p.SKU == "" {
			n.unmapped(src, what+": the notification has no SKU")
			continue
		}
		loc, ok := n.c.locations[mk.MarketplaceID]
		if !ok {
			n.unmapped(src, fmt.Sprintf("%s: marketplace %s is not in Locations", what, mk.MarketplaceID))
			continue
		}
		n.emit(event.StockCounted, what, event.Movement{
			SourceEventID: src,
			OccurredAt:    at,
			SKU:           n.c.sku(p.SKU),
			Location:      loc,
			Quantity:      *mk.FulfillmentInventory.Fulfillable,
			State:         event.StateOnHand,
			Reason:        reasonFBASnapshot,
			CorrelationID: "amazon:notification:" + n.key,
		})
		if n.err != nil {
			return n.err
		}
	}
	return nil
}

// mfnQuantity maps LISTINGS_ITEM_MFN_QUANTITY_CHANGE, the absolute
// merchant-fulfilled quantity Amazon shows for a SKU (ref §4). Amazon only
// reports it: the sale behind a change also arrives as ORDER_CHANGE, and a
// change the connector itself pushed echoes back (ref §4), so it is a
// stock.counted in state available, which the ledger compares and never
// applies. The notification has no MarketplaceId and MFN quantity is
// region-wide (ref §7 pitfall 7): channel DEFAULT counts at
// DefaultLocation, another channel code at the location Locations maps it
// to.
func (n *normalizer) mfnQuantity(nt *notification) error {
	var p mfnQuantityPayload
	if err := n.decodePayload(nt, &p); err != nil {
		return err
	}
	if p.Quantity == nil {
		return n.malformed("field Payload.Quantity is missing")
	}
	q := *p.Quantity
	if q > maxQuantity {
		return n.malformed("field Payload.Quantity: %d is more than %d", q, maxQuantity)
	}
	if n.otherSeller(p.SellerID) {
		return nil
	}
	at, err := n.eventTime(nt)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("MFN quantity of SKU %q, channel %q", p.SKU, p.FulfillmentChannelCode)
	var why []string
	if p.SKU == "" {
		why = append(why, "the notification has no Sku")
	}
	loc, ok := n.c.locations[p.FulfillmentChannelCode]
	switch {
	case ok:
	case p.FulfillmentChannelCode == channelDefault || p.FulfillmentChannelCode == "":
		if loc = n.c.defaultLocation; loc == "" {
			why = append(why, "no DefaultLocation is configured")
		}
	default:
		why = append(why, fmt.Sprintf("fulfillment channel %q is not in Locations", p.FulfillmentChannelCode))
	}
	if q < 0 {
		why = append(why, fmt.Sprintf("quantity %d is negative; stock.counted needs 0 or more", q))
	}
	if len(why) > 0 {
		n.unmapped(n.key, what+": "+strings.Join(why, "; "))
		return nil
	}
	reason := reasonChannelReport
	if n.c.isEcho(p.SKU, q, at) {
		reason = event.ReasonEchoConfirmation // the quantity stockgate itself wrote
	}
	n.emit(event.StockCounted, what, event.Movement{
		SourceEventID: n.key,
		OccurredAt:    at,
		SKU:           n.c.sku(p.SKU),
		Location:      loc,
		Quantity:      q,
		State:         event.StateAvailable,
		Reason:        reason,
		CorrelationID: "amazon:notification:" + n.key,
	})
	return n.err
}

// otherSeller reports whether sellerID names a seller other than
// Config.SellerID, keeping the notification as a dead letter if so.
func (n *normalizer) otherSeller(sellerID string) bool {
	if n.c.sellerID == "" || sellerID == "" || sellerID == n.c.sellerID {
		return false
	}
	n.unmapped(n.key, fmt.Sprintf("notification for seller %q, but this connector serves seller %q (Config.SellerID)", sellerID, n.c.sellerID))
	return true
}

// eventTime is the notification's EventTime, "when the event happened"
// (ref §3.1), which every stock event carries as OccurredAt: the ledger
// orders counts by it, never by arrival (ref §3.2).
func (n *normalizer) eventTime(nt *notification) (time.Time, error) {
	if nt.EventTime == "" {
		return time.Time{}, n.malformed("field EventTime is missing")
	}
	t, err := time.Parse(time.RFC3339Nano, nt.EventTime)
	if err != nil {
		return time.Time{}, n.malformed("field EventTime: %q is not an ISO-8601 (RFC 3339) time", nt.EventTime)
	}
	return t.UTC(), nil
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
		n.err = fmt.Errorf("amazon: %s: %w", what, err)
	}
}

// unmapped keeps part of the message as a dead letter, with the whole
// request body.
func (n *normalizer) unmapped(sourceID, reason string) {
	n.res.Unmapped = append(n.res.Unmapped, store.DeadLetter{
		Connector: n.c.id,
		EventID:   sourceID,
		EventType: n.typ,
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

func (n *normalizer) malformed(format string, args ...any) error {
	what := n.typ
	if what == "" {
		what = "delivery"
	}
	return fmt.Errorf("%w: amazon %s: %s", connectors.ErrMalformed, what, fmt.Sprintf(format, args...))
}

// decodePayload decodes the notification's Payload into v.
func (n *normalizer) decodePayload(nt *notification, v any) error {
	if len(nt.Payload) == 0 || string(nt.Payload) == "null" {
		return n.malformed("field Payload is missing")
	}
	return n.decodeJSON(nt.Payload, v, "field Payload", "Payload.")
}

// decode decodes one envelope layer.
func (n *normalizer) decode(b []byte, v any, depth int) error {
	if depth > 0 {
		return n.decodeJSON(b, v, "the inner message", "")
	}
	return n.decodeJSON(b, v, "the body", "")
}

// decodeJSON unmarshals b into v, turning JSON errors into ErrMalformed
// naming the field (prefix + the field's path) or, for b itself, name.
func (n *normalizer) decodeJSON(b []byte, v any, name, prefix string) error {
	err := json.Unmarshal(b, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return n.malformed("field %s%s: got JSON %s, want %s", prefix, fieldPath(te.Field), te.Value, kindName(te.Type))
	case errors.As(err, &te):
		return n.malformed("%s is a JSON %s, want an object", name, te.Value)
	case errors.As(err, &se):
		return n.malformed("%s is not JSON (byte %d): %v", name, se.Offset, se)
	default:
		return n.malformed("%s is not JSON: %v", name, err)
	}
}

// fieldPath drops the array indices goccy/go-json puts in a type error's
// field path ("Items.0.Quantity" → "Items.Quantity"), as encoding/json
// reports it.
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
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Pointer, reflect.Map:
		return "an object"
	}
	return t.String()
}

// AlertListingStatus is the alert kind of a listing status change.
const AlertListingStatus = "listing_status"

// listingAlert records a listing's status on the channel as an alert.
func (n *normalizer) listingAlert(ls ListingStatus) {
	state := "not buyable"
	if ls.Buyable {
		state = "buyable"
	}
	if ls.Deleted {
		state = "deleted"
	}
	n.res.Alerts = append(n.res.Alerts, store.Alert{
		Kind:      AlertListingStatus,
		Key:       store.Key{SKU: n.c.sku(ls.SellerSKU), Location: "amazon:" + ls.MarketplaceID},
		EventID:   ls.NotificationID,
		Message:   fmt.Sprintf("%s: Amazon listing of SellerSKU %q (ASIN %s) on marketplace %s is %s (statuses %v)", n.c.id, ls.SellerSKU, ls.ASIN, ls.MarketplaceID, state, ls.Statuses),
		CreatedAt: ls.EventTime,
	})
}
