package squareapi

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
	"strings"
	"time"

	"github.com/stockgate/stockgate/errcode"
)

// Defaults (ref §5; spec servers and default Square-Version).
const (
	// DefaultBaseURL is the production endpoint.
	DefaultBaseURL = "https://connect.squareup.com"
	// DefaultVersion is the Square-Version sent when Options.Version is
	// empty: the spec's default at the commit the reference cites.
	DefaultVersion = "2025-08-20"
	// MaxLimit is the largest page size BatchRetrieveInventoryCounts
	// accepts ("limit … >= 1, <= 1000", ref §4.2).
	MaxLimit = 1000
)

// Path is the endpoint of BatchRetrieveInventoryCounts (ref §4.2).
const Path = "/v2/inventory/counts/batch-retrieve"

// maxResponse bounds how much of a response body is read.
const maxResponse = 32 << 20

// Options configure a Client; nil means the defaults.
type Options struct {
	// BaseURL is scheme://host[:port] of the API, without a path. Zero:
	// DefaultBaseURL. The sandbox is https://connect.squareupsandbox.com
	// (ref §5 [U]); a fake's URL in tests.
	BaseURL string
	// Version is the Square-Version header, YYYY-MM-DD. Zero:
	// DefaultVersion.
	Version string
	// HTTPClient sends the requests. Zero: a client with a 30s timeout.
	HTTPClient *http.Client
	// UserAgent is sent as User-Agent. Zero: "stockgate-squareapi".
	UserAgent string
	// Now is the clock, used only to turn a Retry-After date into a
	// duration. Zero: time.Now.
	Now func() time.Time
}

// Client reads inventory counts (Inventory API) and orders (Orders API). It is a
// driver: it classifies errors and never retries. It is safe for
// concurrent use.
type Client struct {
	base      string // scheme://host
	endpoint  string
	token     string
	version   string
	userAgent string
	http      *http.Client
	now       func() time.Time
}

var versionRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// New returns a Client that authenticates with token (an OAuth or personal
// access token, sent as "Authorization: Bearer {token}", ref §5). It
// reports every problem with its arguments at once, as an InvalidArgument
// *Error.
func New(token string, opts *Options) (*Client, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	var problems []error
	if strings.TrimSpace(token) == "" {
		problems = append(problems, errors.New("token: required"))
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(o.BaseURL)
	switch {
	case err != nil:
		problems = append(problems, fmt.Errorf("Options.BaseURL: %v", err))
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "":
		problems = append(problems, fmt.Errorf("Options.BaseURL: %q: want scheme://host[:port] with no path, query or credentials", u.Redacted()))
	}
	if o.Version == "" {
		o.Version = DefaultVersion
	}
	if !versionRE.MatchString(o.Version) {
		problems = append(problems, fmt.Errorf("Options.Version: %q: want YYYY-MM-DD", o.Version))
	}
	if len(problems) > 0 {
		return nil, &Error{Code: errcode.InvalidArgument, Err: fmt.Errorf("squareapi.New: %w", errors.Join(problems...))}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.UserAgent == "" {
		o.UserAgent = "stockgate-squareapi"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Client{
		base: u.Scheme + "://" + u.Host, endpoint: u.Scheme + "://" + u.Host + Path, token: token, version: o.Version,
		userAgent: o.UserAgent, http: o.HTTPClient, now: o.Now,
	}, nil
}

// Version is the Square-Version the client sends.
func (c *Client) Version() string { return c.version }

// Request is a BatchRetrieveInventoryCounts request (ref §4.2; spec
// BatchRetrieveInventoryCountsRequest). Every filter applies only when
// set.
type Request struct {
	// CatalogObjectIDs filters by catalog object (item variation) id.
	CatalogObjectIDs []string
	// LocationIDs filters by location id.
	LocationIDs []string
	// UpdatedAfter returns only counts whose calculated_at is after it.
	// Zero: no filter (Square's default is the Unix epoch). Sent as RFC
	// 3339 in UTC with milliseconds, rounded down, so the filter never
	// narrows.
	UpdatedAfter time.Time
	// States filters by InventoryState ("IN_STOCK", …); Square ignores the
	// untracked NONE, SOLD and UNLINKED_RETURN (ref §4.2).
	States []string
	// Cursor is the Cursor of the previous page of the same query.
	Cursor string
	// Limit is the page size, 1 to MaxLimit. Zero: Square's default.
	Limit int
}

// Response is one page of counts (spec BatchRetrieveInventoryCountsResponse).
type Response struct {
	// Counts are the page's counts, newest calculated_at first (ref §4.2).
	Counts []Count
	// Cursor fetches the next page; empty on the last page.
	Cursor string
}

// Count is an InventoryCount (ref §3 "InventoryCount fields").
type Count struct {
	// CatalogObjectID is the item variation id.
	CatalogObjectID string
	// CatalogObjectType is "ITEM_VARIATION" ("ITEM" when set by Square
	// Restaurants).
	CatalogObjectType string
	// State is the InventoryState; sellable stock is "IN_STOCK" (ref §4.4).
	State      string
	LocationID string
	// Quantity is a decimal string with up to 5 decimals (ref §3; see
	// ParseQuantity): never parse it as a float.
	Quantity string
	// CalculatedAt is when Square calculated the count; zero when the
	// answer had none.
	CalculatedAt time.Time
	// IsEstimated is set on estimated counts of composed variations (BETA).
	IsEstimated bool
}

// wireRequest is the JSON body (spec field names, ref §4.2 fixture).
type wireRequest struct {
	CatalogObjectIDs []string `json:"catalog_object_ids,omitempty"`
	LocationIDs      []string `json:"location_ids,omitempty"`
	UpdatedAfter     string   `json:"updated_after,omitempty"`
	Cursor           string   `json:"cursor,omitempty"`
	States           []string `json:"states,omitempty"`
	Limit            int      `json:"limit,omitempty"`
}

type wireCount struct {
	CatalogObjectID   string `json:"catalog_object_id"`
	CatalogObjectType string `json:"catalog_object_type"`
	State             string `json:"state"`
	LocationID        string `json:"location_id"`
	Quantity          string `json:"quantity"`
	CalculatedAt      string `json:"calculated_at"`
	IsEstimated       bool   `json:"is_estimated"`
}

type wireResponse struct {
	Errors []APIError  `json:"errors"`
	Counts []wireCount `json:"counts"`
	Cursor string      `json:"cursor"`
}

// TimeFormat is how UpdatedAfter is sent: RFC 3339 in UTC with
// milliseconds, as in the spec's example ("2016-11-16T00:00:00.000Z").
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// BatchRetrieveInventoryCounts fetches one page of counts: POST
// /v2/inventory/counts/batch-retrieve (ref §4.2). It checks req first and
// sends nothing if it is invalid.
func (c *Client) BatchRetrieveInventoryCounts(ctx context.Context, req Request) (Response, error) {
	if req.Limit < 0 || req.Limit > MaxLimit {
		return Response{}, &Error{Code: errcode.InvalidArgument,
			Err: fmt.Errorf("Request.Limit: %d: want 1 to %d, or 0 for Square's default", req.Limit, MaxLimit)}
	}
	w := wireRequest{
		CatalogObjectIDs: req.CatalogObjectIDs, LocationIDs: req.LocationIDs,
		Cursor: req.Cursor, States: req.States, Limit: req.Limit,
	}
	if !req.UpdatedAfter.IsZero() {
		w.UpdatedAfter = req.UpdatedAfter.UTC().Truncate(time.Millisecond).Format(TimeFormat)
	}
	body, err := json.Marshal(&w)
	if err != nil {
		return Response{}, &Error{Code: errcode.InvalidArgument, Err: err}
	}
	var wr wireResponse
	status, err := c.send(ctx, http.MethodPost, c.endpoint, body, &wr, &wr.Errors, "BatchRetrieveInventoryCountsResponse")
	if err != nil {
		return Response{}, err
	}
	counts, err := parseCounts(wr.Counts, status)
	if err != nil {
		return Response{}, err
	}
	resp := Response{Cursor: wr.Cursor, Counts: counts}
	return resp, nil
}

// send makes one request with body (nil: none) and decodes a 2xx answer
// into out, whose "errors" field decodes into *errs. It returns the HTTP
// status. Every failure is an *Error classified as the package doc says:
// a non-2xx answer by its status, a 2xx answer with errors by the first
// error's category, a body that is not JSON as Unknown. what names the
// response type in errors.
func (c *Client) send(ctx context.Context, method, endpoint string, body []byte, out any, errs *[]APIError, what string) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, endpoint, rd)
	if err != nil {
		return 0, &Error{Code: errcode.InvalidArgument, Err: err}
	}
	hreq.Header.Set("Authorization", "Bearer "+c.token)
	hreq.Header.Set("Square-Version", c.version)
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.userAgent)
	hr, err := c.http.Do(hreq)
	if err != nil {
		return 0, transportError(ctx, err)
	}
	defer hr.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(hr.Body, maxResponse))
	if err != nil {
		e := transportError(ctx, fmt.Errorf("reading response: %w", err))
		e.HTTPStatus = hr.StatusCode
		return hr.StatusCode, e
	}
	jsonErr := json.Unmarshal(raw, out)
	if hr.StatusCode < 200 || hr.StatusCode > 299 {
		e := &Error{Code: errcode.FromHTTPStatus(hr.StatusCode), HTTPStatus: hr.StatusCode, RetryAfter: retryAfterHeader(hr.Header, c.now())}
		if jsonErr == nil && len(*errs) > 0 {
			e.Errors = *errs
			e.Err = errors.New(describe(*errs))
		} else {
			e.Err = fmt.Errorf("%s: %.200s", http.StatusText(hr.StatusCode), bytes.TrimSpace(raw))
		}
		return hr.StatusCode, e
	}
	if jsonErr != nil {
		return hr.StatusCode, &Error{Code: errcode.Unknown, HTTPStatus: hr.StatusCode,
			Err: fmt.Errorf("decoding %s: %w", what, jsonErr)}
	}
	if len(*errs) > 0 {
		return hr.StatusCode, &Error{Code: categoryCode((*errs)[0].Category), HTTPStatus: hr.StatusCode,
			Errors: *errs, Err: errors.New(describe(*errs))}
	}
	return hr.StatusCode, nil
}

// CountsReader fetches one page of counts. *Client implements it; a
// caller that paces or retries pages wraps it and hands the wrapper to
// AllCounts.
type CountsReader interface {
	BatchRetrieveInventoryCounts(ctx context.Context, req Request) (Response, error)
}

var _ CountsReader = (*Client)(nil)

// ErrCursorLoop is wrapped by the error of AllCounts when the server hands
// back a cursor it already gave for the same query.
var ErrCursorLoop = errors.New("squareapi: the server repeated a cursor")

// AllCounts fetches every page of req, following Cursor from req.Cursor
// on, and returns the counts in the order Square sent them. It stops at
// the first error, returning it as r returned it (not wrapped) together
// with nothing: a partial read is not a result.
func AllCounts(ctx context.Context, r CountsReader, req Request) ([]Count, error) {
	var all []Count
	seen := map[string]bool{}
	for {
		resp, err := r.BatchRetrieveInventoryCounts(ctx, req)
		if err != nil {
			return nil, err
		}
		all = append(all, resp.Counts...)
		if resp.Cursor == "" {
			return all, nil
		}
		if seen[resp.Cursor] {
			return nil, &Error{Code: errcode.Unknown, Err: fmt.Errorf("%w (%q)", ErrCursorLoop, resp.Cursor)}
		}
		seen[resp.Cursor] = true
		req.Cursor = resp.Cursor
	}
}
