package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/ratelimit"
)

// DefaultAPIVersion is the API version of a zero Options.APIVersion.
const DefaultAPIVersion = "2026-07"

// MaxQuantities is the most quantities one SetQuantities call may carry:
// Shopify's input arrays hold at most 250 entries (ref §5.1 "Input
// limits").
const MaxQuantities = 250

// Quantity bounds of INVALID_QUANTITY_TOO_HIGH / _TOO_LOW (ref §4.2).
const (
	maxQuantity = 1_000_000_000
	minQuantity = -1_000_000_000
)

// maxResponse bounds how much of a response body is read.
const maxResponse = 16 << 20

// Options configure a Client.
type Options struct {
	// Shop is the shop: "{shop}.myshopify.com", the bare handle "{shop}",
	// or a base URL such as "http://127.0.0.1:8080" (a fake, a proxy), to
	// which "/admin/api/{version}/graphql.json" is appended. Required.
	Shop string
	// Token is the Admin API access token, sent as X-Shopify-Access-Token.
	// Required; never logged, never part of an error.
	Token string
	// APIVersion is the Admin API version. Zero: DefaultAPIVersion. The
	// client needs changeFromQuantity, so 2026-01 or later, or "unstable".
	// From 2026-04 every SetRequest needs an IdempotencyKey (ref §4.4).
	APIVersion string
	// HTTPClient sends the requests. Zero: a client with a 30s timeout.
	HTTPClient *http.Client
}

// Client writes and reads inventory levels through the GraphQL Admin API.
// It is a driver: it classifies errors and never retries. It is safe for
// concurrent use.
type Client struct {
	endpoint    string
	token       string
	version     string
	keyRequired bool
	http        *http.Client
}

var (
	versionRE = regexp.MustCompile(`^\d{4}-(01|04|07|10)$`)
	handleRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	domainRE  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:\d+)?$`)
)

// New checks opts, reporting every problem at once, and returns a Client.
func New(opts Options) (*Client, error) {
	var problems []error
	endpointBase, err := shopBase(opts.Shop)
	if err != nil {
		problems = append(problems, err)
	}
	if opts.Token == "" {
		problems = append(problems, errors.New("Token: required"))
	}
	version := opts.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	if version != "unstable" && (!versionRE.MatchString(version) || version < "2026-01") {
		problems = append(problems, fmt.Errorf("APIVersion: %q: want a release from 2026-01 on (changeFromQuantity), or \"unstable\"", version))
	}
	if len(problems) > 0 {
		return nil, &Error{Code: errcode.InvalidArgument, Err: fmt.Errorf("options: %w", errors.Join(problems...))}
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{
		endpoint:    endpointBase + "/admin/api/" + version + "/graphql.json",
		token:       opts.Token,
		version:     version,
		keyRequired: version == "unstable" || version >= "2026-04",
		http:        hc,
	}, nil
}

// shopBase turns Options.Shop into a base URL without a trailing slash.
func shopBase(shop string) (string, error) {
	shop = strings.TrimSpace(shop)
	switch {
	case shop == "":
		return "", errors.New("Shop: required")
	case strings.Contains(shop, "://"):
		u, err := url.Parse(shop)
		if err != nil {
			return "", fmt.Errorf("Shop: %w", err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("Shop: %q: want an http or https base URL", shop)
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return "", fmt.Errorf("Shop: %q: no credentials, query or fragment in the base URL", u.Redacted())
		}
		return strings.TrimSuffix(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
	case handleRE.MatchString(shop):
		return "https://" + shop + ".myshopify.com", nil
	case domainRE.MatchString(strings.ToLower(shop)):
		return "https://" + strings.ToLower(shop), nil
	}
	return "", fmt.Errorf("Shop: %q: want {shop}.myshopify.com, {shop} or a base URL", shop)
}

// APIVersion is the API version the client speaks.
func (c *Client) APIVersion() string { return c.version }

// SetRequest is one inventorySetQuantities call (ref §4.2).
type SetRequest struct {
	// Name is the quantity set: "available" or "on_hand". Zero: "available".
	Name string
	// Reason is the documented reason, e.g. "correction". Required.
	Reason string
	// ReferenceDocumentURI names the cause in the merchant's inventory
	// history, e.g. "gid://stockgate/SyncJob/42". Zero: none.
	ReferenceDocumentURI string
	// IdempotencyKey is sent in @idempotent(key:). Use the same key for
	// retries of the same request and a new one for a new request (a
	// stale write retried with a new changeFrom is a new request). Derive
	// it from the event id so a replay reuses it (ref §4.4). Required from
	// API 2026-04; in 2026-01 zero sends no directive.
	IdempotencyKey string
	// Quantities are the levels to set, 1 to MaxQuantities, each (item,
	// location) at most once.
	Quantities []Quantity
}

// Quantity is one absolute level to set.
type Quantity struct {
	// InventoryItemID and LocationID are numeric ids, sent as
	// gid://shopify/InventoryItem/N and gid://shopify/Location/N.
	InventoryItemID int64
	LocationID      int64
	// Quantity is the new value, within ±1,000,000,000.
	Quantity int64
	// ChangeFrom is the compare-and-set value: the quantity the caller
	// read and expects to replace. nil sends an explicit null, which skips
	// the check (ref §4.2).
	ChangeFrom *int64
}

// SetResult is what a SetQuantities call answered.
type SetResult struct {
	// Cost is the response's extensions.cost (zero if it had none).
	Cost Cost
	// UserErrors are the mutation's userErrors. Any userError fails the
	// whole call: nothing was applied.
	UserErrors []UserError
	// Group is the inventory adjustment group created; nil unless the
	// call succeeded.
	Group *AdjustmentGroup
}

// UserError is one entry of the mutation's userErrors.
type UserError struct {
	Code    string   `json:"code"`
	Field   []string `json:"field"`
	Message string   `json:"message"`
}

// AdjustmentGroup is the InventoryAdjustmentGroup a successful call
// created (or, on an idempotent replay, the one the original call
// created).
type AdjustmentGroup struct {
	ID                   string    `json:"id"`
	CreatedAt            time.Time `json:"createdAt"`
	Reason               string    `json:"reason"`
	ReferenceDocumentURI string    `json:"referenceDocumentUri"`
	Changes              []Change  `json:"changes"`
}

// Change is one state's change in an adjustment group.
type Change struct {
	Name  string `json:"name"`
	Delta int64  `json:"delta"`
}

// Cost is extensions.cost (ref §5.1), read from every response that has
// one.
type Cost struct {
	// Requested is requestedQueryCost.
	Requested float64
	// Actual is actualQueryCost; 0 when null (nothing ran: throttled or a
	// request error).
	Actual float64
	// ThrottleStatus is the bucket after the request.
	ThrottleStatus ThrottleStatus
}

// ThrottleStatus is extensions.cost.throttleStatus.
type ThrottleStatus struct {
	MaximumAvailable   float64
	CurrentlyAvailable float64
	RestoreRate        float64
}

// The documents the client sends. The selection is ref §4.2's.
const (
	setSelection = `{
    inventoryAdjustmentGroup { id createdAt reason referenceDocumentUri changes { name delta } }
    userErrors { code field message }
  }`
	setMutation = `mutation StockgateSetQuantities($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) ` + setSelection + `
}`
	// setMutationNoKey is for API 2026-01 without a key.
	setMutationNoKey = `mutation StockgateSetQuantities($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) ` + setSelection + `
}`
	availableQuery = `query StockgateAvailable($item: ID!, $location: ID!) {
  inventoryItem(id: $item) {
    inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } }
  }
}`
)

// The documents as JSON strings, quoted once.
var (
	setMutationJSON      = quote(setMutation)
	setMutationNoKeyJSON = quote(setMutationNoKey)
	availableQueryJSON   = quote(availableQuery)
)

func quote(s string) []byte {
	q, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return q
}

// SetQuantities sets absolute levels with compare-and-set. It checks req
// first and sends nothing if it is invalid (InvalidArgument; more than 250
// quantities wraps ErrTooManyQuantities).
//
// Shopify answers a failed mutation with userErrors and HTTP 200, and
// applies nothing: the payload's single adjustment group is null. So any
// userError fails the whole call: SetQuantities returns the SetResult,
// with every UserError and the Cost, together with an *Error whose Code
// comes from the most severe userError (see Code). A stale changeFrom is
// FailedPrecondition: re-read with Available and send a new request with
// a new IdempotencyKey.
func (c *Client) SetQuantities(ctx context.Context, req SetRequest) (SetResult, error) {
	if err := c.validate(&req); err != nil {
		return SetResult{}, err
	}
	body := c.appendSetBody(make([]byte, 0, 256+len(req.Quantities)*160), &req)
	resp, cost, err := c.post(ctx, body)
	var res SetResult
	if cost != nil {
		res.Cost = *cost
	}
	if err != nil {
		return res, err
	}
	var data struct {
		InventorySetQuantities *struct {
			InventoryAdjustmentGroup *AdjustmentGroup `json:"inventoryAdjustmentGroup"`
			UserErrors               []UserError      `json:"userErrors"`
		} `json:"inventorySetQuantities"`
	}
	if err := json.Unmarshal(resp.Data, &data); err != nil || data.InventorySetQuantities == nil {
		return res, &Error{Code: errcode.Unknown, HTTPStatus: http.StatusOK, Cost: cost,
			Err: fmt.Errorf("inventorySetQuantities: unexpected data %.200s (%v)", resp.Data, err)}
	}
	p := data.InventorySetQuantities
	res.UserErrors = p.UserErrors
	if len(p.UserErrors) > 0 {
		return res, userErrorsError(p.UserErrors, cost)
	}
	if p.InventoryAdjustmentGroup == nil {
		return res, &Error{Code: errcode.Unknown, HTTPStatus: http.StatusOK, Cost: cost,
			Err: errors.New("inventorySetQuantities: no adjustment group and no userErrors")}
	}
	res.Group = p.InventoryAdjustmentGroup
	return res, nil
}

// validate checks req and reports every problem at once.
func (c *Client) validate(req *SetRequest) error {
	var problems []error
	if req.Name == "" {
		req.Name = "available"
	}
	if req.Name != "available" && req.Name != "on_hand" {
		problems = append(problems, fmt.Errorf("Name: %q: want \"available\" or \"on_hand\"", req.Name))
	}
	if strings.TrimSpace(req.Reason) == "" {
		problems = append(problems, errors.New("Reason: required"))
	}
	if req.IdempotencyKey == "" && c.keyRequired {
		problems = append(problems, fmt.Errorf("IdempotencyKey: required from API 2026-04 (client speaks %s)", c.version))
	}
	switch n := len(req.Quantities); {
	case n == 0:
		problems = append(problems, errors.New("Quantities: none"))
	case n > MaxQuantities:
		problems = append(problems, fmt.Errorf("Quantities: %d: %w", n, ErrTooManyQuantities))
	}
	type pair struct{ item, loc int64 }
	seen := make(map[pair]int, len(req.Quantities))
	bad := 0
	report := func(err error) {
		if bad++; bad <= 10 {
			problems = append(problems, err)
		}
	}
	for i, q := range req.Quantities {
		if q.InventoryItemID <= 0 || q.LocationID <= 0 {
			report(fmt.Errorf("Quantities[%d]: ids must be positive (item %d, location %d)", i, q.InventoryItemID, q.LocationID))
		}
		if q.Quantity > maxQuantity || q.Quantity < minQuantity {
			report(fmt.Errorf("Quantities[%d].Quantity: %d is outside ±1,000,000,000", i, q.Quantity))
		}
		if q.ChangeFrom != nil && (*q.ChangeFrom > 1<<31-1 || *q.ChangeFrom < -1<<31) {
			report(fmt.Errorf("Quantities[%d].ChangeFrom: %d does not fit a GraphQL Int", i, *q.ChangeFrom))
		}
		p := pair{q.InventoryItemID, q.LocationID}
		if j, dup := seen[p]; dup {
			report(fmt.Errorf("Quantities[%d]: same item and location as [%d]; coalesce first (NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR)", i, j))
		} else {
			seen[p] = i
		}
	}
	if bad > 10 {
		problems = append(problems, fmt.Errorf("and %d more quantity problems", bad-10))
	}
	if len(problems) == 0 {
		return nil
	}
	return &Error{Code: errcode.InvalidArgument, Err: fmt.Errorf("SetRequest: %w", errors.Join(problems...))}
}

// appendSetBody writes the request body by hand: the quantities are the
// bulk of it and need no reflection.
func (c *Client) appendSetBody(b []byte, req *SetRequest) []byte {
	query := setMutationJSON
	if req.IdempotencyKey == "" {
		query = setMutationNoKeyJSON
	}
	b = append(b, `{"query":`...)
	b = append(b, query...)
	b = append(b, `,"variables":{`...)
	if req.IdempotencyKey != "" {
		b = append(b, `"idempotencyKey":`...)
		b = appendString(b, req.IdempotencyKey)
		b = append(b, ',')
	}
	b = append(b, `"input":{"name":`...)
	b = appendString(b, req.Name)
	b = append(b, `,"reason":`...)
	b = appendString(b, req.Reason)
	if req.ReferenceDocumentURI != "" {
		b = append(b, `,"referenceDocumentUri":`...)
		b = appendString(b, req.ReferenceDocumentURI)
	}
	b = append(b, `,"quantities":[`...)
	for i, q := range req.Quantities {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"inventoryItemId":"gid://shopify/InventoryItem/`...)
		b = strconv.AppendInt(b, q.InventoryItemID, 10)
		b = append(b, `","locationId":"gid://shopify/Location/`...)
		b = strconv.AppendInt(b, q.LocationID, 10)
		b = append(b, `","quantity":`...)
		b = strconv.AppendInt(b, q.Quantity, 10)
		// Always sent: from 2026-04 the field is mandatory and null opts
		// out of the check (ref §4.2).
		b = append(b, `,"changeFromQuantity":`...)
		if q.ChangeFrom == nil {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendInt(b, *q.ChangeFrom, 10)
		}
		b = append(b, '}')
	}
	return append(b, "]}}}"...)
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// Available reads the "available" quantity of item at location, to
// recompute a write after a stale compare-and-set. An item or level that
// does not exist is NotFound.
func (c *Client) Available(ctx context.Context, item, location int64) (int64, Cost, error) {
	if item <= 0 || location <= 0 {
		return 0, Cost{}, &Error{Code: errcode.InvalidArgument,
			Err: fmt.Errorf("Available: ids must be positive (item %d, location %d)", item, location)}
	}
	b := make([]byte, 0, 512)
	b = append(b, `{"query":`...)
	b = append(b, availableQueryJSON...)
	b = append(b, `,"variables":{"item":"gid://shopify/InventoryItem/`...)
	b = strconv.AppendInt(b, item, 10)
	b = append(b, `","location":"gid://shopify/Location/`...)
	b = strconv.AppendInt(b, location, 10)
	b = append(b, `"}}`...)
	resp, cost, err := c.post(ctx, b)
	var cv Cost
	if cost != nil {
		cv = *cost
	}
	if err != nil {
		return 0, cv, err
	}
	var data struct {
		InventoryItem *struct {
			InventoryLevel *struct {
				Quantities []struct {
					Name     string `json:"name"`
					Quantity int64  `json:"quantity"`
				} `json:"quantities"`
			} `json:"inventoryLevel"`
		} `json:"inventoryItem"`
	}
	if err := json.Unmarshal(resp.Data, &data); err != nil {
		return 0, cv, &Error{Code: errcode.Unknown, HTTPStatus: http.StatusOK, Cost: cost,
			Err: fmt.Errorf("inventoryItem: unexpected data %.200s (%v)", resp.Data, err)}
	}
	switch {
	case data.InventoryItem == nil:
		return 0, cv, &Error{Code: errcode.NotFound, HTTPStatus: http.StatusOK, Cost: cost,
			Err: fmt.Errorf("inventory item %d not found", item)}
	case data.InventoryItem.InventoryLevel == nil:
		return 0, cv, &Error{Code: errcode.NotFound, HTTPStatus: http.StatusOK, Cost: cost,
			Err: fmt.Errorf("inventory item %d is not stocked at location %d", item, location)}
	}
	for _, q := range data.InventoryItem.InventoryLevel.Quantities {
		if q.Name == "available" {
			return q.Quantity, cv, nil
		}
	}
	return 0, cv, &Error{Code: errcode.Unknown, HTTPStatus: http.StatusOK, Cost: cost,
		Err: errors.New("inventoryLevel: no \"available\" quantity in the answer")}
}

// response is the GraphQL envelope.
type response struct {
	Data       json.RawMessage `json:"data"`
	Errors     json.RawMessage `json:"errors"`
	Extensions struct {
		Cost *struct {
			RequestedQueryCost float64  `json:"requestedQueryCost"`
			ActualQueryCost    *float64 `json:"actualQueryCost"`
			ThrottleStatus     struct {
				MaximumAvailable   float64 `json:"maximumAvailable"`
				CurrentlyAvailable float64 `json:"currentlyAvailable"`
				RestoreRate        float64 `json:"restoreRate"`
			} `json:"throttleStatus"`
		} `json:"cost"`
	} `json:"extensions"`
}

func (r *response) cost() *Cost {
	w := r.Extensions.Cost
	if w == nil {
		return nil
	}
	c := &Cost{Requested: w.RequestedQueryCost, ThrottleStatus: ThrottleStatus(w.ThrottleStatus)}
	if w.ActualQueryCost != nil {
		c.Actual = *w.ActualQueryCost
	}
	return c
}

// post sends one GraphQL request. It returns the envelope of a 2xx answer
// without top-level errors; extensions.cost whenever the answer had one;
// and a classified *Error otherwise.
func (c *Client) post(ctx context.Context, body []byte) (*response, *Cost, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, nil, &Error{Code: errcode.InvalidArgument, Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "stockgate-shopify-admin")
	req.Header.Set("X-Shopify-Access-Token", c.token)
	hr, err := c.http.Do(req)
	if err != nil {
		return nil, nil, transportError(ctx, err)
	}
	defer hr.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(hr.Body, maxResponse))
	if err != nil {
		e := transportError(ctx, fmt.Errorf("reading response: %w", err))
		e.HTTPStatus = hr.StatusCode
		return nil, nil, e
	}
	var resp response
	jsonErr := json.Unmarshal(raw, &resp)
	cost := resp.cost()
	if hr.StatusCode < 200 || hr.StatusCode > 299 {
		errs := parseErrors(resp.Errors)
		if jsonErr != nil {
			errs = []wireError{{Message: strings.TrimSpace(fmt.Sprintf("%.200s", raw))}}
		}
		return nil, cost, statusError(hr, errs, cost)
	}
	if jsonErr != nil {
		return nil, cost, &Error{Code: errcode.Unknown, HTTPStatus: hr.StatusCode,
			Err: fmt.Errorf("decoding response: %w", jsonErr)}
	}
	if errs := parseErrors(resp.Errors); len(errs) > 0 {
		e := topLevelError(errs, cost)
		e.HTTPStatus = hr.StatusCode
		return nil, cost, e
	}
	return &resp, cost, nil
}

// Observation maps an answer's extensions.cost onto a rate limiter's
// Observation (ratelimit package doc): reserved is what the caller
// reserved for the call. A call that failed
// without a cost report (5xx, transport) is settled as if it cost what was
// reserved: Shopify may have run it, and the limiter must never believe it
// has more than Shopify does. A throttled query did not run and cost
// nothing.
func Observation(c Cost, reserved float64, err error) ratelimit.Observation {
	o := ratelimit.Observation{ReservedCost: reserved, ActualCost: c.Actual}
	if ts := c.ThrottleStatus; ts.RestoreRate > 0 || ts.MaximumAvailable > 0 {
		o.Limit, o.Burst = ts.RestoreRate, ts.MaximumAvailable
		o.Available, o.HasAvailable = ts.CurrentlyAvailable, true
	} else if err != nil {
		o.ActualCost = reserved
	}
	if ErrorCode(err) == errcode.ResourceExhausted {
		o.Throttled = true
		o.ActualCost = 0
	}
	return o
}
