package shopify

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
)

// Test configuration. Ids are the project's own, shaped like Shopify's
// (ref §3.3: ids beyond 2^53 such as 271878346596884015).
const (
	testID          = "shopify-eu"
	testSecret      = "shpss_stockgate_current_0f3a"
	oldSecret       = "shpss_stockgate_previous_77c1"
	testShop        = "northpeak.myshopify.com"
	testEventID     = "5d3c1a7e-8f42-4b6a-9c1d-2e7f0a9b4c31"
	testWebhookID   = "c0a8f7e2-1b3d-4e5f-8a9b-0c1d2e3f4a5b"
	berlinLocation  = "71562346781"
	leipzigLocation = "71562346782"
	sockItem        = "452938106573918264"
)

var testReceived = time.Date(2026, 3, 14, 8, 27, 0, 0, time.UTC)

func testConfig() Config {
	return Config{
		ID:              testID,
		Secrets:         []string{testSecret, oldSecret},
		Shop:            testShop,
		Locations:       map[string]string{berlinLocation: "berlin-store", leipzigLocation: "leipzig-dc"},
		DefaultLocation: "leipzig-dc",
		Items:           map[string]string{sockItem: "SOCK-TRL-M-MOSS"},
		Now:             func() time.Time { return testReceived.Add(time.Minute) },
	}
}

// newConnector returns a connector on testConfig, changed by each mod.
func newConnector(tb testing.TB, mods ...func(*Config)) *Connector {
	tb.Helper()
	cfg := testConfig()
	for _, m := range mods {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

// readTestdata reads testdata/name.
func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// newRequest returns a delivery as Shopify sends it (ref §2.1 headers),
// signed with testSecret.
func newRequest(topic string, body []byte) *connectors.Request {
	h := http.Header{}
	h.Set(HeaderHMAC, Sign(testSecret, body))
	h.Set(HeaderTopic, topic)
	h.Set(HeaderShopDomain, testShop)
	h.Set(HeaderAPIVersion, "2026-07")
	h.Set(HeaderWebhookID, testWebhookID)
	h.Set(HeaderEventID, testEventID)
	h.Set(HeaderTriggeredAt, "2026-03-14T08:26:59.120442913Z")
	return &connectors.Request{
		Header:     h,
		Body:       body,
		URL:        "https://gateway.example/webhooks/" + testID,
		ReceivedAt: testReceived,
	}
}

// eventsRequest is newRequest in the lowercase "events" header family
// (ref §2.1: ShopifyEventsHeader), with keys as net/http stores them
// (canonicalised, "Shopify-Topic"); raw keeps them lowercase, as a map
// built by hand would.
func eventsRequest(topic string, body []byte, raw bool) *connectors.Request {
	r := newRequest(topic, body)
	h := http.Header{}
	for _, kv := range [][2]string{
		{EventsHeaderHMAC, Sign(testSecret, body)},
		{EventsHeaderTopic, topic},
		{EventsHeaderShopDomain, testShop},
		{EventsHeaderAPIVersion, "2026-07"},
		{EventsHeaderWebhookID, testWebhookID},
		{EventsHeaderEventID, testEventID},
		{EventsHeaderTriggeredAt, "2026-03-14T08:26:59.120442913Z"},
	} {
		if raw {
			h[kv[0]] = []string{kv[1]}
		} else {
			h.Set(kv[0], kv[1])
		}
	}
	r.Header = h
	return r
}

// testTopics are the topics the connector reads, in the order the fuzzer
// picks them by index.
var testTopics = []string{
	TopicOrdersCreate, TopicOrdersUpdated, TopicOrdersCancelled,
	TopicFulfillmentsCreate, TopicFulfillmentsUpdate, TopicRefundsCreate,
	TopicInventoryLevelsUpdate, TopicInventoryLevelsConnect, TopicInventoryLevelsDisconnect,
	TopicInventoryItemsCreate, TopicInventoryItemsUpdate, TopicInventoryItemsDelete,
	TopicProductsCreate, TopicProductsUpdate,
}

// fileTopic is the topic of a testdata file, named after it
// ("orders_updated_cancelled.json" is orders/updated).
func fileTopic(tb testing.TB, name string) string {
	tb.Helper()
	best := ""
	for _, t := range testTopics {
		if strings.HasPrefix(name, strings.ReplaceAll(t, "/", "_")) && len(t) > len(best) {
			best = t
		}
	}
	if best == "" {
		tb.Fatalf("testdata %s is named after no topic", name)
	}
	return best
}

// testdataFiles returns the names of the testdata files.
func testdataFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no testdata: %v", err)
	}
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	return files
}

// eventIDs returns the ids of evs.
func eventIDs(evs []*event.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID()
	}
	return out
}

// line is the part of a canonical event the tests compare.
type line struct {
	Type          event.Type
	SKU           string
	Location      string
	Quantity      int64
	State         string
	Reason        string
	OrderID       string
	CorrelationID string
	SourceEventID string
	OccurredAt    time.Time
}

func lines(tb testing.TB, evs []*event.Event) []line {
	tb.Helper()
	out := make([]line, 0, len(evs))
	for _, e := range evs {
		m := e.Movement
		if m == nil {
			tb.Fatalf("event %s has no movement", e.ID())
			continue
		}
		if m.Connector != testID && m.Connector != fixtureID {
			tb.Errorf("event %s: connector %q", e.ID(), m.Connector)
		}
		out = append(out, line{e.Type, m.SKU, m.Location, m.Quantity, m.State, m.Reason,
			m.OrderID, m.CorrelationID, m.SourceEventID, m.OccurredAt})
	}
	return out
}

func normalize(tb testing.TB, c *Connector, r *connectors.Request) *connectors.Result {
	tb.Helper()
	res, err := c.Normalize(context.Background(), r)
	if err != nil {
		tb.Fatalf("Normalize: %v", err)
	}
	return res
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}
