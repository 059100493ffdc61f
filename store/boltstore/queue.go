package boltstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/stockgate/stockgate/store"
)

// The dispatcher's queues (store.QueueDriver) live in one bucket, made on
// the first write, so that files from before it open unchanged:
//
//	queue                 its NextSequence is the token counter
//	  <account>           one bucket per account
//	    t                 token (8 bytes BE) → SKU, in token order
//	    s                 SKU → token (8 bytes BE) + since (Unix ns, 8 bytes BE)
//	    seeded            key, when SeedQueue has run (Unix ns)
var (
	bQueue       = []byte("queue")
	bQueueTokens = []byte("t")
	bQueueSKUs   = []byte("s")
	kQueueSeeded = []byte("seeded")
)

// queueBuckets returns an account's token and SKU buckets, making them
// when create is set; without it they are nil when the account has none.
func queueBuckets(tx *bolt.Tx, account string, create bool) (acct, tokens, skus *bolt.Bucket, err error) {
	root := tx.Bucket(bQueue)
	if root == nil {
		if !create {
			return nil, nil, nil, nil
		}
		if root, err = tx.CreateBucket(bQueue); err != nil {
			return nil, nil, nil, err
		}
	}
	acct = root.Bucket([]byte(account))
	if acct == nil {
		if !create {
			return nil, nil, nil, nil
		}
		if acct, err = root.CreateBucket([]byte(account)); err != nil {
			return nil, nil, nil, err
		}
		if _, err = acct.CreateBucket(bQueueTokens); err != nil {
			return nil, nil, nil, err
		}
		if _, err = acct.CreateBucket(bQueueSKUs); err != nil {
			return nil, nil, nil, err
		}
	}
	return acct, acct.Bucket(bQueueTokens), acct.Bucket(bQueueSKUs), nil
}

// enqueue queues sku in an account's buckets under the next token of the
// queue bucket and returns the token.
func enqueue(tx *bolt.Tx, account, sku string, since time.Time) (uint64, error) {
	_, tokens, skus, err := queueBuckets(tx, account, true)
	if err != nil {
		return 0, err
	}
	token, err := tx.Bucket(bQueue).NextSequence()
	if err != nil {
		return 0, err
	}
	ns := since.UnixNano()
	k := []byte(sku)
	if v := skus.Get(k); len(v) == 16 {
		if old := int64(binary.BigEndian.Uint64(v[8:])); old < ns {
			ns = old
		}
		if err := tokens.Delete(append([]byte(nil), v[:8]...)); err != nil {
			return 0, err
		}
	}
	v := binary.BigEndian.AppendUint64(u64(token), uint64(ns))
	if err := skus.Put(k, v); err != nil {
		return 0, err
	}
	return token, tokens.Put(u64(token), k)
}

// Enqueue implements store.Driver, through the group commit.
func (d *driver) Enqueue(ctx context.Context, items []store.QueueItem) ([]uint64, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	tokens := make([]uint64, len(items))
	err := d.write(func(tx *bolt.Tx) error {
		for i, it := range items {
			t, err := enqueue(tx, it.Account, it.SKU, it.Since)
			if err != nil {
				return err
			}
			tokens[i] = t
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: enqueue: %w", err)
	}
	return tokens, nil
}

// Pending implements store.Driver.
func (d *driver) Pending(ctx context.Context, account string, after uint64, limit int) ([]store.QueueItem, error) {
	var out []store.QueueItem
	err := d.view(ctx, "pending", func(tx *bolt.Tx) error {
		_, tokens, skus, err := queueBuckets(tx, account, false)
		if err != nil || tokens == nil || limit <= 0 || after == math.MaxUint64 {
			return err
		}
		c := tokens.Cursor()
		for k, sku := c.Seek(u64(after + 1)); k != nil && len(out) < limit; k, sku = c.Next() {
			v := skus.Get(sku)
			if len(v) != 16 {
				return fmt.Errorf("corrupt queue entry of %q", sku)
			}
			out = append(out, store.QueueItem{
				Account: account,
				SKU:     string(sku),
				Since:   time.Unix(0, int64(binary.BigEndian.Uint64(v[8:]))),
				Token:   getU64(k),
			})
		}
		return nil
	})
	return out, err
}

// Dequeue implements store.Driver, through the group commit.
func (d *driver) Dequeue(ctx context.Context, items []store.QueueItem) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	err := d.write(func(tx *bolt.Tx) error {
		for _, it := range items {
			_, tokens, skus, err := queueBuckets(tx, it.Account, false)
			if err != nil {
				return err
			}
			if skus == nil {
				continue
			}
			k := []byte(it.SKU)
			v := skus.Get(k)
			if len(v) != 16 || getU64(v[:8]) != it.Token {
				continue
			}
			if err := tokens.Delete(u64(it.Token)); err != nil {
				return err
			}
			if err := skus.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("boltstore: dequeue: %w", err)
	}
	return nil
}

// SeedQueue implements store.Driver, through the group commit.
func (d *driver) SeedQueue(ctx context.Context, account string, skus []string, at time.Time) (bool, error) {
	if err := d.check(ctx); err != nil {
		return false, err
	}
	var seeded bool
	err := d.write(func(tx *bolt.Tx) error {
		seeded = false
		acct, _, _, err := queueBuckets(tx, account, true)
		if err != nil {
			return err
		}
		if acct.Get(kQueueSeeded) != nil {
			return nil
		}
		if err := acct.Put(kQueueSeeded, u64(uint64(at.UnixNano()))); err != nil {
			return err
		}
		for _, sku := range skus {
			if _, err := enqueue(tx, account, sku, at); err != nil {
				return err
			}
		}
		seeded = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("boltstore: seed queue: %w", err)
	}
	return seeded, nil
}
