package fbaapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stockgate/stockgate/errcode"
)

// Path is the getInventorySummaries endpoint (fbaInventory.json paths).
const Path = "/fba/inventory/v1/summaries"

// MaxSellerSKUs is the most SellerSKUs one request may name
// (fbaInventory.json: sellerSkus maxItems 50).
const MaxSellerSKUs = 50

// TimeFormat is how StartDateTime is sent: ISO 8601 in UTC, whole seconds.
const TimeFormat = "2006-01-02T15:04:05Z"

const maxResponse = 32 << 20

// Options configure a Client; nil means the defaults.
type Options struct {
	// HTTPClient sends the requests. Zero: a client with a 30s timeout.
	HTTPClient *http.Client
	// UserAgent is sent as User-Agent, at most 500 characters (ref §6.2).
	// Zero: "stockgate (Language=Go)".
	UserAgent string
	// Now stamps x-amz-date and turns a Retry-After date into a duration.
	// Zero: time.Now.
	Now func() time.Time
}

// Client reads FBA inventory summaries through the SP-API FBA Inventory
// API v1. It is a driver: it classifies errors and never retries or
// paces. It is safe for concurrent use.
type Client struct {
	endpoint  string
	token     func(ctx context.Context) (string, error)
	http      *http.Client
	userAgent string
	now       func() time.Time
}

// New returns a client for the SP-API endpoint baseURL, such as
// "https://sellingpartnerapi-na.amazon.com" (ref §6.3), that asks token
// for an LWA access token before every request and sends it as
// x-amz-access-token (ref §6.2; token should cache it, a token lives one
// hour). It reports every problem at once, as an InvalidArgument *Error.
func New(baseURL string, token func(ctx context.Context) (string, error), opts *Options) (*Client, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	var problems []error
	u, err := url.Parse(baseURL)
	switch {
	case err != nil:
		problems = append(problems, fmt.Errorf("baseURL: %v", err))
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "":
		problems = append(problems, fmt.Errorf("baseURL: %q: want scheme://host[:port] with no path, query or credentials", u.Redacted()))
	}
	if token == nil {
		problems = append(problems, errors.New("token: nil func"))
	}
	if len(o.UserAgent) > 500 {
		problems = append(problems, errors.New("Options.UserAgent: longer than 500 characters (ref §6.2)"))
	}
	if len(problems) > 0 {
		return nil, &Error{Code: errcode.InvalidArgument, Err: fmt.Errorf("fbaapi.New: %w", errors.Join(problems...))}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.UserAgent == "" {
		o.UserAgent = "stockgate (Language=Go)"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Client{endpoint: u.Scheme + "://" + u.Host + Path, token: token, http: o.HTTPClient, userAgent: o.UserAgent, now: o.Now}, nil
}

// Request is one getInventorySummaries call at Marketplace granularity,
// always with details=true.
type Request struct {
	// MarketplaceID is sent as granularityId and as the one marketplaceIds
	// value, such as "ATVPDKIKX0DER". Required.
	MarketplaceID string
	// StartDateTime returns only summaries that changed since it. Amazon
	// refuses one more than 18 months back and then ignores SellerSKUs
	// (fbaInventory.json). Zero: every summary. Sent in UTC rounded down
	// to the second, so the filter never narrows.
	StartDateTime time.Time
	// SellerSKUs limits the summaries to these SKUs, at most
	// MaxSellerSKUs. Ignored by Amazon with StartDateTime.
	SellerSKUs []string
	// NextToken is the NextToken of the previous page. Amazon wants the
	// same StartDateTime with it, and it expires after 30 seconds (ref
	// §5.3).
	NextToken string
}

// Response is one page (GetInventorySummariesResponse).
type Response struct {
	// Granularity is payload.granularity.
	Granularity Granularity
	// Summaries are payload.inventorySummaries.
	Summaries []Summary
	// NextToken fetches the next page; empty on the last page.
	NextToken string
	// RateLimit is the x-amzn-RateLimit-Limit header in requests per
	// second, 0 when absent (it is sent "on a best-effort basis", ref
	// §6.1).
	RateLimit float64
}

// Granularity is the aggregation level of the summaries.
type Granularity struct {
	Type string `json:"granularityType"`
	ID   string `json:"granularityId"`
}

// Summary is an InventorySummary.
type Summary struct {
	ASIN        string `json:"asin"`
	FNSKU       string `json:"fnSku"`
	SellerSKU   string `json:"sellerSku"`
	Condition   string `json:"condition"`
	ProductName string `json:"productName"`
	// TotalQuantity is "the total number of units in an inbound shipment
	// or in Amazon fulfillment centers".
	TotalQuantity int64 `json:"totalQuantity"`
	// InventoryDetails is nil when the answer had none.
	InventoryDetails *InventoryDetails `json:"inventoryDetails"`
	// LastUpdatedTime is "the date and time that any quantity was last
	// updated"; zero when the answer had none or an empty string (as the
	// model's sandbox example does for untouched SKUs).
	LastUpdatedTime time.Time `json:"-"`
}

// InventoryDetails are the summarized quantities.
type InventoryDetails struct {
	// FulfillableQuantity is "the item quantity that can be picked,
	// packed, and shipped".
	FulfillableQuantity      int64 `json:"fulfillableQuantity"`
	InboundWorkingQuantity   int64 `json:"inboundWorkingQuantity"`
	InboundShippedQuantity   int64 `json:"inboundShippedQuantity"`
	InboundReceivingQuantity int64 `json:"inboundReceivingQuantity"`
	ReservedQuantity         struct {
		TotalReservedQuantity        int64 `json:"totalReservedQuantity"`
		PendingCustomerOrderQuantity int64 `json:"pendingCustomerOrderQuantity"`
		PendingTransshipmentQuantity int64 `json:"pendingTransshipmentQuantity"`
		FCProcessingQuantity         int64 `json:"fcProcessingQuantity"`
	} `json:"reservedQuantity"`
	ResearchingQuantity struct {
		TotalResearchingQuantity int64 `json:"totalResearchingQuantity"`
	} `json:"researchingQuantity"`
	UnfulfillableQuantity struct {
		TotalUnfulfillableQuantity int64 `json:"totalUnfulfillableQuantity"`
	} `json:"unfulfillableQuantity"`
}

type wireSummary struct {
	Summary
	LastUpdatedTime string `json:"lastUpdatedTime"`
}

type wireResponse struct {
	Payload *struct {
		Granularity        Granularity   `json:"granularity"`
		InventorySummaries []wireSummary `json:"inventorySummaries"`
	} `json:"payload"`
	Pagination *struct {
		NextToken string `json:"nextToken"`
	} `json:"pagination"`
	Errors []APIError `json:"errors"`
}

// GetInventorySummaries fetches one page: GET /fba/inventory/v1/summaries
// ?details=true&granularityType=Marketplace&granularityId=…&marketplaceIds=…
// [&startDateTime=…][&sellerSkus=…][&nextToken=…]. It checks req first and
// sends nothing if it is invalid.
func (c *Client) GetInventorySummaries(ctx context.Context, req Request) (Response, error) {
	var problems []error
	if req.MarketplaceID == "" {
		problems = append(problems, errors.New("Request.MarketplaceID: required"))
	}
	if len(req.SellerSKUs) > MaxSellerSKUs {
		problems = append(problems, fmt.Errorf("Request.SellerSKUs: %d: at most %d", len(req.SellerSKUs), MaxSellerSKUs))
	}
	if len(problems) > 0 {
		return Response{}, &Error{Code: errcode.InvalidArgument, Err: errors.Join(problems...)}
	}
	q := url.Values{
		"details":         {"true"},
		"granularityType": {"Marketplace"},
		"granularityId":   {req.MarketplaceID},
		"marketplaceIds":  {req.MarketplaceID},
	}
	if !req.StartDateTime.IsZero() {
		q.Set("startDateTime", req.StartDateTime.UTC().Truncate(time.Second).Format(TimeFormat))
	}
	if len(req.SellerSKUs) > 0 {
		q.Set("sellerSkus", strings.Join(req.SellerSKUs, ","))
	}
	if req.NextToken != "" {
		q.Set("nextToken", req.NextToken)
	}
	tok, err := c.token(ctx)
	if err != nil {
		if code := ErrorCode(err); code != errcode.Unknown {
			return Response{}, err
		}
		e := transportError(ctx, fmt.Errorf("access token: %w", err))
		if e.Code == errcode.Unavailable {
			e.Code = errcode.Unauthenticated
		}
		return Response{}, e
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return Response{}, &Error{Code: errcode.InvalidArgument, Err: err}
	}
	hreq.Header.Set("x-amz-access-token", tok)
	hreq.Header.Set("x-amz-date", c.now().UTC().Format("20060102T150405Z"))
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.userAgent)
	hr, err := c.http.Do(hreq)
	if err != nil {
		return Response{}, transportError(ctx, err)
	}
	defer hr.Body.Close()
	reqID := hr.Header.Get("x-amzn-RequestId")
	raw, err := io.ReadAll(io.LimitReader(hr.Body, maxResponse))
	if err != nil {
		e := transportError(ctx, fmt.Errorf("reading response: %w", err))
		e.HTTPStatus, e.RequestID = hr.StatusCode, reqID
		return Response{}, e
	}
	var wr wireResponse
	jsonErr := json.Unmarshal(raw, &wr)
	if hr.StatusCode < 200 || hr.StatusCode > 299 {
		e := &Error{Code: errcode.FromHTTPStatus(hr.StatusCode), HTTPStatus: hr.StatusCode, RequestID: reqID,
			RetryAfter: retryAfterHeader(hr.Header, c.now())}
		if jsonErr == nil && len(wr.Errors) > 0 {
			e.Errors, e.Err = wr.Errors, errors.New(describe(wr.Errors))
		} else {
			e.Err = fmt.Errorf("%s: %.200s", http.StatusText(hr.StatusCode), bytes.TrimSpace(raw))
		}
		return Response{}, e
	}
	if jsonErr != nil {
		return Response{}, &Error{Code: errcode.Unknown, HTTPStatus: hr.StatusCode, RequestID: reqID,
			Err: fmt.Errorf("decoding GetInventorySummariesResponse: %w", jsonErr)}
	}
	if len(wr.Errors) > 0 {
		return Response{}, &Error{Code: errorCode(wr.Errors[0].Code), HTTPStatus: hr.StatusCode, RequestID: reqID,
			Errors: wr.Errors, Err: errors.New(describe(wr.Errors))}
	}
	if wr.Payload == nil {
		return Response{}, &Error{Code: errcode.Unknown, HTTPStatus: hr.StatusCode, RequestID: reqID,
			Err: errors.New("GetInventorySummariesResponse has no payload")}
	}
	resp := Response{Granularity: wr.Payload.Granularity, Summaries: make([]Summary, 0, len(wr.Payload.InventorySummaries))}
	if wr.Pagination != nil {
		resp.NextToken = wr.Pagination.NextToken
	}
	if rl, err := strconv.ParseFloat(hr.Header.Get("x-amzn-RateLimit-Limit"), 64); err == nil && rl > 0 {
		resp.RateLimit = rl
	}
	for i, ws := range wr.Payload.InventorySummaries {
		s := ws.Summary
		if ws.LastUpdatedTime != "" {
			t, err := time.Parse(time.RFC3339Nano, ws.LastUpdatedTime)
			if err != nil {
				return Response{}, &Error{Code: errcode.Unknown, HTTPStatus: hr.StatusCode, RequestID: reqID,
					Err: fmt.Errorf("inventorySummaries[%d].lastUpdatedTime: %q is not ISO 8601", i, ws.LastUpdatedTime)}
			}
			s.LastUpdatedTime = t
		}
		resp.Summaries = append(resp.Summaries, s)
	}
	return resp, nil
}

// SummariesReader fetches one page of summaries. *Client implements it; a
// caller that paces or retries pages wraps it and hands the wrapper to
// AllSummaries.
type SummariesReader interface {
	GetInventorySummaries(ctx context.Context, req Request) (Response, error)
}

var _ SummariesReader = (*Client)(nil)

// ErrTokenLoop is wrapped by the error of AllSummaries when the server
// hands back a nextToken it already gave.
var ErrTokenLoop = errors.New("fbaapi: the server repeated a nextToken")

// AllSummaries fetches every page of req, following NextToken with the
// same StartDateTime (as the model asks: "use both startDateTime and
// nextToken"), and returns the summaries in the order Amazon sent them. A
// nextToken expires 30 seconds after it was issued (ref §5.3): r should
// not wait longer than that between pages. It stops at the first error,
// returning it as r returned it, with nothing.
func AllSummaries(ctx context.Context, r SummariesReader, req Request) ([]Summary, error) {
	var all []Summary
	seen := map[string]bool{}
	for {
		resp, err := r.GetInventorySummaries(ctx, req)
		if err != nil {
			return nil, err
		}
		all = append(all, resp.Summaries...)
		if resp.NextToken == "" {
			return all, nil
		}
		if seen[resp.NextToken] {
			return nil, &Error{Code: errcode.Unknown, Err: fmt.Errorf("%w (%q)", ErrTokenLoop, resp.NextToken)}
		}
		seen[resp.NextToken] = true
		req.NextToken = resp.NextToken
	}
}
