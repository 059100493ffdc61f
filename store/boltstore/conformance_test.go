package boltstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/boltstore"
	"github.com/stockgate/stockgate/store/storetest"
)

// harness keeps one bolt file in a temporary directory.
type harness struct {
	path string
}

func newHarness(_ context.Context, t testing.TB) (storetest.Harness, error) {
	return &harness{path: filepath.Join(t.TempDir(), "stockgate.db")}, nil
}

func (h *harness) MakeDriver(_ context.Context, now func() time.Time) (store.Driver, error) {
	return boltstore.Open(h.path, &boltstore.Options{Now: now})
}

func (h *harness) Reopen(_ context.Context, now func() time.Time) (store.Driver, error) {
	return boltstore.Open(h.path, &boltstore.Options{Now: now})
}

func (h *harness) Close() {}

func TestConformance(t *testing.T) { storetest.RunConformanceTests(t, newHarness) }

func BenchmarkConformance(b *testing.B) { storetest.RunBenchmarks(b, newHarness) }
