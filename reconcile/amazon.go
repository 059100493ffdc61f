package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"golang.org/x/time/rate"

	"github.com/stockgate/stockgate/connectors/amazon/fbaapi"
	"github.com/stockgate/stockgate/event"
)

// AmazonFBAOptions configure an AmazonFBASource; nil means the defaults.
type AmazonFBAOptions struct {
	// SKUs maps an Amazon SellerSKU to a stockgate SKU; a SellerSKU not in
	// it is the SKU unchanged, as in the Amazon connector. Nil: identity.
	SKUs map[string]string
	// Limiter paces requests. Zero: 2 per second with a burst of 2, the
	// operation's usage plan (fbaInventory.json).
	Limiter *rate.Limiter
	// Backoff retries throttled and failed pages. A wait is capped at 10s
	// so that a page's nextToken, valid 30s (amazon.md §5.3), survives it.
	// Zero: see Backoff.
	Backoff *Backoff
	// Now stamps summaries that carry no lastUpdatedTime, and bounds
	// startDateTime. Zero: time.Now.
	Now func() time.Time
}

// AmazonFBASource reads the FBA stock Amazon holds with
// getInventorySummaries (amazon.md §5.3), one marketplace at a time, with
// startDateTime = since (Amazon then returns only changed summaries),
// following nextToken.
//
// Each summary is an on-hand observation of inventoryDetails
// .fulfillableQuantity at the marketplace's location, as of
// lastUpdatedTime: the quantity the Amazon connector applies from
// FBA_INVENTORY_AVAILABILITY_CHANGES (Fulfillable: what Amazon can still
// ship; not totalQuantity, which counts inbound and unfulfillable units).
// A summary without lastUpdatedTime is as of the read; one without a
// SellerSKU or inventoryDetails is returned with Skip set.
type AmazonFBASource struct {
	c            fbaapi.SummariesReader
	marketplaces map[string]string
	ids          []string
	skus         map[string]string
	limiter      *rate.Limiter
	backoff      Backoff
	now          func() time.Time
}

var _ Source = (*AmazonFBASource)(nil)

// NewAmazonFBASource returns a source reading through c (an
// *fbaapi.Client) the marketplaces of the map, marketplace id (such as
// "ATVPDKIKX0DER") → stockgate location of the FBA stock there: the
// marketplace entries of the Amazon connector's Config.Locations. Maps
// are copied.
func NewAmazonFBASource(c fbaapi.SummariesReader, marketplaces map[string]string, opts *AmazonFBAOptions) (*AmazonFBASource, error) {
	var o AmazonFBAOptions
	if opts != nil {
		o = *opts
	}
	var problems []error
	if c == nil {
		problems = append(problems, errors.New("client: nil"))
	}
	problems = append(problems, checkMap("marketplaces", marketplaces)...)
	if len(problems) > 0 {
		return nil, fmt.Errorf("reconcile.NewAmazonFBASource: %w", errors.Join(problems...))
	}
	if o.Limiter == nil {
		o.Limiter = rate.NewLimiter(2, 2)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	b := o.Backoff.withDefaults()
	b.Max = min(b.Max, 10*time.Second)
	return &AmazonFBASource{
		c: c, marketplaces: maps.Clone(marketplaces), ids: slices.Sorted(maps.Keys(marketplaces)),
		skus: maps.Clone(o.SKUs), limiter: o.Limiter, backoff: b, now: o.Now,
	}, nil
}

// pacedSummaries waits for the limiter before each attempt and retries
// each page with a Backoff.
type pacedSummaries struct {
	r fbaapi.SummariesReader
	l *rate.Limiter
	b Backoff
}

func (p pacedSummaries) GetInventorySummaries(ctx context.Context, req fbaapi.Request) (fbaapi.Response, error) {
	var resp fbaapi.Response
	err := p.b.do(ctx, fbaapi.IsRetryable, fbaapi.RetryAfter, func() (err error) {
		if err := p.l.Wait(ctx); err != nil {
			return err
		}
		resp, err = p.r.GetInventorySummaries(ctx, req)
		return err
	})
	return resp, err
}

// Read implements Source.
func (s *AmazonFBASource) Read(ctx context.Context, since time.Time) ([]Observation, error) {
	now := s.now()
	start := since
	// Amazon refuses a startDateTime more than 18 months back: read
	// everything instead.
	if !start.IsZero() && start.Before(now.AddDate(0, -18, 1)) {
		start = time.Time{}
	}
	var obs []Observation
	for _, mp := range s.ids {
		sums, err := fbaapi.AllSummaries(ctx, pacedSummaries{s.c, s.limiter, s.backoff}, fbaapi.Request{MarketplaceID: mp, StartDateTime: start})
		if err != nil {
			return nil, fmt.Errorf("marketplace %s: %w", mp, err)
		}
		for _, sm := range sums {
			obs = append(obs, s.observe(mp, sm, now))
		}
	}
	return obs, nil
}

func (s *AmazonFBASource) observe(mp string, sm fbaapi.Summary, now time.Time) Observation {
	o := Observation{
		SourceID: mp + "/" + sm.SellerSKU, Location: s.marketplaces[mp], State: event.StateOnHand, AsOf: sm.LastUpdatedTime,
	}
	if o.AsOf.IsZero() {
		o.AsOf = now
	}
	switch {
	case sm.SellerSKU == "":
		o.Skip = "summary of FNSKU " + sm.FNSKU + " has no sellerSku"
		return o
	case sm.InventoryDetails == nil:
		o.Skip = "summary has no inventoryDetails (details=true was not honoured)"
		return o
	}
	o.SKU = sm.SellerSKU
	if sku, ok := s.skus[sm.SellerSKU]; ok {
		o.SKU = sku
	}
	o.Quantity = sm.InventoryDetails.FulfillableQuantity
	return o
}
