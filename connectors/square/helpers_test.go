package square

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
)

// Test configuration. Ids are the project's own, shaped like Square's
// (ref §3: catalog object ids such as FGQ5JJWT2PYTHF35CKZ2DSKP, location
// ids such as YYQR03DGCTXA4).
const (
	testID          = "square-berlin"
	testKey         = "sq0wsk-stockgate-current-Q2hW8rT"
	oldKey          = "sq0wsk-stockgate-previous-4LmZ0p"
	testURL         = "https://stockgate.example.com/webhooks/square-berlin"
	testMerchant    = "MLN7Q2C5X9ZKB"
	berlinLocation  = "L8YQ2W4K7ZB3D"
	leipzigLocation = "L5NP0T6R2HX9M"
	sockVariation   = "VXKQ3J7T5M2PZ8RB6WCN4YHD"
	beanieVariation = "HB2M7QK4PZ9R3TXW5VCN8JDY"
	coffeeVariation = "C6RZ9W2YQ5M8TK3PXJ4HNB7D"
	giftVariation   = "K2W8R5Q3N7T4Z9XM6PJC1VBD"
)

var testReceived = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func testConfig() Config {
	return Config{
		ID:              testID,
		SignatureKeys:   []string{testKey, oldKey},
		NotificationURL: testURL,
		Locations:       map[string]string{berlinLocation: "berlin-store", leipzigLocation: "leipzig-dc"},
		Items: map[string]string{
			sockVariation: "SOCK-TRL-M-MOSS", beanieVariation: "BNE-RDG-CHAR",
			coffeeVariation: "COFFEE-BEANS-1KG", giftVariation: "GIFT-BOX-TRIO",
		},
		Now: func() time.Time { return testReceived.Add(time.Minute) },
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

// newRequest returns a delivery as Square sends it (ref §2.1 headers),
// signed with testKey over testURL. The gateway sees its own address, as
// behind a TLS-terminating proxy (ref §6 pitfall 1); the connector verifies
// against the configured NotificationURL.
func newRequest(body []byte) *connectors.Request {
	h := http.Header{}
	h.Set(HeaderSignature, Sign(testKey, testURL, body))
	h.Set(HeaderEnvironment, "Production")
	h.Set("Content-Type", "application/json")
	return &connectors.Request{
		Header:     h,
		Body:       body,
		URL:        "http://10.0.3.7:8080/webhooks/" + testID,
		ReceivedAt: testReceived,
	}
}

// line is the part of a canonical event the tests compare.
type line struct {
	Type          event.Type
	SKU           string
	Location      string
	Quantity      int64
	State         string
	Reason        string
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
			m.CorrelationID, m.SourceEventID, m.OccurredAt})
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
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func nonNil(l []line) []line {
	if l == nil {
		return []line{}
	}
	return l
}
