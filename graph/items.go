package graph

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/stockgate/stockgate/admin"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/graph/model"
	"github.com/stockgate/stockgate/store"
)

// skuCursor encodes a SKU as an opaque items cursor.
func skuCursor(sku string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("sku:" + sku))
}

func parseSKUCursor(c *string) (string, error) {
	if c == nil || *c == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*c)
	if err != nil || !strings.HasPrefix(string(raw), "sku:") {
		return "", badInput("after: not an items cursor from this API")
	}
	return strings.TrimPrefix(string(raw), "sku:"), nil
}

// nextSKUs returns up to n SKUs after the given one, in byte order: those
// with ledger entries and those the configuration declares.
func (r *queryResolver) nextSKUs(ctx context.Context, after string, n int) ([]string, error) {
	fromStore, err := r.Store.SKUs(ctx, after, n)
	if err != nil {
		return nil, err
	}
	i, _ := slices.BinarySearch(r.CatalogSKUs, after)
	for ; i < len(r.CatalogSKUs) && r.CatalogSKUs[i] == after; i++ {
	}
	extra := r.CatalogSKUs[i:min(len(r.CatalogSKUs), i+n)]
	out := append(slices.Clone(fromStore), extra...)
	slices.Sort(out)
	out = slices.Compact(out)
	return out[:min(len(out), n)], nil
}

// items pages through SKUs, filtering each page, until first items match
// or the SKUs run out.
func (r *queryResolver) items(ctx context.Context, first int, after string, f *model.ItemFilter) (*model.ItemConnection, error) {
	var prefix, loc string
	var atMost *int64
	if f != nil {
		prefix, loc, atMost = deref(f.SkuPrefix), deref(f.Location), f.AvailableAtMost
	}
	if prefix != "" && after < prefix {
		// Start below the prefix (SKUs sort by bytes): the few SKUs
		// between this and the prefix are skipped below.
		last := prefix[len(prefix)-1]
		after = prefix[:len(prefix)-1]
		if last > 0 {
			after += string([]byte{last - 1})
		}
	}
	conn := &model.ItemConnection{Edges: []*model.ItemEdge{}, PageInfo: &model.PageInfo{}}
	batch := max(first, 50)
	for {
		skus, err := r.nextSKUs(ctx, after, batch)
		if err != nil {
			return nil, err
		}
		for _, sku := range skus {
			after = sku
			if prefix != "" && !strings.HasPrefix(sku, prefix) {
				if sku > prefix {
					return conn, nil // past every SKU with the prefix
				}
				continue
			}
			it, ok, err := r.item(ctx, sku, loc, atMost)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			if len(conn.Edges) == first {
				conn.PageInfo.HasNextPage = true
				return conn, nil
			}
			c := skuCursor(sku)
			conn.Edges = append(conn.Edges, &model.ItemEdge{Cursor: c, Node: it})
			conn.PageInfo.EndCursor = &c
		}
		if len(skus) < batch {
			return conn, nil
		}
	}
}

// item reads one SKU's levels and applies the filter.
func (r *queryResolver) item(ctx context.Context, sku, loc string, atMost *int64) (*model.Item, bool, error) {
	ps, err := r.Store.Projections(ctx, sku)
	if err != nil {
		return nil, false, err
	}
	it := &model.Item{Sku: sku, Levels: []*model.StockLevel{}}
	for _, p := range ps {
		if loc != "" && p.Location != loc {
			continue
		}
		it.Levels = append(it.Levels, stockLevel(p))
		it.OnHand += p.OnHand
		it.Committed += p.Committed
		it.Available += p.Available
	}
	if loc != "" && len(it.Levels) == 0 {
		return nil, false, nil
	}
	if atMost != nil && it.Available > *atMost {
		return nil, false, nil
	}
	return it, true, nil
}

// stockAt replays a key's entries recorded until at.
func (r *queryResolver) stockAt(ctx context.Context, k store.Key, at int64) (*model.StockLevel, error) {
	lvl := store.Projection{Key: k}
	for from := uint64(0); ; {
		es, err := r.Store.History(ctx, k, from, 500)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if e.RecordedAt.UnixNano() > at {
				return stockLevel(lvl), nil
			}
			lvl.Seq, lvl.UpdatedAt = e.Seq, e.RecordedAt
			lvl.OnHand, lvl.Committed, lvl.SafetyStock, lvl.Available = e.Result.OnHand, e.Result.Committed, e.Result.SafetyStock, e.Result.Available
			from = e.Seq
		}
		if len(es) < 500 {
			return stockLevel(lvl), nil
		}
	}
}

// submitted answers a stock command: it waits up to 2s for the ledger to
// apply the event and returns the key's level.
func (r *mutationResolver) submitted(ctx context.Context, sub admin.Submitted, err error, k store.Key) (*model.AdjustStockPayload, error) {
	if errors.Is(err, event.ErrInvalid) || errors.Is(err, admin.ErrKeyReused) {
		return nil, badInput(err.Error())
	}
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out := &model.AdjustStockPayload{EventID: sub.EventID, Accepted: !sub.Duplicate, Applied: r.Admin.WaitApplied(wctx, sub.EventID)}
	if lvl, err := r.Store.Projection(ctx, k); err == nil {
		lvl.Key = k
		out.Level = stockLevel(lvl)
		if out.Applied {
			if e, ok := r.entryOf(ctx, k, sub.EventID, lvl.Seq); ok {
				out.Outcome = &e.Outcome
				if e.Note != "" {
					out.Note = &e.Note
				}
			}
		}
	}
	return out, nil
}

// entryOf finds the ledger entry of an event among the last entries of
// key k, whose newest is seq: an event a mutation just submitted is
// among them unless many others on the key were applied meanwhile.
func (r *Resolver) entryOf(ctx context.Context, k store.Key, eventID string, seq uint64) (store.Entry, bool) {
	const look = 100
	es, err := r.Store.History(ctx, k, seq-min(seq, look), look)
	if err != nil {
		return store.Entry{}, false
	}
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].EventID == eventID {
			return es[i], true
		}
	}
	return store.Entry{}, false
}

func (r *Resolver) watchEvery() time.Duration {
	if r.Watch > 0 {
		return r.Watch
	}
	return time.Second
}
