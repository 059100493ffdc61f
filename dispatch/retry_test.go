package dispatch_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/errcode"
)

// TestRetryWritesADeadLetteredSKUAgain: a SKU the marketplace refused is
// not sent again unchanged, until an operator retries it (a dead letter
// replayed): then it is written with the ledger's quantity.
func TestRetryWritesADeadLetteredSKUAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		w := newMemWriter("m", 2)
		set(t, st, "S000", 4)
		w.then(answer{items: map[string]errcode.Code{"S000": errcode.InvalidArgument}})
		d, _ := dispatch.New(st, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
		run(t, d, nil)
		time.Sleep(time.Second)
		if _, ok := w.show("S000"); ok {
			t.Fatal("the refused SKU was written")
		}
		_ = d.Reconcile("")
		time.Sleep(time.Second)
		if _, ok := w.show("S000"); ok {
			t.Fatal("a reconcile sent the refused SKU again unchanged")
		}
		if err := d.Retry(context.Background(), "m", "S000"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if q, ok := w.show("S000"); !ok || q != 4 {
			t.Fatalf("after Retry, S000 shows %d %v; want 4", q, ok)
		}
		if err := d.Retry(context.Background(), "nope", "S000"); !errors.Is(err, dispatch.ErrUnknownAccount) {
			t.Fatalf("Retry of an unknown account: %v", err)
		}
		if err := d.Retry(context.Background(), "m", "NOT-SYNCED"); !errors.Is(err, dispatch.ErrUnsynced) {
			t.Fatalf("Retry of an unsynced SKU: %v", err)
		}
	})
}
