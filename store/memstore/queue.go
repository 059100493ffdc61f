package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/stockgate/stockgate/store"
)

// queues are the dispatcher's durable queues (store.QueueDriver), kept
// under the driver's mutex. The zero value is empty.
type queues struct {
	token  uint64                                // last token given
	items  map[string]map[string]store.QueueItem // account → SKU → item
	seeded map[string]bool                       // accounts seeded
}

// add queues (account, sku) at since under the next token. Callers hold
// the driver's mutex.
func (q *queues) add(account, sku string, since time.Time) uint64 {
	if q.items == nil {
		q.items = map[string]map[string]store.QueueItem{}
	}
	bySKU := q.items[account]
	if bySKU == nil {
		bySKU = map[string]store.QueueItem{}
		q.items[account] = bySKU
	}
	q.token++
	it, ok := bySKU[sku]
	if !ok || since.Before(it.Since) {
		it.Since = since
	}
	it.Account, it.SKU, it.Token = account, sku, q.token
	bySKU[sku] = it
	return q.token
}

// Enqueue implements store.Driver.
func (d *driver) Enqueue(ctx context.Context, items []store.QueueItem) ([]uint64, error) {
	if err := d.lock(ctx); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	tokens := make([]uint64, len(items))
	for i, it := range items {
		tokens[i] = d.queues.add(it.Account, it.SKU, it.Since)
	}
	return tokens, nil
}

// Pending implements store.Driver.
func (d *driver) Pending(ctx context.Context, account string, after uint64, limit int) ([]store.QueueItem, error) {
	if err := d.lock(ctx); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	var out []store.QueueItem
	for _, it := range d.queues.items[account] {
		if it.Token > after {
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b store.QueueItem) int {
		switch {
		case a.Token < b.Token:
			return -1
		case a.Token > b.Token:
			return 1
		}
		return 0
	})
	if limit >= 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Dequeue implements store.Driver.
func (d *driver) Dequeue(ctx context.Context, items []store.QueueItem) error {
	if err := d.lock(ctx); err != nil {
		return err
	}
	defer d.mu.Unlock()
	for _, it := range items {
		bySKU := d.queues.items[it.Account]
		if cur, ok := bySKU[it.SKU]; ok && cur.Token == it.Token {
			delete(bySKU, it.SKU)
		}
	}
	return nil
}

// SeedQueue implements store.Driver.
func (d *driver) SeedQueue(ctx context.Context, account string, skus []string, at time.Time) (bool, error) {
	if err := d.lock(ctx); err != nil {
		return false, err
	}
	defer d.mu.Unlock()
	if d.queues.seeded[account] {
		return false, nil
	}
	if d.queues.seeded == nil {
		d.queues.seeded = map[string]bool{}
	}
	d.queues.seeded[account] = true
	for _, sku := range skus {
		d.queues.add(account, sku, at)
	}
	return true, nil
}
