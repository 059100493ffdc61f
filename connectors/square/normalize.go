package square

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
	"github.com/stockgate/stockgate/connectors/square/squareapi"
	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/store"
)

// Reasons written into events.
const (
	// reasonInventoryCount: Square's absolute IN_STOCK count, applied as
	// on hand.
	reasonInventoryCount = "inventory_count"
	// reasonChannelReport: an estimated count, recorded as an available
	// observation (as the Shopify connector does for what a channel shows).
	reasonChannelReport = "channel_report"
	// reasonOrderOpen: an OPEN order reserves its lines (committed).
	reasonOrderOpen = "order_open"
	// reasonOrderCompleted: a COMPLETED order releases its reservation;
	// the sale itself reaches on hand through the IN_STOCK count.
	reasonOrderCompleted = "order_completed"
	// reasonOrderCanceled: a CANCELED order releases its reservation.
	reasonOrderCanceled = "order_canceled"
)

// Bounds on envelope ids, so that "<event id>/<index>" stays within the
// schemas' 512-byte sourceEventId and the dedup key stays short.
const (
	maxEventIDLen    = 256
	maxMerchantIDLen = 128
)

// Normalize turns a Square webhook into canonical events, choosing the
// mapping by the envelope's type; see the package doc for the table. It
// does not check the signature: call Verify first. Errors wrap
// connectors.ErrMalformed and name the JSON field at fault.
func (c *Connector) Normalize(ctx context.Context, r *connectors.Request) (*connectors.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := &normalizer{ctx: ctx, c: c, r: r}
	var env envelope
	if err := n.decode(r.Body, &env, ""); err != nil {
		return nil, err
	}
	n.topic = env.Type
	switch {
	case env.Type == "":
		return nil, n.malformed("field type is missing")
	case env.EventID == "":
		return nil, n.malformed("field event_id is missing")
	case len(env.EventID) > maxEventIDLen:
		return nil, n.malformed("field event_id is %d bytes, more than %d", len(env.EventID), maxEventIDLen)
	case env.MerchantID == "":
		return nil, n.malformed("field merchant_id is missing")
	case len(env.MerchantID) > maxMerchantIDLen:
		return nil, n.malformed("field merchant_id is %d bytes, more than %d", len(env.MerchantID), maxMerchantIDLen)
	}
	n.eventID = env.EventID
	created, err := n.parseTime("created_at", env.CreatedAt)
	if err != nil {
		return nil, err
	}
	n.created = created
	// Square's documented duplicate key is event_id (ref §2.4
	// "Duplicates", https://developer.squareup.com/docs/webhooks-overview);
	// the merchant scopes it. The event's created_at goes before it, so
	// that keys come in about the order deliveries arrive (see
	// connectors.DedupTime); a redelivery repeats the signed body, so its
	// created_at too.
	stamp := ""
	if !created.IsZero() {
		stamp = connectors.DedupTime(created) + ":"
	}
	n.res = &connectors.Result{DedupKey: "square:" + env.MerchantID + ":" + stamp + env.EventID, Topic: env.Type}
	switch env.Type {
	case TypeInventoryCountUpdated:
		err = n.inventoryCountUpdated(env.Data.Object)
	case TypeOrderCreated:
		err = n.order(env.Data.Object, "order_created")
	case TypeOrderUpdated:
		err = n.order(env.Data.Object, "order_updated")
	case TypeCatalogVersionUpdated:
		// The catalog changed (variations, SKUs): a trigger to refresh
		// Items, not a stock change (ref §3). Answered and logged as
		// ignored, with what the operator does about it.
		n.res.Ignored = "the Square catalog changed; stockgate does not fetch it: a new item variation's counts and orders " +
			"wait in pendingMappings until map(kind: SKU) names its SKU"
	default:
		n.res.Ignored = "square event type " + strconv.Quote(env.Type) + " moves no stock stockgate maps"
	}
	if err != nil {
		return nil, err
	}
	return n.res, nil
}

// normalizer holds one Normalize call.
type normalizer struct {
	ctx     context.Context
	c       *Connector
	r       *connectors.Request
	topic   string
	eventID string
	created time.Time // the envelope's created_at; zero when absent
	res     *connectors.Result
	// err is a failure of the gateway's own (not the request's), kept by
	// emit; Normalize returns it.
	err error
}

// inventoryCountUpdated maps each count in data.object.inventory_counts
// (ref §3). An IN_STOCK count is the absolute sellable quantity of one
// variation at one location (ref §3, §4.4), applied as on hand; the ledger
// drops a count older than the last one it applied, so late and
// out-of-order deliveries need nothing here (ref §2.4 "Ordering", §6
// pitfall 6).
func (n *normalizer) inventoryCountUpdated(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return n.malformed("field data.object is missing")
	}
	var obj countsObject
	if err := n.decode(raw, &obj, "data.object."); err != nil {
		return err
	}
	if obj.InventoryCounts == nil {
		return n.malformed("field data.object.inventory_counts is missing")
	}
	for i := range *obj.InventoryCounts {
		if err := n.count(i, &(*obj.InventoryCounts)[i]); err != nil {
			return err
		}
		if n.err != nil {
			return n.err
		}
	}
	return nil
}

// count maps one InventoryCount.
func (n *normalizer) count(i int, ic *inventoryCount) error {
	field := func(name string) string { return fmt.Sprintf("data.object.inventory_counts[%d].%s", i, name) }
	for _, f := range [...]struct{ name, value string }{
		{"catalog_object_id", ic.CatalogObjectID}, {"location_id", ic.LocationID},
		{"state", ic.State}, {"quantity", ic.Quantity},
	} {
		if f.value == "" {
			return n.malformed("field %s is missing", field(f.name))
		}
	}
	q, qerr := squareapi.ParseQuantity(ic.Quantity)
	if errors.Is(qerr, squareapi.ErrQuantitySyntax) {
		return n.malformed("field %s: %q %s", field("quantity"), ic.Quantity, quantityProblem(qerr))
	}
	at, err := n.parseTime(field("calculated_at"), ic.CalculatedAt)
	if err != nil {
		return err
	}
	src := n.eventID + "/" + strconv.Itoa(i)
	what := fmt.Sprintf("count %d (%s %s at location %s)", i, typeName(ic.CatalogObjectType), ic.CatalogObjectID, ic.LocationID)
	switch {
	case ic.State == stateInStock:
	case otherStates[ic.State]:
		// Units in another state are not on hand (ref §4.4: sellable
		// stock = IN_STOCK). A move between IN_STOCK and another state
		// changes the IN_STOCK count too, which Square reports as its own
		// count, so these counts add nothing; applying them would count
		// the move twice.
		return nil
	default:
		n.unmapped(src, fmt.Sprintf("%s: unknown state %q; only IN_STOCK is stock on hand", what, ic.State))
		return nil
	}
	var why []string
	sku, ok := n.c.items[ic.CatalogObjectID]
	if !ok {
		why = append(why, "Square catalog object "+ic.CatalogObjectID+" is not in Items")
	}
	loc, ok := n.c.locations[ic.LocationID]
	if !ok {
		why = append(why, "Square location "+ic.LocationID+" is not in Locations")
	}
	switch {
	case qerr != nil:
		// A fraction (a unit sold by weight, say) or an absurd value: Square
		// sent what it documents, so a 400 (and Square's retries for a
		// day, ref §2.4) would not help.
		why = append(why, fmt.Sprintf("quantity %q %s; stockgate counts whole units", ic.Quantity, quantityProblem(qerr)))
	case q < 0:
		why = append(why, fmt.Sprintf("quantity %s is negative; stock.counted needs 0 or more", ic.Quantity))
	}
	if len(why) > 0 {
		n.unmapped(src, what+": "+strings.Join(why, "; "))
		return nil
	}
	if at.IsZero() {
		at = n.created
	}
	if at.IsZero() {
		at = n.received()
	}
	m := event.Movement{
		SourceEventID: src,
		OccurredAt:    at.UTC(),
		SKU:           sku,
		Location:      loc,
		Quantity:      q,
		State:         event.StateOnHand,
		Reason:        reasonInventoryCount,
		CorrelationID: "square:inventory_count:" + ic.CatalogObjectID + "@" + ic.LocationID,
	}
	switch {
	case ic.IsEstimated:
		// An estimate for a composed variation (ref §3, BETA) is not a
		// physical count: record what Square shows, never apply it.
		m.State, m.Reason = event.StateAvailable, reasonChannelReport
	case n.c.isEcho(ic.CatalogObjectID, ic.LocationID, q, at):
		// The count stockgate itself wrote, reported back (ref §3 "Echo
		// handling"): a confirmation the ledger records, not a count of
		// the shop floor. Applied as on hand it would replace the
		// location's stock with the channel quantity.
		m.State, m.Reason = event.StateAvailable, event.ReasonEchoConfirmation
	}
	n.emit(event.StockCounted, what, m)
	return nil
}

// order handles order.created and order.updated. Their payload carries the
// order id, location, state and version but no line items (ref §3: "payload
// has no line items → fetch the order"; spec OrderCreated, OrderUpdated).
// A DRAFT order, which cannot be paid or fulfilled, moves no stock and
// normalizes to nothing. Without Config.Orders the message becomes a dead
// letter saying the order must be fetched; with it, the order is fetched
// and mapped by fetchedOrder.
func (n *normalizer) order(raw json.RawMessage, key string) error {
	if len(raw) == 0 || string(raw) == "null" {
		return n.malformed("field data.object is missing")
	}
	var obj ordersObject
	if err := n.decode(raw, &obj, "data.object."); err != nil {
		return err
	}
	o := obj.OrderCreated
	if key == "order_updated" {
		o = obj.OrderUpdated
	}
	field := "data.object." + key
	switch {
	case o == nil:
		return n.malformed("field %s is missing", field)
	case o.OrderID == "":
		return n.malformed("field %s.order_id is missing", field)
	case len(o.OrderID) > maxEventIDLen:
		return n.malformed("field %s.order_id is %d bytes, more than %d", field, len(o.OrderID), maxEventIDLen)
	case o.State == "":
		return n.malformed("field %s.state is missing", field)
	case o.Version < 0:
		return n.malformed("field %s.version: %d is negative", field, o.Version)
	}
	if _, err := n.parseTime(field+".created_at", o.CreatedAt); err != nil {
		return err
	}
	updated, err := n.parseTime(field+".updated_at", o.UpdatedAt)
	if err != nil {
		return err
	}
	if o.State == orderDraft {
		return nil
	}
	if n.c.orders == nil {
		n.unmapped(n.eventID+"/"+o.OrderID, fmt.Sprintf(
			"order %s: line items not in the webhook; fetch from the Orders API (state %s, version %d, location %s)",
			o.OrderID, o.State, o.Version, o.LocationID))
		return nil
	}
	order, err := n.c.orders.RetrieveOrder(n.ctx, o.OrderID)
	switch {
	case err == nil:
	case squareapi.ErrorCode(err) == errcode.NotFound:
		// Retrying cannot make the order appear (a token for another
		// merchant or location, or a deleted order): keep the message.
		n.unmapped(n.eventID+"/"+o.OrderID, fmt.Sprintf(
			"order %s: not found in the Orders API (state %s, version %d, location %s): %v",
			o.OrderID, o.State, o.Version, o.LocationID, err))
		return nil
	default:
		// Not the request's fault and not malformed: the ingest answers
		// 500 and Square redelivers (ref §2.4 "Retries").
		return fmt.Errorf("square: order %s: fetching from the Orders API: %w", o.OrderID, err)
	}
	if order.LocationID == "" {
		order.LocationID = o.LocationID
	}
	if order.UpdatedAt.IsZero() {
		order.UpdatedAt = updated
	}
	n.fetchedOrder(&order)
	return n.err
}

// fetchedOrder maps an order fetched from the Orders API by its current
// state (the package doc's table). Each line yields a commit, and a
// COMPLETED or CANCELED order also a release; ids come from the order id,
// the line's uid and "commit" or "release", never from the webhook, so
// that every order.updated of an order names the same two events per line
// and the ledger applies each once. A finished order repeats the commit
// so that, whether or not the OPEN state was seen, the release always
// follows a commit of the same line and committed returns to where it was.
func (n *normalizer) fetchedOrder(o *squareapi.Order) {
	var reason string
	switch o.State {
	case orderDraft:
		return
	case orderOpen:
	case orderCompleted:
		reason = reasonOrderCompleted
	case orderCanceled:
		reason = reasonOrderCanceled
	default:
		n.unmapped(n.eventID+"/"+o.ID, fmt.Sprintf("order %s: unknown state %q (version %d)", o.ID, o.State, o.Version))
		return
	}
	loc, locOK := n.c.locations[o.LocationID]
	committed := firstTime(o.CreatedAt, o.UpdatedAt, n.created, n.received())
	released := firstTime(o.UpdatedAt, o.CreatedAt, n.created, n.received())
	for i := range o.LineItems {
		li := &o.LineItems[i]
		uid := li.UID
		if uid == "" {
			uid = "#" + strconv.Itoa(i)
		}
		what := fmt.Sprintf("order %s (%s, version %d) line %s (%s)", o.ID, o.State, o.Version, uid, typeName(li.CatalogObjectID))
		var why []string
		sku, ok := n.c.items[li.CatalogObjectID]
		switch {
		case li.CatalogObjectID == "":
			why = append(why, "no catalog_object_id (an ad hoc line moves no tracked stock)")
		case !ok:
			why = append(why, "Square catalog object "+li.CatalogObjectID+" is not in Items")
		}
		if !locOK {
			why = append(why, "Square location "+o.LocationID+" is not in Locations")
		}
		q, qerr := squareapi.ParseQuantity(li.Quantity)
		switch {
		case qerr != nil:
			why = append(why, fmt.Sprintf("quantity %q %s; stockgate counts whole units", li.Quantity, quantityProblem(qerr)))
		case q <= 0:
			why = append(why, fmt.Sprintf("quantity %q is not positive", li.Quantity))
		}
		key := "order/" + o.ID + "/" + uid + "/"
		if len(why) > 0 {
			n.unmapped(n.eventID+"/"+o.ID+"/"+uid, what+": "+strings.Join(why, "; "))
			continue
		}
		m := event.Movement{
			SourceEventID: key + "commit",
			OccurredAt:    committed.UTC(),
			SKU:           sku,
			Location:      loc,
			Quantity:      q,
			Reason:        reasonOrderOpen,
			OrderID:       o.ID,
			CorrelationID: "square:order:" + o.ID,
		}
		n.emit(event.OrderCommitted, what, m)
		if reason != "" {
			m.SourceEventID, m.OccurredAt, m.Reason = key+"release", released.UTC(), reason
			n.emit(event.OrderCancelled, what, m)
		}
		if n.err != nil {
			return
		}
	}
}

// firstTime returns the first non-zero time.
func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// emit builds an event. One the event schema rejects becomes a dead
// letter; any other failure is the gateway's and is kept in n.err.
func (n *normalizer) emit(t event.Type, what string, m event.Movement) {
	m.Connector = n.c.id
	ev, err := event.NewMovement(t, "", m)
	switch {
	case err == nil:
		n.res.Events = append(n.res.Events, ev)
	case errors.Is(err, event.ErrInvalid):
		n.unmapped(m.SourceEventID, fmt.Sprintf("%s: cannot build %s: %v", what, t.Short(), err))
	case n.err == nil:
		n.err = fmt.Errorf("square: %s: %w", what, err)
	}
}

// unmapped keeps part of the message as a dead letter. Its EventID is the
// source id of the part, as no event exists.
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

// parseTime parses an RFC 3339 time such as "2019-10-29T18:38:45.10296Z"
// (ref §3, fixtures). Empty is the zero time.
func (n *normalizer) parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, n.malformed("field %s: %q is not an RFC 3339 time", field, v)
	}
	return t.UTC(), nil
}

func (n *normalizer) malformed(format string, args ...any) error {
	topic := ""
	if n.topic != "" {
		topic = " " + n.topic
	}
	return fmt.Errorf("%w: square%s: %s", connectors.ErrMalformed, topic, fmt.Sprintf(format, args...))
}

// decode unmarshals raw into v, turning JSON errors into ErrMalformed
// naming the field (prefix is the path of raw in the body).
func (n *normalizer) decode(raw []byte, v any, prefix string) error {
	err := json.Unmarshal(raw, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return n.malformed("field %s%s: got JSON %s, want %s", prefix, te.Field, te.Value, kindName(te.Type))
	case errors.As(err, &te) && prefix != "":
		return n.malformed("field %s: got JSON %s, want an object", strings.TrimSuffix(prefix, "."), te.Value)
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
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Pointer:
		return "an object"
	}
	return t.String()
}

// typeName names a catalog object type in reasons.
func typeName(t string) string {
	if t == "" {
		return "catalog object"
	}
	return t
}
