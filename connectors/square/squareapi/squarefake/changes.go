package squarefake

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// ChangesPath is the endpoint of BatchChangeInventory (ref §4.1).
const ChangesPath = "/v2/inventory/changes/batch-create"

// MaxChanges is the most changes one BatchChangeInventory request may
// carry: "Max size is 100 changes" (ref §4.1; square/connect-nodejs-sdk
// docs/BatchChangeInventoryRequest.md).
const MaxChanges = 100

// Applied is one physical count the fake applied.
type Applied struct {
	CatalogObjectID, LocationID, State string
	// Quantity is the decimal string as sent.
	Quantity string
	// OccurredAt is the count's occurred_at; At is when the fake applied
	// it (Options.Now).
	OccurredAt, At time.Time
	// IdempotencyKey is the key of the request that carried it.
	IdempotencyKey string
}

// SetCatalog declares the item variations that exist. Once it is called,
// a physical count of any other catalog object is refused with NOT_FOUND;
// before, every id is accepted.
func (s *Server) SetCatalog(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catalog = make(map[string]bool, len(ids))
	for _, id := range ids {
		s.catalog[id] = true
	}
}

// Applied returns the physical counts applied so far, oldest first.
func (s *Server) Applied() []Applied {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.applied)
}

// idemAnswer is what the fake remembers of a key: the request's canonical
// hash and the answer to replay.
type idemAnswer struct {
	hash [32]byte
	body []byte
}

type changeRequest struct {
	IdempotencyKey        *string           `json:"idempotency_key"`
	Changes               []json.RawMessage `json:"changes"`
	IgnoreUnchangedCounts *bool             `json:"ignore_unchanged_counts"`
}

type change struct {
	Type          string         `json:"type"`
	PhysicalCount *physicalCount `json:"physical_count"`
}

type physicalCount struct {
	ReferenceID     string `json:"reference_id"`
	CatalogObjectID string `json:"catalog_object_id"`
	State           string `json:"state"`
	LocationID      string `json:"location_id"`
	Quantity        string `json:"quantity"`
	OccurredAt      string `json:"occurred_at"`
}

// readOnly are the InventoryStates the spec marks read-only (ref §4.4): a
// physical count cannot set them [U: the error code Square answers].
var readOnly = map[string]bool{
	"IN_TRANSIT": true, "CUSTOM": true, "RETURNED_BY_CUSTOMER": true, "RESERVED_FOR_SALE": true,
	"SOLD_ONLINE": true, "ORDERED_FROM_VENDOR": true, "RECEIVED_FROM_VENDOR": true,
}

// quantityRE is a Square decimal quantity: up to 5 decimals, at most 26
// characters (ref §3 "InventoryCount fields").
var quantityRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]{1,5})?$`)

// maxAge is how old occurred_at may be: "cannot be older than 24 hours or
// in the future relative to the time of the request" (ref §4.1).
const maxAge = 24 * time.Hour

// serveChanges answers BatchChangeInventory (see the package doc).
func (s *Server) serveChanges(w http.ResponseWriter, body []byte, now time.Time) {
	var req changeRequest
	if err := json.Unmarshal(body, &req); err != nil {
		s.refuse(w, 0, invalid("BAD_REQUEST", "", err.Error()))
		return
	}
	s.mu.Lock()
	s.stats.MaxChanges = max(s.stats.MaxChanges, len(req.Changes))
	s.mu.Unlock()
	switch {
	case req.IdempotencyKey == nil || *req.IdempotencyKey == "":
		s.refuse(w, len(req.Changes), invalid("MISSING_REQUIRED_PARAMETER", "idempotency_key", "Field must be set"))
		return
	case len(*req.IdempotencyKey) > 128:
		s.refuse(w, len(req.Changes), invalid("VALUE_TOO_LONG", "idempotency_key",
			fmt.Sprintf("Field must not be greater than 128 length: %d", len(*req.IdempotencyKey))))
		return
	case len(req.Changes) > MaxChanges:
		// ref §4.1 "max 100 per request"; the code is the ErrorCode enum's
		// ARRAY_LENGTH_TOO_LONG ("The provided array has too many
		// elements"); the detail text is [U].
		s.refuse(w, len(req.Changes), invalid("ARRAY_LENGTH_TOO_LONG", "changes",
			fmt.Sprintf("Field must not contain more than %d elements: %d", MaxChanges, len(req.Changes))))
		return
	}
	idemKey := *req.IdempotencyKey
	hash := canonicalHash(body)

	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.idem[idemKey]; ok {
		if prev.hash != hash {
			// Square: "If you use the same idempotency key but change the
			// request … you get an error indicating that you used the
			// idempotency key previously" (docs/build-basics/
			// common-api-patterns/idempotency); the code is the ErrorCode
			// enum's IDEMPOTENCY_KEY_REUSED (ref §4.1). Status and detail
			// [U].
			s.stats.Refused++
			writeErrors(w, http.StatusBadRequest, invalid("IDEMPOTENCY_KEY_REUSED", "idempotency_key",
				"The idempotency key has already been used with a different request."))
			return
		}
		// "the endpoint knows it's a duplicate request … returns the
		// response as the first successful … response" (same page).
		s.stats.Replays++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(prev.body)
		return
	}
	counts, errs := s.validate(req.Changes, now)
	if len(errs) > 0 {
		// Every error is answered and nothing is applied [U: Square does
		// not document whether a batch applies partly].
		s.stats.Refused++
		writeErrors(w, http.StatusBadRequest, errs...)
		return
	}
	ignore := req.IgnoreUnchangedCounts == nil || *req.IgnoreUnchangedCounts
	var touched []key
	for _, pc := range counts {
		k := key3(pc)
		if !slices.Contains(touched, k) {
			touched = append(touched, k)
		}
		s.applyLocked(k, pc, idemKey, ignore, now)
	}
	s.stats.BatchChanges++
	resp := struct {
		Counts []wireCount `json:"counts"`
		Errors []apiError  `json:"errors"`
	}{Counts: []wireCount{}, Errors: []apiError{}}
	for _, k := range touched {
		if c, ok := s.counts[k]; ok {
			resp.Counts = append(resp.Counts, toWire(c))
		}
	}
	out, _ := json.Marshal(resp)
	out = append(out, '\n')
	s.idem[idemKey] = idemAnswer{hash: hash, body: out}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// refuse answers 400 with errs, counting the call.
func (s *Server) refuse(w http.ResponseWriter, n int, errs ...apiError) {
	s.mu.Lock()
	s.stats.Refused++
	s.stats.MaxChanges = max(s.stats.MaxChanges, n)
	s.mu.Unlock()
	writeErrors(w, http.StatusBadRequest, errs...)
}

// validate checks each change and returns the physical counts, or an error
// per problem with the field it is about ("changes[3].physical_count.
// occurred_at" [U: the path form]). Callers hold s.mu.
func (s *Server) validate(raw []json.RawMessage, now time.Time) ([]physicalCount, []apiError) {
	var errs []apiError
	counts := make([]physicalCount, 0, len(raw))
	for i, r := range raw {
		at := func(f string) string { return fmt.Sprintf("changes[%d]%s", i, f) }
		var ch change
		if err := json.Unmarshal(r, &ch); err != nil {
			errs = append(errs, invalid("EXPECTED_OBJECT", at(""), err.Error()))
			continue
		}
		switch ch.Type {
		case "PHYSICAL_COUNT":
		case "ADJUSTMENT", "TRANSFER":
			// Valid types (ref §4.1) the fake does not implement.
			errs = append(errs, invalid("BAD_REQUEST", at(".type"), "squarefake implements PHYSICAL_COUNT only"))
			continue
		default:
			errs = append(errs, invalid("INVALID_ENUM_VALUE", at(".type"), "Invalid InventoryChangeType: "+ch.Type))
			continue
		}
		pc := ch.PhysicalCount
		if pc == nil {
			errs = append(errs, invalid("MISSING_REQUIRED_PARAMETER", at(".physical_count"), "Field must be set"))
			continue
		}
		n := len(errs)
		for _, f := range [...]struct{ name, v string }{
			{"catalog_object_id", pc.CatalogObjectID}, {"location_id", pc.LocationID},
			{"state", pc.State}, {"quantity", pc.Quantity}, {"occurred_at", pc.OccurredAt},
		} {
			if f.v == "" {
				errs = append(errs, invalid("MISSING_REQUIRED_PARAMETER", at(".physical_count."+f.name), "Field must be set"))
			}
		}
		if len(errs) > n {
			continue
		}
		switch {
		case !states[pc.State]:
			errs = append(errs, invalid("INVALID_ENUM_VALUE", at(".physical_count.state"), "Invalid InventoryState: "+pc.State))
		case readOnly[pc.State]:
			errs = append(errs, invalid("INVALID_VALUE", at(".physical_count.state"), "State "+pc.State+" is read-only."))
		}
		if len(pc.Quantity) > 26 || !quantityRE.MatchString(pc.Quantity) {
			errs = append(errs, invalid("INVALID_VALUE", at(".physical_count.quantity"), "Invalid decimal quantity: "+pc.Quantity))
		}
		if len(pc.ReferenceID) > 255 {
			errs = append(errs, invalid("VALUE_TOO_LONG", at(".physical_count.reference_id"), "Field must not be greater than 255 length"))
		}
		if t, err := time.Parse(time.RFC3339Nano, pc.OccurredAt); err != nil {
			errs = append(errs, invalid("INVALID_TIME", at(".physical_count.occurred_at"), "Invalid RFC 3339 time: "+pc.OccurredAt))
		} else if t.After(now) || now.Sub(t) > maxAge {
			errs = append(errs, invalid("INVALID_VALUE", at(".physical_count.occurred_at"),
				"occurred_at cannot be older than 24 hours or in the future"))
		}
		if s.catalog != nil && !s.catalog[pc.CatalogObjectID] {
			// The NOT_FOUND shape Square answers for an unknown variation
			// (square/square-nodejs-sdk issue #150).
			errs = append(errs, apiError{Category: "INVALID_REQUEST_ERROR", Code: "NOT_FOUND",
				Field:  at(".physical_count.catalog_object_id"),
				Detail: "Item variation with catalog object ID `" + pc.CatalogObjectID + "` not found."})
		}
		counts = append(counts, *pc)
	}
	return counts, errs
}

func key3(pc physicalCount) key { return key{pc.CatalogObjectID, pc.LocationID, pc.State} }

// applyLocked applies one physical count. Square orders changes by
// occurred_at and a physical count resets the baseline (ref §4.1,
// inventory-api/how-it-works): one older than the last applied to the same
// count changes nothing. With ignore, a count equal to the current one is
// ignored (ignore_unchanged_counts; the fake compares with the current
// count [U: the spec says "unchanged since the last physical count"]).
func (s *Server) applyLocked(k key, pc physicalCount, idemKey string, ignore bool, now time.Time) {
	occurred, _ := time.Parse(time.RFC3339Nano, pc.OccurredAt)
	if last, ok := s.physical[k]; ok && occurred.Before(last) {
		s.stats.Superseded++
		return
	}
	cur, ok := s.counts[k]
	if ok && ignore && sameQuantity(cur.Quantity, pc.Quantity) {
		s.stats.Ignored++
		return
	}
	s.physical[k] = occurred
	s.counts[k] = Count{CatalogObjectID: k.object, CatalogObjectType: "ITEM_VARIATION", State: k.state,
		LocationID: k.location, Quantity: pc.Quantity, CalculatedAt: now}
	s.applied = append(s.applied, Applied{CatalogObjectID: k.object, LocationID: k.location, State: k.state,
		Quantity: pc.Quantity, OccurredAt: occurred, At: now, IdempotencyKey: idemKey})
	s.stats.Applied++
}

// sameQuantity compares two decimal strings by value ("5" = "5.000").
func sameQuantity(a, b string) bool { return canonicalQuantity(a) == canonicalQuantity(b) }

func canonicalQuantity(q string) string {
	if whole, frac, ok := strings.Cut(q, "."); ok {
		if frac = strings.TrimRight(frac, "0"); frac != "" {
			return whole + "." + frac
		}
		q = whole
	}
	neg := strings.HasPrefix(q, "-")
	q = strings.TrimLeft(strings.TrimPrefix(q, "-"), "0")
	if q == "" {
		return "0"
	}
	if neg {
		return "-" + q
	}
	return q
}

// canonicalHash hashes a JSON body independently of key order and spacing,
// so that "the same request" means the same content.
func canonicalHash(body []byte) [32]byte {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return sha256.Sum256(body)
	}
	b, _ := json.Marshal(v)
	return sha256.Sum256(b)
}

func toWire(c Count) wireCount {
	return wireCount{
		CalculatedAt: c.CalculatedAt.UTC().Format(timeFormat), CatalogObjectID: c.CatalogObjectID,
		CatalogObjectType: c.CatalogObjectType, LocationID: c.LocationID, Quantity: c.Quantity, State: c.State,
	}
}

// CountUpdatedEvent builds the inventory.count.updated webhook Square
// sends when the IN_STOCK count of object at location changes (ref §3;
// the shape of spec InventoryCountUpdatedEvent, as in
// shared/fixtures/square/inventory_count_updated_event.json): one count,
// created_at now, a new event_id per call. ok is false when the fake holds
// no such count. The fake does not deliver webhooks; tests pass this body
// to the connector.
func (s *Server) CountUpdatedEvent(object, location string) (body []byte, ok bool) {
	s.mu.Lock()
	c, ok := s.counts[key{object, location, "IN_STOCK"}]
	s.events++
	n := s.events
	s.mu.Unlock()
	if !ok {
		return nil, false
	}
	ev := map[string]any{
		"created_at": s.now().UTC().Format(time.RFC3339Nano),
		"data": map[string]any{
			"id":     fmt.Sprintf("squarefake-data-%d", n),
			"object": map[string]any{"inventory_counts": []wireCount{toWire(c)}},
			"type":   "inventory_counts",
		},
		"event_id":    fmt.Sprintf("squarefake-event-%d", n),
		"merchant_id": s.merchant,
		"type":        "inventory.count.updated",
	}
	body, _ = json.Marshal(ev)
	return body, true
}
