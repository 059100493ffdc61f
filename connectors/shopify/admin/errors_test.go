package admin_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/shopify/admin"
	"github.com/stockgate/stockgate/errcode"
)

// canned answers every request with status, header and body.
func canned(t *testing.T, status int, header map[string]string, body string) *admin.Client {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(ts.Close)
	c, err := admin.New(admin.Options{Shop: ts.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const costJSON = `"extensions":{"cost":{"requestedQueryCost":13,"actualQueryCost":11,"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":987,"restoreRate":50.0}}}`

func userErrors(errs string) string {
	return `{"data":{"inventorySetQuantities":{"inventoryAdjustmentGroup":null,"userErrors":[` + errs + `]}},` + costJSON + `}`
}

func TestClassification(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		status      int
		header      map[string]string
		body        string
		code        errcode.Code
		shopifyCode string
		retryable   bool
		retryAfter  time.Duration
		hasCost     bool
	}{
		{name: "concurrent request with the same key", status: 200,
			body: userErrors(`{"code":"IDEMPOTENCY_CONCURRENT_REQUEST","field":null,"message":"in progress, please try again"}`),
			code: errcode.Aborted, shopifyCode: "IDEMPOTENCY_CONCURRENT_REQUEST", retryable: true, hasCost: true},
		{name: "previous attempt failed", status: 200,
			body: userErrors(`{"code":"IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED","field":null,"message":"Retry with a new idempotency key"}`),
			code: errcode.FailedPrecondition, shopifyCode: "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED", hasCost: true},
		{name: "legacy stale", status: 200,
			body: userErrors(`{"code":"COMPARE_QUANTITY_STALE","field":["input","quantities","0","compareQuantity"],"message":"stale"}`),
			code: errcode.FailedPrecondition, shopifyCode: "COMPARE_QUANTITY_STALE", hasCost: true},
		{name: "invalid beats stale", status: 200,
			body: userErrors(`{"code":"CHANGE_FROM_QUANTITY_STALE","field":["input","quantities","0","changeFromQuantity"],"message":"stale"},` +
				`{"code":"ITEM_NOT_STOCKED_AT_LOCATION","field":["input","quantities","1","locationId"],"message":"not stocked"}`),
			code: errcode.InvalidArgument, shopifyCode: "ITEM_NOT_STOCKED_AT_LOCATION", hasCost: true},
		{name: "unknown userError code", status: 200,
			body: userErrors(`{"code":"SOMETHING_NEW","field":null,"message":"?"}`),
			code: errcode.Unknown, shopifyCode: "SOMETHING_NEW", hasCost: true},
		{name: "non-mutable item", status: 200,
			body: userErrors(`{"code":"NON_MUTABLE_INVENTORY_ITEM","field":["input","quantities","0","inventoryItemId"],"message":"bundle"}`),
			code: errcode.InvalidArgument, shopifyCode: "NON_MUTABLE_INVENTORY_ITEM", hasCost: true},
		{name: "throttled, ref §5.1 example", status: 200,
			body: `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],` +
				`"extensions":{"cost":{"requestedQueryCost":752,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":666,"restoreRate":50.0}}}}`,
			code: errcode.ResourceExhausted, shopifyCode: "THROTTLED", retryable: true, retryAfter: 1720 * time.Millisecond, hasCost: true},
		{name: "429 with fractional Retry-After", status: 429, header: map[string]string{"Retry-After": "2.5"},
			body: `{"errors":"Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}`,
			code: errcode.ResourceExhausted, retryable: true, retryAfter: 2500 * time.Millisecond},
		{name: "max cost exceeded", status: 200,
			body: `{"errors":[{"message":"Query cost is 1002, which exceeds the single query max cost limit (1000).","extensions":{"code":"MAX_COST_EXCEEDED"}}],` + costJSON + `}`,
			code: errcode.InvalidArgument, shopifyCode: "MAX_COST_EXCEEDED", hasCost: true},
		{name: "internal server error in errors", status: 200,
			body: `{"errors":[{"message":"Internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`,
			code: errcode.Unavailable, shopifyCode: "INTERNAL_SERVER_ERROR", retryable: true},
		{name: "access denied", status: 200,
			body: `{"errors":[{"message":"Access denied for inventorySetQuantities field.","extensions":{"code":"ACCESS_DENIED"}}]}`,
			code: errcode.Unauthenticated, shopifyCode: "ACCESS_DENIED"},
		{name: "403", status: 403, body: `{"errors":"[API] This action requires merchant approval for write_inventory scope."}`,
			code: errcode.Unauthenticated},
		{name: "500 with HTML", status: 500, body: `<html>oops</html>`, code: errcode.Unavailable, retryable: true},
		{name: "502 empty", status: 502, code: errcode.Unavailable, retryable: true},
		{name: "404", status: 404, body: `{"errors":"Not Found"}`, code: errcode.NotFound},
		{name: "400", status: 400, body: `{"errors":{"query":"Required parameter missing or invalid"}}`, code: errcode.InvalidArgument},
		{name: "422", status: 422, body: `{"errors":"Unprocessable Entity"}`, code: errcode.InvalidArgument},
		{name: "402 shop frozen", status: 402, body: `{"errors":"Unavailable Shop"}`, code: errcode.Unknown},
		{name: "423 shop locked", status: 423, body: `{"errors":"This shop is unavailable"}`, code: errcode.Unknown},
		{name: "200 not JSON", status: 200, body: `<html></html>`, code: errcode.Unknown},
		{name: "200 without payload", status: 200, body: `{"data":{"inventorySetQuantities":null},` + costJSON + `}`,
			code: errcode.Unknown, hasCost: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			client := canned(t, c.status, c.header, c.body)
			res, err := client.SetQuantities(context.Background(), admin.SetRequest{Reason: "correction", IdempotencyKey: "k",
				Quantities: []admin.Quantity{{InventoryItemID: 1, LocationID: 1, Quantity: 1}, {InventoryItemID: 2, LocationID: 1, Quantity: 1}}})
			e := wantCode(t, err, c.code)
			if e.ShopifyCode != c.shopifyCode || admin.IsRetryable(err) != c.retryable || admin.RetryAfter(err) != c.retryAfter {
				t.Fatalf("ShopifyCode %q retryable %v RetryAfter %v; want %q %v %v: %v",
					e.ShopifyCode, admin.IsRetryable(err), admin.RetryAfter(err), c.shopifyCode, c.retryable, c.retryAfter, err)
			}
			if (e.Cost != nil) != c.hasCost || (c.hasCost && res.Cost != *e.Cost) {
				t.Fatalf("cost %+v, result cost %+v", e.Cost, res.Cost)
			}
			if c.status != 0 && e.HTTPStatus != c.status {
				t.Fatalf("HTTPStatus %d", e.HTTPStatus)
			}
		})
	}
}

func TestUserErrorsAllReported(t *testing.T) {
	t.Parallel()
	var errs []string
	for range 7 {
		errs = append(errs, `{"code":"INVALID_LOCATION","field":["input","quantities","0","locationId"],"message":"nope"}`)
	}
	client := canned(t, 200, nil, userErrors(strings.Join(errs, ",")))
	res, err := client.SetQuantities(context.Background(), admin.SetRequest{Reason: "correction", IdempotencyKey: "k",
		Quantities: []admin.Quantity{{InventoryItemID: 1, LocationID: 1, Quantity: 1}}})
	if len(res.UserErrors) != 7 || !strings.Contains(err.Error(), "INVALID_LOCATION at input.quantities.0.locationId: nope") ||
		!strings.Contains(err.Error(), "and 2 more") {
		t.Fatalf("%d userErrors, %v", len(res.UserErrors), err)
	}
}

func TestTransportFailures(t *testing.T) {
	t.Parallel()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so the server notices the client hanging up
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	req := admin.SetRequest{Reason: "correction", IdempotencyKey: "k", Quantities: []admin.Quantity{{InventoryItemID: 1, LocationID: 1, Quantity: 1}}}

	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		c, _ := admin.New(admin.Options{Shop: closed.URL, Token: "t"})
		_, err := c.SetQuantities(context.Background(), req)
		wantCode(t, err, errcode.Unavailable)
		if !admin.IsRetryable(err) {
			t.Fatal("not retryable")
		}
	})
	t.Run("client timeout", func(t *testing.T) {
		t.Parallel()
		c, _ := admin.New(admin.Options{Shop: slow.URL, Token: "t", HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}})
		_, err := c.SetQuantities(context.Background(), req)
		wantCode(t, err, errcode.Unavailable)
	})
	t.Run("context deadline", func(t *testing.T) {
		t.Parallel()
		c, _ := admin.New(admin.Options{Shop: slow.URL, Token: "t"})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, _, err := c.Available(ctx, 1, 1)
		wantCode(t, err, errcode.DeadlineExceeded)
		if admin.IsRetryable(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("context canceled", func(t *testing.T) {
		t.Parallel()
		c, _ := admin.New(admin.Options{Shop: slow.URL, Token: "t"})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.SetQuantities(ctx, req)
		wantCode(t, err, errcode.Canceled)
	})
}

func TestErrorHelpers(t *testing.T) {
	t.Parallel()
	if admin.ErrorCode(nil) != errcode.OK || admin.ErrorCode(errors.New("x")) != errcode.Unknown ||
		admin.IsRetryable(errors.New("x")) || admin.RetryAfter(errors.New("x")) != 0 {
		t.Fatal("helpers on non-*Error")
	}
	wrapped := errors.Join(errors.New("context"), &admin.Error{Code: errcode.ResourceExhausted, RetryAfter: time.Second})
	if !admin.IsRetryable(wrapped) || admin.RetryAfter(wrapped) != time.Second {
		t.Fatal("helpers do not see through wrapping")
	}
	e := &admin.Error{Code: errcode.FailedPrecondition, HTTPStatus: 200, ShopifyCode: "CHANGE_FROM_QUANTITY_STALE", Err: errors.New("stale")}
	if got := e.Error(); got != "shopify admin: FailedPrecondition (HTTP 200, CHANGE_FROM_QUANTITY_STALE): stale" {
		t.Fatal(got)
	}
	if errcode.Code(99).String() != "Code(99)" {
		t.Fatal(errcode.Code(99).String())
	}
}
