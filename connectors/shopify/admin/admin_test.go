package admin_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/shopify/admin"
	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
	"github.com/stockgate/stockgate/errcode"
)

var t0 = time.Date(2026, 8, 7, 12, 0, 0, 0, time.UTC)

// shop is a fake shop on a manual clock and a client for it.
type shop struct {
	fake   *shopifyfake.Server
	clock  *shopifyfake.ManualClock
	client *admin.Client
	url    string
}

func newShop(t testing.TB, opts shopifyfake.Options, copts admin.Options) *shop {
	t.Helper()
	clock := shopifyfake.NewManualClock(t0)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	f := shopifyfake.New(opts)
	ts := httptest.NewServer(f.Handler())
	t.Cleanup(ts.Close)
	copts.Shop = ts.URL
	if copts.Token == "" {
		copts.Token = shopifyfake.DefaultToken
	}
	c, err := admin.New(copts)
	if err != nil {
		t.Fatal(err)
	}
	return &shop{fake: f, clock: clock, client: c, url: ts.URL}
}

func ptr(n int64) *int64 { return &n }

func request(key string, qs ...admin.Quantity) admin.SetRequest {
	return admin.SetRequest{Reason: "correction", ReferenceDocumentURI: "gid://stockgate/SyncJob/1", IdempotencyKey: key, Quantities: qs}
}

// wantCode fails unless err is an *admin.Error with code.
func wantCode(t testing.TB, err error, code errcode.Code) *admin.Error {
	t.Helper()
	var e *admin.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *admin.Error with %v", err, err, code)
	}
	if e.Code != code || admin.ErrorCode(err) != code {
		t.Fatalf("code %v, want %v: %v", e.Code, code, err)
	}
	return e
}

func TestSetQuantitiesBatchesOf250(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopifyfake.Options{}, admin.Options{})
	ctx := context.Background()
	const n, loc = 1000, 655441491
	for i := int64(1); i <= n; i++ {
		s.fake.SetLevel(i, loc, 5)
	}
	for batch := 0; batch < n/admin.MaxQuantities; batch++ {
		qs := make([]admin.Quantity, admin.MaxQuantities)
		for i := range qs {
			item := int64(batch*admin.MaxQuantities + i + 1)
			qs[i] = admin.Quantity{InventoryItemID: item, LocationID: loc, Quantity: item, ChangeFrom: ptr(5)}
		}
		res, err := s.client.SetQuantities(ctx, request(fmt.Sprint("batch-", batch), qs...))
		if err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
		if res.Group == nil || len(res.Group.Changes) != 2*admin.MaxQuantities || len(res.UserErrors) != 0 {
			t.Fatalf("batch %d: %+v", batch, res)
		}
		if res.Group.Reason != "correction" || res.Group.ReferenceDocumentURI != "gid://stockgate/SyncJob/1" || !res.Group.CreatedAt.Equal(t0) {
			t.Fatalf("group %+v", res.Group)
		}
		if c := res.Cost; c.Requested != 13 || c.Actual != 13 || c.ThrottleStatus.RestoreRate != 100 ||
			c.ThrottleStatus.MaximumAvailable != 2000 || c.ThrottleStatus.CurrentlyAvailable != float64(2000-13*(batch+1)) {
			t.Fatalf("batch %d: cost %+v", batch, c)
		}
	}
	for _, item := range []int64{1, 250, 251, 1000} {
		if got, _ := s.fake.Level(item, loc); got != item {
			t.Errorf("level of %d = %d", item, got)
		}
	}
	if st := s.fake.Stats(); st.Applied != n || st.Requests != n/admin.MaxQuantities {
		t.Fatalf("stats %+v", st)
	}
}

func TestSetQuantitiesRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopifyfake.Options{}, admin.Options{})
	ctx := context.Background()
	qs := make([]admin.Quantity, admin.MaxQuantities+1)
	for i := range qs {
		qs[i] = admin.Quantity{InventoryItemID: int64(i + 1), LocationID: 1, Quantity: 1}
	}
	_, err := s.client.SetQuantities(ctx, request("k", qs...))
	wantCode(t, err, errcode.InvalidArgument)
	if !errors.Is(err, admin.ErrTooManyQuantities) || admin.IsRetryable(err) {
		t.Fatalf("251: %v", err)
	}

	_, err = s.client.SetQuantities(ctx, admin.SetRequest{Name: "committed", Quantities: []admin.Quantity{
		{InventoryItemID: 1, LocationID: 1, Quantity: 1},
		{InventoryItemID: 0, LocationID: 1, Quantity: 2_000_000_000},
		{InventoryItemID: 1, LocationID: 1, Quantity: 3, ChangeFrom: ptr(1 << 40)},
	}})
	wantCode(t, err, errcode.InvalidArgument)
	for _, want := range []string{"Name", "Reason: required", "IdempotencyKey: required", "ids must be positive",
		"outside ±1,000,000,000", "does not fit a GraphQL Int", "same item and location as [0]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if _, err := s.client.SetQuantities(ctx, request("k")); !strings.Contains(fmt.Sprint(err), "Quantities: none") {
		t.Errorf("empty: %v", err)
	}
	if st := s.fake.Stats(); st.Requests != 0 {
		t.Fatalf("sent %d requests", st.Requests)
	}
}

func TestStaleCompareThenRereadAndRetry(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopifyfake.Options{}, admin.Options{})
	ctx := context.Background()
	const item, loc = 808950810, 655441491
	s.fake.SetLevel(item, loc, 42)
	s.fake.SetLevel(2, loc, 7)

	// The connector last saw 40; a sale since made it 42. One stale entry
	// fails the whole call.
	res, err := s.client.SetQuantities(ctx, request("evt-1",
		admin.Quantity{InventoryItemID: 2, LocationID: loc, Quantity: 6, ChangeFrom: ptr(7)},
		admin.Quantity{InventoryItemID: item, LocationID: loc, Quantity: 39, ChangeFrom: ptr(40)}))
	e := wantCode(t, err, errcode.FailedPrecondition)
	if e.ShopifyCode != "CHANGE_FROM_QUANTITY_STALE" || e.HTTPStatus != http.StatusOK || e.Cost == nil || e.Cost.Actual != 11 {
		t.Fatalf("error %+v", e)
	}
	if admin.IsRetryable(err) || admin.RetryAfter(err) != 0 {
		t.Fatalf("a stale write is not retryable as is: %v", err)
	}
	if len(res.UserErrors) != 1 || strings.Join(res.UserErrors[0].Field, ".") != "input.quantities.1.changeFromQuantity" ||
		res.Group != nil || res.Cost.Requested != 13 {
		t.Fatalf("result %+v", res)
	}
	if got, _ := s.fake.Level(2, loc); got != 7 {
		t.Fatalf("the good entry was applied: %d", got)
	}

	now, cost, err := s.client.Available(ctx, item, loc)
	if err != nil || now != 42 || cost.Requested != 3 || cost.Actual != 3 {
		t.Fatalf("Available = %d, %+v, %v", now, cost, err)
	}
	// Recompute (the connector meant "one less") and send a new request
	// with a new key.
	res, err = s.client.SetQuantities(ctx, request("evt-1/retry-1",
		admin.Quantity{InventoryItemID: 2, LocationID: loc, Quantity: 6, ChangeFrom: ptr(7)},
		admin.Quantity{InventoryItemID: item, LocationID: loc, Quantity: now - 1, ChangeFrom: ptr(now)}))
	if err != nil || res.Group == nil {
		t.Fatalf("retry: %+v, %v", res, err)
	}
	if got, _ := s.fake.Level(item, loc); got != 41 {
		t.Fatalf("level %d", got)
	}
	// Re-sending the first key with the new variables is a bug.
	_, err = s.client.SetQuantities(ctx, request("evt-1",
		admin.Quantity{InventoryItemID: item, LocationID: loc, Quantity: 40, ChangeFrom: ptr(41)}))
	if e := wantCode(t, err, errcode.InvalidArgument); e.ShopifyCode != "IDEMPOTENCY_KEY_PARAMETER_MISMATCH" {
		t.Fatalf("mismatch: %+v", e)
	}
	if got, _ := s.fake.Level(item, loc); got != 41 {
		t.Fatalf("mismatch applied: %d", got)
	}
}

func TestIdempotentReplay(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopifyfake.Options{}, admin.Options{})
	ctx := context.Background()
	s.fake.SetLevel(1, 1, 10)
	req := request("evt-9", admin.Quantity{InventoryItemID: 1, LocationID: 1, Quantity: 4, ChangeFrom: ptr(10)})
	first, err := s.client.SetQuantities(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Minute) // say the first answer was lost in a timeout
	again, err := s.client.SetQuantities(ctx, req)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if again.Group.ID != first.Group.ID || !again.Group.CreatedAt.Equal(first.Group.CreatedAt) ||
		fmt.Sprint(again.Group.Changes) != fmt.Sprint(first.Group.Changes) {
		t.Fatalf("replay %+v, first %+v", again.Group, first.Group)
	}
	if st := s.fake.Stats(); st.Applied != 1 || st.Replays != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestThrottledThenRetryAfter(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name       string
		status     int
		retryAfter time.Duration
	}{
		{"THROTTLED with HTTP 200", 0, 20 * time.Millisecond}, // (13 − 11) / 100 s
		{"HTTP 429 with Retry-After", http.StatusTooManyRequests, time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newShop(t, shopifyfake.Options{Plan: shopifyfake.Standard, ThrottleHTTPStatus: c.status}, admin.Options{})
			ctx := context.Background()
			var err error
			var res admin.SetResult
			calls := 0
			for ; calls < 1000 && err == nil; calls++ {
				res, err = s.client.SetQuantities(ctx, request(fmt.Sprint("burst-", calls),
					admin.Quantity{InventoryItemID: 1, LocationID: 1, Quantity: int64(calls)}))
			}
			e := wantCode(t, err, errcode.ResourceExhausted)
			if calls != 2000/13+1 {
				t.Fatalf("throttled at call %d", calls)
			}
			if !admin.IsRetryable(err) || admin.RetryAfter(err) != c.retryAfter || e.RetryAfter != c.retryAfter {
				t.Fatalf("retryable %v, RetryAfter %v, want %v", admin.IsRetryable(err), admin.RetryAfter(err), c.retryAfter)
			}
			if e.ShopifyCode != "THROTTLED" || e.Cost == nil || e.Cost.Requested != 13 || e.Cost.Actual != 0 ||
				e.Cost.ThrottleStatus.CurrentlyAvailable != 11 || res.Cost != *e.Cost {
				t.Fatalf("error %+v cost %+v result %+v", e, e.Cost, res)
			}
			s.clock.Advance(admin.RetryAfter(err))
			if _, err := s.client.SetQuantities(ctx, request("after-wait",
				admin.Quantity{InventoryItemID: 1, LocationID: 1, Quantity: 1})); err != nil {
				t.Fatalf("after honouring RetryAfter: %v", err)
			}
		})
	}
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopifyfake.Options{}, admin.Options{})
	s.fake.SetDown(http.StatusServiceUnavailable, t0.Add(time.Minute))
	_, err := s.client.SetQuantities(context.Background(), request("k", admin.Quantity{InventoryItemID: 1, LocationID: 1, Quantity: 1}))
	e := wantCode(t, err, errcode.Unavailable)
	if e.HTTPStatus != 503 || !admin.IsRetryable(err) || admin.RetryAfter(err) != time.Minute || e.Cost != nil {
		t.Fatalf("%+v", e)
	}
	_, _, err = s.client.Available(context.Background(), 1, 1)
	wantCode(t, err, errcode.Unavailable)
	s.clock.Advance(time.Minute)
	if _, _, err := s.client.Available(context.Background(), 1, 1); err != nil {
		t.Fatal(err)
	}
}

func TestWrongToken(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopifyfake.Options{Token: "shpat_right"}, admin.Options{Token: "shpat_wrong"})
	_, err := s.client.SetQuantities(context.Background(), request("k", admin.Quantity{InventoryItemID: 1, LocationID: 1, Quantity: 1}))
	e := wantCode(t, err, errcode.Unauthenticated)
	if e.HTTPStatus != http.StatusUnauthorized || admin.IsRetryable(err) ||
		!strings.Contains(err.Error(), "Invalid API key or access token") || strings.Contains(err.Error(), "shpat_wrong") {
		t.Fatalf("%v", err)
	}
}

func TestAvailableNotFound(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopifyfake.Options{RequireStocked: true}, admin.Options{})
	s.fake.SetLevel(1, 1, 3)
	ctx := context.Background()
	if n, _, err := s.client.Available(ctx, 1, 1); err != nil || n != 3 {
		t.Fatalf("%d %v", n, err)
	}
	for _, c := range [][2]int64{{1, 2}, {2, 1}} {
		_, cost, err := s.client.Available(ctx, c[0], c[1])
		wantCode(t, err, errcode.NotFound)
		if cost.Requested != 3 {
			t.Fatalf("cost %+v", cost)
		}
	}
	_, _, err := s.client.Available(ctx, 0, 1)
	wantCode(t, err, errcode.InvalidArgument)
}

func TestAPIVersion202601WithoutKey(t *testing.T) {
	t.Parallel()
	s := newShop(t, shopifyfake.Options{}, admin.Options{APIVersion: "2026-01"})
	res, err := s.client.SetQuantities(context.Background(), admin.SetRequest{Reason: "correction",
		Quantities: []admin.Quantity{{InventoryItemID: 1, LocationID: 1, Quantity: 2, ChangeFrom: ptr(0)}}})
	if err != nil || res.Group == nil {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		shop, version string
		ok            bool
	}{
		{"acme.myshopify.com", "", true},
		{"acme", "2026-04", true},
		{"http://127.0.0.1:8080", "unstable", true},
		{"https://proxy.internal/shopify/", "2026-10", true},
		{"", "", false},
		{"https://user:secret@acme.myshopify.com", "", false},
		{"https://acme.myshopify.com?x=1", "", false},
		{"ftp://acme.myshopify.com", "", false},
		{"acme shop", "", false},
		{"acme", "2025-10", false},
		{"acme", "2026-05", false},
	} {
		_, err := admin.New(admin.Options{Shop: c.shop, Token: "t", APIVersion: c.version})
		if (err == nil) != c.ok {
			t.Errorf("New(%q, %q) = %v", c.shop, c.version, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error leaks the URL's password: %v", err)
		}
	}
	_, err := admin.New(admin.Options{})
	wantCode(t, err, errcode.InvalidArgument)
	if !strings.Contains(err.Error(), "Shop: required") || !strings.Contains(err.Error(), "Token: required") {
		t.Fatalf("want every problem: %v", err)
	}
	c, err := admin.New(admin.Options{Shop: "acme", Token: "t"})
	if err != nil || c.APIVersion() != admin.DefaultAPIVersion {
		t.Fatal(c, err)
	}
}
