package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/store"
)

// testConcurrentAccept: concurrent Accepts with distinct keys all succeed;
// every message is in the outbox once, each caller's in its own order.
func testConcurrentAccept(t *testing.T, e *env) {
	workers, per := 8, 200
	if testing.Short() {
		per = 25
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				id := fmt.Sprintf("ev-%d-%d", w, i)
				errs, err := e.d.Accept(e.ctx, []store.Acceptance{{
					DedupKey: "d-" + id, Messages: []store.Message{msg(id)},
				}})
				if err == nil && (len(errs) != 1 || errs[0] != nil) {
					err = fmt.Errorf("item errors %v", errs)
				}
				if err != nil {
					t.Errorf("worker %d: Accept %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()

	next := make([]int, workers)
	seen := map[string]bool{}
	all := outboxAll(t, e)
	for _, m := range all {
		if seen[m.EventID] {
			t.Fatalf("message %s is in the outbox twice", m.EventID)
		}
		seen[m.EventID] = true
		var w, i int
		if _, err := fmt.Sscanf(m.EventID, "ev-%d-%d", &w, &i); err != nil || w < 0 || w >= workers {
			t.Fatalf("unexpected message %q", m.EventID)
		}
		if i != next[w] {
			t.Fatalf("worker %d: message %d follows %d", w, i, next[w]-1)
		}
		next[w]++
	}
	if len(all) != workers*per {
		t.Errorf("outbox has %d messages, want %d", len(all), workers*per)
	}
}

// testConcurrentCommitSameKey: writers racing on one key with
// read/compute/commit/retry-on-conflict loops lose no update and leave a
// gap-free history.
func testConcurrentCommitSameKey(t *testing.T, e *env) {
	workers, per := 8, 25
	if testing.Short() {
		per = 5
	}
	k := key("HOT", "WH")
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				id := fmt.Sprintf("ev-%d-%d", w, i)
				for {
					p, err := e.d.Projection(e.ctx, k)
					if err != nil {
						t.Errorf("worker %d: Projection: %v", w, err)
						return
					}
					errs, err := e.d.Commit(e.ctx, []store.Commit{step(k, p.Seq, id, p.OnHand+1)})
					if err == nil && len(errs) != 1 {
						err = fmt.Errorf("%d item errors for 1 item", len(errs))
					}
					if err != nil {
						t.Errorf("worker %d: Commit: %v", w, err)
						return
					}
					if errs[0] == nil {
						break
					}
					if !errors.Is(errs[0], store.ErrConflict) {
						t.Errorf("worker %d: Commit: %v", w, errs[0])
						return
					}
				}
			}
		})
	}
	wg.Wait()

	n := workers * per
	p := getProjection(t, e, k)
	if p.OnHand != int64(n) || p.Seq != uint64(n) {
		t.Errorf("projection has on hand %d at seq %d, want %d at %d", p.OnHand, p.Seq, n, n)
	}
	hist := historyAll(t, e, k)
	if len(hist) != n {
		t.Fatalf("history has %d entries, want %d", len(hist), n)
	}
	seen := map[string]bool{}
	for i, en := range hist {
		if en.Seq != uint64(i+1) || en.Result.OnHand != int64(i+1) {
			t.Fatalf("entry %d has seq %d and on hand %d, want %d and %d", i, en.Seq, en.Result.OnHand, i+1, i+1)
		}
		if seen[en.EventID] {
			t.Fatalf("event %s applied twice", en.EventID)
		}
		seen[en.EventID] = true
	}
}

// testClosedDriver: a closed driver fails every call.
func testClosedDriver(t *testing.T, e *env) {
	if err := e.d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	k := key("S", "L")
	for name, call := range map[string]func() error{
		"Ping": func() error { return e.d.Ping(e.ctx) },
		"Accept": func() error {
			_, err := e.d.Accept(e.ctx, []store.Acceptance{{Messages: []store.Message{msg("m")}}})
			return err
		},
		"Commit": func() error {
			_, err := e.d.Commit(e.ctx, []store.Commit{step(k, 0, "ev", 1)})
			return err
		},
		"Applied":     func() error { _, err := e.d.Applied(e.ctx, "ev"); return err },
		"Projection":  func() error { _, err := e.d.Projection(e.ctx, k); return err },
		"Projections": func() error { _, err := e.d.Projections(e.ctx, "S"); return err },
		"History":     func() error { _, err := e.d.History(e.ctx, k, 0, 10); return err },
		"Outbox":      func() error { _, err := e.d.Outbox(e.ctx, 0, 10); return err },
		"DeleteOutbox": func() error {
			return e.d.DeleteOutbox(e.ctx, []uint64{1})
		},
		"DeadLetters": func() error { _, err := e.d.DeadLetters(e.ctx, "", 10); return err },
		"Alerts":      func() error { _, err := e.d.Alerts(e.ctx, "", 10); return err },
	} {
		if err := call(); err == nil {
			t.Errorf("%s after Close: no error", name)
		}
	}
}

// testClosedStore: through the portable type, every call after Close fails
// with store.ErrClosed, and so does a second Close.
func testClosedStore(t *testing.T, e *env) {
	s := store.New(e.d)
	if err := s.Ping(e.ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	k := key("S", "L")
	c := step(k, 0, "ev", 1)
	for name, call := range map[string]func() error{
		"Ping":   func() error { return s.Ping(e.ctx) },
		"Accept": func() error { return s.Accept(e.ctx, store.Acceptance{Messages: []store.Message{msg("m")}}) },
		"Commit": func() error { return s.Commit(e.ctx, c) },
		"Applied": func() error {
			_, err := s.Applied(e.ctx, "ev")
			return err
		},
		"Projection":   func() error { _, err := s.Projection(e.ctx, k); return err },
		"Projections":  func() error { _, err := s.Projections(e.ctx, "S"); return err },
		"History":      func() error { _, err := s.History(e.ctx, k, 0, 10); return err },
		"Outbox":       func() error { _, err := s.Outbox(e.ctx, 0, 10); return err },
		"DeleteOutbox": func() error { return s.DeleteOutbox(e.ctx, []uint64{1}) },
		"DeadLetters":  func() error { _, err := s.DeadLetters(e.ctx, "", 10); return err },
		"Alerts":       func() error { _, err := s.Alerts(e.ctx, "", 10); return err },
		"Close":        s.Close,
	} {
		if err := call(); !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: got %v, want ErrClosed", name, err)
		}
	}
	// The driver underneath was closed too.
	if err := e.d.Ping(e.ctx); err == nil {
		t.Error("driver Ping after Store.Close: no error")
	}
}

// testPersistence: everything survives a reopen, and the store carries on
// where it stopped: dedup keys and their expiry, applied marks, sequence
// numbers, IDs.
func testPersistence(t *testing.T, e *env) {
	from, to := key("SKU", "A"), key("SKU", "B")
	wantErrs(t, "Accept", accept(t, e,
		store.Acceptance{DedupKey: "forever", Messages: []store.Message{msg("m1"), msg("m2")}, DeadLetters: []store.DeadLetter{deadLetter("d1")}},
		store.Acceptance{DedupKey: "hour", DedupTTL: time.Hour, Messages: []store.Message{msg("m3")}},
	), nil, nil)
	tr := loaded(step(from, 0, "t1", -1))
	tr.Extra = []store.KeyedStep{extra(to, 0, "t1", 1)}
	wantErrs(t, "Commit", commit(t, e, tr, loaded(step(from, 1, "t2", -2))), nil, nil)
	ob := outboxAll(t, e)
	if len(ob) != 5 {
		t.Fatalf("outbox has %d messages, want 5", len(ob))
	}
	top := ob[len(ob)-1].Seq
	if err := e.d.DeleteOutbox(e.ctx, []uint64{ob[0].Seq, top}); err != nil {
		t.Fatalf("DeleteOutbox: %v", err)
	}

	keys, events := []store.Key{from, to}, []string{"t1", "t2", "t3"}
	before := snapshot(t, e, keys, events)
	e.reopen(t)
	equal(t, "state after reopen", snapshot(t, e, keys, events), before)
	ps, err := e.d.Projections(e.ctx, "SKU")
	if err != nil {
		t.Fatalf("Projections: %v", err)
	}
	equal(t, "projections after reopen", ps, before.Projections)

	wantErrs(t, "Accept after reopen", accept(t, e,
		store.Acceptance{DedupKey: "forever", Messages: []store.Message{msg("x")}},
		store.Acceptance{DedupKey: "hour", Messages: []store.Message{msg("x")}},
	), store.ErrDuplicate, store.ErrDuplicate)
	e.clock.Advance(time.Hour)
	dl := deadLetter("d2")
	wantErrs(t, "Accept after expiry", accept(t, e,
		store.Acceptance{DedupKey: "hour", Messages: []store.Message{msg("m4")}, DeadLetters: []store.DeadLetter{dl}},
	), nil)
	wantErrs(t, "Commit after reopen", commit(t, e,
		loaded(step(from, 1, "t1", 0)),
		loaded(step(from, 2, "t3", -3)),
	), store.ErrAlreadyApplied, nil)

	ob = outboxAll(t, e)
	if n := len(ob); n != 5 || ob[n-2].Seq <= top {
		t.Errorf("after reopen: outbox %v, want 5 messages, the new ones above deleted seq %d", ob, top)
	}
	var dls, als []string
	for _, d := range deadLettersAll(t, e) {
		dls = append(dls, d.ID)
	}
	for _, a := range alertsAll(t, e) {
		als = append(als, a.ID)
	}
	if len(dls) != 5 || len(als) != 3 {
		t.Errorf("got %d dead letters and %d alerts, want 5 and 3", len(dls), len(als))
	}
	uniqueIDs(t, "dead letter", dls)
	uniqueIDs(t, "alert", als)

	// And once more, after more writes.
	before = snapshot(t, e, keys, events)
	e.reopen(t)
	equal(t, "state after second reopen", snapshot(t, e, keys, events), before)
}
