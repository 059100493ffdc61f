package storetest

import (
	"testing"
	"time"

	"github.com/stockgate/stockgate/store"
)

// testAcceptOrdersOutbox: messages land in the outbox in call, item and
// message order, with increasing sequence numbers the store assigns.
func testAcceptOrdersOutbox(t *testing.T, e *env) {
	a, b, c, d, f := msg("a"), msg("b"), msg("c"), msg("d"), msg("f")
	a.Seq, b.Seq = 999, 999 // the store assigns Seq; what callers set is ignored
	b.Topic = "availability"
	wantErrs(t, "Accept", accept(t, e,
		store.Acceptance{DedupKey: "d1", Messages: []store.Message{a, b, c}},
		store.Acceptance{DedupKey: "d2", Messages: []store.Message{d}},
	), nil, nil)
	wantErrs(t, "Accept", accept(t, e, store.Acceptance{Messages: []store.Message{f}}), nil)

	got := outboxAll(t, e)
	want := []store.Message{a, b, c, d, f}
	if len(got) != len(want) {
		t.Fatalf("outbox has %d messages, want %d", len(got), len(want))
	}
	var prev uint64
	for i, m := range got {
		if m.Seq == 0 || m.Seq <= prev {
			t.Errorf("message %d: seq %d after %d, want increasing from 1", i, m.Seq, prev)
		}
		if m.Seq == 999 {
			t.Errorf("message %d: kept the caller's seq 999", i)
		}
		prev = m.Seq
	}
	equal(t, "outbox", got, withSeq(want, got))
}

// testAcceptEmptyBatch: no items, no errors, nothing stored.
func testAcceptEmptyBatch(t *testing.T, e *env) {
	accept(t, e)
	wantErrs(t, "Accept", accept(t, e, store.Acceptance{DedupKey: "only-key"}), nil)
	if got := outboxAll(t, e); len(got) != 0 {
		t.Errorf("outbox has %d messages, want 0", len(got))
	}
	// An acceptance without messages still remembers its dedup key.
	wantErrs(t, "Accept", accept(t, e, store.Acceptance{DedupKey: "only-key"}), store.ErrDuplicate)
}

// testAcceptDuplicate: a redelivery with a seen dedup key is ErrDuplicate
// and stores nothing: no messages, no dead letters.
func testAcceptDuplicate(t *testing.T, e *env) {
	first := store.Acceptance{
		DedupKey:    "shopify:webhook-1",
		Messages:    []store.Message{msg("e1"), msg("e2")},
		DeadLetters: []store.DeadLetter{deadLetter("bad-1")},
	}
	wantErrs(t, "first Accept", accept(t, e, first), nil)
	before := snapshot(t, e, nil, nil)

	again := store.Acceptance{
		DedupKey:    "shopify:webhook-1",
		Messages:    []store.Message{msg("e3")},
		DeadLetters: []store.DeadLetter{deadLetter("bad-2")},
	}
	wantErrs(t, "second Accept", accept(t, e, again), store.ErrDuplicate)
	equal(t, "state after duplicate", snapshot(t, e, nil, nil), before)

	// Another key is not a duplicate.
	wantErrs(t, "other key", accept(t, e, store.Acceptance{DedupKey: "shopify:webhook-2", Messages: []store.Message{msg("e4")}}), nil)
	if got := len(outboxAll(t, e)); got != 3 {
		t.Errorf("outbox has %d messages, want 3", got)
	}
}

// testAcceptDuplicateInBatch: the second item with a key seen earlier in
// the same call is a duplicate; the items around it are stored.
func testAcceptDuplicateInBatch(t *testing.T, e *env) {
	errs := accept(t, e,
		store.Acceptance{DedupKey: "k", Messages: []store.Message{msg("a")}},
		store.Acceptance{DedupKey: "k", Messages: []store.Message{msg("b")}, DeadLetters: []store.DeadLetter{deadLetter("b")}},
		store.Acceptance{DedupKey: "l", Messages: []store.Message{msg("c")}},
	)
	wantErrs(t, "Accept", errs, nil, store.ErrDuplicate, nil)
	got := outboxAll(t, e)
	equal(t, "outbox", got, withSeq([]store.Message{msg("a"), msg("c")}, got))
	if ds := deadLettersAll(t, e); len(ds) != 0 {
		t.Errorf("dead letters: got %d, want none from the duplicate", len(ds))
	}
}

// testAcceptEmptyDedupKey: an empty dedup key never dedups, across calls or
// within one.
func testAcceptEmptyDedupKey(t *testing.T, e *env) {
	a := store.Acceptance{Messages: []store.Message{msg("same")}}
	wantErrs(t, "Accept", accept(t, e, a), nil)
	wantErrs(t, "Accept", accept(t, e, a, a), nil, nil)
	if got := len(outboxAll(t, e)); got != 3 {
		t.Errorf("outbox has %d messages, want 3", got)
	}
}

// testAcceptDedupTTL: a key is remembered for exactly DedupTTL from its
// acceptance; zero is forever. An expired key is accepted again and
// remembered afresh.
func testAcceptDedupTTL(t *testing.T, e *env) {
	const ttl = time.Minute
	a := func(k string, ttl time.Duration) store.Acceptance {
		return store.Acceptance{DedupKey: k, DedupTTL: ttl, Messages: []store.Message{msg(k)}}
	}
	wantErrs(t, "first", accept(t, e, a("ttl", ttl), a("forever", 0)), nil, nil)

	e.clock.Advance(ttl - time.Nanosecond)
	wantErrs(t, "just before expiry", accept(t, e, a("ttl", ttl), a("forever", 0)), store.ErrDuplicate, store.ErrDuplicate)

	e.clock.Advance(time.Nanosecond)
	wantErrs(t, "at expiry", accept(t, e, a("ttl", ttl)), nil)

	// Accepted again, the key is remembered for a new TTL from now.
	e.clock.Advance(ttl / 2)
	wantErrs(t, "within the new TTL", accept(t, e, a("ttl", ttl)), store.ErrDuplicate)
	e.clock.Advance(ttl / 2)
	wantErrs(t, "after the new TTL", accept(t, e, a("ttl", ttl)), nil)

	e.clock.Advance(100 * 365 * 24 * time.Hour)
	wantErrs(t, "zero TTL after a century", accept(t, e, a("forever", 0)), store.ErrDuplicate)

	if got := len(outboxAll(t, e)); got != 4 {
		t.Errorf("outbox has %d messages, want 4", got)
	}
}

// testAcceptDeadLetters: an acceptance's dead letters are stored, listed
// oldest first, with IDs assigned when empty and kept when set.
func testAcceptDeadLetters(t *testing.T, e *env) {
	d1, d2, d3 := deadLetter("x1"), deadLetter("x2"), deadLetter("x3")
	d2.ID = "caller-chosen"
	wantErrs(t, "Accept", accept(t, e,
		store.Acceptance{DedupKey: "w1", DeadLetters: []store.DeadLetter{d1, d2}},
		store.Acceptance{DedupKey: "w2", Messages: []store.Message{msg("ok")}, DeadLetters: []store.DeadLetter{d3}},
	), nil, nil)
	got := deadLettersAll(t, e)
	want := []store.DeadLetter{d1, d2, d3}
	if len(got) != len(want) {
		t.Fatalf("got %d dead letters, want %d", len(got), len(want))
	}
	equal(t, "dead letters", got, withIDs(want, got))
	uniqueIDs(t, "dead letter", []string{got[0].ID, got[1].ID, got[2].ID})
	if got[1].ID != "caller-chosen" {
		t.Errorf("dead letter 1 has ID %q, want the caller's", got[1].ID)
	}
}

// testAcceptCopiesInput: the store keeps its own copy of what it is given
// and hands out copies.
func testAcceptCopiesInput(t *testing.T, e *env) {
	m, d := msg("m"), deadLetter("d")
	wantErrs(t, "Accept", accept(t, e, store.Acceptance{DedupKey: "c", Messages: []store.Message{m}, DeadLetters: []store.DeadLetter{d}}), nil)
	m.Body[0], d.Body[0] = 'X', 'X'

	got := outboxAll(t, e)
	if len(got) != 1 {
		t.Fatalf("outbox has %d messages, want 1", len(got))
	}
	equal(t, "outbox", got, withSeq([]store.Message{msg("m")}, got))
	got[0].Body[0] = 'Y'
	again := outboxAll(t, e)
	equal(t, "outbox read again", again, withSeq([]store.Message{msg("m")}, again))

	ds := deadLettersAll(t, e)
	if len(ds) != 1 {
		t.Fatalf("got %d dead letters, want 1", len(ds))
	}
	equal(t, "dead letters", ds, withIDs([]store.DeadLetter{deadLetter("d")}, ds))
	ds[0].Body[0] = 'Y'
	ds2 := deadLettersAll(t, e)
	equal(t, "dead letters read again", ds2, withIDs([]store.DeadLetter{deadLetter("d")}, ds2))
}
