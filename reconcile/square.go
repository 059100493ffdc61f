package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/stockgate/stockgate/connectors/square/squareapi"
	"github.com/stockgate/stockgate/event"
)

// SquareOptions configure a SquareSource; nil means the defaults.
type SquareOptions struct {
	// PageSize is the limit of each request, 1 to 1000. Zero: 1000.
	PageSize int
	// Backoff retries throttled and failed pages. Zero: see Backoff.
	Backoff *Backoff
}

// SquareSource reads Square's IN_STOCK counts with
// BatchRetrieveInventoryCounts (square.md §4.2), for the locations of its
// map and with updated_after = since, following cursors.
//
// An IN_STOCK count is an on-hand observation as of its calculated_at,
// as the webhook connector treats inventory.count.updated (an estimated
// count of a composed variation is an available observation, likewise).
// A count of an object or location missing from the maps, with a
// fraction or without calculated_at is returned with Skip set, so the
// report shows what the maps lack.
type SquareSource struct {
	c         squareapi.CountsReader
	items     map[string]string
	locations map[string]string
	ids       []string // location ids, sorted
	limit     int
	backoff   Backoff
}

var _ Source = (*SquareSource)(nil)

// NewSquareSource returns a source reading through c (a
// *squareapi.Client), mapping catalog object ids to SKUs with items and
// Square location ids to stockgate locations with locations: pass the
// Square connector's Config.Items and Config.Locations. Both maps need at
// least one entry; they are copied.
func NewSquareSource(c squareapi.CountsReader, items, locations map[string]string, opts *SquareOptions) (*SquareSource, error) {
	var o SquareOptions
	if opts != nil {
		o = *opts
	}
	var problems []error
	if c == nil {
		problems = append(problems, errors.New("client: nil"))
	}
	problems = append(problems, checkMap("items", items)...)
	problems = append(problems, checkMap("locations", locations)...)
	if o.PageSize < 0 || o.PageSize > squareapi.MaxLimit {
		problems = append(problems, fmt.Errorf("SquareOptions.PageSize: %d: want 1 to %d, or 0", o.PageSize, squareapi.MaxLimit))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("reconcile.NewSquareSource: %w", errors.Join(problems...))
	}
	if o.PageSize == 0 {
		o.PageSize = squareapi.MaxLimit
	}
	return &SquareSource{
		c: c, items: maps.Clone(items), locations: maps.Clone(locations),
		ids: slices.Sorted(maps.Keys(locations)), limit: o.PageSize, backoff: o.Backoff.withDefaults(),
	}, nil
}

// checkMap reports an empty map and empty keys or values.
func checkMap(name string, m map[string]string) []error {
	if len(m) == 0 {
		return []error{fmt.Errorf("%s: at least one entry is required", name)}
	}
	var problems []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k == "" || strings.TrimSpace(m[k]) == "" {
			problems = append(problems, fmt.Errorf("%s[%q]: empty id", name, k))
		}
	}
	return problems
}

// retryingCounts retries each page with a Backoff.
type retryingCounts struct {
	r squareapi.CountsReader
	b Backoff
}

func (rc retryingCounts) BatchRetrieveInventoryCounts(ctx context.Context, req squareapi.Request) (squareapi.Response, error) {
	var resp squareapi.Response
	err := rc.b.do(ctx, squareapi.IsRetryable, squareapi.RetryAfter, func() (err error) {
		resp, err = rc.r.BatchRetrieveInventoryCounts(ctx, req)
		return err
	})
	return resp, err
}

// Read implements Source.
func (s *SquareSource) Read(ctx context.Context, since time.Time) ([]Observation, error) {
	counts, err := squareapi.AllCounts(ctx, retryingCounts{s.c, s.backoff}, squareapi.Request{
		LocationIDs: s.ids, States: []string{"IN_STOCK"}, UpdatedAfter: since, Limit: s.limit,
	})
	if err != nil {
		return nil, err
	}
	obs := make([]Observation, 0, len(counts))
	for _, c := range counts {
		obs = append(obs, s.observe(c))
	}
	return obs, nil
}

func (s *SquareSource) observe(c squareapi.Count) Observation {
	o := Observation{SourceID: c.CatalogObjectID + "@" + c.LocationID + "/" + c.State, AsOf: c.CalculatedAt, State: event.StateOnHand}
	if c.IsEstimated {
		o.State = event.StateAvailable // an estimate is not a physical count
	}
	var why []string
	if c.State != "IN_STOCK" {
		why = append(why, fmt.Sprintf("state %s is not IN_STOCK, the only stock on hand (square.md §4.4)", c.State))
	}
	var ok bool
	if o.SKU, ok = s.items[c.CatalogObjectID]; !ok {
		why = append(why, "Square catalog object "+c.CatalogObjectID+" is not in the items map")
	}
	if o.Location, ok = s.locations[c.LocationID]; !ok {
		why = append(why, "Square location "+c.LocationID+" is not in the locations map")
	}
	q, err := squareapi.ParseQuantity(c.Quantity)
	if err != nil {
		why = append(why, fmt.Sprintf("quantity %q: %v", c.Quantity, err))
	}
	o.Quantity = q
	if c.CalculatedAt.IsZero() {
		why = append(why, "no calculated_at")
	}
	o.Skip = strings.Join(why, "; ")
	return o
}
