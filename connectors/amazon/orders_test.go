package amazon

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// TestOrdersClient runs OrdersClient against the Orders API fake, which
// answers in the documented getOrderItems shapes (ordersV0.json
// @ 037fc474: 200 payload with NextToken paging, 400/404/429 errors bodies).
func TestOrdersClient(t *testing.T) {
	t.Parallel()
	f := newOrdersFake(t)
	c := f.client(t)
	ctx := context.Background()

	items, err := c.OrderItems(ctx, "114-3941689-8772235")
	if err != nil {
		t.Fatal(err)
	}
	want := []OrderItem{
		{OrderItemID: "27466182938750", SellerSKU: "NP-SOCK-MOSS-M", QuantityOrdered: 3},
		{OrderItemID: "27466182938751", SellerSKU: "BNE-RDG-CHAR", QuantityOrdered: 1},
	}
	if !reflect.DeepEqual(items, want) {
		t.Errorf("items %+v, want %+v", items, want)
	}
	f.mu.Lock()
	reqs := append([]string(nil), f.requests...)
	f.mu.Unlock()
	if len(reqs) != 2 || reqs[0] != "/orders/v0/orders/114-3941689-8772235/orderItems" ||
		reqs[1] != "/orders/v0/orders/114-3941689-8772235/orderItems?NextToken=MRgZW55IGNhcm5hbCBwbGVhc3VyZS4%3D" {
		t.Errorf("requests %q", reqs)
	}

	for _, tt := range []struct {
		order     string
		status    int
		code      string
		notFound  bool
		temporary bool
	}{
		{order: "404-0000000-0000000", status: 404, code: "NotFound", notFound: true},
		{order: "429-0000000-0000000", status: 429, code: "QuotaExceeded", temporary: true},
		{order: "400-0000000-0000000", status: 400, code: "InvalidInput"},
	} {
		_, err := c.OrderItems(ctx, tt.order)
		var e *APIError
		if !errors.As(err, &e) || e.StatusCode != tt.status || e.Code != tt.code || e.RequestID != "9e4c3b2a-test" {
			t.Errorf("%s: err = %#v", tt.order, err)
			continue
		}
		if errors.Is(err, ErrOrderNotFound) != tt.notFound || e.Temporary() != tt.temporary {
			t.Errorf("%s: not found %v, temporary %v", tt.order, errors.Is(err, ErrOrderNotFound), e.Temporary())
		}
	}

	bad, err := NewOrdersClient(f.srv.URL, func(context.Context) (string, error) { return "Atza|expired", nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.OrderItems(ctx, "114-3941689-8772235"); !strings.Contains(err.Error(), "HTTP 403 Unauthorized") {
		t.Errorf("bad token: %v", err)
	}
	failing, _ := NewOrdersClient(f.srv.URL, func(context.Context) (string, error) { return "", errors.New("LWA down") }, nil)
	if _, err := failing.OrderItems(ctx, "114-3941689-8772235"); err == nil || !strings.Contains(err.Error(), "LWA down") {
		t.Errorf("token error: %v", err)
	}
}

func TestOrdersClientPaging(t *testing.T) {
	t.Parallel()
	// A server that always returns a NextToken must not loop forever.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"payload":{"AmazonOrderId":"111-1111111-1111111","NextToken":"again","OrderItems":[]}}`))
	}))
	defer srv.Close()
	c, err := NewOrdersClient(srv.URL+"/base/", func(context.Context) (string, error) { return "t", nil }, &OrdersClientOptions{MaxPages: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.OrderItems(context.Background(), "111-1111111-1111111"); err == nil || !strings.Contains(err.Error(), "more than 3 pages") {
		t.Errorf("endless paging: %v", err)
	}
	// The answer must be for the order asked about.
	other, _ := NewOrdersClient(srv.URL, func(context.Context) (string, error) { return "t", nil }, nil)
	if _, err := other.OrderItems(context.Background(), "222-2222222-2222222"); err == nil || !strings.Contains(err.Error(), "response is for order 111-1111111-1111111") {
		t.Errorf("wrong order: %v", err)
	}
}

func TestNewOrdersClientValidates(t *testing.T) {
	t.Parallel()
	_, err := NewOrdersClient("ftp://x", nil, &OrdersClientOptions{UserAgent: strings.Repeat("u", 501), MaxPages: -1})
	for _, want := range []string{"is not an http(s) URL", "token func is nil", "UserAgent is longer than 500", "MaxPages is negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not report %q: %v", want, err)
		}
	}
}
