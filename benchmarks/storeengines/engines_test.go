package storeengines

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"

	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/boltstore"
)

// skus is how many SKUs the webhooks spread over, as in the subscription
// scenario of BENCHMARKS.md §8.
const skus = 10000

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// webhooks hands out the SKU and expected ledger sequence of webhook i.
type webhooks struct {
	mu   sync.Mutex
	seqs []uint64
	body []byte
}

func newWebhooks() *webhooks {
	return &webhooks{seqs: make([]uint64, skus), body: make([]byte, 700)}
}

func (w *webhooks) next(i uint64) (store.Key, uint64) {
	k := int(i*7919) % skus
	w.mu.Lock()
	seq := w.seqs[k]
	w.seqs[k]++
	w.mu.Unlock()
	return store.Key{SKU: fmt.Sprintf("SKU-%05d", k), Location: "web"}, seq
}

func (w *webhooks) entry(k store.Key, seq uint64, now time.Time) *store.Entry {
	return &store.Entry{Key: k, Seq: seq + 1, EventID: uuid.NewString(), EventType: "stockgate.order.committed.v1",
		Connector: "shop", SourceEventID: uuid.NewString(), CorrelationID: uuid.NewString(), Reason: "order",
		Outcome: store.OutcomeApplied, OccurredAt: now, RecordedAt: now}
}

// run calls one for b.N webhooks from 64 goroutines and reports the CPU
// time per webhook.
func run(b *testing.B, one func(i uint64) error) {
	var n atomic.Uint64
	b.ReportAllocs()
	b.SetParallelism(32)
	c0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := one(n.Add(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkBbolt is a webhook through stockgate's bbolt store as the
// gateway drives it: Accept (a random dedup key with its expiry, the
// inbound event in the outbox), then the ledger's Commit (a random event
// id marked applied, the entry and projection of the SKU, the
// availability change in the outbox), each group-committed with an fsync.
func BenchmarkBbolt(b *testing.B) {
	d, err := boltstore.Open(filepath.Join(b.TempDir(), "stockgate.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	w := newWebhooks()
	run(b, func(i uint64) error {
		now := time.Now()
		errs, err := d.Accept(ctx, []store.Acceptance{{DedupKey: "shop:" + uuid.NewString(), DedupTTL: 72 * time.Hour,
			Messages: []store.Message{{Topic: "inbound", EventID: "in", Body: w.body, CreatedAt: now}}}})
		if err == nil {
			err = errs[0]
		}
		if err != nil {
			return err
		}
		k, seq := w.next(i)
		e := w.entry(k, seq, now)
		errs, err = d.Commit(ctx, []store.Commit{{EventID: e.EventID, ExpectedSeq: seq, Entry: e,
			Projection: &store.Projection{Key: k, UpdatedAt: now},
			Outbox:     []store.Message{{Topic: "availability", EventID: "av", Body: w.body[:500], CreatedAt: now}}}})
		if err == nil {
			err = errs[0]
		}
		return err
	})
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// BenchmarkPebble makes the same reads and writes per webhook in Pebble,
// an LSM tree: the dedup check, then one synced batch of the dedup key, its
// expiry index entry and the outbox message; the applied check and the
// projection read, then one synced batch of the entry, the projection, the
// applied mark and the outbox message. Concurrent batches share WAL syncs
// (Pebble's commit pipeline). A real driver would also serialize the
// check-then-write per key, which is not measured here.
func BenchmarkPebble(b *testing.B) {
	db, err := pebble.Open(filepath.Join(b.TempDir(), "pebble"), &pebble.Options{
		MemTableSize: 64 << 20,
		Logger:       quiet{},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	w := newWebhooks()
	var outbox atomic.Uint64
	absent := func(key []byte) error {
		_, c, err := db.Get(key)
		if err == nil {
			c.Close()
			return fmt.Errorf("%q present", key)
		}
		if err != pebble.ErrNotFound {
			return err
		}
		return nil
	}
	commit := func(kvs ...[]byte) error {
		bt := db.NewBatch()
		defer bt.Close()
		for j := 0; j < len(kvs); j += 2 {
			if err := bt.Set(kvs[j], kvs[j+1], nil); err != nil {
				return err
			}
		}
		return bt.Commit(pebble.Sync)
	}
	run(b, func(i uint64) error {
		now := time.Now()
		dk := []byte("d/shop:" + uuid.NewString())
		if err := absent(dk); err != nil {
			return err
		}
		exp := u64(uint64(now.Add(72 * time.Hour).UnixNano()))
		err := commit(dk, exp,
			append(append([]byte("x/"), exp...), dk...), nil,
			append([]byte("o/"), u64(outbox.Add(1))...), w.body)
		if err != nil {
			return err
		}
		k, seq := w.next(i)
		e := w.entry(k, seq, now)
		ak := []byte("a/" + e.EventID)
		if err := absent(ak); err != nil {
			return err
		}
		pk := []byte("p/" + k.SKU + "\x00" + k.Location)
		if _, c, err := db.Get(pk); err == nil {
			c.Close()
		}
		ev, err := json.Marshal(e)
		if err != nil {
			return err
		}
		pv, err := json.Marshal(&store.Projection{Key: k, Seq: seq + 1, UpdatedAt: now})
		if err != nil {
			return err
		}
		return commit(append([]byte("e/"+k.SKU+"\x00"+k.Location+"\x00"), u64(seq+1)...), ev,
			pk, pv,
			ak, u64(uint64(now.UnixNano())),
			append([]byte("o/"), u64(outbox.Add(1))...), w.body[:500])
	})
}

// quiet is a pebble.Logger that drops Pebble's informational lines.
type quiet struct{}

func (quiet) Infof(string, ...any)         {}
func (quiet) Errorf(f string, args ...any) { fmt.Printf("pebble: "+f+"\n", args...) }
func (quiet) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }
