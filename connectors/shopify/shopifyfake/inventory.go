package shopifyfake

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// pair is an inventory level's key: (inventory item, location).
type pair struct{ item, location int64 }

type level struct {
	available int64
	updatedAt time.Time
}

// idemRecord is the outcome of an @idempotent mutation, kept for replay.
type idemRecord struct {
	fingerprint string
	payload     map[string]any
	at          time.Time
}

// Quantity bounds of InventorySetQuantitiesUserErrorCode (ref §4.2).
const (
	maxQuantity = 1_000_000_000
	minQuantity = -1_000_000_000
)

func gid(typ string, id int64) string {
	return "gid://shopify/" + typ + "/" + strconv.FormatInt(id, 10)
}

// parseGID reads gid://shopify/{typ}/{positive id}.
func parseGID(s, typ string) (int64, bool) {
	rest, ok := strings.CutPrefix(s, "gid://shopify/"+typ+"/")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil && n > 0
}

// referenceDocumentUri must be a URI with a scheme: gid://app/Type/id,
// https://…, or custom-scheme://… (ref §4.2 table).
var refURI = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://\S+$`)

func rfc3339(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// inventoryItem resolves query root inventoryItem(id:). An id that is not
// an InventoryItem GID, or (with RequireStocked) an item the fake has never
// seen, resolves to null, as a node lookup that finds nothing does.
// Called with s.mu held.
func (s *Server) inventoryItem(args map[string]any) any {
	id, _ := args["id"].(string)
	item, ok := parseGID(id, "InventoryItem")
	if !ok {
		return nil
	}
	if _, known := s.items[item]; !known && s.opts.RequireStocked {
		return nil
	}
	return map[string]any{
		"id":      gid("InventoryItem", item),
		"tracked": true,
		"inventoryLevel": lazy(func(args map[string]any) any {
			id, _ := args["locationId"].(string)
			loc, ok := parseGID(id, "Location")
			if !ok {
				return nil
			}
			lv, stocked := s.levels[pair{item, loc}]
			if !stocked {
				if s.opts.RequireStocked {
					return nil // not stocked at that location
				}
				lv = &level{}
			}
			return levelObject(item, loc, *lv)
		}),
	}
}

// levelObject is an InventoryLevel. The fake keeps no committed, reserved
// or other units, so on_hand equals available and the other states are 0.
func levelObject(item, loc int64, lv level) map[string]any {
	return map[string]any{
		"id":        fmt.Sprintf("gid://shopify/InventoryLevel/%d?inventory_item_id=%d", loc, item),
		"updatedAt": rfc3339(lv.updatedAt),
		"quantities": lazy(func(args map[string]any) any {
			names, _ := args["names"].([]any)
			out := make([]map[string]any, 0, len(names))
			for _, n := range names {
				name, _ := n.(string)
				var q int64
				switch name {
				case "available", "on_hand":
					q = lv.available
				case "committed", "reserved", "incoming", "damaged", "safety_stock", "quality_control":
				default:
					continue // not a quantity name (ref §4.3 list)
				}
				out = append(out, map[string]any{"name": name, "quantity": q, "updatedAt": rfc3339(lv.updatedAt)})
			}
			return out
		}),
	}
}

func setPayload(group map[string]any, userErrors []map[string]any) map[string]any {
	var g any // an untyped nil renders as null
	if group != nil {
		g = group
	}
	if userErrors == nil {
		userErrors = []map[string]any{}
	}
	return map[string]any{"inventoryAdjustmentGroup": g, "userErrors": userErrors}
}

func userError(code string, field []string, msg string) map[string]any {
	var f any
	if field != nil {
		f = field
	}
	return map[string]any{"code": code, "field": f, "message": msg}
}

// inventorySetQuantities runs the mutation field f (ref §4.2, §4.4).
// Called with s.mu held. A non-nil *gqlError is a top-level error: the
// field resolves to null.
func (s *Server) inventorySetQuantities(o *operation, f *ast.Field, now time.Time) (map[string]any, *gqlError) {
	s.stats.Mutations++
	in, _ := o.args[f]["input"].(map[string]any)
	k := o.keys[f]
	var fp string
	if !k.present {
		if o.version.atLeast(v202604) {
			// "calling these mutations without an idempotency directive
			// will result in an error at runtime" (ref §4.4). The shape of
			// that error is not documented [U]: the fake answers a
			// top-level error and nothing is applied.
			return nil, &gqlError{
				Message: "The @idempotent directive with a key is required for inventorySetQuantities from API version 2026-04. " +
					"See https://shopify.dev/docs/api/usage/implementing-idempotency",
				Locations:  locOf(f.Position),
				Path:       []any{f.Alias},
				Extensions: map[string]any{"code": "BAD_REQUEST"},
			}
		}
	} else {
		b, _ := json.Marshal(in) // map keys sorted: a canonical form
		fp = f.Name + ":" + string(b)
		if rec, ok := s.idem[k.key]; ok && now.Sub(rec.at) < s.opts.IdempotencyWindow {
			if rec.fingerprint == fp {
				s.stats.Replays++
				return rec.payload, nil
			}
			s.stats.UserErrors++
			return setPayload(nil, []map[string]any{userError("IDEMPOTENCY_KEY_PARAMETER_MISMATCH", nil,
				"The idempotency key was already used with different parameters.")}), nil
		}
	}
	payload := s.applySet(o.version, in, now)
	if k.present {
		s.remember(k.key, idemRecord{fingerprint: fp, payload: payload, at: now})
	}
	return payload, nil
}

func (s *Server) remember(key string, rec idemRecord) {
	s.idem[key] = rec
	if s.idemInserts++; s.idemInserts%1024 == 0 {
		for k, r := range s.idem {
			if rec.at.Sub(r.at) >= s.opts.IdempotencyWindow {
				delete(s.idem, k)
			}
		}
	}
}

// applySet checks every quantity, then applies all of them or none
// (one adjustment group per mutation).
func (s *Server) applySet(version apiVersion, in map[string]any, now time.Time) map[string]any {
	name, _ := in["name"].(string)
	reason, _ := in["reason"].(string)
	ref, hasRef := in["referenceDocumentUri"].(string)
	ignoreCompare, _ := in["ignoreCompareQuantity"].(bool)
	quantities, _ := in["quantities"].([]any)

	var errs []map[string]any
	if name != "available" && name != "on_hand" {
		errs = append(errs, userError("INVALID_NAME", []string{"input", "name"},
			"The quantity name must be either 'available' or 'on_hand'."))
	}
	if strings.TrimSpace(reason) == "" {
		errs = append(errs, userError("INVALID_REASON", []string{"input", "reason"}, "The reason is invalid."))
	}
	if hasRef && !refURI.MatchString(ref) {
		errs = append(errs, userError("INVALID_REFERENCE_DOCUMENT", []string{"input", "referenceDocumentUri"},
			"The reference document URI is invalid."))
	}

	type planned struct {
		p        pair
		qty, old int64
	}
	plan := make([]planned, 0, len(quantities))
	seen := make(map[pair]bool, len(quantities))
	for i, raw := range quantities {
		q, _ := raw.(map[string]any)
		idx := strconv.Itoa(i)
		field := func(f string) []string { return []string{"input", "quantities", idx, f} }
		itemID, _ := q["inventoryItemId"].(string)
		locID, _ := q["locationId"].(string)
		item, okItem := parseGID(itemID, "InventoryItem")
		loc, okLoc := parseGID(locID, "Location")
		if !okItem {
			errs = append(errs, userError("INVALID_INVENTORY_ITEM", field("inventoryItemId"),
				"The specified inventory item could not be found."))
		}
		if !okLoc {
			errs = append(errs, userError("INVALID_LOCATION", field("locationId"),
				"The specified location could not be found."))
		}
		if !okItem || !okLoc {
			continue
		}
		p := pair{item, loc}
		if seen[p] {
			errs = append(errs, userError("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", []string{"input", "quantities", idx},
				"The combination of inventoryItemId and locationId must be unique."))
			continue
		}
		seen[p] = true
		var cur int64
		if lv, stocked := s.levels[p]; stocked {
			cur = lv.available
		} else if s.opts.RequireStocked {
			if _, known := s.items[item]; !known {
				errs = append(errs, userError("INVALID_INVENTORY_ITEM", field("inventoryItemId"),
					"The specified inventory item could not be found."))
			} else {
				errs = append(errs, userError("ITEM_NOT_STOCKED_AT_LOCATION", field("locationId"),
					"The specified inventory item is not stocked at the location."))
			}
			continue
		}
		qty, _ := q["quantity"].(int64)
		switch {
		case qty > maxQuantity:
			errs = append(errs, userError("INVALID_QUANTITY_TOO_HIGH", field("quantity"),
				"The quantity can't be higher than 1,000,000,000."))
		case qty < minQuantity:
			errs = append(errs, userError("INVALID_QUANTITY_TOO_LOW", field("quantity"),
				"The quantity can't be lower than -1,000,000,000."))
		case qty < 0 && name == "on_hand":
			errs = append(errs, userError("INVALID_QUANTITY_NEGATIVE", field("quantity"),
				"The on_hand quantity can't be negative."))
		}
		cfq, hasCFQ := q["changeFromQuantity"]
		switch {
		case version.atLeast(v202604) && !hasCFQ:
			errs = append(errs, userError("COMPARE_QUANTITY_REQUIRED", field("changeFromQuantity"),
				"changeFromQuantity is required: pass the quantity you expect to replace, or null to skip the check."))
		case version.atLeast(v202601) && hasCFQ:
			if cfq != nil && cfq.(int64) != cur {
				errs = append(errs, userError("CHANGE_FROM_QUANTITY_STALE", field("changeFromQuantity"),
					"The changeFromQuantity doesn't match the current quantity."))
			}
		case !ignoreCompare: // before 2026-01, or 2026-01 without changeFromQuantity
			cq, hasCQ := q["compareQuantity"]
			if !hasCQ || cq == nil {
				errs = append(errs, userError("COMPARE_QUANTITY_REQUIRED", field("compareQuantity"),
					"compareQuantity is required unless ignoreCompareQuantity is true."))
			} else if cq.(int64) != cur {
				errs = append(errs, userError("COMPARE_QUANTITY_STALE", field("compareQuantity"),
					"The compareQuantity doesn't match the current quantity."))
			}
		}
		plan = append(plan, planned{p: p, qty: qty, old: cur})
	}
	if len(errs) > 0 {
		s.stats.UserErrors++
		return setPayload(nil, errs)
	}

	s.groupSeq++
	changes := make([]map[string]any, 0, 2*len(plan))
	for _, pl := range plan {
		lv := s.levels[pl.p]
		if lv == nil {
			lv = &level{}
			s.levels[pl.p] = lv
		}
		lv.available, lv.updatedAt = pl.qty, now
		s.items[pl.p.item] = struct{}{}
		delta := pl.qty - pl.old
		changes = append(changes,
			map[string]any{"name": "available", "delta": delta, "quantityAfterChange": pl.qty},
			map[string]any{"name": "on_hand", "delta": delta, "quantityAfterChange": pl.qty})
	}
	s.stats.Applied += int64(len(plan))
	var refDoc any
	if hasRef {
		refDoc = ref
	}
	return setPayload(map[string]any{
		"id":                   gid("InventoryAdjustmentGroup", s.groupSeq),
		"createdAt":            rfc3339(now),
		"reason":               reason,
		"referenceDocumentUri": refDoc,
		"changes":              changes,
	}, nil)
}
