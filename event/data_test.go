package event

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// asDecoded turns the int64 and uint64 of a doc into the json.Number that
// jsonschema.UnmarshalJSON returns, so the two can be compared.
func asDecoded(d map[string]any) map[string]any {
	out := make(map[string]any, len(d))
	for k, v := range d {
		switch v := v.(type) {
		case int64:
			out[k] = json.Number(strconv.FormatInt(v, 10))
		case uint64:
			out[k] = json.Number(strconv.FormatUint(v, 10))
		default:
			out[k] = v
		}
	}
	return out
}

// TestDocMatchesJSON checks that the document NewMovement and
// NewAvailability validate is the one the validator would see by decoding
// the data they marshal, and that it gets the same verdict and message.
func TestDocMatchesJSON(t *testing.T) {
	t.Parallel()
	paris := time.FixedZone("CET", 3600)
	var docs []struct {
		t   Type
		doc map[string]any
		v   any
	}
	add := func(typ Type, doc map[string]any, v any) {
		docs = append(docs, struct {
			t   Type
			doc map[string]any
			v   any
		}{typ, doc, v})
	}
	for _, s := range samples() {
		if s.t == AvailabilityChanged {
			add(s.t, s.a.doc(), &s.a)
			continue
		}
		add(s.t, s.m.doc(), &s.m)
		// Every field set, every field empty, odd strings and times.
		full := s.m
		full.ToLocation, full.State, full.OrderID = "paris-store", StateAvailable, "1001"
		full.OccurredAt = time.Date(2026, 3, 14, 9, 26, 53, 123456789, paris)
		add(s.t, full.doc(), &full)
		empty := Movement{OccurredAt: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)}
		add(s.t, empty.doc(), &empty)
		odd := s.m
		odd.SKU = "<SOCK & \"TRL\">\u2028ü\x00"
		odd.Location = strings.Repeat("é", 128)
		odd.Reason = "\xff\xfe" // invalid UTF-8 becomes U+FFFD in JSON
		odd.Quantity = math.MinInt64
		add(s.t, odd.doc(), &odd)
	}
	a := samples()[8].a
	a.Seq, a.OnHand, a.SafetyStock = math.MaxUint64, math.MaxInt64, -1
	a.RecordedAt = time.Time{}
	add(AvailabilityChanged, a.doc(), &a)

	for _, d := range docs {
		data, err := json.Marshal(d.v)
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		got := asDecoded(d.doc)
		// JSON replaces invalid UTF-8; the validator counts a bad byte as one
		// rune either way, so only compare strings that are valid.
		for k, v := range got {
			if s, ok := v.(string); ok && !strings.ContainsRune(strings.ToValidUTF8(s, "\uFFFD"), '\uFFFD') && s != decoded.(map[string]any)[k] {
				t.Errorf("%s: doc[%q] = %q, json has %q", d.t.Short(), k, s, decoded.(map[string]any)[k])
			}
		}
		if len(got) != len(decoded.(map[string]any)) {
			t.Errorf("%s: doc has keys %v, json %s", d.t.Short(), keys(got), data)
		}
		for k, v := range decoded.(map[string]any) {
			if _, ok := v.(string); !ok && !reflect.DeepEqual(got[k], v) {
				t.Errorf("%s: doc[%q] = %#v, json has %#v", d.t.Short(), k, got[k], v)
			}
		}
		e1, e2 := validateDoc(d.t, d.doc), validateDoc(d.t, decoded)
		if (e1 == nil) != (e2 == nil) || (e1 != nil && e1.Error() != e2.Error()) {
			t.Errorf("%s: doc verdict %v, json verdict %v", d.t.Short(), e1, e2)
		}
	}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestDeterministicID checks the stack-buffer hash against uuid.NewSHA1 of
// the joined parts, which is what the persisted ids were derived with.
func TestDeterministicID(t *testing.T) {
	t.Parallel()
	for _, parts := range [][]string{
		nil, {""}, {"", ""}, {"a"}, {"a", "b"}, {"a\x1fb"},
		{"shopify-eu", shopifyDelivery + "/" + shopifyLine, string(OrderCommitted), "SOCK-TRL-M-MOSS", "berlin-store"},
		{strings.Repeat("long", 100), "x"}, // beyond the stack buffer
	} {
		want := uuid.NewSHA1(namespace, []byte(strings.Join(parts, "\x1f"))).String()
		if got := DeterministicID(parts...); got != want {
			t.Errorf("DeterministicID(%q) = %s, want %s", parts, got, want)
		}
	}
	// Pinned: ids are stored, so this value may never change.
	if got, want := DeterministicID("availability", "cause", "SKU", "loc"), "3ef28228-6085-54c9-92e9-e97b21bbc475"; got != want {
		t.Errorf("DeterministicID = %s, want the pinned %s", got, want)
	}
}

func FuzzDeterministicID(f *testing.F) {
	f.Add("shopify-eu", "5d3c1a7e/1", "SOCK")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		want := uuid.NewSHA1(namespace, []byte(a+"\x1f"+b+"\x1f"+c)).String()
		if got := DeterministicID(a, b, c); got != want {
			t.Fatalf("DeterministicID = %s, want %s", got, want)
		}
	})
}
