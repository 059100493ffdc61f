package boltstore

import (
	"context"
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/stockgate/stockgate/store"
)

// step is a commit of key k from seq exp to exp+1.
func step(k store.Key, id string, exp uint64, onHand int64) store.Commit {
	e := store.Entry{Key: k, Seq: exp + 1, EventID: id, Outcome: store.OutcomeApplied, Result: store.Quantities{OnHand: onHand}}
	p := store.Projection{Key: k, Seq: exp + 1, Quantities: store.Quantities{OnHand: onHand}}
	return store.Commit{EventID: id, ExpectedSeq: exp, Entry: &e, Projection: &p}
}

// TestCommitQueuedPipelines: with the writer busy, a commit is reported
// queued before it is written, a commit of the same key queued after it
// and expecting its sequence number succeeds with it, and when the first
// fails its check the second fails too and nothing is written.
func TestCommitQueuedPipelines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		firstExp uint64 // the first commit's expected seq; the key is at 0
		want     error
	}{
		{"both applied", 0, nil},
		{"the first conflicts, so does the second", 5, store.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := open(t, &Options{NoSync: true})
			st := store.New(d)
			k := store.Key{SKU: "HOT", Location: "web"}
			started, release := make(chan struct{}), make(chan struct{})
			go d.write(func(*bolt.Tx) error { close(started); <-release; return nil })
			<-started

			results := make(chan error, 2)
			commit := func(c store.Commit) <-chan struct{} {
				queued := make(chan struct{})
				calls := 0
				go func() {
					results <- st.CommitQueued(context.Background(), c, func() { calls++; close(queued) })
					if calls != 1 {
						results <- errors.New("queued called more than once")
					}
				}()
				return queued
			}
			select {
			case <-commit(step(k, "a", tc.firstExp, 1)):
			case <-time.After(5 * time.Second):
				t.Fatal("the first commit was not reported queued while the writer was busy")
			}
			if p, _ := st.Projection(context.Background(), k); p.Seq != 0 {
				t.Fatalf("queued but already written: %+v", p)
			}
			<-commit(step(k, "b", tc.firstExp+1, 2))
			close(release)
			for range 2 {
				if err := <-results; !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
					t.Fatalf("commit: %v, want %v", err, tc.want)
				}
			}
			p, _ := st.Projection(context.Background(), k)
			wantSeq := uint64(2)
			if tc.want != nil {
				wantSeq = 0
			}
			if p.Seq != wantSeq {
				t.Fatalf("projection %+v, want seq %d", p, wantSeq)
			}
		})
	}
}
