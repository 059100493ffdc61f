package boltstore

import (
	"bytes"
	"context"
	"encoding/json"

	bolt "go.etcd.io/bbolt"

	"github.com/stockgate/stockgate/store"
)

// recordKey is the records key of (kind, id): the kind length-prefixed,
// then the id, so that one kind's records sort by id.
func recordKey(kind, id string) []byte {
	return append(appendString(nil, kind), id...)
}

// PutRecord implements store.Driver.
func (d *driver) PutRecord(ctx context.Context, r store.Record, create bool) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	buf, err := json.Marshal(&r)
	if err != nil {
		return err
	}
	k := recordKey(r.Kind, r.ID)
	return d.write(func(tx *bolt.Tx) error {
		b := tx.Bucket(bRecords)
		if create && b.Get(k) != nil {
			return store.ErrDuplicate
		}
		return b.Put(k, buf)
	})
}

// GetRecord implements store.Driver.
func (d *driver) GetRecord(ctx context.Context, kind, id string) (store.Record, error) {
	var r store.Record
	err := d.view(ctx, "get record", func(tx *bolt.Tx) error {
		v := tx.Bucket(bRecords).Get(recordKey(kind, id))
		if v == nil {
			return store.ErrNotFound
		}
		return json.Unmarshal(v, &r)
	})
	return r, err
}

// Records implements store.Driver.
func (d *driver) Records(ctx context.Context, kind, after string, limit int) ([]store.Record, error) {
	var out []store.Record
	err := d.view(ctx, "records", func(tx *bolt.Tx) error {
		prefix := appendString(nil, kind)
		c := tx.Bucket(bRecords).Cursor()
		k, v := c.Seek(recordKey(kind, after))
		if k != nil && after != "" && bytes.Equal(k, recordKey(kind, after)) {
			k, v = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, v = c.Next() {
			var r store.Record
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// DeleteRecord implements store.Driver.
func (d *driver) DeleteRecord(ctx context.Context, kind, id string) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	k := recordKey(kind, id)
	return d.write(func(tx *bolt.Tx) error {
		b := tx.Bucket(bRecords)
		if b.Get(k) == nil {
			return store.ErrNotFound
		}
		return b.Delete(k)
	})
}

// SKUs implements store.Driver.
func (d *driver) SKUs(ctx context.Context, after string, limit int) ([]string, error) {
	var out []string
	err := d.view(ctx, "skus", func(tx *bolt.Tx) error {
		c := tx.Bucket(bSKUs).Cursor()
		k, _ := c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, _ = c.Next()
		}
		for ; k != nil && len(out) < limit; k, _ = c.Next() {
			out = append(out, string(k))
		}
		return nil
	})
	return out, err
}
