package memstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/stockgate/stockgate/store"
)

// fill accepts n outbox messages, one per acceptance, numbered from 1.
func fill(t testing.TB, st *store.Store, n int) {
	t.Helper()
	items := make([]store.Acceptance, n)
	for i := range items {
		id := fmt.Sprintf("ev-%d", i+1)
		items[i] = store.Acceptance{Messages: []store.Message{{Topic: "inbound", EventID: id, Key: "sku", Body: []byte(id)}}}
	}
	if _, err := st.AcceptBatch(context.Background(), items); err != nil {
		t.Fatal(err)
	}
}

// TestOutboxDeletionsAndCompaction deletes messages one at a time, as
// ledger commits do, past the point where the outbox is compacted, and
// checks after every step that paging through the outbox from every
// cursor yields exactly the messages left, in order, with their bodies.
func TestOutboxDeletionsAndCompaction(t *testing.T) {
	ctx := context.Background()
	const n = 300
	d := New(nil).(*driver)
	st := store.New(d)
	fill(t, st, n)

	left := map[uint64]bool{}
	for s := uint64(1); s <= n; s++ {
		left[s] = true
	}
	check := func(step string) {
		t.Helper()
		for _, after := range []uint64{0, 1, 97, 150, 299, n} {
			var got []uint64
			for cur := after; ; {
				page, err := st.Outbox(ctx, cur, 7)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > 7 {
					t.Fatalf("%s: a page of %d messages, limit 7", step, len(page))
				}
				if len(page) == 0 {
					break
				}
				for _, m := range page {
					if want := fmt.Sprintf("ev-%d", m.Seq); m.EventID != want || string(m.Body) != want || m.Topic != "inbound" {
						t.Fatalf("%s: message %d is %+v", step, m.Seq, m)
					}
					got = append(got, m.Seq)
				}
				cur = page[len(page)-1].Seq
			}
			var want []uint64
			for s := after + 1; s <= n; s++ {
				if left[s] {
					want = append(want, s)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: after %d read %v, want %v", step, after, got, want)
			}
		}
	}

	compacted := false
	// Every third message, then the rest from the back: deletions both
	// inside and at the end of the outbox, and one deleted twice.
	var order []uint64
	for s := uint64(3); s <= n; s += 3 {
		order = append(order, s)
	}
	for s := uint64(n); s >= 1; s-- {
		if s%3 != 0 {
			order = append(order, s)
		}
	}
	for i, s := range order[:n-5] {
		if err := st.DeleteOutbox(ctx, []uint64{s, order[0]}); err != nil {
			t.Fatal(err)
		}
		delete(left, s)
		if len(d.outbox) < n {
			compacted = true
		}
		if len(d.outbox)-d.outboxDead != len(left) {
			t.Fatalf("step %d: %d slots with %d deleted, %d messages left", i, len(d.outbox), d.outboxDead, len(left))
		}
		if i%25 == 0 || i > n-10 {
			check(fmt.Sprintf("after deleting %d", s))
		}
	}
	if !compacted {
		t.Error("the outbox was never compacted")
	}
	// Deleted messages never come back, whatever is appended later.
	fill(t, st, 1)
	page, err := st.Outbox(ctx, 0, 100)
	if err != nil || len(page) != 6 || page[5].Seq != n+1 {
		t.Fatalf("after a new message: %v, %v", page, err)
	}
}

// BenchmarkDeleteOutbox deletes one message at a time from an outbox that
// holds a backlog of b.N+backlog messages, as the ledger's commits do while
// it catches up.
func BenchmarkDeleteOutbox(b *testing.B) {
	for _, backlog := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("backlog-%d", backlog), func(b *testing.B) {
			ctx := context.Background()
			st := store.New(New(nil))
			fill(b, st, b.N+backlog)
			b.ResetTimer()
			for i := range b.N {
				// From the middle of the backlog, in order.
				if err := st.DeleteOutbox(ctx, []uint64{uint64(backlog/2 + i + 1)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
