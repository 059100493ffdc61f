package connectors_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

// TestSharedEchoLog: two logs over one store stand for two replicas (or
// the gateway before and after a restart): a write either records is
// the other's too, the latest one wins, and channels do not share keys.
func TestSharedEchoLog(t *testing.T) {
	st := store.New(memstore.New(nil))
	defer st.Close()
	a := connectors.NewSharedEchoLog(st, "square", nil)
	b := connectors.NewSharedEchoLog(st, "square", nil)
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

	if _, _, ok := b.Pushed("VAR-1@LOC-B"); ok {
		t.Fatal("a write before any was made")
	}
	a.Record("VAR-1@LOC-B", 8, t0)
	if q, at, ok := b.Pushed("VAR-1@LOC-B"); !ok || q != 8 || !at.Equal(t0) {
		t.Fatalf("the other replica sees %d at %v (%v), want 8 at %v", q, at, ok, t0)
	}
	// The other replica takes the account over and writes 7 later; the
	// first, whose memory still says 8, sees 7.
	b.Record("VAR-1@LOC-B", 7, t0.Add(time.Minute))
	if q, _, ok := a.Pushed("VAR-1@LOC-B"); !ok || q != 7 {
		t.Fatalf("the first replica sees %d (%v), want the later 7", q, ok)
	}
	// The same key of another channel is another record.
	if _, _, ok := connectors.NewSharedEchoLog(st, "shopify", nil).Pushed("VAR-1@LOC-B"); ok {
		t.Fatal("another channel's log sees square's write")
	}
}

// failingRecords is a store that is down.
type failingRecords struct{}

var errDown = errors.New("store down")

func (failingRecords) PutRecord(context.Context, store.Record) error { return errDown }
func (failingRecords) GetRecord(context.Context, string, string) (store.Record, error) {
	return store.Record{}, errDown
}

// TestSharedEchoLogStoreDown: with the store down, a log still knows the
// writes of its own process, as an EchoLog does.
func TestSharedEchoLogStoreDown(t *testing.T) {
	l := connectors.NewSharedEchoLog(failingRecords{}, "square", nil)
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	l.Record("VAR-1@LOC-B", 8, at)
	if q, got, ok := l.Pushed("VAR-1@LOC-B"); !ok || q != 8 || !got.Equal(at) {
		t.Fatalf("Pushed = %d, %v, %v; want this process's 8", q, got, ok)
	}
}
