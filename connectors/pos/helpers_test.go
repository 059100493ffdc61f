package pos

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

const (
	testID     = "pos-stores"
	testSecret = "pos-secret-current-7Hq2mX"
	oldSecret  = "pos-secret-previous-Zp4kL9"
)

// testReceived is when the test requests arrive; testSigned, when they
// were signed (a POS a little behind, well within the tolerance).
var (
	testReceived = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	testSigned   = testReceived.Add(-20 * time.Second)
)

func testConfig() Config {
	return Config{
		ID:      testID,
		Secrets: []string{testSecret, oldSecret},
		Stores:  map[string]string{"berlin": "berlin-store", "hamburg": "hamburg-store"},
		Now:     func() time.Time { return testReceived.Add(time.Minute) },
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

// newRequest returns a batch signed with testSecret at testSigned and
// received at testReceived.
func newRequest(body []byte) *connectors.Request {
	h := http.Header{}
	h.Set(HeaderSignature, Sign(testSecret, testSigned, body))
	h.Set("Content-Type", "application/json")
	return &connectors.Request{
		Header:     h,
		Body:       body,
		URL:        "https://stockgate.example.com/webhooks/" + testID,
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
		if m.Connector != testID {
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
