package shopify

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMemoryWatermarks(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC)
	var w MemoryWatermarks // the zero value is ready
	steps := []struct {
		key   string
		at    time.Time
		stale bool
	}{
		{"a", t0, false},
		{"a", t0, false}, // a redelivery: equal is not stale
		{"a", t0.Add(time.Second), false},
		{"a", t0, true}, // older than the mark
		{"a", t0.Add(time.Second), false},
		{"b", t0.Add(-time.Hour), false}, // keys are independent
		{"a", t0.Add(time.Nanosecond), true},
	}
	for i, s := range steps {
		if got := w.Observe(s.key, s.at); got != s.stale {
			t.Errorf("step %d: Observe(%s, %s) = %v, want %v", i, s.key, s.at, got, s.stale)
		}
	}
	if w.Len() != 2 {
		t.Errorf("Len = %d, want 2", w.Len())
	}
}

func TestMemoryWatermarksBound(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC)
	w := NewMemoryWatermarks(2)
	w.Observe("a", t0)
	w.Observe("b", t0)
	w.Observe("a", t0) // a is now the most recent; b is evicted next
	w.Observe("c", t0)
	if w.Len() != 2 {
		t.Fatalf("Len = %d, want 2", w.Len())
	}
	if !w.Observe("a", t0.Add(-time.Second)) {
		t.Error("a was evicted; want b evicted (least recently observed)")
	}
	// b was forgotten: an old delivery for it passes (fails open).
	if w.Observe("b", t0.Add(-time.Hour)) {
		t.Error("evicted key b still reports stale")
	}
	// 0 means DefaultWatermarkKeys.
	w0 := NewMemoryWatermarks(0)
	for i := range DefaultWatermarkKeys + 10 {
		w0.Observe(strconv.Itoa(i), t0)
	}
	if n := w0.Len(); n != DefaultWatermarkKeys {
		t.Errorf("NewMemoryWatermarks(0) keeps %d keys, want %d", n, DefaultWatermarkKeys)
	}
}

func TestMemoryWatermarksConcurrent(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC)
	w := NewMemoryWatermarks(64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				w.Observe(fmt.Sprintf("k%d", (g*i)%100), t0.Add(time.Duration(i)*time.Millisecond))
			}
		})
	}
	wg.Wait()
	if n := w.Len(); n > 64 {
		t.Errorf("Len = %d, more than the bound 64", n)
	}
}

// recordingWatermarks records the keys observed.
type recordingWatermarks struct {
	MemoryWatermarks
	mu   sync.Mutex
	keys []string
}

func (r *recordingWatermarks) Observe(key string, at time.Time) bool {
	r.mu.Lock()
	r.keys = append(r.keys, key+" "+at.Format(time.RFC3339Nano))
	r.mu.Unlock()
	return r.MemoryWatermarks.Observe(key, at)
}

func TestNormalizeStale(t *testing.T) {
	t.Parallel()
	const (
		level    = `{"inventory_item_id":452938106573918264,"location_id":71562346781,"available":%d,"updated_at":"%s"}`
		other    = `{"inventory_item_id":452938106573918264,"location_id":71562346782,"available":1,"updated_at":"2026-03-14T09:00:00Z"}`
		gone     = `{"inventory_item_id":452938106573918264,"location_id":71562346781}`
		snapshot = `{"id":42,"created_at":"2026-03-14T07:00:00Z","updated_at":"%s"%s,"line_items":[{"id":7,"sku":"A","quantity":1}]}`
	)
	type delivery struct {
		topic, body string
		triggered   string // X-Shopify-Triggered-At; "" removes it
		eventID     string
		stale       bool
		events      int
	}
	tests := []struct {
		name       string
		deliveries []delivery
	}{
		{"level: older trigger time is stale, redelivery is not", []delivery{
			{TopicInventoryLevelsUpdate, fmt.Sprintf(level, 5, "2026-03-14T09:00:00Z"), "2026-03-14T09:00:01Z", "e2", false, 1},
			{TopicInventoryLevelsUpdate, fmt.Sprintf(level, 7, "2026-03-14T08:00:00Z"), "2026-03-14T08:00:01Z", "e1", true, 0},
			{TopicInventoryLevelsUpdate, fmt.Sprintf(level, 5, "2026-03-14T09:00:00Z"), "2026-03-14T09:00:01Z", "e2", false, 1},
			// Another location is another key.
			{TopicInventoryLevelsUpdate, other, "2026-03-14T07:00:00Z", "e3", false, 1},
		}},
		{"level: without the header, updated_at decides", []delivery{
			{TopicInventoryLevelsUpdate, fmt.Sprintf(level, 5, "2026-03-14T09:00:00Z"), "", "e2", false, 1},
			{TopicInventoryLevelsUpdate, fmt.Sprintf(level, 7, "2026-03-14T08:59:59.999Z"), "", "e1", true, 0},
		}},
		{"level: connect and disconnect share the mark", []delivery{
			{TopicInventoryLevelsConnect, fmt.Sprintf(level, 0, "2026-03-14T08:00:00Z"), "2026-03-14T08:00:00Z", "e1", false, 1},
			{TopicInventoryLevelsDisconnect, gone, "2026-03-14T10:00:00Z", "e3", false, 0},
			// An update triggered before the disconnect, retried after it.
			{TopicInventoryLevelsUpdate, fmt.Sprintf(level, 4, "2026-03-14T09:00:00Z"), "2026-03-14T09:00:00Z", "e2", true, 0},
			{TopicInventoryLevelsDisconnect, gone, "2026-03-14T09:30:00Z", "e0", true, 0},
		}},
		{"order: an older snapshot is stale, orders/create never", []delivery{
			{TopicOrdersCancelled, fmt.Sprintf(snapshot, "2026-03-14T10:00:00Z", `,"cancelled_at":"2026-03-14T10:00:00Z"`), "2026-03-14T10:00:00Z", "e3", false, 2},
			{TopicOrdersUpdated, fmt.Sprintf(snapshot, "2026-03-14T09:00:00Z", ""), "2026-03-14T09:00:00Z", "e2", true, 0},
			{TopicOrdersCreate, fmt.Sprintf(snapshot, "2026-03-14T07:00:00Z", ""), "2026-03-14T07:00:00Z", "e1", false, 1},
			{TopicOrdersUpdated, fmt.Sprintf(snapshot, "2026-03-14T10:00:00Z", `,"cancelled_at":"2026-03-14T10:00:00Z"`), "2026-03-14T10:00:00Z", "e4", false, 2},
		}},
		{"no trigger time at all: never stale", []delivery{
			{TopicInventoryLevelsUpdate, fmt.Sprintf(level, 5, "2026-03-14T09:00:00Z"), "2026-03-14T09:00:00Z", "e2", false, 1},
			{TopicInventoryLevelsUpdate, `{"inventory_item_id":452938106573918264,"location_id":71562346781,"available":1}`, "", "e1", false, 1},
		}},
		{"fulfillments and refunds have no watermark", []delivery{
			{TopicFulfillmentsCreate, `{"id":5,"order_id":42,"status":"success","location_id":71562346782,"line_items":[{"id":7,"sku":"A","quantity":1}]}`,
				"2026-03-14T10:00:00Z", "e2", false, 1},
			{TopicFulfillmentsUpdate, `{"id":5,"order_id":42,"status":"success","location_id":71562346782,"line_items":[{"id":7,"sku":"A","quantity":1}]}`,
				"2026-03-14T09:00:00Z", "e1", false, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newConnector(t)
			for i, d := range tt.deliveries {
				r := newRequest(d.topic, []byte(d.body))
				r.Header.Set(HeaderEventID, d.eventID)
				if d.triggered == "" {
					r.Header.Del(HeaderTriggeredAt)
				} else {
					r.Header.Set(HeaderTriggeredAt, d.triggered)
				}
				res := normalize(t, c, r)
				wantTopic := d.topic
				if d.stale {
					wantTopic += StaleSuffix
				}
				if res.Topic != wantTopic || len(res.Events) != d.events || len(res.Unmapped) != 0 {
					t.Errorf("delivery %d (%s %s): topic %q, %d events, %d dead letters; want %q, %d events",
						i, d.topic, d.eventID, res.Topic, len(res.Events), len(res.Unmapped), wantTopic, d.events)
				}
				stamp := ""
				if d.triggered != "" {
					stamp = strings.Replace(d.triggered, "Z", ".000000000Z", 1) + ":"
				}
				if want := "shopify:" + testShop + ":" + stamp + d.topic + ":" + d.eventID; res.DedupKey != want {
					t.Errorf("delivery %d: DedupKey %q, want %q", i, res.DedupKey, want)
				}
			}
		})
	}
}

func TestNormalizeStaleUsesConfiguredWatermarks(t *testing.T) {
	t.Parallel()
	w := &recordingWatermarks{}
	c := newConnector(t, func(c *Config) { c.Watermarks = w })
	normalize(t, c, newRequest(TopicInventoryLevelsUpdate, readTestdata(t, "inventory_levels_update.json")))
	normalize(t, c, newRequest(TopicOrdersUpdated, readTestdata(t, "orders_updated.json")))
	normalize(t, c, newRequest(TopicOrdersCreate, readTestdata(t, "orders_create.json")))
	want := []string{
		testID + "/level/452938106573918264@71562346781 2026-03-14T08:26:59.120442913Z",
		testID + "/order/731462950184736219 2026-03-14T08:26:59.120442913Z",
	}
	if fmt.Sprint(w.keys) != fmt.Sprint(want) {
		t.Errorf("observed %q, want %q", w.keys, want)
	}
}

func TestWatermarksByConnectorOutliveARebuild(t *testing.T) {
	t.Parallel()
	var w WatermarksByConnector
	at := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	if w.For("shop").Observe("level/1/2", at) {
		t.Fatal("the first delivery for a key is stale")
	}
	if !w.For("shop").Observe("level/1/2", at.Add(-30*time.Minute)) {
		t.Error("an older delivery is not stale when asked through a second For (a rebuilt connector)")
	}
	if w.For("other").Observe("level/1/2", at.Add(-30*time.Minute)) {
		t.Error("another connector's delivery is stale by the first connector's mark")
	}
}
