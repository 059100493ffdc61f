// Package storetest is the conformance suite for store drivers. A backend
// is done when it passes [RunConformanceTests]; [RunBenchmarks] measures the
// hot paths the same way for every backend.
//
// A backend runs the suite from its own test file through a [Harness]:
//
//	func TestConformance(t *testing.T) {
//		storetest.RunConformanceTests(t, newHarness)
//	}
//
// Each subtest gets a fresh harness and a fresh driver on a fake clock that
// the suite advances, so dedup expiry is tested without sleeping.
// Persistence tests run only when the harness can reopen its state.
package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/store"
)

// Harness makes drivers for one subtest.
type Harness interface {
	// MakeDriver returns a driver over new, empty state that reads the
	// time from now.
	MakeDriver(ctx context.Context, now func() time.Time) (store.Driver, error)
	// Reopen returns a driver over the state of the driver MakeDriver (or
	// Reopen) returned last, which the suite has closed. A backend that
	// keeps nothing across Close returns (nil, nil), and the persistence
	// tests are skipped.
	Reopen(ctx context.Context, now func() time.Time) (store.Driver, error)
	// Close releases what the harness holds (files, servers).
	Close()
}

// HarnessMaker makes a harness for one subtest or benchmark.
type HarnessMaker func(ctx context.Context, t testing.TB) (Harness, error)

// clock is the suite's fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// start is the fake clock's first reading.
var start = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one subtest's world: a harness, its clock and the open driver.
type env struct {
	ctx   context.Context
	h     Harness
	clock *clock
	d     store.Driver
}

func newEnv(t testing.TB, newHarness HarnessMaker) *env {
	t.Helper()
	ctx := context.Background()
	h, err := newHarness(ctx, t)
	if err != nil {
		t.Fatalf("making harness: %v", err)
	}
	e := &env{ctx: ctx, h: h, clock: &clock{t: start}}
	d, err := h.MakeDriver(ctx, e.clock.Now)
	if err != nil {
		h.Close()
		t.Fatalf("making driver: %v", err)
	}
	e.d = d
	t.Cleanup(func() {
		if e.d != nil {
			_ = e.d.Close() // may already be closed by the test
		}
		h.Close()
	})
	return e
}

// reopen closes the driver and opens the same state again; it skips the
// test when the backend does not persist.
func (e *env) reopen(t *testing.T) {
	t.Helper()
	if err := e.d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	e.d = nil
	d, err := e.h.Reopen(e.ctx, e.clock.Now)
	if err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	if d == nil {
		t.Skip("backend does not persist across Close")
	}
	e.d = d
}

// RunConformanceTests runs the suite against the drivers newHarness makes.
func RunConformanceTests(t *testing.T, newHarness HarnessMaker) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"Ping", testPing},
		{"AcceptOrdersOutbox", testAcceptOrdersOutbox},
		{"AcceptEmptyBatch", testAcceptEmptyBatch},
		{"AcceptDuplicate", testAcceptDuplicate},
		{"AcceptDuplicateInBatch", testAcceptDuplicateInBatch},
		{"AcceptEmptyDedupKey", testAcceptEmptyDedupKey},
		{"AcceptDedupTTL", testAcceptDedupTTL},
		{"AcceptDeadLetters", testAcceptDeadLetters},
		{"AcceptCopiesInput", testAcceptCopiesInput},
		{"CommitAppliesStep", testCommitAppliesStep},
		{"CommitAlreadyApplied", testCommitAlreadyApplied},
		{"CommitConflict", testCommitConflict},
		{"CommitExtraAllOrNothing", testCommitExtraAllOrNothing},
		{"CommitWithoutEntry", testCommitWithoutEntry},
		{"CommitBatchItemsIndependent", testCommitBatchItemsIndependent},
		{"CommitDeletesOutbox", testCommitDeletesOutbox},
		{"ProjectionUnknownKey", testProjectionUnknownKey},
		{"ProjectionsBySKU", testProjectionsBySKU},
		{"History", testHistory},
		{"HistoryLong", testHistoryLong},
		{"OutboxPaginationAndDelete", testOutboxPaginationAndDelete},
		{"DeadLettersPagination", testDeadLettersPagination},
		{"AlertsPagination", testAlertsPagination},
		{"ResolveDeadLetter", testResolveDeadLetter},
		{"Mappings", testMappings},
		{"Records", testRecords},
		{"SKUs", testSKUs},
		{"ConcurrentAccept", testConcurrentAccept},
		{"ConcurrentCommitSameKey", testConcurrentCommitSameKey},
		{"ClosedDriver", testClosedDriver},
		{"ClosedStore", testClosedStore},
		{"PersistenceAcrossReopen", testPersistence},
	}
	for _, tc := range append(tests, queueTests...) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newEnv(t, newHarness))
		})
	}
}

func testPing(t *testing.T, e *env) {
	if err := e.d.Ping(e.ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
