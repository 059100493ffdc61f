package shopify

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/stockgate/stockgate/connectors"
)

// TestHeaderFamilies sends every testdata file, under its topic, with the
// X-Shopify-* headers, with the lowercase shopify-* "events" family as
// net/http stores it, and with raw lowercase keys (ref §2.1: accept both
// families, match names case-insensitively). Verify, Normalize and Learn
// must not tell them apart.
func TestHeaderFamilies(t *testing.T) {
	t.Parallel()
	type outcome struct {
		dedup, topic string
		ids, dead    []string
		learned      Mappings
	}
	run := func(t *testing.T, c *Connector, r *connectors.Request) outcome {
		t.Helper()
		if err := c.Verify(r); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		res := normalize(t, c, r)
		m, err := c.Learn(r)
		if err != nil {
			t.Fatalf("Learn: %v", err)
		}
		o := outcome{dedup: res.DedupKey, topic: res.Topic, ids: eventIDs(res.Events), learned: m}
		for _, d := range res.Unmapped {
			o.dead = append(o.dead, d.EventID+" "+d.Reason)
		}
		return o
	}
	for _, name := range testdataFiles(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			topic, body := fileTopic(t, name), readTestdata(t, name)
			c := newConnector(t)
			want := run(t, c, newRequest(topic, body))
			if want.topic != topic || !strings.Contains(want.dedup, topic) {
				t.Fatalf("X-Shopify: topic %q, dedup key %q", want.topic, want.dedup)
			}
			for _, raw := range []bool{false, true} {
				if got := run(t, c, eventsRequest(topic, body, raw)); !reflect.DeepEqual(got, want) {
					t.Errorf("shopify-* family (raw keys %v):\n got %+v\nwant %+v", raw, got, want)
				}
			}
		})
	}
}

// TestTriggeredAtBothFamilies checks that the trigger time, which decides
// staleness and stamps events without a payload time, is read from
// shopify-triggered-at as from X-Shopify-Triggered-At.
func TestTriggeredAtBothFamilies(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":42,"line_items":[{"id":7,"sku":"A","quantity":1}]}`)
	for _, raw := range []bool{false, true} {
		c := newConnector(t)
		r := eventsRequest(TopicOrdersCreate, body, raw)
		setHeader(r.Header, EventsHeaderTriggeredAt, "2026-05-01T10:00:00Z", raw)
		res := normalize(t, c, r)
		if len(res.Events) != 1 || !res.Events[0].Movement.OccurredAt.Equal(at("2026-05-01T10:00:00Z")) {
			t.Errorf("raw %v: events %v", raw, lines(t, res.Events))
		}
		level := []byte(`{"inventory_item_id":452938106573918264,"location_id":71562346781,"available":3}`)
		newer := eventsRequest(TopicInventoryLevelsUpdate, level, raw)
		setHeader(newer.Header, EventsHeaderTriggeredAt, "2026-05-01T10:00:00Z", raw)
		older := eventsRequest(TopicInventoryLevelsUpdate, level, raw)
		setHeader(older.Header, EventsHeaderTriggeredAt, "2026-05-01T09:59:59Z", raw)
		setHeader(older.Header, EventsHeaderEventID, "older", raw)
		if res := normalize(t, c, newer); len(res.Events) != 1 {
			t.Fatalf("raw %v: newer level: %+v", raw, res)
		}
		if res := normalize(t, c, older); len(res.Events) != 0 || res.Topic != TopicInventoryLevelsUpdate+StaleSuffix {
			t.Errorf("raw %v: older level by shopify-triggered-at: topic %q, %d events", raw, res.Topic, len(res.Events))
		}
	}
}

func setHeader(h http.Header, name, value string, raw bool) {
	if raw {
		h[name] = []string{value}
		return
	}
	h.Set(name, value)
}
