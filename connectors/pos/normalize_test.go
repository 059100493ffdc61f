package pos

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
)

// batchBody is a batch from store berlin, register 3, with the given
// movements.
func batchBody(movements string) string {
	return `{"idempotencyKey":"k1","store":"berlin","register":"3","sentAt":"2026-11-20T10:00:00Z","movements":[` + movements + `]}`
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	const (
		key  = "berlin-3-000123"
		corr = "pos:berlin:3:" + key
	)
	src := func(i string) string { return key + "/" + i }
	sent := at("2026-11-20T10:00:00Z")
	tests := []struct {
		name     string
		file     string
		body     string
		config   func(*Config)
		dedup    string
		want     []line
		unmapped []string
	}{
		{
			name: "every type", file: "mixed_batch.json", dedup: "pos:" + testID + ":" + key,
			want: []line{
				{event.StockAdjusted, "SHIRT-M", "berlin-store", -1, "", "sale", "receipt-981", corr, src("0"), at("2026-11-20T09:59:58Z")},
				{event.StockReturned, "MUG", "berlin-store", 1, "", "return", "receipt-977", corr, src("1"), at("2026-11-20T09:58:10Z")},
				{event.StockReceived, "MUG", "berlin-store", 24, "", "receipt", "delivery-5512", corr, src("2"), sent},
				{event.StockCounted, "SHIRT-L", "berlin-store", 7, event.StateOnHand, "count", "", corr, src("3"), sent},
				{event.StockAdjusted, "MUG", "berlin-store", -2, "", "damage", "", corr, src("4"), sent},
			},
		},
		{
			name: "offsets become UTC; a return's reason is kept", file: "till_sales.json", dedup: "pos:" + testID + ":hamburg-1-004711",
			want: []line{
				{event.StockAdjusted, "SOCK-TRL-M-MOSS", "hamburg-store", -2, "", "sale", "bon-20261120-0457", "pos:hamburg:1:hamburg-1-004711", "hamburg-1-004711/0", at("2026-11-20T10:57:02Z")},
				{event.StockAdjusted, "BNE-RDG-CHAR", "hamburg-store", -1, "", "sale", "bon-20261120-0457", "pos:hamburg:1:hamburg-1-004711", "hamburg-1-004711/1", at("2026-11-20T10:57:02Z")},
				{event.StockReturned, "SOCK-TRL-M-MOSS", "hamburg-store", 1, "", "wrong size", "bon-20261119-0311", "pos:hamburg:1:hamburg-1-004711", "hamburg-1-004711/2", at("2026-11-20T10:58:11Z")},
			},
		},
		{
			name: "no register", file: "stock_take.json", dedup: "pos:" + testID + ":berlin-backoffice-count-2026-11-20",
			want: []line{
				{event.StockCounted, "SHIRT-M", "berlin-store", 12, event.StateOnHand, "count", "count-sheet-88", "pos:berlin::berlin-backoffice-count-2026-11-20", "berlin-backoffice-count-2026-11-20/0", at("2026-11-20T07:05:00Z")},
				{event.StockCounted, "SHIRT-L", "berlin-store", 0, event.StateOnHand, "count", "count-sheet-88", "pos:berlin::berlin-backoffice-count-2026-11-20", "berlin-backoffice-count-2026-11-20/1", at("2026-11-20T07:05:00Z")},
				{event.StockAdjusted, "MUG", "berlin-store", 3, "", "correction", "", "pos:berlin::berlin-backoffice-count-2026-11-20", "berlin-backoffice-count-2026-11-20/2", at("2026-11-20T07:20:00Z")},
			},
		},
		{
			name: "unmapped store: one dead letter for the batch", file: "unknown_store.json", dedup: "pos:" + testID + ":paris-2-000017",
			unmapped: []string{`store "paris" is not in Stores; 2 movements not applied`},
		},
		{
			name: "no Stores: the store id is the location", file: "unknown_store.json", dedup: "pos:" + testID + ":paris-2-000017",
			config: func(c *Config) { c.Stores = nil },
			want: []line{
				{event.StockAdjusted, "MUG", "paris", -1, "", "sale", "", "pos:paris:2:paris-2-000017", "paris-2-000017/0", sent},
				{event.StockAdjusted, "SHIRT-M", "paris", -1, "", "sale", "", "pos:paris:2:paris-2-000017", "paris-2-000017/1", sent},
			},
		},
		{
			name: "empty batch", file: "empty_batch.json", dedup: "pos:" + testID + ":berlin-3-000124",
		},
		{
			name: "a sale may say its reason is sale; bounds are inclusive", dedup: "pos:" + testID + ":k1",
			body: batchBody(`{"type":"sale","sku":"A","quantity":1000000000,"reason":"sale"},{"type":"adjustment","sku":"A","quantity":-1000000000,"reason":"theft"},` +
				`{"type":"count","sku":"` + strings.Repeat("S", 255) + `","quantity":1000000000}`),
			want: []line{
				{event.StockAdjusted, "A", "berlin-store", -1_000_000_000, "", "sale", "", "pos:berlin:3:k1", "k1/0", sent},
				{event.StockAdjusted, "A", "berlin-store", -1_000_000_000, "", "theft", "", "pos:berlin:3:k1", "k1/1", sent},
				{event.StockCounted, strings.Repeat("S", 255), "berlin-store", 1_000_000_000, event.StateOnHand, "count", "", "pos:berlin:3:k1", "k1/2", sent},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mods []func(*Config)
			if tt.config != nil {
				mods = append(mods, tt.config)
			}
			c := newConnector(t, mods...)
			body := []byte(tt.body)
			if tt.file != "" {
				body = readTestdata(t, tt.file)
			}
			r := newRequest(body)
			if err := c.Verify(r); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			res := normalize(t, c, r)
			if res.Topic != Topic || res.DedupKey != tt.dedup {
				t.Errorf("Topic, DedupKey = %q, %q; want %q, %q", res.Topic, res.DedupKey, Topic, tt.dedup)
			}
			if got := lines(t, res.Events); !reflect.DeepEqual(got, nonNil(tt.want)) {
				t.Errorf("events:\n got %+v\nwant %+v", got, tt.want)
			}
			var reasons []string
			for _, d := range res.Unmapped {
				reasons = append(reasons, d.Reason)
				if d.Connector != testID || d.EventType != Topic || string(d.Body) != string(body) ||
					d.EventID == "" || !d.CreatedAt.Equal(testReceived) {
					t.Errorf("dead letter %+v: want connector, topic, raw body, key and receive time", d)
				}
			}
			if !reflect.DeepEqual(reasons, tt.unmapped) {
				t.Errorf("unmapped:\n got %q\nwant %q", reasons, tt.unmapped)
			}
		})
	}
}

func TestNormalizeIsDeterministic(t *testing.T) {
	t.Parallel()
	c := newConnector(t)
	body := readTestdata(t, "mixed_batch.json")
	ids := func(body []byte) []string {
		var out []string
		for _, e := range normalize(t, c, newRequest(body)).Events {
			out = append(out, e.ID())
		}
		return out
	}
	first := ids(body)
	seen := map[string]bool{}
	for _, id := range first {
		seen[id] = true
	}
	if len(first) != 5 || len(seen) != 5 {
		t.Fatalf("ids = %v, want five distinct", first)
	}
	if got := ids(body); !reflect.DeepEqual(got, first) {
		t.Errorf("redelivery ids = %v, want %v", got, first)
	}
	for i, id := range ids([]byte(strings.Replace(string(body), "berlin-3-000123", "berlin-3-000125", 1))) {
		if id == first[i] {
			t.Errorf("another batch reused id %s", id)
		}
	}
}

func TestNormalizeBatchLimit(t *testing.T) {
	t.Parallel()
	c := newConnector(t)
	batch := func(n int) []byte {
		m := make([]string, n)
		for i := range m {
			m[i] = fmt.Sprintf(`{"type":"sale","sku":"SKU-%d","quantity":1}`, i)
		}
		return []byte(batchBody(strings.Join(m, ",")))
	}
	if res := normalize(t, c, newRequest(batch(MaxMovements))); len(res.Events) != MaxMovements {
		t.Errorf("%d events, want %d", len(res.Events), MaxMovements)
	}
	_, err := c.Normalize(context.Background(), newRequest(batch(MaxMovements+1)))
	if !errors.Is(err, connectors.ErrMalformed) || !strings.Contains(err.Error(), "field movements has 1001 entries, more than 1000") {
		t.Errorf("err = %v", err)
	}
}

func TestNormalizeMalformed(t *testing.T) {
	t.Parallel()
	mv := func(m string) string { return batchBody(m) }
	tests := []struct {
		name, body, want string
	}{
		{"empty body", ``, "body is not JSON"},
		{"truncated", `{"idempotencyKey":"k"`, "body is not JSON"},
		{"array", `[]`, "body is a JSON array, want an object"},
		{"trailing data", batchBody(``) + `{}`, "body has data after the JSON object"},
		{"unknown top-level field", `{"idempotencyKey":"k","shop":"x"}`, `body: unknown field "shop"`},
		{"key missing", `{"store":"berlin","sentAt":"2026-11-20T10:00:00Z","movements":[]}`, "field idempotencyKey is empty"},
		{"key not a string", `{"idempotencyKey":12}`, "field idempotencyKey: got JSON number, want a string"},
		{"key with a space", `{"idempotencyKey":"a b","store":"s","sentAt":"2026-11-20T10:00:00Z","movements":[]}`, "field idempotencyKey must be printable ASCII without spaces"},
		{"key too long", `{"idempotencyKey":"` + strings.Repeat("k", 129) + `"}`, "field idempotencyKey is longer than 128 bytes"},
		{"store missing", `{"idempotencyKey":"k","sentAt":"2026-11-20T10:00:00Z","movements":[]}`, "field store is empty"},
		{"store too long", `{"idempotencyKey":"k","store":"` + strings.Repeat("s", 65) + `"}`, "field store is longer than 64 bytes"},
		{"register with a newline", `{"idempotencyKey":"k","store":"s","register":"3\n"}`, "field register contains control characters"},
		{"register too long", `{"idempotencyKey":"k","store":"s","register":"` + strings.Repeat("r", 33) + `"}`, "field register is longer than 32 bytes"},
		{"sentAt missing", `{"idempotencyKey":"k","store":"s","movements":[]}`, "field sentAt is missing"},
		{"sentAt without offset", `{"idempotencyKey":"k","store":"s","sentAt":"2026-11-20T10:00:00","movements":[]}`, `field sentAt: "2026-11-20T10:00:00" is not an RFC 3339 time`},
		{"movements missing", `{"idempotencyKey":"k","store":"s","sentAt":"2026-11-20T10:00:00Z"}`, "field movements is missing"},
		{"movements null", `{"idempotencyKey":"k","store":"s","sentAt":"2026-11-20T10:00:00Z","movements":null}`, "field movements is missing"},
		{"movements an object", `{"idempotencyKey":"k","store":"s","sentAt":"2026-11-20T10:00:00Z","movements":{}}`, "field movements: got JSON object, want an array"},
		{"movement not an object", mv(`{"type":"sale","sku":"A","quantity":1},7`), "field movements[1]: got JSON number, want an object"},
		{"unknown movement field", mv(`{"type":"sale","sku":"A","qty":1}`), `movements[0]: unknown field "qty"`},
		{"type missing", mv(`{"sku":"A","quantity":1}`), "field movements[0].type is missing"},
		{"unknown type", mv(`{"type":"sale","sku":"A","quantity":1},{"type":"transfer","sku":"A","quantity":1}`),
			`field movements[1].type: unknown type "transfer" (want one of sale, return, receipt, count, adjustment)`},
		{"type in capitals", mv(`{"type":"SALE","sku":"A","quantity":1}`), `field movements[0].type: unknown type "SALE"`},
		{"sku missing", mv(`{"type":"sale","quantity":1}`), "field movements[0].sku is empty"},
		{"sku too long", mv(`{"type":"sale","sku":"` + strings.Repeat("S", 256) + `","quantity":1}`), "field movements[0].sku is longer than 255 bytes"},
		{"sku with a tab", mv(`{"type":"sale","sku":"A\tB","quantity":1}`), "field movements[0].sku contains control characters"},
		{"quantity missing", mv(`{"type":"count","sku":"A"}`), "field movements[0].quantity is missing"},
		{"quantity null", mv(`{"type":"count","sku":"A","quantity":null}`), "field movements[0].quantity is missing"},
		{"quantity a string", mv(`{"type":"sale","sku":"A","quantity":"1"}`), "field movements[0].quantity: got JSON string, want an integer"},
		{"quantity a fraction", mv(`{"type":"sale","sku":"A","quantity":1.5}`), "field movements[0].quantity: got JSON number 1.5, want an integer"},
		{"quantity beyond int64", mv(`{"type":"sale","sku":"A","quantity":99999999999999999999}`), "field movements[0].quantity: got JSON number 99999999999999999999"},
		{"sale of 0", mv(`{"type":"sale","sku":"A","quantity":0}`), "field movements[0].quantity: 0 is out of range for type sale (want 1..1000000000)"},
		{"negative sale", mv(`{"type":"sale","sku":"A","quantity":-1}`), "-1 is out of range for type sale"},
		{"negative return", mv(`{"type":"return","sku":"A","quantity":-1}`), "-1 is out of range for type return"},
		{"receipt too big", mv(`{"type":"receipt","sku":"A","quantity":1000000001}`), "1000000001 is out of range for type receipt"},
		{"negative count", mv(`{"type":"count","sku":"A","quantity":-1}`), "-1 is out of range for type count (want 0..1000000000)"},
		{"zero adjustment", mv(`{"type":"adjustment","sku":"A","quantity":0,"reason":"x"}`), "0 is out of range for type adjustment (want -1000000000..1000000000 and not 0)"},
		{"adjustment too small", mv(`{"type":"adjustment","sku":"A","quantity":-1000000001,"reason":"x"}`), "-1000000001 is out of range for type adjustment"},
		{"adjustment without reason", mv(`{"type":"adjustment","sku":"A","quantity":-2}`), "field movements[0].reason is missing; an adjustment says why"},
		{"sale with another reason", mv(`{"type":"sale","sku":"A","quantity":1,"reason":"damage"}`), `field movements[0].reason: a sale's reason is always "sale"; send an adjustment for "damage"`},
		{"reason too long", mv(`{"type":"return","sku":"A","quantity":1,"reason":"` + strings.Repeat("r", 129) + `"}`), "field movements[0].reason is longer than 128 bytes"},
		{"ref too long", mv(`{"type":"sale","sku":"A","quantity":1,"ref":"` + strings.Repeat("r", 129) + `"}`), "field movements[0].ref is longer than 128 bytes"},
		{"bad at", mv(`{"type":"sale","sku":"A","quantity":1,"at":"09:59"}`), `field movements[0].at: "09:59" is not an RFC 3339 time`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newConnector(t)
			res, err := c.Normalize(context.Background(), newRequest([]byte(tt.body)))
			if !errors.Is(err, connectors.ErrMalformed) {
				t.Fatalf("Normalize = %+v, %v; want ErrMalformed", res, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestNormalizeCancelledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := newConnector(t)
	if _, err := c.Normalize(ctx, newRequest(readTestdata(t, "mixed_batch.json"))); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}
