package memstore

import (
	"context"
	"slices"
	"strings"

	"github.com/stockgate/stockgate/store"
)

// PutRecord implements store.Driver.
func (d *driver) PutRecord(ctx context.Context, r store.Record, create bool) error {
	if err := d.lock(ctx); err != nil {
		return err
	}
	defer d.mu.Unlock()
	if d.records == nil {
		d.records = map[string]map[string]store.Record{}
	}
	byID := d.records[r.Kind]
	if byID == nil {
		byID = map[string]store.Record{}
		d.records[r.Kind] = byID
	}
	if _, ok := byID[r.ID]; ok && create {
		return store.ErrDuplicate
	}
	r.Data = slices.Clone(r.Data)
	byID[r.ID] = r
	return nil
}

// GetRecord implements store.Driver.
func (d *driver) GetRecord(ctx context.Context, kind, id string) (store.Record, error) {
	if err := d.lock(ctx); err != nil {
		return store.Record{}, err
	}
	defer d.mu.Unlock()
	r, ok := d.records[kind][id]
	if !ok {
		return store.Record{}, store.ErrNotFound
	}
	r.Data = slices.Clone(r.Data)
	return r, nil
}

// Records implements store.Driver.
func (d *driver) Records(ctx context.Context, kind, after string, limit int) ([]store.Record, error) {
	if err := d.lock(ctx); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	var out []store.Record
	for id, r := range d.records[kind] {
		if id > after {
			r.Data = slices.Clone(r.Data)
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b store.Record) int { return strings.Compare(a.ID, b.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// DeleteRecord implements store.Driver.
func (d *driver) DeleteRecord(ctx context.Context, kind, id string) error {
	if err := d.lock(ctx); err != nil {
		return err
	}
	defer d.mu.Unlock()
	if _, ok := d.records[kind][id]; !ok {
		return store.ErrNotFound
	}
	delete(d.records[kind], id)
	return nil
}

// SKUs implements store.Driver.
func (d *driver) SKUs(ctx context.Context, after string, limit int) ([]string, error) {
	if err := d.lock(ctx); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for k := range d.projections {
		if k.SKU != "" && k.SKU > after && !seen[k.SKU] {
			seen[k.SKU] = true
			out = append(out, k.SKU)
		}
	}
	slices.Sort(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
