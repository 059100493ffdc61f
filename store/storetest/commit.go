package storetest

import (
	"testing"

	"github.com/stockgate/stockgate/store"
)

// testCommitAppliesStep: a commit appends the entry, replaces the
// projection, marks the event applied, queues its messages, raises its
// alerts and records its dead letter.
func testCommitAppliesStep(t *testing.T, e *env) {
	k := key("SKU-1", "WH-1")
	c := step(k, 0, "ev-1", 10)
	av := msg("av-1")
	av.Topic = "availability"
	a1, a2 := alert(k, "ev-1"), alert(k, "ev-1")
	a2.Kind, a2.ID = store.AlertDrift, "caller-alert"
	dl := deadLetter("ev-1")
	c.Outbox, c.Alerts, c.DeadLetter = []store.Message{av}, []store.Alert{a1, a2}, &dl
	wantErrs(t, "Commit", commit(t, e, c), nil)

	equal(t, "history", historyAll(t, e, k), []store.Entry{entry(k, 1, "ev-1", 10)})
	equal(t, "projection", getProjection(t, e, k), projection(k, 1, 10))
	if !applied(t, e, "ev-1") {
		t.Error("ev-1 not applied")
	}
	if applied(t, e, "ev-2") {
		t.Error("ev-2 applied before it was committed")
	}
	ob := outboxAll(t, e)
	equal(t, "outbox", ob, withSeq([]store.Message{av}, ob))
	if len(ob) == 1 && ob[0].Seq == 0 {
		t.Error("outbox message has seq 0")
	}
	as := alertsAll(t, e)
	if len(as) != 2 {
		t.Fatalf("got %d alerts, want 2", len(as))
	}
	uniqueIDs(t, "alert", []string{as[0].ID, as[1].ID})
	a1.ID = as[0].ID
	equal(t, "alerts", as, []store.Alert{a1, a2})
	ds := deadLettersAll(t, e)
	equal(t, "dead letters", ds, withIDs([]store.DeadLetter{dl}, ds))

	// The store numbers entries ExpectedSeq+1, whatever the caller set.
	other := key("SKU-1", "WH-2")
	c = store.Commit{EventID: "ev-unnumbered", Extra: []store.KeyedStep{extra(other, 0, "ev-unnumbered", 5)}}
	c.Extra[0].Entry.Seq, c.Extra[0].Projection.Seq = 0, 0
	wantErrs(t, "unnumbered Commit", commit(t, e, c), nil)
	equal(t, "unnumbered history", historyAll(t, e, other), []store.Entry{entry(other, 1, "ev-unnumbered", 5)})
	equal(t, "unnumbered projection", getProjection(t, e, other), projection(other, 1, 5))

	// The next step on the key appends Seq 2.
	wantErrs(t, "second Commit", commit(t, e, step(k, 1, "ev-2", 11)), nil)
	equal(t, "history", historyAll(t, e, k), []store.Entry{entry(k, 1, "ev-1", 10), entry(k, 2, "ev-2", 11)})
	equal(t, "projection", getProjection(t, e, k), projection(k, 2, 11))
}

// loaded returns c with an outbox message, an alert and a dead letter, so
// that a test can see none of them was written.
func loaded(c store.Commit) store.Commit {
	k := key("unused", "unused")
	if c.Entry != nil {
		k = c.Entry.Key
	}
	dl := deadLetter(c.EventID)
	c.Outbox = []store.Message{msg("out-" + c.EventID)}
	c.Alerts = []store.Alert{alert(k, c.EventID)}
	c.DeadLetter = &dl
	return c
}

// testCommitAlreadyApplied: a second commit of an event is
// ErrAlreadyApplied, whatever its expected seq, and changes nothing.
func testCommitAlreadyApplied(t *testing.T, e *env) {
	k := key("SKU", "LOC")
	wantErrs(t, "first Commit", commit(t, e, step(k, 0, "ev-1", 1)), nil)
	before := snapshot(t, e, []store.Key{k}, []string{"ev-1"})

	for _, tc := range []struct {
		name string
		c    store.Commit
	}{
		{"fresh seq", step(k, 1, "ev-1", 2)},
		{"stale seq", step(k, 0, "ev-1", 5)},
		{"no entry", store.Commit{EventID: "ev-1"}},
	} {
		wantErrs(t, tc.name, commit(t, e, loaded(tc.c)), store.ErrAlreadyApplied)
	}
	equal(t, "state after repeats", snapshot(t, e, []store.Key{k}, []string{"ev-1"}), before)
}

// testCommitConflict: a stale (or future) expected seq is ErrConflict and
// changes nothing, not even the applied mark.
func testCommitConflict(t *testing.T, e *env) {
	k, fresh := key("SKU", "LOC"), key("SKU", "NEW")
	wantErrs(t, "first Commit", commit(t, e, step(k, 0, "ev-1", 1)), nil)
	keys, events := []store.Key{k, fresh}, []string{"ev-1", "ev-2"}
	before := snapshot(t, e, keys, events)

	for _, tc := range []struct {
		name string
		c    store.Commit
	}{
		{"stale", step(k, 0, "ev-2", 9)},
		{"ahead", step(k, 2, "ev-2", 9)},
		{"far ahead", step(k, 7, "ev-2", 9)},
		{"new key expects 1", step(fresh, 1, "ev-2", 9)},
	} {
		wantErrs(t, tc.name, commit(t, e, loaded(tc.c)), store.ErrConflict)
	}
	equal(t, "state after conflicts", snapshot(t, e, keys, events), before)

	// The conflict left the event unapplied, so the retry goes through.
	wantErrs(t, "retry", commit(t, e, step(k, 1, "ev-2", 2)), nil)
	equal(t, "projection", getProjection(t, e, k), projection(k, 2, 2))
}

// testCommitExtraAllOrNothing: a commit that touches two keys writes both
// or, when either expected seq is stale, nothing at all.
func testCommitExtraAllOrNothing(t *testing.T, e *env) {
	from, to := key("SKU", "A"), key("SKU", "B")
	transfer := func(id string, expFrom, expTo uint64) store.Commit {
		c := step(from, expFrom, id, -int64(expFrom+1))
		c.Extra = []store.KeyedStep{extra(to, expTo, id, int64(expTo+1))}
		return loaded(c)
	}
	wantErrs(t, "first transfer", commit(t, e, transfer("t1", 0, 0)), nil)
	equal(t, "from history", historyAll(t, e, from), []store.Entry{entry(from, 1, "t1", -1)})
	equal(t, "to history", historyAll(t, e, to), []store.Entry{entry(to, 1, "t1", 1)})
	equal(t, "to projection", getProjection(t, e, to), projection(to, 1, 1))

	keys, events := []store.Key{from, to}, []string{"t1", "t2", "t3", "t4"}
	before := snapshot(t, e, keys, events)
	for _, tc := range []struct {
		name string
		c    store.Commit
	}{
		{"extra stale", transfer("t2", 1, 0)},
		{"main stale", transfer("t3", 0, 1)},
		{"extra ahead", transfer("t2", 1, 2)},
		{"extras only, second stale", loaded(store.Commit{EventID: "t4", Extra: []store.KeyedStep{
			extra(from, 1, "t4", 7), extra(to, 0, "t4", 7),
		}})},
	} {
		wantErrs(t, tc.name, commit(t, e, tc.c), store.ErrConflict)
	}
	equal(t, "state after conflicts", snapshot(t, e, keys, events), before)

	wantErrs(t, "second transfer", commit(t, e, transfer("t2", 1, 1)), nil)
	equal(t, "from projection", getProjection(t, e, from), projection(from, 2, -2))
	equal(t, "to projection", getProjection(t, e, to), projection(to, 2, 2))
	wantErrs(t, "extras only", commit(t, e, store.Commit{EventID: "t4", Extra: []store.KeyedStep{
		extra(from, 2, "t4", 7), extra(to, 2, "t4", 8),
	}}), nil)
	equal(t, "to projection", getProjection(t, e, to), projection(to, 3, 8))

	// Steps apply in order: a key's second step in one commit expects the
	// seq its first step wrote.
	same := key("SKU", "SAME")
	twice := func(id string, exp2 uint64) store.Commit {
		c := step(same, 0, id, 1)
		c.Extra = []store.KeyedStep{extra(same, exp2, id, 2)}
		return c
	}
	wantErrs(t, "same key, both expecting 0", commit(t, e, twice("s1", 0)), store.ErrConflict)
	if got := historyAll(t, e, same); len(got) != 0 {
		t.Errorf("conflicting steps on one key wrote %d entries", len(got))
	}
	wantErrs(t, "same key in order", commit(t, e, twice("s2", 1)), nil)
	equal(t, "history of a key stepped twice", historyAll(t, e, same), []store.Entry{entry(same, 1, "s2", 1), entry(same, 2, "s2", 2)})
	equal(t, "projection of a key stepped twice", getProjection(t, e, same), projection(same, 2, 2))
}

// testCommitWithoutEntry: a commit with only an event id and a dead letter
// marks the event applied and stores the dead letter once.
func testCommitWithoutEntry(t *testing.T, e *env) {
	dl := deadLetter("ev-x")
	wantErrs(t, "Commit", commit(t, e,
		store.Commit{EventID: "ev-x", DeadLetter: &dl},
		store.Commit{EventID: "ev-y"},
	), nil, nil)
	if !applied(t, e, "ev-x") || !applied(t, e, "ev-y") {
		t.Error("events without entries not applied")
	}
	ds := deadLettersAll(t, e)
	equal(t, "dead letters", ds, withIDs([]store.DeadLetter{dl}, ds))
	if ob := outboxAll(t, e); len(ob) != 0 {
		t.Errorf("outbox has %d messages, want 0", len(ob))
	}
	wantErrs(t, "repeat", commit(t, e, store.Commit{EventID: "ev-x", DeadLetter: &dl}), store.ErrAlreadyApplied)
	if got := len(deadLettersAll(t, e)); got != 1 {
		t.Errorf("got %d dead letters after a repeat, want 1", got)
	}
}

// testCommitBatchItemsIndependent: items of one call succeed or fail on
// their own, and each sees the effects of the items before it.
func testCommitBatchItemsIndependent(t *testing.T, e *env) {
	a, b := key("SKU", "A"), key("SKU", "B")
	errs := commit(t, e,
		step(a, 0, "e1", 1),
		loaded(step(b, 5, "e2", 1)), // conflict
		step(a, 1, "e3", 2),         // sees e1's seq
		loaded(step(b, 0, "e1", 1)), // e1 applied by the first item
		step(b, 0, "e4", 1),         // b untouched by the failures
	)
	wantErrs(t, "Commit", errs, nil, store.ErrConflict, nil, store.ErrAlreadyApplied, nil)
	equal(t, "history a", historyAll(t, e, a), []store.Entry{entry(a, 1, "e1", 1), entry(a, 2, "e3", 2)})
	equal(t, "history b", historyAll(t, e, b), []store.Entry{entry(b, 1, "e4", 1)})
	if applied(t, e, "e2") {
		t.Error("conflicting e2 applied")
	}
	if n := len(outboxAll(t, e)) + len(alertsAll(t, e)) + len(deadLettersAll(t, e)); n != 0 {
		t.Errorf("failed items left %d outbox messages, alerts or dead letters", n)
	}
}

// testCommitDeletesOutbox: Commit.DeleteOutbox removes the named outbox
// messages in the same step, ignores missing ones, and deletes nothing when
// the commit fails (already applied, conflict), also within a batch.
func testCommitDeletesOutbox(t *testing.T, e *env) {
	in := []store.Message{msg("in-1"), msg("in-2"), msg("in-3"), msg("in-4")}
	wantErrs(t, "Accept", accept(t, e, store.Acceptance{DedupKey: "d-1", Messages: in}), nil)
	ob := outboxAll(t, e)
	if len(ob) != len(in) {
		t.Fatalf("outbox holds %d messages, want %d", len(ob), len(in))
	}
	seq := map[string]uint64{}
	for _, m := range ob {
		seq[m.EventID] = m.Seq
	}
	remaining := func(want ...string) {
		t.Helper()
		var got []string
		for _, m := range outboxAll(t, e) {
			got = append(got, m.EventID)
		}
		equal(t, "outbox event ids", got, want)
	}

	k := key("SKU-DEL", "LOC")
	c := step(k, 0, "ev-1", 1)
	av := msg("av-1")
	av.Topic = "availability"
	c.Outbox = []store.Message{av}
	c.DeleteOutbox = []uint64{seq["in-1"], seq["in-4"] + 1000} // the second is missing
	wantErrs(t, "Commit deleting in-1", commit(t, e, c), nil)
	remaining("in-2", "in-3", "in-4", "av-1")

	repeat := step(k, 1, "ev-1", 2)
	repeat.DeleteOutbox = []uint64{seq["in-2"]}
	wantErrs(t, "repeated Commit", commit(t, e, repeat), store.ErrAlreadyApplied)
	stale := step(k, 0, "ev-2", 2)
	stale.DeleteOutbox = []uint64{seq["in-2"]}
	wantErrs(t, "stale Commit", commit(t, e, stale), store.ErrConflict)
	remaining("in-2", "in-3", "in-4", "av-1")

	// In one batch, the failing item keeps its message, the other deletes.
	bad := step(k, 0, "ev-3", 3)
	bad.DeleteOutbox = []uint64{seq["in-2"]}
	good := store.Commit{EventID: "ev-4", DeleteOutbox: []uint64{seq["in-3"], seq["in-4"]}}
	wantErrs(t, "batch", commit(t, e, bad, good), store.ErrConflict, nil)
	remaining("in-2", "av-1")
	if !applied(t, e, "ev-4") {
		t.Error("ev-4, a commit without entry, not applied")
	}
}
