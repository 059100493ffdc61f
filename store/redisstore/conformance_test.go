package redisstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stockgate/stockgate/internal/testsvc"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/redisstore"
	"github.com/stockgate/stockgate/store/storetest"
)

// needRedis returns a new client of the test server (testsvc.Redis),
// closed when t ends.
func needRedis(t testing.TB) *redis.Client {
	t.Helper()
	return testsvc.Redis(t, &redis.Options{MaxRetries: -1})
}

// uniquePrefix returns a key prefix no other test run uses, with a hash
// tag as a Cluster needs.
func uniquePrefix(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("{sgtest:%s}:", rand.Text()[:16])
}

// deletePrefix deletes every key under prefix.
func deletePrefix(ctx context.Context, t testing.TB, c redis.UniversalClient, prefix string) {
	t.Helper()
	var b strings.Builder
	for i := range len(prefix) { // escape SCAN MATCH's pattern characters
		switch prefix[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(prefix[i])
	}
	iter := c.Scan(ctx, 0, b.String()+"*", 1000).Iterator()
	var batch []string
	flush := func() {
		if len(batch) > 0 {
			if err := c.Unlink(ctx, batch...).Err(); err != nil {
				t.Errorf("deleting the test keys: %v", err)
			}
			batch = batch[:0]
		}
	}
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == 1000 {
			flush()
		}
	}
	flush()
	if err := iter.Err(); err != nil {
		t.Errorf("scanning the test keys: %v", err)
	}
}

// harness keeps one subtest's state under a prefix of its own on the test
// server; Reopen opens a new driver over the same prefix, as a restarted
// gateway would, and Close deletes the keys.
type harness struct {
	t      testing.TB
	c      *redis.Client
	prefix string
}

func newHarness(_ context.Context, t testing.TB) (storetest.Harness, error) {
	return &harness{t: t, c: needRedis(t), prefix: uniquePrefix(t)}, nil
}

func (h *harness) MakeDriver(ctx context.Context, now func() time.Time) (store.Driver, error) {
	return redisstore.Open(ctx, h.c, &redisstore.Options{Prefix: h.prefix, Now: now})
}

func (h *harness) Reopen(ctx context.Context, now func() time.Time) (store.Driver, error) {
	return redisstore.Open(ctx, h.c, &redisstore.Options{Prefix: h.prefix, Now: now})
}

func (h *harness) Close() {
	deletePrefix(context.Background(), h.t, h.c, h.prefix)
	_ = h.c.Close()
}

func TestConformance(t *testing.T) { storetest.RunConformanceTests(t, newHarness) }

func BenchmarkConformance(b *testing.B) { storetest.RunBenchmarks(b, newHarness) }
