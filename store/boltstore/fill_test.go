package boltstore

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/stockgate/stockgate/store"
)

// TestGrowingBucketsFillTheirPages: the buckets whose keys only grow (the
// outbox, dedupexp, the entry log) keep their leaf pages nearly full. With
// bbolt's default fill percent each split left a half-empty page behind
// that no later key would fill, so those buckets took twice the pages,
// and every commit wrote more of them.
func TestGrowingBucketsFillTheirPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := open(t, nil)
	body := []byte(strings.Repeat("x", 300))
	k := store.Key{SKU: "SKU-1", Location: "web"}
	for i := range 1500 {
		id := strconv.Itoa(i)
		errs, err := d.Accept(ctx, []store.Acceptance{{
			DedupKey: "shop:" + id, DedupTTL: time.Hour,
			Messages: []store.Message{{Topic: "inbound", EventID: "ev-" + id, Body: body, Key: k.SKU}},
		}})
		if err != nil || errs[0] != nil {
			t.Fatalf("accept %d: %v %v", i, err, errs)
		}
		seq := uint64(i)
		errs, err = d.Commit(ctx, []store.Commit{{
			EventID:     "ev-" + id,
			ExpectedSeq: seq,
			Entry:       &store.Entry{Key: k, EventID: "ev-" + id, SourceEventID: id},
			Projection:  &store.Projection{Key: k},
		}})
		if err != nil || errs[0] != nil {
			t.Fatalf("commit %d: %v %v", i, err, errs)
		}
	}
	err := d.db.View(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bOutbox, bDedupExp, bEntryLog} {
			s := tx.Bucket(name).Stats()
			if s.LeafPageN < 4 {
				t.Fatalf("%s: %d leaf pages; the test needs more to mean anything", name, s.LeafPageN)
			}
			if fill := float64(s.LeafInuse) / float64(s.LeafAlloc); fill < 0.75 {
				t.Errorf("%s: leaf pages %.0f%% full over %d pages, want 75%% or more", name, 100*fill, s.LeafPageN)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
