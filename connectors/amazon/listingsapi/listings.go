package listingsapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/stockgate/stockgate/connectors/amazon/spapi"
	"github.com/stockgate/stockgate/errcode"
)

// Paths and values of the Listings Items API (listings model; ref §5.1).
const (
	// ItemsPath is the prefix of /listings/2021-08-01/items/{sellerId}/{sku}.
	ItemsPath = "/listings/2021-08-01/items/"
	// AttributeFulfillmentAvailability is the attribute holding MFN
	// quantities (snake case: the camel-case path is refused with
	// 90000900 "The attributes are invalid.", ref §5.1).
	AttributeFulfillmentAvailability = "/attributes/fulfillment_availability"
	// ChannelDefault is the merchant-fulfilled channel code; FBA codes
	// look like AMAZON_NA (ref §5.1).
	ChannelDefault = "DEFAULT"
	// ProductTypeProduct works for offer-only and partial updates (ref
	// §5.1, docs-repo listings guide).
	ProductTypeProduct = "PRODUCT"
)

// Patch operations (listings model PatchOperation.op).
const (
	OpAdd     = "add"
	OpReplace = "replace"
	OpMerge   = "merge"
	OpDelete  = "delete"
)

// Submission statuses (listings model ListingsItemSubmissionResponse).
const (
	StatusAccepted = "ACCEPTED"
	StatusInvalid  = "INVALID"
	StatusValid    = "VALID" // mode VALIDATION_PREVIEW only
)

// Issue severities.
const (
	SeverityError   = "ERROR"
	SeverityWarning = "WARNING"
	SeverityInfo    = "INFO"
)

// MaxQuantity bounds a quantity stockgate sends: the canonical events'
// bound, well within Amazon's integer.
const MaxQuantity = 1_000_000_000

// Options configure a Client; nil means the defaults (see spapi.Options).
type Options = spapi.Options

// Client writes listings through the Listings Items and Feeds APIs. It is
// safe for concurrent use.
type Client struct {
	api *spapi.Client
}

// New returns a client of the SP-API endpoint baseURL, such as
// "https://sellingpartnerapi-eu.amazon.com" (ref §6.3), that asks token
// for an LWA access token before every request (ref §6.2). It reports
// every problem at once, as an InvalidArgument *spapi.Error.
func New(baseURL string, token spapi.TokenFunc, opts *Options) (*Client, error) {
	api, err := spapi.New(baseURL, token, opts)
	if err != nil {
		return nil, err
	}
	return &Client{api: api}, nil
}

// FulfillmentAvailability is one entry of the fulfillment_availability
// attribute; fulfillment_channel_code selects the entry a merge updates
// (ref §5.1).
type FulfillmentAvailability struct {
	FulfillmentChannelCode string `json:"fulfillment_channel_code"`
	Quantity               int64  `json:"quantity"`
}

// PatchOperation is one JSON Patch operation on a top-level attribute
// (listings model PatchOperation; "Only top-level listings item
// attributes can be patched", ref §5.1).
type PatchOperation struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// MergeQuantity is the patch that sets the quantity of one fulfillment
// channel and leaves its other fields (lead time, restock date) alone:
// op merge on /attributes/fulfillment_availability (ref §5.1).
func MergeQuantity(channelCode string, qty int64) PatchOperation {
	return PatchOperation{Op: OpMerge, Path: AttributeFulfillmentAvailability,
		Value: []FulfillmentAvailability{{FulfillmentChannelCode: channelCode, Quantity: qty}}}
}

// PatchRequest is one patchListingsItem call.
type PatchRequest struct {
	// SellerID is the selling partner (merchant token). Required.
	SellerID string
	// SKU is the SellerSKU; it is path-escaped. Required.
	SKU string
	// MarketplaceIDs are sent comma-separated. At least one.
	MarketplaceIDs []string
	// ProductType is the listing's Amazon product type; ProductTypeProduct
	// works for offer-only updates. Required.
	ProductType string
	// Patches are the operations, at least one.
	Patches []PatchOperation
	// IssueLocale localizes issue messages ("en_US"); zero: Amazon's
	// default for the marketplace.
	IssueLocale string
	// ValidationPreview validates without applying (mode
	// VALIDATION_PREVIEW): status VALID or INVALID.
	ValidationPreview bool
}

// Issue is one issue of a submission (listings model Issue).
type Issue struct {
	Code           string   `json:"code"`
	Message        string   `json:"message"`
	Severity       string   `json:"severity"`
	AttributeNames []string `json:"attributeNames,omitempty"`
	Categories     []string `json:"categories,omitempty"`
}

// Submission is the answer to a patch (ListingsItemSubmissionResponse).
type Submission struct {
	SKU          string  `json:"sku"`
	Status       string  `json:"status"`
	SubmissionID string  `json:"submissionId"`
	Issues       []Issue `json:"issues"`
	// RateLimit is the answer's x-amzn-RateLimit-Limit; 0 when absent.
	RateLimit float64 `json:"-"`
}

// ErrorIssues are the issues of severity ERROR.
func (s Submission) ErrorIssues() []Issue {
	var out []Issue
	for _, is := range s.Issues {
		if is.Severity == SeverityError {
			out = append(out, is)
		}
	}
	return out
}

// PatchListingsItem sends one patchListingsItem. A submission Amazon
// answered INVALID is returned together with an InvalidArgument
// *spapi.Error listing its issues; a status other than ACCEPTED, INVALID
// and (with ValidationPreview) VALID is Unknown. It checks req first and
// sends nothing if it is invalid.
func (c *Client) PatchListingsItem(ctx context.Context, req PatchRequest) (Submission, error) {
	const op = string(OpPatchListingsItem)
	var problems []error
	if req.SellerID == "" {
		problems = append(problems, errors.New("SellerID: required"))
	}
	if req.SKU == "" {
		problems = append(problems, errors.New("SKU: required"))
	}
	if len(req.MarketplaceIDs) == 0 {
		problems = append(problems, errors.New("MarketplaceIDs: at least one"))
	}
	if req.ProductType == "" {
		problems = append(problems, errors.New("ProductType: required"))
	}
	if len(req.Patches) == 0 {
		problems = append(problems, errors.New("Patches: at least one"))
	}
	if len(problems) > 0 {
		return Submission{}, &spapi.Error{Op: op, Code: errcode.InvalidArgument, Err: errors.Join(problems...)}
	}
	q := url.Values{"marketplaceIds": {strings.Join(req.MarketplaceIDs, ",")}}
	if req.IssueLocale != "" {
		q.Set("issueLocale", req.IssueLocale)
	}
	if req.ValidationPreview {
		q.Set("mode", "VALIDATION_PREVIEW")
	}
	body := struct {
		ProductType string           `json:"productType"`
		Patches     []PatchOperation `json:"patches"`
	}{req.ProductType, req.Patches}
	var sub Submission
	m, err := c.api.Do(ctx, spapi.Request{
		Op: op, Method: http.MethodPatch, Status: http.StatusOK, Query: q, Body: body,
		Path: ItemsPath + url.PathEscape(req.SellerID) + "/" + url.PathEscape(req.SKU),
	}, &sub)
	sub.RateLimit = m.RateLimit
	if err != nil {
		return sub, err
	}
	switch sub.Status {
	case StatusAccepted:
		return sub, nil
	case StatusValid:
		if req.ValidationPreview {
			return sub, nil
		}
	case StatusInvalid:
		return sub, &spapi.Error{Op: op, Code: errcode.InvalidArgument, HTTPStatus: m.Status, RequestID: m.RequestID,
			RateLimit: m.RateLimit, Err: fmt.Errorf("submission %s of %q is INVALID: %s", sub.SubmissionID, sub.SKU, DescribeIssues(sub.Issues))}
	}
	return sub, &spapi.Error{Op: op, Code: errcode.Unknown, HTTPStatus: m.Status, RequestID: m.RequestID,
		RateLimit: m.RateLimit, Err: fmt.Errorf("unexpected submission status %q", sub.Status)}
}

// DescribeIssues joins issues as "SEVERITY code: message [attributes]; …".
func DescribeIssues(issues []Issue) string {
	if len(issues) == 0 {
		return "no issues given"
	}
	parts := make([]string, 0, len(issues))
	for _, is := range issues {
		p := is.Severity + " " + is.Code + ": " + is.Message
		if len(is.AttributeNames) > 0 {
			p += " [" + strings.Join(is.AttributeNames, ", ") + "]"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}
