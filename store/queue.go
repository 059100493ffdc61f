package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// QueueItem is one SKU waiting in a connector account's durable outbound
// queue: the dispatcher must still write the account's channel quantity
// of the SKU. The queue is a set per account (a SKU is in it once), and
// says only which SKUs to write: the quantity is read from the ledger when
// the write is made.
type QueueItem struct {
	Account string `json:"account"`
	SKU     string `json:"sku"`
	// Since is when the SKU was queued and not yet written: re-queuing a
	// SKU that is still in the queue keeps the earlier time.
	Since time.Time `json:"since"`
	// Token is assigned by the store each time the SKU is queued, from
	// one counter for the whole store, so a later Enqueue of any item
	// always has a higher token than an earlier one. Dequeue removes an
	// item only while its token is the one the caller read, so a SKU
	// queued again while it was being written stays queued.
	Token uint64 `json:"token"`
}

// QueueDriver is the part of a Driver that keeps the dispatcher's durable
// queues, one per connector account.
type QueueDriver interface {
	// Enqueue adds every item (Account, SKU, Since; Token is ignored) in
	// one atomic write and returns the token it gave each, in order. An
	// item already queued keeps the earlier Since and gets the new token.
	// An item given twice gets two tokens; the later one is current.
	Enqueue(ctx context.Context, items []QueueItem) ([]uint64, error)
	// Pending returns up to limit items of account with Token > after,
	// in token order.
	Pending(ctx context.Context, account string, after uint64, limit int) ([]QueueItem, error)
	// Dequeue removes each item (Account, SKU) whose current token is
	// item.Token, in one atomic write; an item queued again since, or
	// not queued, is left as it is.
	Dequeue(ctx context.Context, items []QueueItem) error
	// SeedQueue queues skus for account at the time at, and marks the
	// account seeded, in one atomic write, unless the account was seeded
	// before; it reports whether it seeded. A dispatcher seeds an account
	// the first time it writes it, so that the first run ever writes every
	// SKU and later runs only what is queued.
	SeedQueue(ctx context.Context, account string, skus []string, at time.Time) (bool, error)
}

// maxQueueName bounds account and SKU names in the queue, so that every
// backend can key them (bbolt keys are at most 32 KiB).
const maxQueueName = 1024

func checkQueueName(what, name string) error {
	if name == "" {
		return fmt.Errorf("%s is required", what)
	}
	if len(name) > maxQueueName {
		return fmt.Errorf("%s %.40q… is longer than %d bytes", what, name, maxQueueName)
	}
	return nil
}

func checkQueueItems(items []QueueItem, needSince bool) error {
	var errs []error
	for i, it := range items {
		if needSince && it.Since.IsZero() {
			errs = append(errs, fmt.Errorf("item %d: since is required", i))
		}
		if err := checkQueueName("account", it.Account); err != nil {
			errs = append(errs, fmt.Errorf("item %d: %w", i, err))
		}
		if err := checkQueueName("sku", it.SKU); err != nil {
			errs = append(errs, fmt.Errorf("item %d: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// Enqueue queues SKUs of connector accounts in one atomic write (see
// QueueDriver.Enqueue) and returns the token of each item. Every item
// needs an Account, a SKU and a Since.
func (s *Store) Enqueue(ctx context.Context, items []QueueItem) ([]uint64, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, nil
	}
	if err := checkQueueItems(items, true); err != nil {
		return nil, wrap("enqueue", err)
	}
	tokens, err := s.d.Enqueue(ctx, items)
	if err == nil && len(tokens) != len(items) {
		err = fmt.Errorf("driver returned %d tokens for %d items", len(tokens), len(items))
	}
	if err != nil {
		return nil, wrap("enqueue", err)
	}
	return tokens, nil
}

// Pending returns up to limit queued items of account with a token above
// after, in token order: from 0 to restore the whole queue, page by page,
// or from the highest token seen to learn what others queued since.
func (s *Store) Pending(ctx context.Context, account string, after uint64, limit int) ([]QueueItem, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	if err := checkQueueName("account", account); err != nil {
		return nil, wrap("pending", err)
	}
	items, err := s.d.Pending(ctx, account, after, limit)
	return items, wrap("pending", err)
}

// Dequeue removes written items from their queues, each only if it was
// not queued again since its Token was read.
func (s *Store) Dequeue(ctx context.Context, items []QueueItem) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if len(items) == 0 {
		return nil
	}
	if err := checkQueueItems(items, false); err != nil {
		return wrap("dequeue", err)
	}
	return wrap("dequeue", s.d.Dequeue(ctx, items))
}

// SeedQueue queues every SKU of skus for account, once in the life of
// the store; it reports whether it did (see QueueDriver.SeedQueue).
func (s *Store) SeedQueue(ctx context.Context, account string, skus []string, at time.Time) (bool, error) {
	if err := s.check(ctx); err != nil {
		return false, err
	}
	errs := []error{checkQueueName("account", account)}
	for i, sku := range skus {
		if err := checkQueueName("sku", sku); err != nil {
			errs = append(errs, fmt.Errorf("sku %d: %w", i, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return false, wrap("seed queue", err)
	}
	ok, err := s.d.SeedQueue(ctx, account, skus, at)
	return ok, wrap("seed queue", err)
}
