package shopify

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestMemoryEchoes(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC)
	var e MemoryEchoes // the zero value is ready
	if _, _, ok := e.Pushed(1, 2); ok {
		t.Fatal("empty MemoryEchoes reports a push")
	}
	e.Record(1, 2, 10, t0)
	e.Record(1, 2, 7, t0.Add(-time.Second)) // older: ignored
	e.Record(1, 3, 4, t0)
	if q, at, ok := e.Pushed(1, 2); !ok || q != 10 || !at.Equal(t0) {
		t.Errorf("Pushed(1, 2) = %d, %v, %v", q, at, ok)
	}
	e.Record(1, 2, 9, t0.Add(time.Second))
	if q, _, _ := e.Pushed(1, 2); q != 9 {
		t.Errorf("after a newer record: %d, want 9", q)
	}
	if q, _, ok := e.Pushed(1, 3); !ok || q != 4 {
		t.Errorf("Pushed(1, 3) = %d, %v", q, ok)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				e.Record(int64(i%10), int64(g), int64(i), t0.Add(time.Duration(i)))
				e.Pushed(int64(i%10), int64(g))
			}
		})
	}
	wg.Wait()
}

func TestNormalizeEchoes(t *testing.T) {
	t.Parallel()
	item, _ := strconv.ParseInt(sockItem, 10, 64)
	const berlin = 71562346781
	updated := at("2026-03-14T08:26:54Z") // inventory_levels_update.json: available 17
	tests := []struct {
		name   string
		topic  string
		file   string
		push   func(e *MemoryEchoes)
		reason string
	}{
		{"no push recorded", TopicInventoryLevelsUpdate, "inventory_levels_update.json", nil, "channel_report"},
		{"the value stockgate pushed", TopicInventoryLevelsUpdate, "inventory_levels_update.json",
			func(e *MemoryEchoes) { e.Record(item, berlin, 17, updated.Add(-2*time.Second)) }, "echo_confirmation"},
		{"pushed a little after Shopify's stamp (clock skew)", TopicInventoryLevelsUpdate, "inventory_levels_update.json",
			func(e *MemoryEchoes) { e.Record(item, berlin, 17, updated.Add(30*time.Second)) }, "echo_confirmation"},
		{"push time unknown", TopicInventoryLevelsUpdate, "inventory_levels_update.json",
			func(e *MemoryEchoes) { e.Record(item, berlin, 17, time.Time{}) }, "echo_confirmation"},
		{"another value: a change from elsewhere", TopicInventoryLevelsUpdate, "inventory_levels_update.json",
			func(e *MemoryEchoes) { e.Record(item, berlin, 16, updated) }, "channel_report"},
		{"same value, but the level predates the push", TopicInventoryLevelsUpdate, "inventory_levels_update.json",
			func(e *MemoryEchoes) { e.Record(item, berlin, 17, updated.Add(2*time.Minute)) }, "channel_report"},
		{"same value at another location", TopicInventoryLevelsUpdate, "inventory_levels_update.json",
			func(e *MemoryEchoes) { e.Record(item, berlin+1, 17, updated) }, "channel_report"},
		{"a connect reporting the pushed value", TopicInventoryLevelsConnect, "inventory_levels_connect.json",
			func(e *MemoryEchoes) { e.Record(item, berlin+1, 0, updated) }, "echo_confirmation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			echoes := &MemoryEchoes{}
			if tt.push != nil {
				tt.push(echoes)
			}
			c := newConnector(t, func(c *Config) { c.Echoes = echoes })
			got := lines(t, normalize(t, c, newRequest(tt.topic, readTestdata(t, tt.file))).Events)
			if len(got) != 1 || got[0].Reason != tt.reason || got[0].State != "available" {
				t.Errorf("events %+v, want one available observation with reason %q", got, tt.reason)
			}
		})
	}
}
