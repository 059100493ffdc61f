package square

import (
	"testing"
	"time"

	"github.com/stockgate/stockgate/event"
)

func TestMemoryEchoes(t *testing.T) {
	t.Parallel()
	var e MemoryEchoes // the zero value is ready
	if _, _, ok := e.Pushed(sockVariation, berlinLocation); ok {
		t.Fatal("an empty MemoryEchoes reports a write")
	}
	now := testReceived
	e.Record(sockVariation, berlinLocation, 7, now)
	e.Record(sockVariation, berlinLocation, 9, now.Add(-time.Second)) // older: ignored
	if q, at, ok := e.Pushed(sockVariation, berlinLocation); !ok || q != 7 || !at.Equal(now) {
		t.Errorf("Pushed = %d at %v (%v), want 7 at %v", q, at, ok, now)
	}
	if _, _, ok := e.Pushed(sockVariation, leipzigLocation); ok {
		t.Error("a write at one location is reported at another")
	}
	e.Record(sockVariation, berlinLocation, 6, now.Add(time.Second))
	if q, _, _ := e.Pushed(sockVariation, berlinLocation); q != 6 {
		t.Errorf("after a newer write: %d, want 6", q)
	}
}

// TestNormalizeEchoes: the IN_STOCK count of testdata's sale is 7 at
// 2026-11-20T10:14:02.90412Z. Reported back after stockgate wrote 7 it is
// a confirmation; any other case is a count applied as on hand.
func TestNormalizeEchoes(t *testing.T) {
	t.Parallel()
	calculated := at("2026-11-20T10:14:02.90412Z")
	for _, tc := range []struct {
		name   string
		record func(*MemoryEchoes)
		state  string
		reason string
	}{
		{"nothing written", func(*MemoryEchoes) {}, event.StateOnHand, reasonInventoryCount},
		{"wrote 7 just before", func(e *MemoryEchoes) { e.Record(sockVariation, berlinLocation, 7, calculated.Add(-2*time.Second)) },
			event.StateAvailable, event.ReasonEchoConfirmation},
		{"wrote 7, clocks 30 s apart", func(e *MemoryEchoes) { e.Record(sockVariation, berlinLocation, 7, calculated.Add(30*time.Second)) },
			event.StateAvailable, event.ReasonEchoConfirmation},
		{"wrote 8: a sale since", func(e *MemoryEchoes) { e.Record(sockVariation, berlinLocation, 8, calculated.Add(-time.Second)) },
			event.StateOnHand, reasonInventoryCount},
		{"wrote 7 after the count was calculated", func(e *MemoryEchoes) { e.Record(sockVariation, berlinLocation, 7, calculated.Add(2*time.Minute)) },
			event.StateOnHand, reasonInventoryCount},
		{"wrote 7 at another location", func(e *MemoryEchoes) { e.Record(sockVariation, leipzigLocation, 7, calculated) },
			event.StateOnHand, reasonInventoryCount},
		{"wrote 7 for another variation", func(e *MemoryEchoes) { e.Record(beanieVariation, berlinLocation, 7, calculated) },
			event.StateOnHand, reasonInventoryCount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			echoes := &MemoryEchoes{}
			tc.record(echoes)
			c := newConnector(t, func(cfg *Config) { cfg.Echoes = echoes })
			res := normalize(t, c, newRequest(readTestdata(t, "inventory_count_updated_sale.json")))
			got := lines(t, res.Events)
			if len(got) != 1 || len(res.Unmapped) != 0 {
				t.Fatalf("events %+v, dead letters %+v; want one count", got, res.Unmapped)
			}
			if got[0].Type != event.StockCounted || got[0].State != tc.state || got[0].Reason != tc.reason || got[0].Quantity != 7 {
				t.Errorf("event %+v, want stock.counted %s %s 7", got[0], tc.state, tc.reason)
			}
		})
	}
}
