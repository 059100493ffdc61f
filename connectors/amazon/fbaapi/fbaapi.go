package fbaapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/spapi"
	"github.com/stockgate/stockgate/errcode"
)

// Path is the getInventorySummaries endpoint (fbaInventory.json paths).
const Path = "/fba/inventory/v1/summaries"

// MaxSellerSKUs is the most SellerSKUs one request may name
// (fbaInventory.json: sellerSkus maxItems 50).
const MaxSellerSKUs = 50

// TimeFormat is how StartDateTime is sent: ISO 8601 in UTC, whole seconds.
const TimeFormat = "2006-01-02T15:04:05Z"

// Options configure a Client; nil means the defaults (SP-API's).
type Options = spapi.Options

// Client reads FBA inventory summaries through the SP-API FBA Inventory
// API v1, over an spapi.Client. It is a driver: it classifies errors and
// never retries or paces. It is safe for concurrent use.
type Client struct {
	api *spapi.Client
}

// New returns a client for the SP-API endpoint baseURL, such as
// "https://sellingpartnerapi-na.amazon.com" (ref §6.3), that asks token
// for an LWA access token before every request and sends it as
// x-amz-access-token (ref §6.2; token should cache it, a token lives one
// hour). It reports every problem at once, as an InvalidArgument *Error.
func New(baseURL string, token spapi.TokenFunc, opts *Options) (*Client, error) {
	api, err := spapi.New(baseURL, token, opts)
	if err != nil {
		return nil, err
	}
	return &Client{api: api}, nil
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
		return Response{}, &Error{Op: "getInventorySummaries", Code: errcode.InvalidArgument, Err: errors.Join(problems...)}
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
	var wr wireResponse
	m, err := c.api.Do(ctx, spapi.Request{Op: "getInventorySummaries", Method: http.MethodGet, Path: Path, Query: q}, &wr)
	if err != nil {
		return Response{}, err
	}
	fail := func(err error) (Response, error) {
		return Response{}, &Error{Op: "getInventorySummaries", Code: errcode.Unknown, HTTPStatus: m.Status,
			RequestID: m.RequestID, RateLimit: m.RateLimit, Err: err}
	}
	if wr.Payload == nil {
		return fail(errors.New("GetInventorySummariesResponse has no payload"))
	}
	resp := Response{Granularity: wr.Payload.Granularity, Summaries: make([]Summary, 0, len(wr.Payload.InventorySummaries))}
	if wr.Pagination != nil {
		resp.NextToken = wr.Pagination.NextToken
	}
	resp.RateLimit = m.RateLimit
	for i, ws := range wr.Payload.InventorySummaries {
		s := ws.Summary
		if ws.LastUpdatedTime != "" {
			t, err := time.Parse(time.RFC3339Nano, ws.LastUpdatedTime)
			if err != nil {
				return fail(fmt.Errorf("inventorySummaries[%d].lastUpdatedTime: %q is not ISO 8601", i, ws.LastUpdatedTime))
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
