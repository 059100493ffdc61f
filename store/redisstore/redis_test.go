package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stockgate/stockgate/internal/testsvc"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/redisstore"
)

// replicas opens n drivers over one prefix, each with its own client, as n
// gateway replicas sharing a Redis would; the keys go at the end of the
// test.
func replicas(t *testing.T, n int, opts redisstore.Options) []store.Driver {
	t.Helper()
	ctx := context.Background()
	if opts.Prefix == "" {
		opts.Prefix = uniquePrefix(t)
	}
	ds := make([]store.Driver, n)
	for i := range ds {
		c := needRedis(t)
		d, err := redisstore.Open(ctx, c, &opts)
		if err != nil {
			_ = c.Close()
			t.Fatalf("Open: %v", err)
		}
		ds[i] = d
		t.Cleanup(func() {
			_ = d.Close()
			if i == 0 {
				deletePrefix(ctx, t, c, opts.Prefix)
			}
			_ = c.Close()
		})
	}
	return ds
}

// TestAcceptAcrossReplicas: two replicas accepting the same webhook at the
// same moment store it once: exactly one of them wins each dedup key, in
// single-item calls and in batches.
// TestNotExclusive checks that a Redis store does not claim to be its
// process's alone: replicas share it.
func TestNotExclusive(t *testing.T) {
	t.Parallel()
	ds := replicas(t, 1, redisstore.Options{})
	if store.New(ds[0]).Exclusive() {
		t.Error("a Redis store reports itself exclusive; replicas share it")
	}
}

func TestAcceptAcrossReplicas(t *testing.T) {
	t.Parallel()
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	for _, batch := range []int{1, 5} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			ds := replicas(t, 2, redisstore.Options{})
			wins := map[string]int{}
			for r := range rounds {
				start := make(chan struct{})
				errs := make([][]error, len(ds))
				var wg sync.WaitGroup
				for i, d := range ds {
					items := make([]store.Acceptance, batch)
					for j := range items {
						// Replica 1 takes the keys in reverse order, so
						// that the two batches overlap every way.
						k := j
						if i == 1 {
							k = batch - 1 - j
						}
						items[j] = store.Acceptance{
							DedupKey: fmt.Sprintf("shopify:w-%d-%d", r, k),
							DedupTTL: time.Hour,
							Messages: []store.Message{{Topic: "inbound", EventID: fmt.Sprintf("r%d:w-%d-%d", i, r, k)}},
						}
					}
					wg.Go(func() {
						<-start
						var err error
						if errs[i], err = d.Accept(ctx, items); err != nil {
							t.Errorf("replica %d: Accept: %v", i, err)
						}
					})
				}
				close(start)
				wg.Wait()
				if t.Failed() {
					return
				}
				for k := range batch {
					won := 0
					for i := range ds {
						j := k
						if i == 1 {
							j = batch - 1 - k
						}
						switch err := errs[i][j]; {
						case err == nil:
							won++
						case !errors.Is(err, store.ErrDuplicate):
							t.Fatalf("round %d, key %d, replica %d: %v", r, k, i, err)
						}
					}
					if won != 1 {
						t.Fatalf("round %d: key %d accepted by %d replicas, want 1", r, k, won)
					}
				}
			}
			var after uint64
			for {
				ms, err := ds[0].Outbox(ctx, after, 100)
				if err != nil {
					t.Fatalf("Outbox: %v", err)
				}
				if len(ms) == 0 {
					break
				}
				for _, m := range ms {
					_, key, _ := strings.Cut(m.EventID, ":")
					wins[key]++
					after = m.Seq
				}
			}
			if len(wins) != rounds*batch {
				t.Errorf("outbox holds %d webhooks, want %d", len(wins), rounds*batch)
			}
			for k, n := range wins {
				if n != 1 {
					t.Errorf("webhook %s is in the outbox %d times", k, n)
				}
			}
		})
	}
}

// TestDedupRedisTTL: a dedup key is deduplicated by the injected clock (the
// conformance suite shows that) and freed by Redis DedupGrace after its
// TTL; a key without TTL, or with a negative grace, never expires in
// Redis.
func TestDedupRedisTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := needRedis(t)
	defer c.Close()
	for _, tc := range []struct {
		name  string
		grace time.Duration
		ttl   time.Duration
		want  time.Duration // PTTL; negative: none
	}{
		{"default grace", 0, time.Minute, time.Minute + time.Hour},
		{"own grace", 10 * time.Second, time.Minute, time.Minute + 10*time.Second},
		{"no grace", -1, time.Minute, -1},
		{"no TTL", 0, 0, -1},
	} {
		prefix := uniquePrefix(t)
		defer deletePrefix(ctx, t, c, prefix)
		d, err := redisstore.Open(ctx, c, &redisstore.Options{Prefix: prefix, DedupGrace: tc.grace})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		errs, err := d.Accept(ctx, []store.Acceptance{{DedupKey: "k", DedupTTL: tc.ttl}})
		if err != nil || errs[0] != nil {
			t.Fatalf("%s: Accept: %v %v", tc.name, err, errs)
		}
		got, err := c.PTTL(ctx, prefix+"dedup:k").Result()
		if err != nil {
			t.Fatalf("%s: PTTL: %v", tc.name, err)
		}
		switch {
		case tc.want < 0 && got != -1:
			t.Errorf("%s: PTTL %v, want none", tc.name, got)
		case tc.want >= 0 && (got > tc.want || got < tc.want-time.Minute):
			t.Errorf("%s: PTTL %v, want about %v", tc.name, got, tc.want)
		}
		_ = d.Close()
	}
}

// TestOpenURL opens the test server by URL through store.Open, and checks
// that Close closes the client OpenURL made while a driver from Open leaves
// its client alone.
func TestOpenURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := needRedis(t)
	defer c.Close()
	prefix := uniquePrefix(t)
	defer deletePrefix(ctx, t, c, prefix)

	s, err := store.Open(ctx, "redis://"+testsvc.RedisAddr+"/0?prefix="+url.QueryEscape(prefix)+"&dedup_grace=5m&dial_timeout=2s")
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	if err := s.Accept(ctx, store.Acceptance{DedupKey: "k", DedupTTL: time.Minute}); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if ttl := c.PTTL(ctx, prefix+"dedup:k").Val(); ttl <= 5*time.Minute || ttl > 6*time.Minute {
		t.Errorf("dedup key PTTL %v, want TTL + dedup_grace = 6m", ttl)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	d, err := redisstore.Open(ctx, c, &redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Errorf("the caller's client after Close: %v", err)
	}
}

// TestOpenClusterNeedsHashTag: with a Cluster client, a prefix without a
// hash tag would scatter the store's keys over slots, which the scripts
// cannot touch together.
func TestOpenClusterNeedsHashTag(t *testing.T) {
	t.Parallel()
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer c.Close()
	for _, prefix := range []string{"plain:", "{}:", "open{:", "x}{"} {
		_, err := redisstore.Open(context.Background(), c, &redisstore.Options{Prefix: prefix})
		if err == nil || !strings.Contains(err.Error(), "hash tag") {
			t.Errorf("prefix %q: got %v, want a hash tag error", prefix, err)
		}
	}
}

// BenchmarkCommitPipelined measures batches of n commits per call, the
// consumer's path: each caller commits one step, with an availability
// message, to each of n keys of its own per call, from one caller
// (serial) and from two per CPU (parallel). events/s counts ledger events.
func BenchmarkCommitPipelined(b *testing.B) {
	for _, n := range []int{10, 100} {
		for _, parallel := range []bool{false, true} {
			name := fmt.Sprintf("batch=%d/serial", n)
			if parallel {
				name = fmt.Sprintf("batch=%d/parallel", n)
			}
			b.Run(name, func(b *testing.B) { benchCommitPipelined(b, n, parallel) })
		}
	}
}

func benchCommitPipelined(b *testing.B, n int, parallel bool) {
	ctx := context.Background()
	c := needRedis(b)
	defer c.Close()
	prefix := uniquePrefix(b)
	defer deletePrefix(ctx, b, c, prefix)
	d, err := redisstore.Open(ctx, c, &redisstore.Options{Prefix: prefix})
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	defer d.Close()
	var worker, event atomic.Uint64
	// caller commits batches to keys of its own until next says stop.
	caller := func(next func() bool) {
		w := worker.Add(1)
		items := make([]store.Commit, n)
		for seq := uint64(0); next(); seq++ {
			for i := range items {
				k := store.Key{SKU: fmt.Sprintf("SKU-%d", i), Location: fmt.Sprintf("WH-%d", w)}
				id := fmt.Sprintf("ev-%d", event.Add(1))
				e := store.Entry{Key: k, Seq: seq + 1, EventID: id, EventType: "inventory.adjusted", Outcome: store.OutcomeApplied,
					Delta: store.Quantities{OnHand: 1, Available: 1}, Result: store.Quantities{OnHand: int64(seq + 1), Available: int64(seq + 1)}}
				p := store.Projection{Key: k, Quantities: e.Result, Seq: seq + 1}
				items[i] = store.Commit{EventID: id, ExpectedSeq: seq, Entry: &e, Projection: &p,
					Outbox: []store.Message{{Topic: "availability", EventID: id + "-av", Body: []byte(`{"available":1}`), Key: k.SKU}}}
			}
			errs, err := d.Commit(ctx, items)
			if err != nil {
				b.Errorf("Commit: %v", err)
				return
			}
			for i, err := range errs {
				if err != nil {
					b.Errorf("Commit item %d: %v", i, err)
					return
				}
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		b.SetParallelism(2)
		b.RunParallel(func(pb *testing.PB) { caller(pb.Next) })
	} else {
		i := 0
		caller(func() bool { i++; return i <= b.N })
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAcceptPipelined measures batches of 100 acceptances per call
// from two callers per CPU.
func BenchmarkAcceptPipelined(b *testing.B) {
	const n = 100
	ctx := context.Background()
	c := needRedis(b)
	defer c.Close()
	prefix := uniquePrefix(b)
	defer deletePrefix(ctx, b, c, prefix)
	d, err := redisstore.Open(ctx, c, &redisstore.Options{Prefix: prefix})
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	defer d.Close()
	var next atomic.Uint64
	body := []byte(`{"specversion":"1.0","id":"ev","type":"inventory.adjusted"}`)
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(2)
	b.RunParallel(func(pb *testing.PB) {
		items := make([]store.Acceptance, n)
		for pb.Next() {
			for i := range items {
				id := fmt.Sprintf("w-%d", next.Add(1))
				items[i] = store.Acceptance{DedupKey: "shopify:" + id, DedupTTL: 24 * time.Hour,
					Messages: []store.Message{{Topic: "inbound", EventID: id, Body: body}}}
			}
			errs, err := d.Accept(ctx, items)
			if err != nil {
				b.Errorf("Accept: %v", err)
				return
			}
			for i, err := range errs {
				if err != nil {
					b.Errorf("Accept item %d: %v", i, err)
					return
				}
			}
		}
	})
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "acceptances/s")
}

// lostScripts makes Redis answer NOSCRIPT to the EVALSHA commands of the
// next call or pipeline, as after a restart or SCRIPT FLUSH, without
// flushing the script cache that other tests share.
type lostScripts struct{ armed atomic.Bool }

func (*lostScripts) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *lostScripts) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.armed.Swap(false) {
			h.lose([]redis.Cmder{cmd})
		}
		return next(ctx, cmd)
	}
}

func (h *lostScripts) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.armed.Swap(false) {
			h.lose(cmds)
		}
		return next(ctx, cmds)
	}
}

func (*lostScripts) lose(cmds []redis.Cmder) {
	for _, cmd := range cmds {
		if cmd.Name() == "evalsha" {
			cmd.Args()[1] = "0000000000000000000000000000000000000000"
		}
	}
}

// TestScriptsReloaded: when Redis has lost the scripts, a call runs them
// again, once: single items through EVAL, batches after SCRIPT LOAD.
func TestScriptsReloaded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := needRedis(t)
	defer c.Close()
	hook := &lostScripts{}
	c.AddHook(hook)
	prefix := uniquePrefix(t)
	defer deletePrefix(ctx, t, c, prefix)
	d, err := redisstore.Open(ctx, c, &redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer d.Close()

	for _, n := range []int{1, 3} {
		items := make([]store.Acceptance, n)
		for i := range items {
			id := fmt.Sprintf("n%d-%d", n, i)
			items[i] = store.Acceptance{DedupKey: id, Messages: []store.Message{{Topic: "inbound", EventID: id}}}
		}
		hook.armed.Store(true)
		errs, err := d.Accept(ctx, items)
		if err != nil {
			t.Fatalf("Accept of %d: %v", n, err)
		}
		for i, err := range errs {
			if err != nil {
				t.Errorf("Accept of %d: item %d: %v", n, i, err)
			}
		}
		if hook.armed.Load() {
			t.Fatal("the hook did not fire")
		}
	}
	ms, err := d.Outbox(ctx, 0, 10)
	if err != nil {
		t.Fatalf("Outbox: %v", err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.EventID)
	}
	if want := "n1-0 n3-0 n3-1 n3-2"; strings.Join(got, " ") != want {
		t.Errorf("outbox %v, want %s", got, want)
	}
}
