package ledger

import (
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/store"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func movement(t *testing.T, typ event.Type, qty int64, mut func(*event.Movement)) *event.Event {
	t.Helper()
	m := event.Movement{
		Connector: "shop", SourceEventID: "src-" + string(typ), OccurredAt: t0,
		SKU: "SKU-1", Location: "berlin", Quantity: qty, Reason: "test",
		OrderID: "o-1", CorrelationID: "c-1",
	}
	if typ == event.StockCounted {
		m.State = event.StateOnHand
	}
	if typ == event.StockTransferred {
		m.ToLocation = "paris"
	}
	if mut != nil {
		mut(&m)
	}
	ev, err := event.NewMovement(typ, "", m)
	if err != nil {
		t.Fatalf("NewMovement(%s): %v", typ, err)
	}
	return ev
}

func proj(onHand, committed int64) store.Projection {
	return store.Projection{Key: store.Key{SKU: "SKU-1", Location: "berlin"}, Seq: 7,
		Quantities: store.Quantities{OnHand: onHand, Committed: committed, Available: onHand - committed}}
}

func TestStepRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		typ         event.Type
		qty         int64
		mut         func(*event.Movement)
		before      store.Projection
		safety      int64
		want        store.Quantities
		outcome     string
		alert       string
		alertSays   string // a part of the alert's message
		wantLastCnt bool
	}{
		{name: "received", typ: event.StockReceived, qty: 5, before: proj(10, 2),
			want: store.Quantities{OnHand: 15, Committed: 2, Available: 13}, outcome: store.OutcomeApplied},
		{name: "committed", typ: event.OrderCommitted, qty: 3, before: proj(10, 2),
			want: store.Quantities{OnHand: 10, Committed: 5, Available: 5}, outcome: store.OutcomeApplied},
		{name: "cancelled", typ: event.OrderCancelled, qty: 2, before: proj(10, 2),
			want: store.Quantities{OnHand: 10, Committed: 0, Available: 10}, outcome: store.OutcomeApplied},
		{name: "fulfilled", typ: event.OrderFulfilled, qty: 2, before: proj(10, 2),
			want: store.Quantities{OnHand: 8, Committed: 0, Available: 8}, outcome: store.OutcomeApplied},
		{name: "returned", typ: event.StockReturned, qty: 1, before: proj(10, 2),
			want: store.Quantities{OnHand: 11, Committed: 2, Available: 9}, outcome: store.OutcomeApplied},
		{name: "adjusted down", typ: event.StockAdjusted, qty: -4, before: proj(10, 2),
			want: store.Quantities{OnHand: 6, Committed: 2, Available: 4}, outcome: store.OutcomeApplied},
		{name: "safety stock held back", typ: event.StockReceived, qty: 1, before: proj(10, 2), safety: 3,
			want: store.Quantities{OnHand: 11, Committed: 2, SafetyStock: 3, Available: 6}, outcome: store.OutcomeApplied},
		{name: "oversold commit", typ: event.OrderCommitted, qty: 5, before: proj(3, 0),
			want: store.Quantities{OnHand: 3, Committed: 5, Available: -2}, outcome: store.OutcomeOversold, alert: store.AlertOversold,
			alertSays: "SKU-1@berlin oversold: on hand 3, committed 5, available -2"},
		{name: "cancel beyond committed", typ: event.OrderCancelled, qty: 4, before: proj(10, 2),
			want: store.Quantities{OnHand: 10, Committed: -2, Available: 12}, outcome: store.OutcomeOversold, alert: store.AlertOversold,
			alertSays: "committed below zero (released or shipped before its order arrived, or released twice)"},
		{name: "receipt while still negative is no new alert", typ: event.StockReceived, qty: 1, before: proj(-3, 0),
			want: store.Quantities{OnHand: -2, Committed: 0, Available: -2}, outcome: store.OutcomeApplied},
		// An event that lowers nothing that is below zero raises no alert
		// of its own (a black-box review found each of these flagged).
		{name: "receipt into safety stock on a new key", typ: event.StockReceived, qty: 1,
			before: store.Projection{Key: store.Key{SKU: "SKU-1", Location: "berlin"}}, safety: 2,
			want: store.Quantities{OnHand: 1, SafetyStock: 2, Available: -1}, outcome: store.OutcomeApplied},
		{name: "shipment while available is held below zero by safety stock", typ: event.OrderFulfilled, qty: 1,
			before: func() store.Projection { p := proj(1, 1); p.SafetyStock, p.Available = 1, -1; return p }(), safety: 1,
			want: store.Quantities{OnHand: 0, Committed: 0, SafetyStock: 1, Available: -1}, outcome: store.OutcomeApplied},
		{name: "cancel while oversold", typ: event.OrderCancelled, qty: 2, before: proj(1, 5),
			want: store.Quantities{OnHand: 1, Committed: 3, Available: -2}, outcome: store.OutcomeApplied},
		{name: "sale into safety stock", typ: event.OrderCommitted, qty: 2,
			before: func() store.Projection { p := proj(3, 0); p.SafetyStock, p.Available = 2, 1; return p }(), safety: 2,
			want: store.Quantities{OnHand: 3, Committed: 2, SafetyStock: 2, Available: -1}, outcome: store.OutcomeOversold, alert: store.AlertOversold},
		{name: "adjustment below zero", typ: event.StockAdjusted, qty: -2, before: proj(1, 0),
			want: store.Quantities{OnHand: -1, Committed: 0, Available: -1}, outcome: store.OutcomeOversold, alert: store.AlertOversold},
		{name: "count sets on hand", typ: event.StockCounted, qty: 40, before: proj(10, 2),
			want: store.Quantities{OnHand: 40, Committed: 2, Available: 38}, outcome: store.OutcomeApplied, wantLastCnt: true},
		{name: "stale count recorded, not applied", typ: event.StockCounted, qty: 40,
			before: func() store.Projection { p := proj(10, 2); p.LastCountAt = t0.Add(time.Hour); return p }(),
			want:   store.Quantities{OnHand: 10, Committed: 2, Available: 8}, outcome: store.OutcomeStale},
		{name: "available observation that matches", typ: event.StockCounted, qty: 8,
			mut:    func(m *event.Movement) { m.State = event.StateAvailable },
			before: proj(10, 2), want: store.Quantities{OnHand: 10, Committed: 2, Available: 8}, outcome: store.OutcomeObserved},
		{name: "available observation that drifts", typ: event.StockCounted, qty: 7,
			mut:    func(m *event.Movement) { m.State = event.StateAvailable },
			before: proj(10, 2), want: store.Quantities{OnHand: 10, Committed: 2, Available: 8}, outcome: store.OutcomeObserved, alert: store.AlertDrift},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev := movement(t, tc.typ, tc.qty, tc.mut)
			changes, err := Step(ev, []store.Projection{tc.before}, []int64{tc.safety}, t0.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if len(changes) != 1 {
				t.Fatalf("got %d changes, want 1", len(changes))
			}
			c := changes[0]
			if c.Projection.Quantities != tc.want {
				t.Errorf("quantities = %+v, want %+v", c.Projection.Quantities, tc.want)
			}
			if c.Entry.Result != tc.want {
				t.Errorf("entry result = %+v, want %+v", c.Entry.Result, tc.want)
			}
			wantDelta := store.Quantities{
				OnHand: tc.want.OnHand - tc.before.OnHand, Committed: tc.want.Committed - tc.before.Committed,
				SafetyStock: tc.want.SafetyStock - tc.before.SafetyStock, Available: tc.want.Available - tc.before.Available,
			}
			if c.Entry.Delta != wantDelta {
				t.Errorf("delta = %+v, want %+v", c.Entry.Delta, wantDelta)
			}
			if c.Entry.Outcome != tc.outcome {
				t.Errorf("outcome = %q, want %q (note %q)", c.Entry.Outcome, tc.outcome, c.Entry.Note)
			}
			if c.Entry.Seq != tc.before.Seq+1 || c.Projection.Seq != tc.before.Seq+1 {
				t.Errorf("seq entry=%d projection=%d, want %d", c.Entry.Seq, c.Projection.Seq, tc.before.Seq+1)
			}
			switch {
			case tc.alert == "" && c.Alert != nil:
				t.Errorf("unexpected alert %+v", c.Alert)
			case tc.alert != "" && (c.Alert == nil || c.Alert.Kind != tc.alert):
				t.Errorf("alert = %+v, want kind %q", c.Alert, tc.alert)
			case tc.alertSays != "" && !strings.Contains(c.Alert.Message, tc.alertSays):
				t.Errorf("alert message %q does not say %q", c.Alert.Message, tc.alertSays)
			}
			if tc.wantLastCnt != (c.Projection.LastCountAt.Equal(t0)) {
				t.Errorf("LastCountAt = %v", c.Projection.LastCountAt)
			}
			if c.Entry.EventID != ev.ID() || c.Entry.EventType != string(tc.typ) {
				t.Errorf("entry names event %s/%s, want %s/%s", c.Entry.EventID, c.Entry.EventType, ev.ID(), tc.typ)
			}
		})
	}
}

func TestStepTransferMovesBetweenLocations(t *testing.T) {
	t.Parallel()
	ev := movement(t, event.StockTransferred, 4, nil)
	from := proj(10, 0)
	to := store.Projection{Key: store.Key{SKU: "SKU-1", Location: "paris"}, Seq: 2,
		Quantities: store.Quantities{OnHand: 1, Available: 1}}
	changes, err := Step(ev, []store.Projection{from, to}, []int64{0, 0}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 {
		t.Fatalf("got %d changes, want 2", len(changes))
	}
	if changes[0].Projection.OnHand != 6 || changes[1].Projection.OnHand != 5 {
		t.Errorf("on hand after transfer: from %d (want 6), to %d (want 5)", changes[0].Projection.OnHand, changes[1].Projection.OnHand)
	}
	if changes[1].Entry.Seq != 3 || changes[1].Entry.Location != "paris" {
		t.Errorf("destination entry = %+v", changes[1].Entry)
	}
}

func TestStepRejectsWrongArity(t *testing.T) {
	t.Parallel()
	ev := movement(t, event.StockTransferred, 1, nil)
	if _, err := Step(ev, []store.Projection{proj(1, 0)}, []int64{0}, t0); err == nil {
		t.Fatal("a transfer with one projection was accepted")
	}
}

func TestEchoConfirmationRaisesNoDrift(t *testing.T) {
	t.Parallel()
	ev := movement(t, event.StockCounted, 6, func(m *event.Movement) {
		m.State = event.StateAvailable
		m.Reason = event.ReasonEchoConfirmation
	})
	changes, err := Step(ev, []store.Projection{proj(10, 3)}, []int64{0}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if c := changes[0]; c.Alert != nil || c.Entry.Outcome != store.OutcomeObserved || c.Moved() {
		t.Fatalf("echo confirmation = %+v; want an observation with no alert and no change", c)
	}
}

// TestStepRefusesACountFromTheFuture: a count of on hand dated past
// MaxCountAhead is refused (the ledger keeps it as a dead letter), since
// applied it would make every count until that date stale; a channel's
// available observation, which never makes anything stale, is not.
func TestStepRefusesACountFromTheFuture(t *testing.T) {
	t.Parallel()
	now := t0
	for _, c := range []struct {
		name  string
		at    time.Time
		state string
		ok    bool
	}{
		{"now", now, event.StateOnHand, true},
		{"a clock a little ahead", now.Add(MaxCountAhead), event.StateOnHand, true},
		{"next year", now.AddDate(1, 0, 0), event.StateOnHand, false},
		{"an observation from next year", now.AddDate(1, 0, 0), event.StateAvailable, true},
	} {
		ev := movement(t, event.StockCounted, 4, func(m *event.Movement) { m.OccurredAt, m.State = c.at, c.state })
		_, err := Step(ev, []store.Projection{proj(10, 2)}, []int64{0}, now)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v; want ok=%v", c.name, err, c.ok)
		}
	}
}
