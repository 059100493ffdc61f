package storetest

import (
	"errors"
	"fmt"
	"sort"
	"testing"

	"github.com/stockgate/stockgate/store"
)

// confusable are keys a naive encoding would mix up: SKUs that prefix each
// other, separators inside names, empty parts, non-ASCII.
var confusable = []store.Key{
	{SKU: "A", Location: "x"},
	{SKU: "A", Location: "b"},
	{SKU: "A", Location: "a/b"},
	{SKU: "A", Location: "é"},
	{SKU: "A", Location: ""},
	{SKU: "A", Location: "b@c"},
	{SKU: "A", Location: "bc"},
	{SKU: "AB", Location: "a"},
	{SKU: "AB", Location: ""},
	{SKU: "A@B", Location: "c"},
	{SKU: "a@b", Location: "c"},
	{SKU: "a", Location: "b@c"},
	{SKU: "", Location: "z"},
	{SKU: "A/x", Location: "y"},
	{SKU: "Å", Location: "1"},
	{SKU: "📦", Location: "倉庫/東京"},
	{SKU: "A\x01", Location: "\x01"},
}

// testProjectionUnknownKey: a key with no entries has the zero projection
// with its Key filled in, and no error.
func testProjectionUnknownKey(t *testing.T, e *env) {
	wantErrs(t, "Commit", commit(t, e, step(key("SKU", "WH"), 0, "ev", 3)), nil)
	for _, k := range []store.Key{key("SKU", "OTHER"), key("NOPE", "WH"), key("", "")} {
		equal(t, fmt.Sprintf("Projection(%q)", k), getProjection(t, e, k), store.Projection{Key: k})
	}
}

// testProjectionsBySKU: Projections returns every location of exactly that
// SKU, ordered by location.
func testProjectionsBySKU(t *testing.T, e *env) {
	var cs []store.Commit
	want := map[string][]store.Projection{}
	for i, k := range confusable {
		cs = append(cs, step(k, 0, fmt.Sprintf("ev-%d", i), int64(i)))
		want[k.SKU] = append(want[k.SKU], projection(k, 1, int64(i)))
	}
	errs := commit(t, e, cs...)
	wantErrs(t, "Commit", errs, make([]error, len(cs))...)
	want["missing"], want["A/"], want["Ab"] = nil, nil, nil
	for sku, ps := range want {
		sort.Slice(ps, func(i, j int) bool { return ps[i].Location < ps[j].Location })
		got, err := e.d.Projections(e.ctx, sku)
		if err != nil {
			t.Fatalf("Projections(%q): %v", sku, err)
		}
		if len(ps) == 0 {
			if len(got) != 0 {
				t.Errorf("Projections(%q): got %d, want none", sku, len(got))
			}
			continue
		}
		equal(t, fmt.Sprintf("Projections(%q)", sku), got, ps)
	}
}

// testHistory: History pages through one key's entries in Seq order.
func testHistory(t *testing.T, e *env) {
	k := key("A", "b")
	const n = 5
	var want []store.Entry
	// Interleave the key's steps with steps on confusable keys.
	for i := range uint64(n) {
		var cs []store.Commit
		for j, o := range confusable {
			if o != k && i < 3 {
				cs = append(cs, step(o, i, fmt.Sprintf("o-%d-%d", j, i), int64(i+1)))
			}
		}
		cs = append(cs, step(k, i, fmt.Sprintf("k-%d", i), int64(i+1)))
		want = append(want, entry(k, i+1, fmt.Sprintf("k-%d", i), int64(i+1)))
		wantErrs(t, "Commit", commit(t, e, cs...), make([]error, len(cs))...)
	}
	for _, tc := range []struct {
		after uint64
		limit int
		want  []store.Entry
	}{
		{0, 10, want},
		{0, n, want},
		{0, 2, want[:2]},
		{2, 2, want[2:4]},
		{4, 10, want[4:]},
		{n, 10, nil},
		{n + 100, 10, nil},
		{0, 0, nil},
	} {
		got, err := e.d.History(e.ctx, k, tc.after, tc.limit)
		if err != nil {
			t.Fatalf("History(%d, %d): %v", tc.after, tc.limit, err)
		}
		what := fmt.Sprintf("History(%v, %d, %d)", k, tc.after, tc.limit)
		if len(tc.want) == 0 {
			if len(got) != 0 {
				t.Errorf("%s: got %d entries, want none", what, len(got))
			}
			continue
		}
		equal(t, what, got, tc.want)
	}
	for j, o := range confusable {
		if o == k {
			continue
		}
		var w []store.Entry
		for i := range uint64(3) {
			w = append(w, entry(o, i+1, fmt.Sprintf("o-%d-%d", j, i), int64(i+1)))
		}
		equal(t, fmt.Sprintf("history of %q", o), historyAll(t, e, o), w)
	}
	if got := historyAll(t, e, key("A", "nowhere")); len(got) != 0 {
		t.Errorf("history of an unknown key: got %d entries", len(got))
	}
}

// testHistoryLong: History pages through a key with more entries than a
// store is likely to keep together (boltstore indexes every 32nd entry
// and walks back from there), from every starting point, by page sizes
// that cross those boundaries; the key's steps are interleaved with
// another key's, and some steps touch both (a transfer).
func testHistoryLong(t *testing.T, e *env) {
	k, o := key("LONG", "a"), key("LONG", "b")
	const n = 100
	var want []store.Entry
	var oSeq uint64
	for i := range uint64(n) {
		id := fmt.Sprintf("long-%d", i)
		c := step(k, i, id, int64(i+1))
		if i%7 == 3 {
			c.Extra = []store.KeyedStep{extra(o, oSeq, id, int64(oSeq+1))}
			oSeq++
		}
		cs := []store.Commit{c}
		if i%3 == 0 {
			cs = append(cs, step(o, oSeq, fmt.Sprintf("other-%d", i), int64(oSeq+1)))
			oSeq++
		}
		wantErrs(t, "Commit", commit(t, e, cs...), make([]error, len(cs))...)
		want = append(want, entry(k, i+1, id, int64(i+1)))
	}
	for _, limit := range []int{1, 5, 31, 32, 33, 64, 100, 1000} {
		for after := uint64(0); after <= n; after++ {
			got, err := e.d.History(e.ctx, k, after, limit)
			if err != nil {
				t.Fatalf("History(%d, %d): %v", after, limit, err)
			}
			w := want[after:min(n, after+uint64(limit))]
			if len(got) != len(w) || len(w) > 0 && (got[0].Seq != w[0].Seq || got[len(got)-1].Seq != w[len(w)-1].Seq) {
				t.Fatalf("History(%d, %d): %d entries, want %d (seq %d to %d)", after, limit, len(got), len(w), after+1, after+uint64(len(w)))
			}
			if len(w) > 0 && (limit == 33 || after%32 == 0) {
				equal(t, fmt.Sprintf("History(%d, %d)", after, limit), got, w)
			}
		}
	}
	if got := historyAll(t, e, o); uint64(len(got)) != oSeq {
		t.Errorf("history of the other key: %d entries, want %d", len(got), oSeq)
	}
}

// testOutboxPaginationAndDelete: Outbox pages by seq; DeleteOutbox removes
// exactly the given seqs, ignores missing ones, and never lets a seq be
// reused.
func testOutboxPaginationAndDelete(t *testing.T, e *env) {
	var ms []store.Message
	for _, id := range ids("m", 5) {
		ms = append(ms, msg(id))
	}
	wantErrs(t, "Accept", accept(t, e, store.Acceptance{Messages: ms}), nil)
	all := outboxAll(t, e)
	if len(all) != 5 {
		t.Fatalf("outbox has %d messages, want 5", len(all))
	}
	equal(t, "outbox", all, withSeq(ms, all))
	s := func(i int) uint64 { return all[i].Seq }

	for _, tc := range []struct {
		after uint64
		limit int
		want  []store.Message
	}{
		{0, 2, all[:2]},
		{s(1), 2, all[2:4]},
		{s(3), 2, all[4:]},
		{s(4), 10, nil},
		{0, 0, nil},
		{s(0) - 1, 1, all[:1]},
	} {
		got, err := e.d.Outbox(e.ctx, tc.after, tc.limit)
		if err != nil {
			t.Fatalf("Outbox(%d, %d): %v", tc.after, tc.limit, err)
		}
		what := fmt.Sprintf("Outbox(%d, %d)", tc.after, tc.limit)
		if len(tc.want) == 0 {
			if len(got) != 0 {
				t.Errorf("%s: got %d, want none", what, len(got))
			}
			continue
		}
		equal(t, what, got, tc.want)
	}

	del := func(seqs ...uint64) {
		t.Helper()
		if err := e.d.DeleteOutbox(e.ctx, seqs); err != nil {
			t.Fatalf("DeleteOutbox(%v): %v", seqs, err)
		}
	}
	del(s(1), s(3), s(4)+1000)
	equal(t, "after delete", outboxAll(t, e), []store.Message{all[0], all[2], all[4]})
	del()
	del(s(1))
	equal(t, "after deleting missing", outboxAll(t, e), []store.Message{all[0], all[2], all[4]})
	del(s(0), s(2), s(4))
	if got := outboxAll(t, e); len(got) != 0 {
		t.Fatalf("outbox has %d messages after deleting all", len(got))
	}

	// Seqs keep increasing past deleted ones, from Accept and Commit alike.
	wantErrs(t, "Accept", accept(t, e, store.Acceptance{Messages: []store.Message{msg("late")}}), nil)
	c := step(key("S", "L"), 0, "ev", 1)
	c.Outbox = []store.Message{msg("later")}
	wantErrs(t, "Commit", commit(t, e, c), nil)
	got := outboxAll(t, e)
	equal(t, "outbox", got, withSeq([]store.Message{msg("late"), msg("later")}, got))
	if len(got) == 2 && got[0].Seq <= s(4) {
		t.Errorf("new message has seq %d, not above the deleted %d", got[0].Seq, s(4))
	}
}

// testDeadLettersPagination: dead letters from Accept and Commit are listed
// oldest first and page by ID.
func testDeadLettersPagination(t *testing.T, e *env) {
	d := func(id string) store.DeadLetter { return deadLetter(id) }
	wantErrs(t, "Accept", accept(t, e, store.Acceptance{DedupKey: "w1", DeadLetters: []store.DeadLetter{d("d0"), d("d1")}}), nil)
	d2 := d("d2")
	wantErrs(t, "Commit", commit(t, e, store.Commit{EventID: "d2", DeadLetter: &d2}), nil)
	wantErrs(t, "Accept", accept(t, e, store.Acceptance{DedupKey: "w2", DeadLetters: []store.DeadLetter{d("d3")}}), nil)
	d4 := d("d4")
	wantErrs(t, "Commit", commit(t, e, store.Commit{EventID: "d4", DeadLetter: &d4}), nil)

	all := deadLettersAll(t, e)
	want := []store.DeadLetter{d("d0"), d("d1"), d2, d("d3"), d4}
	if len(all) != len(want) {
		t.Fatalf("got %d dead letters, want %d", len(all), len(want))
	}
	equal(t, "dead letters", all, withIDs(want, all))
	var got []string
	for _, x := range all {
		got = append(got, x.ID)
	}
	uniqueIDs(t, "dead letter", got)

	for _, tc := range []struct {
		after string
		limit int
		want  []store.DeadLetter
	}{
		{"", 2, all[:2]},
		{all[1].ID, 2, all[2:4]},
		{all[3].ID, 2, all[4:]},
		{all[4].ID, 2, nil},
		{"", 0, nil},
	} {
		got, err := e.d.DeadLetters(e.ctx, tc.after, tc.limit)
		if err != nil {
			t.Fatalf("DeadLetters(%q, %d): %v", tc.after, tc.limit, err)
		}
		what := fmt.Sprintf("DeadLetters(%q, %d)", tc.after, tc.limit)
		if len(tc.want) == 0 {
			if len(got) != 0 {
				t.Errorf("%s: got %d, want none", what, len(got))
			}
			continue
		}
		equal(t, what, got, tc.want)
	}
	if _, err := e.d.DeadLetters(e.ctx, "no-such-id", 2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeadLetters after an unknown id: got %v, want ErrNotFound", err)
	}
}

// testAlertsPagination: alerts are listed oldest first and page by ID.
func testAlertsPagination(t *testing.T, e *env) {
	k := key("SKU", "WH")
	var want []store.Alert
	var cs []store.Commit
	for i := range 5 {
		c := step(k, uint64(i), fmt.Sprintf("ev-%d", i), int64(i))
		a := alert(k, c.EventID)
		a.Message = fmt.Sprintf("alert %d", i)
		c.Alerts = []store.Alert{a}
		want = append(want, a)
		if i == 1 { // two alerts in one commit
			b := alert(k, c.EventID)
			b.Kind, b.Message = store.AlertDrift, "alert 1b"
			c.Alerts = append(c.Alerts, b)
			want = append(want, b)
		}
		cs = append(cs, c)
	}
	wantErrs(t, "Commit", commit(t, e, cs[:2]...), nil, nil)
	for _, c := range cs[2:] {
		wantErrs(t, "Commit", commit(t, e, c), nil)
	}

	all := alertsAll(t, e)
	if len(all) != len(want) {
		t.Fatalf("got %d alerts, want %d", len(all), len(want))
	}
	var got []string
	for i, a := range all {
		got = append(got, a.ID)
		want[i].ID = a.ID
	}
	uniqueIDs(t, "alert", got)
	equal(t, "alerts", all, want)

	for _, tc := range []struct {
		after string
		limit int
		want  []store.Alert
	}{
		{"", 4, all[:4]},
		{all[3].ID, 4, all[4:]},
		{all[5].ID, 4, nil},
		{"", 0, nil},
	} {
		got, err := e.d.Alerts(e.ctx, tc.after, tc.limit)
		if err != nil {
			t.Fatalf("Alerts(%q, %d): %v", tc.after, tc.limit, err)
		}
		what := fmt.Sprintf("Alerts(%q, %d)", tc.after, tc.limit)
		if len(tc.want) == 0 {
			if len(got) != 0 {
				t.Errorf("%s: got %d, want none", what, len(got))
			}
			continue
		}
		equal(t, what, got, tc.want)
	}
	if _, err := e.d.Alerts(e.ctx, "no-such-id", 2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Alerts after an unknown id: got %v, want ErrNotFound", err)
	}
}
