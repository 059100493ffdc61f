package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/stockgate/stockgate/connectors/shopify/admin"
	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/ratelimit"
)

// AvailableReader reads one Shopify inventory level; *admin.Client is
// one.
type AvailableReader interface {
	Available(ctx context.Context, item, location int64) (int64, admin.Cost, error)
}

var _ AvailableReader = (*admin.Client)(nil)

// ShopifyOptions configure a ShopifySource; nil means the defaults.
type ShopifyOptions struct {
	// Backoff retries throttled and failed reads (THROTTLED waits what
	// extensions.cost says, shopify.md §5.1). Zero: see Backoff.
	Backoff *Backoff
	// Now stamps each observation. Zero: time.Now.
	Now func() time.Time
	// Limiter is the shop's rate budget, shared with whatever else calls
	// the shop (the dispatcher's writes): each read reserves its cost
	// first and reports the answer's extensions.cost, so a reconciliation
	// never starves the writes or trips Shopify's throttle. Nil: reads
	// are paced by the Backoff only.
	Limiter ratelimit.Limiter
}

// ShopifySource reads the "available" quantity of every configured
// inventory item at every configured location through the Admin API,
// one level per request. Shopify is a sales channel: what it shows is a
// view of stockgate's stock, so each level is an available observation
// as of the read, which the ledger compares with its own Available
// (raising a drift alert) and never applies. Shopify has no "changed
// since" filter here, so every Read reads every level and ignores since.
//
// A level that does not exist (the item is not stocked at the location)
// is returned with Skip set; any other error that survives the Backoff
// fails the read.
type ShopifySource struct {
	c       AvailableReader
	levels  []shopifyLevel
	backoff Backoff
	now     func() time.Time
	lim     ratelimit.Limiter
	cost    float64 // the requested cost of the last read, reserved for the next
}

// initialReadCost is reserved for a read before Shopify has priced one.
const initialReadCost = 10

type shopifyLevel struct {
	item, location int64
	sku, loc       string
}

var _ Source = (*ShopifySource)(nil)

// NewShopifySource returns a source reading through c (an
// *admin.Client) every item of items at every location of locations:
// Shopify inventory item id → SKU and Shopify location id → stockgate
// location, decimal ids as the Shopify connector's Config.Items and
// Config.Locations hold them.
func NewShopifySource(c AvailableReader, items, locations map[string]string, opts *ShopifyOptions) (*ShopifySource, error) {
	var o ShopifyOptions
	if opts != nil {
		o = *opts
	}
	var problems []error
	if c == nil {
		problems = append(problems, errors.New("client: nil"))
	}
	problems = append(problems, checkMap("items", items)...)
	problems = append(problems, checkMap("locations", locations)...)
	parse := func(name string, m map[string]string) map[int64]string {
		out := make(map[int64]string, len(m))
		for k, v := range m {
			id, err := strconv.ParseInt(k, 10, 64)
			if err != nil || id <= 0 {
				problems = append(problems, fmt.Errorf("%s[%q]: not a positive decimal Shopify id", name, k))
				continue
			}
			out[id] = v
		}
		return out
	}
	its, locs := parse("items", items), parse("locations", locations)
	if len(problems) > 0 {
		slices.SortFunc(problems, func(a, b error) int { return cmp.Compare(a.Error(), b.Error()) })
		return nil, fmt.Errorf("reconcile.NewShopifySource: %w", errors.Join(problems...))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &ShopifySource{c: c, backoff: o.Backoff.withDefaults(), now: o.Now, lim: o.Limiter, cost: initialReadCost}
	for _, item := range slices.Sorted(maps.Keys(its)) {
		for _, loc := range slices.Sorted(maps.Keys(locs)) {
			s.levels = append(s.levels, shopifyLevel{item: item, location: loc, sku: its[item], loc: locs[loc]})
		}
	}
	return s, nil
}

// Read implements Source; since is ignored.
func (s *ShopifySource) Read(ctx context.Context, _ time.Time) ([]Observation, error) {
	obs := make([]Observation, 0, len(s.levels))
	for _, lv := range s.levels {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var qty int64
		err := s.backoff.do(ctx, admin.IsRetryable, admin.RetryAfter, func() (err error) {
			qty, err = s.read(ctx, lv.item, lv.location)
			return err
		})
		o := Observation{
			SKU: lv.sku, Location: lv.loc, Quantity: qty, State: event.StateAvailable, AsOf: s.now(),
			SourceID: "InventoryItem/" + strconv.FormatInt(lv.item, 10) + "@Location/" + strconv.FormatInt(lv.location, 10),
		}
		var ae *admin.Error
		switch {
		case errors.As(err, &ae) && ae.Code == errcode.NotFound && ae.HTTPStatus == http.StatusOK:
			// inventoryItem or its inventoryLevel is null; an HTTP 404 (a
			// wrong shop or API version) fails the read below.
			o.Skip = "no inventory level: the item is not stocked at the location"
		case err != nil:
			return nil, fmt.Errorf("inventory item %d at location %d: %w", lv.item, lv.location, err)
		}
		obs = append(obs, o)
	}
	return obs, nil
}

// read reads one level, paced by the shop's budget when there is one.
func (s *ShopifySource) read(ctx context.Context, item, location int64) (int64, error) {
	if s.lim == nil {
		qty, _, err := s.c.Available(ctx, item, location)
		return qty, err
	}
	cost := s.cost
	// Reads give way to writes: a read waits until the budget also holds
	// half the bucket, which the dispatcher's writes may take first.
	for {
		b, err := s.lim.State(ctx, time.Now())
		if err != nil {
			return 0, err
		}
		short := cost + b.Burst/2 - b.Tokens
		if short <= 0 || b.Limit <= 0 {
			break
		}
		t := time.NewTimer(max(10*time.Millisecond, time.Duration(short/b.Limit*float64(time.Second))))
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
	}
	delay, err := s.lim.Reserve(ctx, time.Now(), cost)
	if err != nil {
		return 0, err
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			_ = s.lim.Observe(context.WithoutCancel(ctx), time.Now(), ratelimit.Observation{ReservedCost: cost})
			return 0, ctx.Err()
		case <-t.C:
		}
	}
	qty, c, err := s.c.Available(ctx, item, location)
	o := admin.Observation(c, cost, err)
	_ = s.lim.Observe(context.WithoutCancel(ctx), time.Now(), o)
	if c.Requested > 0 {
		s.cost = max(c.Requested, c.Actual)
	}
	return qty, err
}
