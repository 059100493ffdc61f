package reconcile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/stockgate/stockgate/connectors/amazon/fbaapi"
	"github.com/stockgate/stockgate/connectors/amazon/fbaapi/fbafake"
	"github.com/stockgate/stockgate/connectors/shopify/admin"
	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
	"github.com/stockgate/stockgate/connectors/square/squareapi"
	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/ratelimit"
	"github.com/stockgate/stockgate/reconcile"
	"github.com/stockgate/stockgate/reconcile/reconciletest"
)

// sleeper is a Backoff.Sleep that records the waits and never sleeps.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
	then  func(time.Duration)
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	if s.then != nil {
		s.then(d)
	}
	return ctx.Err()
}

func (s *sleeper) backoff() *reconcile.Backoff {
	return &reconcile.Backoff{Sleep: s.sleep}
}

// ---- Square

type squareMarket struct {
	fake   *squarefake.Server
	client *squareapi.Client
	items  map[string]string
	locs   map[string]string
}

// newSquare starts a fake Square whose catalog object "OBJ-<sku>" and
// location "LOC-<loc>" map to sku and loc, holding levels.
func newSquare(t *testing.T, levels []reconciletest.Level, at time.Time) *squareMarket {
	t.Helper()
	fake := squarefake.New(&squarefake.Options{PageSize: 2})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c, err := squareapi.New(squarefake.DefaultToken, &squareapi.Options{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	m := &squareMarket{fake: fake, client: c, items: map[string]string{"OBJ-none": "none"}, locs: map[string]string{"LOC-none": "none"}}
	for _, l := range levels {
		m.items["OBJ-"+l.SKU], m.locs["LOC-"+l.Location] = l.SKU, l.Location
		fake.SetCount(squarefake.Count{CatalogObjectID: "OBJ-" + l.SKU, LocationID: "LOC-" + l.Location,
			Quantity: strconv.FormatInt(l.Quantity, 10), CalculatedAt: at})
	}
	return m
}

type squareHarness struct{}

func (squareHarness) State() string { return event.StateOnHand }
func (squareHarness) MakeSource(_ context.Context, t *testing.T, levels []reconciletest.Level) (reconcile.Source, error) {
	m := newSquare(t, levels, t0)
	return reconcile.NewSquareSource(m.client, m.items, m.locs, &reconcile.SquareOptions{PageSize: 3})
}

// ---- Amazon FBA

type fbaMarket struct {
	fake   *fbafake.Server
	client *fbaapi.Client
	mps    map[string]string
}

// newFBA starts a fake FBA Inventory API in which location loc is the
// marketplace "MP-<loc>" and SellerSKUs are SKUs.
func newFBA(t *testing.T, levels []reconciletest.Level, at time.Time) *fbaMarket {
	t.Helper()
	fake := fbafake.New(&fbafake.Options{PageSize: 2, Now: func() time.Time { return at.Add(time.Hour) }})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c, err := fbaapi.New(srv.URL, func(context.Context) (string, error) { return fbafake.DefaultToken, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := &fbaMarket{fake: fake, client: c, mps: map[string]string{"MP-none": "none"}}
	for _, l := range levels {
		m.mps["MP-"+l.Location] = l.Location
		fake.SetSummary(fbafake.Summary{MarketplaceID: "MP-" + l.Location, SellerSKU: l.SKU, Fulfillable: l.Quantity,
			InboundShipped: 7, Unfulfillable: 1, LastUpdated: at})
	}
	return m
}

func fastLimiter() *rate.Limiter { return rate.NewLimiter(rate.Inf, 1) }

type fbaHarness struct{}

func (fbaHarness) State() string { return event.StateOnHand }
func (fbaHarness) MakeSource(_ context.Context, t *testing.T, levels []reconciletest.Level) (reconcile.Source, error) {
	m := newFBA(t, levels, t0)
	return reconcile.NewAmazonFBASource(m.client, m.mps, &reconcile.AmazonFBAOptions{Limiter: fastLimiter()})
}

// ---- Shopify

type shopifyMarket struct {
	fake   *shopifyfake.Server
	client *admin.Client
	items  map[string]string
	locs   map[string]string
	itemOf map[string]int64
	locOf  map[string]int64
}

// newShopify starts a fake shop in which SKU i of levels is inventory
// item 1000+i and location j is Shopify location 2000+j; only the given
// levels are stocked.
func newShopify(t *testing.T, levels []reconciletest.Level) *shopifyMarket {
	t.Helper()
	fake := shopifyfake.New(shopifyfake.Options{RequireStocked: true})
	srv := httptest.NewServer(fake.Handler())
	t.Cleanup(srv.Close)
	c, err := admin.New(admin.Options{Shop: srv.URL, Token: shopifyfake.DefaultToken})
	if err != nil {
		t.Fatal(err)
	}
	m := &shopifyMarket{fake: fake, client: c, items: map[string]string{"999": "none"}, locs: map[string]string{"1999": "none"},
		itemOf: map[string]int64{}, locOf: map[string]int64{}}
	for _, l := range levels {
		if _, ok := m.itemOf[l.SKU]; !ok {
			m.itemOf[l.SKU] = int64(1000 + len(m.itemOf))
			m.items[strconv.FormatInt(m.itemOf[l.SKU], 10)] = l.SKU
		}
		if _, ok := m.locOf[l.Location]; !ok {
			m.locOf[l.Location] = int64(2000 + len(m.locOf))
			m.locs[strconv.FormatInt(m.locOf[l.Location], 10)] = l.Location
		}
		fake.SetLevel(m.itemOf[l.SKU], m.locOf[l.Location], l.Quantity)
	}
	return m
}

type shopifyHarness struct{}

func (shopifyHarness) State() string { return event.StateAvailable }
func (shopifyHarness) MakeSource(_ context.Context, t *testing.T, levels []reconciletest.Level) (reconcile.Source, error) {
	m := newShopify(t, levels)
	return reconcile.NewShopifySource(m.client, m.items, m.locs, nil)
}

// ---- memory

type memHarness struct{}

func (memHarness) State() string { return event.StateOnHand }
func (memHarness) MakeSource(_ context.Context, _ *testing.T, levels []reconciletest.Level) (reconcile.Source, error) {
	src := &reconciletest.MemSource{}
	for _, l := range levels {
		src.Put(reconcile.Observation{SKU: l.SKU, Location: l.Location, Quantity: l.Quantity, State: event.StateOnHand,
			AsOf: t0, SourceID: l.SKU + "@" + l.Location})
	}
	return src, nil
}

func TestConformance(t *testing.T) {
	t.Parallel()
	for name, h := range map[string]reconciletest.Harness{
		"square": squareHarness{}, "amazonfba": fbaHarness{}, "shopify": shopifyHarness{}, "mem": memHarness{},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reconciletest.RunSourceTests(t, h)
		})
	}
}

// ---- source specifics

func TestSquareSourceSkipsAndFilters(t *testing.T) {
	t.Parallel()
	m := newSquare(t, []reconciletest.Level{{SKU: "SKU-1", Location: "store", Quantity: 4}}, t0)
	m.fake.SetCount(squarefake.Count{CatalogObjectID: "UNMAPPED", LocationID: "LOC-store", Quantity: "1", CalculatedAt: t0})
	m.fake.SetCount(squarefake.Count{CatalogObjectID: "OBJ-SKU-1", LocationID: "LOC-elsewhere", Quantity: "1", CalculatedAt: t0})
	m.fake.SetCount(squarefake.Count{CatalogObjectID: "OBJ-SKU-1", LocationID: "LOC-store", State: "WASTE", Quantity: "1", CalculatedAt: t0})
	m.items["OBJ-KG"] = "COFFEE-KG"
	m.fake.SetCount(squarefake.Count{CatalogObjectID: "OBJ-KG", LocationID: "LOC-store", Quantity: "2.5", CalculatedAt: t0})
	src, err := reconcile.NewSquareSource(m.client, m.items, m.locs, nil)
	if err != nil {
		t.Fatal(err)
	}
	obs, err := src.Read(context.Background(), t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	skips := map[string]string{}
	var usable []reconcile.Observation
	for _, o := range obs {
		if o.Skip != "" {
			skips[o.SourceID] = o.Skip
		} else {
			usable = append(usable, o)
		}
	}
	if len(usable) != 1 || usable[0].SKU != "SKU-1" || usable[0].Quantity != 4 || !usable[0].AsOf.Equal(t0) ||
		usable[0].SourceID != "OBJ-SKU-1@LOC-store/IN_STOCK" {
		t.Errorf("usable = %+v", usable)
	}
	if len(skips) != 2 || !strings.Contains(skips["UNMAPPED@LOC-store/IN_STOCK"], "not in the items map") ||
		!strings.Contains(skips["OBJ-KG@LOC-store/IN_STOCK"], "not a whole number") {
		t.Errorf("skips = %v (unmapped locations and other states are filtered by the request)", skips)
	}
	var body map[string]any
	_ = json.Unmarshal(m.fake.Requests()[0].Body, &body)
	if body["updated_after"] != "2026-08-01T11:00:00.000Z" || fmt.Sprint(body["states"]) != "[IN_STOCK]" ||
		fmt.Sprint(body["location_ids"]) != "[LOC-none LOC-store]" || body["limit"] != 1000.0 {
		t.Errorf("request %v", body)
	}
}

func TestSquareSourceRetries(t *testing.T) {
	t.Parallel()
	m := newSquare(t, []reconciletest.Level{{SKU: "A", Location: "s", Quantity: 1}, {SKU: "B", Location: "s", Quantity: 2},
		{SKU: "C", Location: "s", Quantity: 3}}, t0)
	sl := &sleeper{}
	src, _ := reconcile.NewSquareSource(m.client, m.items, m.locs, &reconcile.SquareOptions{PageSize: 2, Backoff: sl.backoff()})
	// Pages are retried one by one: two 429s with a Retry-After.
	m.fake.Fail(2, http.StatusTooManyRequests, 3*time.Second)
	obs, err := src.Read(context.Background(), time.Time{})
	if err != nil || len(obs) != 3 {
		t.Fatalf("read through two 429s: %d, %v", len(obs), err)
	}
	if len(sl.waits) != 2 || sl.waits[0] != 3*time.Second || sl.waits[1] != 3*time.Second {
		t.Errorf("waits %v, want the Retry-After twice", sl.waits)
	}
	m.fake.Fail(5, http.StatusServiceUnavailable, 0)
	if _, err := src.Read(context.Background(), time.Time{}); squareapi.ErrorCode(err) != errcode.Unavailable {
		t.Errorf("five 503s: %v, want the last error after 5 attempts", err)
	}
	if w := sl.waits[2:]; len(w) != 4 || w[0] < 250*time.Millisecond || w[0] > 500*time.Millisecond || w[3] < 2*time.Second || w[3] > 4*time.Second {
		t.Errorf("backoff waits %v, want 0.25-0.5s doubling to 2-4s", w)
	}
	before := m.fake.Stats().Requests
	m.fake.Fail(1, http.StatusUnauthorized, 0)
	if _, err := src.Read(context.Background(), time.Time{}); squareapi.ErrorCode(err) != errcode.Unauthenticated || m.fake.Stats().Requests != before+1 {
		t.Errorf("401: %v after %d requests, want no retry", err, m.fake.Stats().Requests-before)
	}
}

func TestAmazonFBASource(t *testing.T) {
	t.Parallel()
	m := newFBA(t, []reconciletest.Level{{SKU: "MUG-BLUE", Location: "fba-us", Quantity: 66}}, t0)
	sl := &sleeper{}
	src, err := reconcile.NewAmazonFBASource(m.client, m.mps, &reconcile.AmazonFBAOptions{
		SKUs: map[string]string{"MUG-BLUE": "MUG-001"}, Limiter: fastLimiter(), Backoff: sl.backoff(),
		Now: func() time.Time { return t0.Add(time.Hour) },
	})
	if err != nil {
		t.Fatal(err)
	}
	m.fake.Throttle(1)
	obs, err := src.Read(context.Background(), t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != 1 || obs[0].SKU != "MUG-001" || obs[0].Location != "fba-us" || obs[0].Quantity != 66 ||
		obs[0].State != event.StateOnHand || !obs[0].AsOf.Equal(t0) || obs[0].SourceID != "MP-fba-us/MUG-BLUE" {
		t.Errorf("observations %+v: want fulfillable 66 (not total 74) of MUG-001 at fba-us", obs)
	}
	if len(sl.waits) != 1 {
		t.Errorf("waits %v, want one retry of the throttled page", sl.waits)
	}
	for _, r := range m.fake.Requests() { // the throttled one and its retry
		if got := r.URL.Query().Get("startDateTime"); got != "2026-08-01T11:00:00Z" {
			t.Errorf("startDateTime %q, want since", got)
		}
	}
	// Since more than 18 months back: a full read, no startDateTime.
	n := len(m.fake.Requests())
	if _, err := src.Read(context.Background(), t0.AddDate(-2, 0, 0)); err != nil {
		t.Fatal(err)
	}
	for _, r := range m.fake.Requests()[n:] {
		if r.URL.Query().Has("startDateTime") {
			t.Errorf("a since 2 years back sent startDateTime %s", r.URL.Query().Get("startDateTime"))
		}
	}
}

type summaries []fbaapi.Summary

func (s summaries) GetInventorySummaries(context.Context, fbaapi.Request) (fbaapi.Response, error) {
	return fbaapi.Response{Summaries: s}, nil
}

func TestAmazonFBASourceOddSummaries(t *testing.T) {
	t.Parallel()
	now := t0.Add(time.Hour)
	src, _ := reconcile.NewAmazonFBASource(summaries{
		{SellerSKU: "EMTEC 1 GB", InventoryDetails: &fbaapi.InventoryDetails{}}, // lastUpdatedTime "" in the sandbox
		{FNSKU: "X001", InventoryDetails: &fbaapi.InventoryDetails{}},
		{SellerSKU: "NO-DETAILS", LastUpdatedTime: t0},
	}, map[string]string{"ATVPDKIKX0DER": "fba-us"}, &reconcile.AmazonFBAOptions{Limiter: fastLimiter(), Now: func() time.Time { return now }})
	obs, err := src.Read(context.Background(), time.Time{})
	if err != nil || len(obs) != 3 {
		t.Fatalf("%+v, %v", obs, err)
	}
	if obs[0].Skip != "" || !obs[0].AsOf.Equal(now) || obs[1].Skip == "" || obs[2].Skip == "" {
		t.Errorf("observations %+v", obs)
	}
}

func TestShopifySource(t *testing.T) {
	t.Parallel()
	m := newShopify(t, []reconciletest.Level{{SKU: "SKU-1", Location: "web", Quantity: 9}})
	src, err := reconcile.NewShopifySource(m.client, map[string]string{"1000": "SKU-1", "1001": "SKU-2"}, map[string]string{"2000": "web"},
		&reconcile.ShopifyOptions{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	obs, err := src.Read(context.Background(), time.Time{})
	if err != nil || len(obs) != 2 {
		t.Fatalf("%+v, %v", obs, err)
	}
	if o := obs[0]; o.SKU != "SKU-1" || o.Location != "web" || o.Quantity != 9 || o.State != event.StateAvailable ||
		!o.AsOf.Equal(t0) || o.SourceID != "InventoryItem/1000@Location/2000" || o.Skip != "" {
		t.Errorf("level = %+v", o)
	}
	if !strings.Contains(obs[1].Skip, "not stocked") {
		t.Errorf("unstocked level = %+v", obs[1])
	}

	// A 404 from the endpoint (a wrong shop) fails the read.
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c, _ := admin.New(admin.Options{Shop: srv.URL, Token: "t"})
	src, _ = reconcile.NewShopifySource(c, map[string]string{"1": "A"}, map[string]string{"2": "web"}, nil)
	if _, err := src.Read(context.Background(), time.Time{}); admin.ErrorCode(err) != errcode.NotFound {
		t.Errorf("HTTP 404: %v, want a failed read", err)
	}
	if _, err := reconcile.NewShopifySource(c, map[string]string{"gid://x": "A"}, map[string]string{"-2": "web"}, nil); err == nil ||
		!strings.Contains(err.Error(), `items["gid://x"]`) || !strings.Contains(err.Error(), `locations["-2"]`) {
		t.Errorf("bad ids: %v", err)
	}
}

func TestShopifySourceRetriesOutage(t *testing.T) {
	t.Parallel()
	clk := shopifyfake.NewManualClock(t0)
	fake := shopifyfake.New(shopifyfake.Options{Now: clk.Now})
	srv := httptest.NewServer(fake.Handler())
	defer srv.Close()
	fake.SetLevel(1, 2, 5)
	fake.SetDown(http.StatusServiceUnavailable, t0.Add(2*time.Second))
	c, _ := admin.New(admin.Options{Shop: srv.URL, Token: shopifyfake.DefaultToken})
	sl := &sleeper{then: clk.Advance}
	src, _ := reconcile.NewShopifySource(c, map[string]string{"1": "A"}, map[string]string{"2": "web"}, &reconcile.ShopifyOptions{Backoff: sl.backoff()})
	obs, err := src.Read(context.Background(), time.Time{})
	if err != nil || len(obs) != 1 || obs[0].Quantity != 5 {
		t.Fatalf("%+v, %v", obs, err)
	}
	if len(sl.waits) != 1 || sl.waits[0] != 2*time.Second {
		t.Errorf("waits %v, want the 503's Retry-After of 2s", sl.waits)
	}
}

// TestShopifySourceSpendsTheSharedBudget: with the shop's limiter, every
// read reserves its cost and settles on what Shopify reports, so the
// budget the writes share knows what the reads took, and a tiny shop is
// read without a single THROTTLED.
func TestShopifySourceSpendsTheSharedBudget(t *testing.T) {
	t.Parallel()
	fake := shopifyfake.New(shopifyfake.Options{RestoreRate: 50, MaximumAvailable: 10})
	srv := httptest.NewServer(fake.Handler())
	defer srv.Close()
	c, err := admin.New(admin.Options{Shop: srv.URL, Token: shopifyfake.DefaultToken})
	if err != nil {
		t.Fatal(err)
	}
	items := map[string]string{}
	for i := range 20 {
		items[strconv.Itoa(1000+i)] = "SKU-" + strconv.Itoa(i)
	}
	lim, err := ratelimit.NewLocal(1000, 1000) // far more than the shop allows, until it says so
	if err != nil {
		t.Fatal(err)
	}
	src, err := reconcile.NewShopifySource(c, items, map[string]string{"2000": "web"}, &reconcile.ShopifyOptions{Limiter: lim})
	if err != nil {
		t.Fatal(err)
	}
	obs, err := src.Read(context.Background(), time.Time{})
	if err != nil || len(obs) != 20 {
		t.Fatalf("%d observations, %v", len(obs), err)
	}
	if n := fake.Stats().Throttled; n > 1 {
		t.Errorf("%d THROTTLED answers: the reads did not follow the shop's budget", n)
	}
	b, err := lim.State(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if b.Limit != 50 || b.Burst != 10 || b.Tokens > 10 {
		t.Errorf("limiter after the reads: %+v; want the shop's 50/s, bucket 10", b)
	}
}
