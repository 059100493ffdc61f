package main

import (
	"errors"
	"testing"
)

// gqlgenNext is a next message as the gateway's gqlgen websocket transport
// writes it for the subscription of subscriptionQuery(true).
const gqlgenNext = `{"payload":{"data":{"availabilityChanged":{"sku":"subs-8a0b0c0d-42","location":"web","committed":3,"available":-3,"seq":3,"coalesced":true,"recordedAt":"2026-11-26T17:49:10.123456789Z","cursor":"eyJ0IjoxNzY0MTc5MzUwMTIzNDU2Nzg5LCJzIjp7fX0"}}},"id":"s","type":"next"}`

func TestFindObject(t *testing.T) {
	t.Parallel()
	var c change
	if err := findObject([]byte(gqlgenNext), "availabilityChanged", &c); err != nil {
		t.Fatal(err)
	}
	if string(c.SKU) != "subs-8a0b0c0d-42" || string(c.Location) != "web" || c.Committed != 3 || c.Available != -3 ||
		c.Seq != 3 || !c.Coalesced || string(c.RecordedAt) != "2026-11-26T17:49:10.123456789Z" {
		t.Errorf("fast path = %+v", c)
	}
	// The slow path agrees.
	sc, errs, ok, err := decodeResult([]byte(`{"data":{"availabilityChanged":{"sku":"subs-8a0b0c0d-42","location":"web","committed":3,"available":-3,"seq":3,"coalesced":true,"recordedAt":"2026-11-26T17:49:10.123456789Z"}}}`), "availabilityChanged")
	if err != nil || !ok || len(errs) > 0 || string(sc.SKU) != string(c.SKU) || sc.Committed != c.Committed || sc.Available != c.Available || sc.Seq != c.Seq || !sc.Coalesced {
		t.Errorf("slow path = %+v %v %v %v", sc, errs, ok, err)
	}

	// Order, spacing, nulls and other fields do not matter.
	if err := findObject([]byte(`{"data": {"availability": { "seq" : 12 , "onHand":null, "sku":"a", "available": 0, "committed":-7, "coalesced":false } } }`), "availability", &c); err != nil {
		t.Fatal(err)
	}
	if string(c.SKU) != "a" || c.Seq != 12 || c.Committed != -7 || c.Available != 0 || c.Coalesced || c.Location != nil {
		t.Errorf("reordered = %+v", c)
	}
	if err := findObject([]byte(`{"data":{"availability":{}}}`), "availability", &c); err != nil || c.Seq != 0 || c.SKU != nil {
		t.Errorf("empty object = %+v, %v", c, err)
	}

	// What the fast path must leave to encoding/json.
	for name, msg := range map[string]string{
		"escaped string":  `{"data":{"availabilityChanged":{"sku":"a\"b","seq":1}}}`,
		"errors":          `{"data":{"availabilityChanged":{"sku":"a","seq":1}},"errors":[{"message":"x"}]}`,
		"null field":      `{"data":{"availabilityChanged":null}}`,
		"nested":          `{"data":{"availabilityChanged":{"sku":"a","extra":{"x":1}}}}`,
		"fraction":        `{"data":{"availabilityChanged":{"seq":1.5}}}`,
		"exponent":        `{"data":{"availabilityChanged":{"seq":1e3}}}`,
		"too long":        `{"data":{"availabilityChanged":{"seq":1234567890123456789}}}`,
		"truncated":       `{"data":{"availabilityChanged":{"sku":"a","seq":1`,
		"other message":   `{"type":"ping"}`,
		"other field":     `{"data":{"alerts":{"sku":"a"}}}`,
		"missing colon":   `{"data":{"availabilityChanged":{"sku" "a"}}}`,
		"bare minus sign": `{"data":{"availabilityChanged":{"seq":-}}}`,
	} {
		if err := findObject([]byte(msg), "availabilityChanged", &c); !errors.Is(err, errSlowPath) {
			t.Errorf("%s: err = %v, want errSlowPath", name, err)
		}
	}
	_, errs, ok, err = decodeResult([]byte(`{"data":null,"errors":[{"message":"no","extensions":{"code":"FORBIDDEN"}}]}`), "availabilityChanged")
	if err != nil || ok || firstError(errs) != "no (FORBIDDEN)" {
		t.Errorf("errors: %v %v %v", errs, ok, err)
	}
}

// TestFindObjectAllocs: the per-delivery parse allocates nothing, as the
// command shares the CPU with the gateway it measures.
func TestFindObjectAllocs(t *testing.T) {
	msg := []byte(gqlgenNext)
	var c change
	if n := testing.AllocsPerRun(100, func() {
		if err := findObject(msg, "availabilityChanged", &c); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("findObject allocates %v times per message", n)
	}
}
