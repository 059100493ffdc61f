package memstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
	"github.com/stockgate/stockgate/store/storetest"
)

// harness makes in-memory drivers; they keep nothing across Close.
type harness struct{}

func newHarness(context.Context, testing.TB) (storetest.Harness, error) { return harness{}, nil }

func (harness) MakeDriver(_ context.Context, now func() time.Time) (store.Driver, error) {
	return memstore.New(&memstore.Options{Now: now}), nil
}

func (harness) Reopen(context.Context, func() time.Time) (store.Driver, error) { return nil, nil }

func (harness) Close() {}

func TestConformance(t *testing.T) { storetest.RunConformanceTests(t, newHarness) }

func BenchmarkConformance(b *testing.B) { storetest.RunBenchmarks(b, newHarness) }
