package pos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/store"
)

// Topic is Result.Topic of every batch.
const Topic = "batch"

// Reasons written into events. A sale's reason is always reasonSale; the
// others are defaults a movement's "reason" overrides.
const (
	reasonSale    = "sale"
	reasonReturn  = "return"
	reasonReceipt = "receipt"
	reasonCount   = "count"
)

// Normalize turns a batch into canonical events, one per movement, in
// order; see the package doc for the format and the mapping. It does not
// check the signature: call Verify first. A batch is checked whole before
// any event is built: one bad movement fails the batch with an error
// wrapping connectors.ErrMalformed that names the movement's index and
// field, so the POS can fix and resend it under the same idempotency key.
func (c *Connector) Normalize(ctx context.Context, r *connectors.Request) (*connectors.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var b batch
	if err := decodeStrict(r.Body, &b, ""); err != nil {
		return nil, err
	}
	if why := checkKey(b.IdempotencyKey); why != "" {
		return nil, malformed("field idempotencyKey %s", why)
	}
	if why := checkText(b.Store, maxStoreLen); why != "" {
		return nil, malformed("field store %s", why)
	}
	if b.Register != "" {
		if why := checkText(b.Register, maxRegisterLen); why != "" {
			return nil, malformed("field register %s", why)
		}
	}
	if b.SentAt == "" {
		return nil, malformed("field sentAt is missing")
	}
	sentAt, err := parseTime("sentAt", b.SentAt)
	if err != nil {
		return nil, err
	}
	if b.Movements == nil {
		return nil, malformed("field movements is missing")
	}
	raw := *b.Movements
	if len(raw) > MaxMovements {
		return nil, malformed("field movements has %d entries, more than %d; split the batch", len(raw), MaxMovements)
	}
	corr := "pos:" + b.Store + ":" + b.Register + ":" + b.IdempotencyKey
	type planned struct {
		t event.Type
		m event.Movement
	}
	plan := make([]planned, len(raw))
	for i, mr := range raw {
		var mv movement
		path := "movements[" + strconv.Itoa(i) + "]"
		if err := decodeStrict(mr, &mv, path+"."); err != nil {
			return nil, err
		}
		t, m, err := mapMovement(path, &mv, sentAt)
		if err != nil {
			return nil, err
		}
		m.SourceEventID = b.IdempotencyKey + "/" + strconv.Itoa(i)
		m.CorrelationID = corr
		plan[i] = planned{t, m}
	}

	n := &normalizer{c: c, r: r, res: &connectors.Result{
		// The POS's idempotency key names the batch; it is unique per
		// connector (see the package doc).
		DedupKey: "pos:" + c.id + ":" + b.IdempotencyKey,
		Topic:    Topic,
	}}
	loc := b.Store
	if len(c.stores) > 0 {
		var ok bool
		if loc, ok = c.stores[b.Store]; !ok {
			// One dead letter for the batch, not one per movement: the body
			// it keeps holds them all.
			n.unmapped(b.IdempotencyKey, fmt.Sprintf("store %q is not in Stores; %d movements not applied", b.Store, len(plan)))
			return n.res, nil
		}
	}
	for i := range plan {
		plan[i].m.Location = loc
		n.emit(plan[i].t, "movement "+strconv.Itoa(i), plan[i].m)
		if n.err != nil {
			return nil, n.err
		}
	}
	return n.res, nil
}

// mapMovement checks one movement and returns its event type and data
// (without ids and location). path names it in errors.
func mapMovement(path string, mv *movement, sentAt time.Time) (event.Type, event.Movement, error) {
	mt, ok := parseMovementType(mv.Type)
	if !ok {
		if mv.Type == "" {
			return "", event.Movement{}, malformed("field %s.type is missing", path)
		}
		return "", event.Movement{}, malformed("field %s.type: unknown type %q (want one of %s)", path, mv.Type, typeList())
	}
	if why := checkText(mv.SKU, maxSKULen); why != "" {
		return "", event.Movement{}, malformed("field %s.sku %s", path, why)
	}
	if mv.Quantity == nil {
		return "", event.Movement{}, malformed("field %s.quantity is missing", path)
	}
	q := *mv.Quantity
	// Each type's range is its event schema's (event/schemas/*.json).
	lo, hi := int64(1), int64(maxQuantity)
	switch mt {
	case typeCount:
		lo = 0
	case typeAdjustment:
		lo = -maxQuantity
	}
	if q < lo || q > hi || (mt == typeAdjustment && q == 0) {
		want := fmt.Sprintf("%d..%d", lo, hi)
		if mt == typeAdjustment {
			want = fmt.Sprintf("%d..%d and not 0", lo, hi)
		}
		return "", event.Movement{}, malformed("field %s.quantity: %d is out of range for type %s (want %s)", path, q, mt, want)
	}
	at := sentAt
	if mv.At != "" {
		var err error
		if at, err = parseTime(path+".at", mv.At); err != nil {
			return "", event.Movement{}, err
		}
	}
	if mv.Ref != "" {
		if why := checkText(mv.Ref, maxRefLen); why != "" {
			return "", event.Movement{}, malformed("field %s.ref %s", path, why)
		}
	}
	if mv.Reason != "" {
		if why := checkText(mv.Reason, maxReasonLen); why != "" {
			return "", event.Movement{}, malformed("field %s.reason %s", path, why)
		}
	}
	m := event.Movement{OccurredAt: at, SKU: mv.SKU, Quantity: q, Reason: mv.Reason, OrderID: mv.Ref}
	var t event.Type
	switch mt {
	case typeSale:
		// An in-store sale leaves the shelf at once: on hand goes down by
		// the quantity. It is not an order.fulfilled, which would also
		// release a commitment the sale never made.
		if mv.Reason != "" && mv.Reason != reasonSale {
			return "", event.Movement{}, malformed("field %s.reason: a sale's reason is always %q; send an adjustment for %q",
				path, reasonSale, mv.Reason)
		}
		t, m.Quantity, m.Reason = event.StockAdjusted, -q, reasonSale
	case typeReturn:
		t = event.StockReturned
		m.Reason = or(mv.Reason, reasonReturn)
	case typeReceipt:
		t = event.StockReceived
		m.Reason = or(mv.Reason, reasonReceipt)
	case typeCount:
		t, m.State = event.StockCounted, event.StateOnHand
		m.Reason = or(mv.Reason, reasonCount)
	case typeAdjustment:
		if mv.Reason == "" {
			return "", event.Movement{}, malformed("field %s.reason is missing; an adjustment says why (damage, theft, correction…)", path)
		}
		t = event.StockAdjusted
	}
	return t, m, nil
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func typeList() string {
	s := make([]string, len(movementTypes))
	for i, t := range movementTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// normalizer holds the output of one Normalize call.
type normalizer struct {
	c   *Connector
	r   *connectors.Request
	res *connectors.Result
	// err is a failure of the gateway's own (not the request's), kept by
	// emit; Normalize returns it.
	err error
}

// emit builds an event. Every field was checked against the schema's
// bounds already, so a rejection is unexpected; it still becomes a dead
// letter rather than a lost movement. Any other failure is the gateway's
// and is kept in n.err.
func (n *normalizer) emit(t event.Type, what string, m event.Movement) {
	m.Connector = n.c.id
	ev, err := event.NewMovement(t, "", m)
	switch {
	case err == nil:
		n.res.Events = append(n.res.Events, ev)
	case errors.Is(err, event.ErrInvalid):
		n.unmapped(m.SourceEventID, fmt.Sprintf("%s: cannot build %s: %v", what, t.Short(), err))
	case n.err == nil:
		n.err = fmt.Errorf("pos: %s: %w", what, err)
	}
}

// unmapped keeps part of the batch as a dead letter.
func (n *normalizer) unmapped(sourceID, reason string) {
	created := n.r.ReceivedAt
	if created.IsZero() {
		created = n.c.now()
	}
	n.res.Unmapped = append(n.res.Unmapped, store.DeadLetter{
		Connector: n.c.id,
		EventID:   sourceID,
		EventType: Topic,
		Reason:    reason,
		Body:      n.r.Body,
		CreatedAt: created,
	})
}

// parseTime parses an RFC 3339 time with an offset, such as
// "2026-11-20T09:59:58Z" or "2026-11-20T10:59:58.250+01:00".
func parseTime(field, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, malformed("field %s: %q is not an RFC 3339 time (such as 2026-11-20T09:59:58Z)", field, v)
	}
	return t.UTC(), nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: pos: %s", connectors.ErrMalformed, fmt.Sprintf(format, args...))
}

// decodeStrict unmarshals one JSON object into v, rejecting unknown fields
// and trailing data, and turns JSON errors into ErrMalformed naming the
// field (prefix is the path of b in the body).
func decodeStrict(b []byte, v any, prefix string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return malformed("body has data after the JSON object")
		}
		return nil
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	where := strings.TrimSuffix(prefix, ".")
	switch {
	case errors.As(err, &te) && te.Field != "":
		return malformed("field %s%s: got JSON %s, want %s", prefix, te.Field, te.Value, kindName(te.Type))
	case errors.As(err, &te) && prefix != "":
		return malformed("field %s: got JSON %s, want an object", where, te.Value)
	case errors.As(err, &te):
		return malformed("body is a JSON %s, want an object", te.Value)
	case errors.As(err, &se):
		return malformed("body is not JSON (byte %d): %v", se.Offset, se)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("body is not JSON: %v", err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		if where == "" {
			where = "body"
		}
		return malformed("%s: %s (see the format in the package doc)", where, strings.TrimPrefix(err.Error(), "json: "))
	default:
		return malformed("body is not JSON: %v", err)
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
	case reflect.Struct, reflect.Pointer:
		return "an object"
	}
	return t.String()
}
