package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stockgate/stockgate/store"
)

// pageSize is the page the *All helpers read with, small enough that
// pagination is exercised whenever a test stores more than a few items.
const pageSize = 7

// msg is an outbox message with every field set.
func msg(eventID string) store.Message {
	return store.Message{
		Topic:     "inbound",
		EventID:   eventID,
		Body:      []byte(`{"id":"` + eventID + `"}`),
		Key:       "key-" + eventID,
		CreatedAt: start.Add(time.Second),
	}
}

// deadLetter is a dead letter with every field but ID set.
func deadLetter(eventID string) store.DeadLetter {
	return store.DeadLetter{
		Connector: "shopify",
		EventID:   eventID,
		EventType: "inventory_levels/update",
		Reason:    "unknown sku",
		Body:      []byte(`{"raw":"` + eventID + `"}`),
		CreatedAt: start.Add(2 * time.Second),
	}
}

// alert is an alert with every field but ID set.
func alert(k store.Key, eventID string) store.Alert {
	return store.Alert{
		Kind:      store.AlertOversold,
		Key:       k,
		EventID:   eventID,
		Message:   "oversold " + k.String(),
		CreatedAt: start.Add(3 * time.Second),
	}
}

// entry is a ledger entry with every field set.
func entry(k store.Key, seq uint64, eventID string, onHand int64) store.Entry {
	return store.Entry{
		Key:           k,
		Seq:           seq,
		EventID:       eventID,
		EventType:     "inventory.adjusted",
		Connector:     "shopify",
		SourceEventID: "src-" + eventID,
		CorrelationID: "corr-" + eventID,
		Reason:        "test",
		Outcome:       store.OutcomeApplied,
		Delta:         store.Quantities{OnHand: 1, Available: 1},
		Result:        store.Quantities{OnHand: onHand, Available: onHand},
		OccurredAt:    start.Add(4 * time.Second),
		RecordedAt:    start.Add(5 * time.Second),
	}
}

// projection is the projection after entry(k, seq, _, onHand).
func projection(k store.Key, seq uint64, onHand int64) store.Projection {
	return store.Projection{
		Key:         k,
		Quantities:  store.Quantities{OnHand: onHand, Available: onHand},
		Seq:         seq,
		LastCountAt: start.Add(6 * time.Second),
		UpdatedAt:   start.Add(7 * time.Second),
	}
}

// step is a commit that appends one entry to k, expecting seq exp.
func step(k store.Key, exp uint64, eventID string, onHand int64) store.Commit {
	en := entry(k, exp+1, eventID, onHand)
	p := projection(k, exp+1, onHand)
	return store.Commit{EventID: eventID, ExpectedSeq: exp, Entry: &en, Projection: &p}
}

// extra is a keyed step for Commit.Extra.
func extra(k store.Key, exp uint64, eventID string, onHand int64) store.KeyedStep {
	return store.KeyedStep{
		ExpectedSeq: exp,
		Entry:       entry(k, exp+1, eventID, onHand),
		Projection:  projection(k, exp+1, onHand),
	}
}

func accept(t testing.TB, e *env, items ...store.Acceptance) []error {
	t.Helper()
	errs, err := e.d.Accept(e.ctx, items)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if len(errs) != len(items) {
		t.Fatalf("Accept returned %d errors for %d items", len(errs), len(items))
	}
	return errs
}

func commit(t testing.TB, e *env, items ...store.Commit) []error {
	t.Helper()
	errs, err := e.d.Commit(e.ctx, items)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if len(errs) != len(items) {
		t.Fatalf("Commit returned %d errors for %d items", len(errs), len(items))
	}
	return errs
}

// wantErrs checks per-item errors: nil wants nil, a sentinel wants
// errors.Is.
func wantErrs(t testing.TB, op string, got []error, want ...error) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d errors %v, want %d", op, len(got), got, len(want))
	}
	for i := range want {
		if (want[i] == nil) != (got[i] == nil) || (want[i] != nil && !errors.Is(got[i], want[i])) {
			t.Errorf("%s: item %d: got error %v, want %v", op, i, got[i], want[i])
		}
	}
}

func outboxAll(t testing.TB, e *env) []store.Message {
	t.Helper()
	var all []store.Message
	var after uint64
	for {
		ms, err := e.d.Outbox(e.ctx, after, pageSize)
		if err != nil {
			t.Fatalf("Outbox(%d, %d): %v", after, pageSize, err)
		}
		if len(ms) > pageSize {
			t.Fatalf("Outbox(%d, %d) returned %d messages", after, pageSize, len(ms))
		}
		if len(ms) == 0 {
			return all
		}
		for _, m := range ms {
			if m.Seq <= after {
				t.Fatalf("Outbox(%d, %d) returned seq %d, not increasing", after, pageSize, m.Seq)
			}
			after = m.Seq
		}
		all = append(all, ms...)
	}
}

func deadLettersAll(t testing.TB, e *env) []store.DeadLetter {
	t.Helper()
	var all []store.DeadLetter
	after := ""
	seen := map[string]bool{}
	for {
		ds, err := e.d.DeadLetters(e.ctx, after, pageSize)
		if err != nil {
			t.Fatalf("DeadLetters(%q, %d): %v", after, pageSize, err)
		}
		if len(ds) > pageSize {
			t.Fatalf("DeadLetters(%q, %d) returned %d", after, pageSize, len(ds))
		}
		if len(ds) == 0 {
			return all
		}
		for _, d := range ds {
			if seen[d.ID] {
				t.Fatalf("DeadLetters(%q, %d) returned %q again", after, pageSize, d.ID)
			}
			seen[d.ID] = true
		}
		all = append(all, ds...)
		after = ds[len(ds)-1].ID
	}
}

func alertsAll(t testing.TB, e *env) []store.Alert {
	t.Helper()
	var all []store.Alert
	after := ""
	seen := map[string]bool{}
	for {
		as, err := e.d.Alerts(e.ctx, after, pageSize)
		if err != nil {
			t.Fatalf("Alerts(%q, %d): %v", after, pageSize, err)
		}
		if len(as) > pageSize {
			t.Fatalf("Alerts(%q, %d) returned %d", after, pageSize, len(as))
		}
		if len(as) == 0 {
			return all
		}
		for _, a := range as {
			if seen[a.ID] {
				t.Fatalf("Alerts(%q, %d) returned %q again", after, pageSize, a.ID)
			}
			seen[a.ID] = true
		}
		all = append(all, as...)
		after = as[len(as)-1].ID
	}
}

func historyAll(t testing.TB, e *env, k store.Key) []store.Entry {
	t.Helper()
	var all []store.Entry
	var after uint64
	for {
		es, err := e.d.History(e.ctx, k, after, pageSize)
		if err != nil {
			t.Fatalf("History(%v, %d, %d): %v", k, after, pageSize, err)
		}
		if len(es) > pageSize {
			t.Fatalf("History(%v, %d, %d) returned %d", k, after, pageSize, len(es))
		}
		if len(es) == 0 {
			return all
		}
		for _, en := range es {
			if en.Seq <= after {
				t.Fatalf("History(%v, %d, %d) returned seq %d, not increasing", k, after, pageSize, en.Seq)
			}
			after = en.Seq
		}
		all = append(all, es...)
	}
}

func getProjection(t testing.TB, e *env, k store.Key) store.Projection {
	t.Helper()
	p, err := e.d.Projection(e.ctx, k)
	if err != nil {
		t.Fatalf("Projection(%v): %v", k, err)
	}
	return p
}

func applied(t testing.TB, e *env, eventID string) bool {
	t.Helper()
	ok, err := e.d.Applied(e.ctx, eventID)
	if err != nil {
		t.Fatalf("Applied(%q): %v", eventID, err)
	}
	return ok
}

// state is everything a driver shows about some keys and events.
type state struct {
	Outbox      []store.Message
	DeadLetters []store.DeadLetter
	Alerts      []store.Alert
	Projections []store.Projection
	History     [][]store.Entry
	Applied     map[string]bool
}

func snapshot(t testing.TB, e *env, keys []store.Key, eventIDs []string) state {
	t.Helper()
	s := state{
		Outbox:      outboxAll(t, e),
		DeadLetters: deadLettersAll(t, e),
		Alerts:      alertsAll(t, e),
		Applied:     map[string]bool{},
	}
	for _, k := range keys {
		s.Projections = append(s.Projections, getProjection(t, e, k))
		s.History = append(s.History, historyAll(t, e, k))
	}
	for _, id := range eventIDs {
		s.Applied[id] = applied(t, e, id)
	}
	return s
}

// equal compares by JSON encoding, which treats equal instants in UTC and
// nil and empty slices of values the same, as a driver that encodes its
// values may.
func equal(t testing.TB, what string, got, want any) {
	t.Helper()
	g, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatalf("%s: encoding got: %v", what, err)
	}
	w, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatalf("%s: encoding want: %v", what, err)
	}
	if string(g) != string(w) {
		t.Errorf("%s:\ngot  %s\nwant %s", what, g, w)
	}
}

// withSeq returns messages with the sequence numbers of got, for comparing
// everything but the store-assigned Seq.
func withSeq(want []store.Message, got []store.Message) []store.Message {
	out := make([]store.Message, len(want))
	for i := range want {
		out[i] = want[i]
		if i < len(got) {
			out[i].Seq = got[i].Seq
		}
	}
	return out
}

// withIDs is withSeq for dead letters' store-assigned IDs.
func withIDs(want []store.DeadLetter, got []store.DeadLetter) []store.DeadLetter {
	out := make([]store.DeadLetter, len(want))
	for i := range want {
		out[i] = want[i]
		if i < len(got) && out[i].ID == "" {
			out[i].ID = got[i].ID
		}
	}
	return out
}

// uniqueIDs fails when an ID is empty or repeated.
func uniqueIDs(t testing.TB, what string, ids []string) {
	t.Helper()
	seen := map[string]bool{}
	for i, id := range ids {
		if id == "" {
			t.Errorf("%s %d has no ID", what, i)
		}
		if seen[id] {
			t.Errorf("%s %d repeats ID %q", what, i, id)
		}
		seen[id] = true
	}
}

func key(sku, loc string) store.Key { return store.Key{SKU: sku, Location: loc} }

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}
