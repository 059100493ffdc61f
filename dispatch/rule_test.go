package dispatch_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/dispatch"
)

// TestSetRule: a new rule is applied to every synced SKU at once, and
// changes route by the new rule's locations.
func TestSetRule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		w := newMemWriter("m", 2)
		set(t, st, "S000", 10)
		d, _ := dispatch.New(st, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
		run(t, d, nil)
		time.Sleep(time.Second)
		if q, _ := w.show("S000"); q != 10 {
			t.Fatalf("S000 shows %d, want 10", q)
		}
		if err := d.SetRule("m", channel.Rule{Locations: []string{"berlin"}, BufferUnits: 3}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if q, _ := w.show("S000"); q != 7 {
			t.Fatalf("after a buffer of 3, S000 shows %d, want 7", q)
		}
		if r, _ := d.Rule("m"); r.Channel != "m" || r.BufferUnits != 3 {
			t.Fatalf("Rule = %+v", r)
		}
		// A rule without berlin: berlin's changes no longer reach the account.
		if err := d.SetRule("m", channel.Rule{Locations: []string{"paris"}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		calls := len(w.callTimes())
		d.Notify(set(t, st, "S001", 5))
		time.Sleep(time.Second)
		if n := len(w.callTimes()); n != calls {
			t.Errorf("a berlin change was written after the rule dropped berlin (%d calls, was %d)", n, calls)
		}
		if err := d.SetRule("m", channel.Rule{}); err == nil {
			t.Error("a rule with no location was accepted")
		}
		if err := d.SetRule("nope", rule); !errors.Is(err, dispatch.ErrUnknownAccount) {
			t.Errorf("unknown account: %v", err)
		}
	})
}
