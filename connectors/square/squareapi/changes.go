package squareapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stockgate/stockgate/errcode"
)

// ChangesPath is the endpoint of BatchChangeInventory, POST
// /v2/inventory/changes/batch-create (ref §4.1; spec
// paths./v2/inventory/changes/batch-create, scope INVENTORY_WRITE).
const ChangesPath = "/v2/inventory/changes/batch-create"

// Limits of a BatchChangeInventory request.
const (
	// MaxChanges is the most changes one request may carry: "Max size is
	// 100 changes" (ref §4.1, from the older SDK docs
	// square/connect-nodejs-sdk and square/connect-csharp-sdk
	// docs/BatchChangeInventoryRequest.md; the current spec text no longer
	// states it [U], so the client keeps to it).
	MaxChanges = 100
	// MaxIdempotencyKeyLen bounds idempotency_key: "minLength 1,
	// maxLength 128" (ref §4.1; spec BatchChangeInventoryRequest).
	MaxIdempotencyKeyLen = 128
	// MaxReferenceIDLen bounds a physical count's reference_id (ref §4.1
	// "reference_id (≤ 255, your id)").
	MaxReferenceIDLen = 255
)

// StateInStock is the InventoryState of sellable stock (ref §4.4), the
// state a PhysicalCount sets when it names none.
const StateInStock = "IN_STOCK"

// PhysicalCount is one InventoryChange of type PHYSICAL_COUNT: the
// absolute quantity of an item variation in a state at a location, as of
// OccurredAt (ref §4.1 "physical_count (InventoryPhysicalCount)"; spec
// InventoryPhysicalCount). A physical count resets Square's baseline:
// adjustments dated before OccurredAt no longer count, those dated after
// it apply on top (ref §4.1, inventory-api/how-it-works).
type PhysicalCount struct {
	// CatalogObjectID is the item variation counted. Required.
	CatalogObjectID string
	// LocationID is the Square location. Required.
	LocationID string
	// State is the InventoryState counted. Zero: StateInStock.
	State string
	// Quantity is the count in whole units, sent as a decimal string
	// ("53", ref §3 "quantity: decimal string"). At least 0.
	Quantity int64
	// OccurredAt is when the count was taken; Square orders changes by it
	// and refuses one older than 24 hours or in the future (ref §4.1).
	// Required. Sent as RFC 3339 in UTC with milliseconds (TimeFormat),
	// rounded down.
	OccurredAt time.Time
	// ReferenceID is the client's own id of the count, at most
	// MaxReferenceIDLen bytes. Zero: not sent.
	ReferenceID string
}

// ChangeRequest is a BatchChangeInventory request (ref §4.1; spec
// BatchChangeInventoryRequest). Only PHYSICAL_COUNT changes are
// supported: stockgate writes absolute quantities.
type ChangeRequest struct {
	// IdempotencyKey is required, 1 to MaxIdempotencyKeyLen bytes. Square
	// answers a repeat of the same request under the same key with the
	// first answer and applies it no second time, and refuses the key with
	// a different request (IDEMPOTENCY_KEY_REUSED; ref §4.1, Square's
	// docs/build-basics/common-api-patterns/idempotency).
	IdempotencyKey string
	// Counts are the changes, 1 to MaxChanges.
	Counts []PhysicalCount
	// IgnoreUnchangedCounts is ignore_unchanged_counts: "whether the
	// current physical count should be ignored if the quantity is
	// unchanged since the last physical count" (ref §4.1; spec). Nil: not
	// sent, and Square's default, true, applies.
	IgnoreUnchangedCounts *bool
}

// ChangeResponse is what BatchChangeInventory answered (spec
// BatchChangeInventoryResponse).
type ChangeResponse struct {
	// Counts are "the current counts for all objects referenced in the
	// request" (spec; the fixture answers the new IN_STOCK count).
	Counts []Count
}

type wirePhysicalCount struct {
	CatalogObjectID string `json:"catalog_object_id"`
	LocationID      string `json:"location_id"`
	OccurredAt      string `json:"occurred_at"`
	Quantity        string `json:"quantity"`
	ReferenceID     string `json:"reference_id,omitempty"`
	State           string `json:"state"`
}

type wireChange struct {
	PhysicalCount *wirePhysicalCount `json:"physical_count"`
	Type          string             `json:"type"`
}

// wireChangeRequest has the spec's field names; the fixture
// fixtures/square/batch_change_inventory_request.json is one.
type wireChangeRequest struct {
	Changes               []wireChange `json:"changes"`
	IdempotencyKey        string       `json:"idempotency_key"`
	IgnoreUnchangedCounts *bool        `json:"ignore_unchanged_counts,omitempty"`
}

type wireChangeResponse struct {
	Errors []APIError  `json:"errors"`
	Counts []wireCount `json:"counts"`
}

// BatchChangeInventory applies physical counts: POST
// /v2/inventory/changes/batch-create (ref §4.1). It checks req first and
// sends nothing if it is invalid (InvalidArgument). A refusal of single
// changes is an HTTP 400 whose Error.Errors name them in Field
// ("changes[3].physical_count.catalog_object_id"); ChangeIndex reads the
// index. Errors are classified as the package doc lists.
func (c *Client) BatchChangeInventory(ctx context.Context, req ChangeRequest) (ChangeResponse, error) {
	body, err := changeBody(req)
	if err != nil {
		return ChangeResponse{}, err
	}
	var wr wireChangeResponse
	status, err := c.send(ctx, http.MethodPost, c.base+ChangesPath, body, &wr, &wr.Errors, "BatchChangeInventoryResponse")
	if err != nil {
		return ChangeResponse{}, err
	}
	counts, err := parseCounts(wr.Counts, status)
	if err != nil {
		return ChangeResponse{}, err
	}
	return ChangeResponse{Counts: counts}, nil
}

// changeBody validates req, reporting every problem at once, and encodes
// it.
func changeBody(req ChangeRequest) ([]byte, error) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if n := len(req.IdempotencyKey); n == 0 || n > MaxIdempotencyKeyLen {
		bad("IdempotencyKey: %d bytes, want 1 to %d", n, MaxIdempotencyKeyLen)
	}
	if n := len(req.Counts); n == 0 || n > MaxChanges {
		bad("Counts: %d changes, want 1 to %d", n, MaxChanges)
	}
	w := wireChangeRequest{IdempotencyKey: req.IdempotencyKey, IgnoreUnchangedCounts: req.IgnoreUnchangedCounts,
		Changes: make([]wireChange, 0, len(req.Counts))}
	for i, pc := range req.Counts {
		switch {
		case pc.CatalogObjectID == "":
			bad("Counts[%d].CatalogObjectID: required", i)
		case pc.LocationID == "":
			bad("Counts[%d].LocationID: required", i)
		case pc.Quantity < 0:
			bad("Counts[%d].Quantity: %d is negative", i, pc.Quantity)
		case pc.OccurredAt.IsZero():
			bad("Counts[%d].OccurredAt: required", i)
		case len(pc.ReferenceID) > MaxReferenceIDLen:
			bad("Counts[%d].ReferenceID: longer than %d bytes", i, MaxReferenceIDLen)
		}
		state := pc.State
		if state == "" {
			state = StateInStock
		}
		w.Changes = append(w.Changes, wireChange{Type: "PHYSICAL_COUNT", PhysicalCount: &wirePhysicalCount{
			CatalogObjectID: pc.CatalogObjectID, LocationID: pc.LocationID, State: state,
			Quantity:    strconv.FormatInt(pc.Quantity, 10),
			OccurredAt:  pc.OccurredAt.UTC().Truncate(time.Millisecond).Format(TimeFormat),
			ReferenceID: pc.ReferenceID,
		}})
	}
	if len(problems) > 0 {
		return nil, &Error{Code: errcode.InvalidArgument, Err: fmt.Errorf("BatchChangeInventory: %s", strings.Join(problems, "; "))}
	}
	body, err := json.Marshal(&w)
	if err != nil {
		return nil, &Error{Code: errcode.InvalidArgument, Err: err}
	}
	return body, nil
}

// parseCounts turns the wire counts of a response into Counts.
func parseCounts(wcs []wireCount, status int) ([]Count, error) {
	counts := make([]Count, 0, len(wcs))
	for i, wc := range wcs {
		cnt := Count{
			CatalogObjectID: wc.CatalogObjectID, CatalogObjectType: wc.CatalogObjectType,
			State: wc.State, LocationID: wc.LocationID, Quantity: wc.Quantity, IsEstimated: wc.IsEstimated,
		}
		if wc.CalculatedAt != "" {
			t, err := time.Parse(time.RFC3339Nano, wc.CalculatedAt)
			if err != nil {
				return nil, &Error{Code: errcode.Unknown, HTTPStatus: status,
					Err: fmt.Errorf("counts[%d].calculated_at: %q is not RFC 3339", i, wc.CalculatedAt)}
			}
			cnt.CalculatedAt = t
		}
		counts = append(counts, cnt)
	}
	return counts, nil
}

// ChangeIndex reads which change of a BatchChangeInventory request an
// error is about, from its Field: "changes[3]" or "changes[3].…" is 3.
// Square's Error.field names "the field in the request, if any, that the
// error pertains to" (spec Error); the bracketed index is the form the
// Square docs show for batch fields ("changes[0].physical_count") [U: no
// verbatim BatchChangeInventory error is documented].
func ChangeIndex(e APIError) (int, bool) {
	rest, ok := strings.CutPrefix(e.Field, "changes[")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, "]")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(num)
	if err != nil || i < 0 {
		return 0, false
	}
	return i, true
}
