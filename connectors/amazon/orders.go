package amazon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// OrderItem is one item of an order, as the Orders API getOrderItems
// returns it (models models/orders-api-model/ordersV0.json
// @ 037fc474ca991f0b1375502bd0d82bb33a98fddd, definitions OrderItem:
// OrderItemId, SellerSKU, QuantityOrdered, QuantityShipped).
type OrderItem struct {
	OrderItemID     string
	SellerSKU       string
	QuantityOrdered int64
	QuantityShipped int64
}

// OrderItemsFetcher returns the items of an Amazon order, for ORDER_CHANGE
// notifications that carry none. OrdersClient implements it over the
// Orders API; tests may use any fake.
//
// An error wrapping ErrOrderNotFound makes the notification a dead letter;
// any other error fails the delivery, which is then retried.
type OrderItemsFetcher interface {
	OrderItems(ctx context.Context, amazonOrderID string) ([]OrderItem, error)
}

// ErrOrderNotFound means the Orders API does not know the order (HTTP 404).
var ErrOrderNotFound = errors.New("amazon: order not found")

// OrdersClient is an OrderItemsFetcher over the SP-API Orders API v0
// operation getOrderItems, GET /orders/v0/orders/{orderId}/orderItems,
// following NextToken pages (ordersV0.json @ 037fc474, paths
// "/orders/v0/orders/{orderId}/orderItems"). It authenticates with an LWA
// access token in x-amz-access-token; SigV4 is not required (ref §6.2).
//
// It neither retries nor rate-limits: getOrderItems allows 0.5 requests per
// second with a burst of 30 (ordersV0.json, "Usage Plan"), and a 429 is
// returned as an *APIError whose Temporary reports true, for the caller (the
// delivery's retry) to back off.
type OrdersClient struct {
	base      *url.URL
	token     func(ctx context.Context) (string, error)
	client    *http.Client
	userAgent string
	maxPages  int
}

var _ OrderItemsFetcher = (*OrdersClient)(nil)

// OrdersClientOptions configures an OrdersClient. nil means defaults.
type OrdersClientOptions struct {
	// HTTPClient sends the requests. Nil: a client with a 10-second timeout.
	HTTPClient *http.Client
	// UserAgent is sent as User-Agent, such as
	// "stockgate/1.0 (Language=Go; Platform=Linux)" (ref §6.2: at most 500
	// characters). Empty: "stockgate (Language=Go)".
	UserAgent string
	// MaxPages bounds how many NextToken pages one call follows. Zero: 20.
	MaxPages int
}

// NewOrdersClient returns a client for the SP-API endpoint baseURL, such as
// "https://sellingpartnerapi-na.amazon.com" (ref §6.3), that gets an LWA
// access token from token before every request (token should cache it; a
// token lives one hour, ref §6.2).
func NewOrdersClient(baseURL string, token func(ctx context.Context) (string, error), opts *OrdersClientOptions) (*OrdersClient, error) {
	if opts == nil {
		opts = &OrdersClientOptions{}
	}
	var errs []error
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		errs = append(errs, fmt.Errorf("amazon: NewOrdersClient: base URL %q is not an http(s) URL without a query", baseURL))
	}
	if token == nil {
		errs = append(errs, errors.New("amazon: NewOrdersClient: token func is nil"))
	}
	if len(opts.UserAgent) > 500 {
		errs = append(errs, errors.New("amazon: NewOrdersClient: UserAgent is longer than 500 characters"))
	}
	if opts.MaxPages < 0 {
		errs = append(errs, errors.New("amazon: NewOrdersClient: MaxPages is negative"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := &OrdersClient{base: u, token: token, client: opts.HTTPClient, userAgent: opts.UserAgent, maxPages: opts.MaxPages}
	if c.client == nil {
		c.client = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if c.userAgent == "" {
		c.userAgent = "stockgate (Language=Go)"
	}
	if c.maxPages == 0 {
		c.maxPages = 20
	}
	return c, nil
}

// getOrderItemsResponse is GetOrderItemsResponse: payload OrderItemsList
// {AmazonOrderId, NextToken, OrderItems} or errors (ordersV0.json
// @ 037fc474, 200 example and 400 sandbox response).
type getOrderItemsResponse struct {
	Payload *orderItemsList `json:"payload"`
	Errors  []apiErrorEntry `json:"errors"`
}

// orderItemsList is OrderItemsList; only the fields the connector reads.
type orderItemsList struct {
	AmazonOrderID string `json:"AmazonOrderId"`
	NextToken     string `json:"NextToken"`
	OrderItems    []struct {
		OrderItemID     string `json:"OrderItemId"`
		SellerSKU       string `json:"SellerSKU"`
		QuantityOrdered int64  `json:"QuantityOrdered"`
		QuantityShipped int64  `json:"QuantityShipped"`
	} `json:"OrderItems"`
}

// apiErrorEntry is an SP-API error: {"code", "message", "details"} (ref
// §5.1 error body).
type apiErrorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details string `json:"details"`
}

// APIError is a non-2xx answer from the Orders API.
type APIError struct {
	StatusCode int
	// Code and Message are from the first entry of the errors body, such
	// as "QuotaExceeded" (ref §6.1) or "InvalidInput".
	Code, Message string
	// RequestID is the x-amzn-RequestId header.
	RequestID string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("amazon: Orders API: HTTP %d", e.StatusCode)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// Is makes a 404 match ErrOrderNotFound.
func (e *APIError) Is(target error) bool {
	return target == ErrOrderNotFound && e.StatusCode == http.StatusNotFound
}

// Temporary reports whether retrying later may succeed: 429 ("A 429 is a
// retry-able status code", ref §6.1) and 5xx.
func (e *APIError) Temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// OrderItems implements OrderItemsFetcher.
func (c *OrdersClient) OrderItems(ctx context.Context, amazonOrderID string) ([]OrderItem, error) {
	if amazonOrderID == "" {
		return nil, errors.New("amazon: OrderItems: empty order id")
	}
	var items []OrderItem
	next := ""
	for page := 0; ; page++ {
		if page == c.maxPages {
			return nil, fmt.Errorf("amazon: OrderItems %s: more than %d pages", amazonOrderID, c.maxPages)
		}
		resp, err := c.page(ctx, amazonOrderID, next)
		if err != nil {
			return nil, err
		}
		for _, it := range resp.OrderItems {
			items = append(items, OrderItem{
				OrderItemID:     it.OrderItemID,
				SellerSKU:       it.SellerSKU,
				QuantityOrdered: it.QuantityOrdered,
				QuantityShipped: it.QuantityShipped,
			})
		}
		if resp.NextToken == "" {
			return items, nil
		}
		next = resp.NextToken
	}
}

func (c *OrdersClient) page(ctx context.Context, orderID, next string) (*orderItemsList, error) {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/orders/v0/orders/" + orderID + "/orderItems"
	u.RawPath = strings.TrimSuffix(c.base.EscapedPath(), "/") + "/orders/v0/orders/" + url.PathEscape(orderID) + "/orderItems"
	if next != "" {
		u.RawQuery = url.Values{"NextToken": {next}}.Encode()
	}
	tok, err := c.token(ctx)
	if err != nil {
		return nil, fmt.Errorf("amazon: OrderItems %s: access token: %w", orderID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("amazon: OrderItems %s: %w", orderID, err)
	}
	req.Header.Set("x-amz-access-token", tok)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("amazon: OrderItems %s: %w", orderID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("amazon: OrderItems %s: reading the response: %w", orderID, err)
	}
	var r getOrderItemsResponse
	jerr := json.Unmarshal(body, &r)
	if resp.StatusCode/100 != 2 {
		e := &APIError{StatusCode: resp.StatusCode, RequestID: resp.Header.Get("x-amzn-RequestId")}
		if jerr == nil && len(r.Errors) > 0 {
			e.Code, e.Message = r.Errors[0].Code, r.Errors[0].Message
		}
		return nil, e
	}
	if jerr != nil {
		return nil, fmt.Errorf("amazon: OrderItems %s: response is not GetOrderItemsResponse JSON: %v", orderID, jerr)
	}
	if r.Payload == nil {
		return nil, fmt.Errorf("amazon: OrderItems %s: response has no payload", orderID)
	}
	if r.Payload.AmazonOrderID != "" && r.Payload.AmazonOrderID != orderID {
		return nil, fmt.Errorf("amazon: OrderItems %s: response is for order %s", orderID, r.Payload.AmazonOrderID)
	}
	return r.Payload, nil
}
