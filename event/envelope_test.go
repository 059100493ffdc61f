package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	ce "github.com/cloudevents/sdk-go/v2/event"
)

// envelopeSeeds returns the golden samples, compacted and reshaped in the
// ways a producer may write the same event: spaces, another key order, a
// missing optional attribute, and shapes the fast path must leave to the
// SDK (escapes, an unknown attribute, another content type, data that is
// not flat).
func envelopeSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	var seeds [][]byte
	for _, f := range goldenSamples(tb) {
		raw := f.raw
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			tb.Fatal(err)
		}
		c := compact.String()
		seeds = append(seeds, raw, compact.Bytes())
		for _, edit := range [][2]string{
			{`"specversion":"1.0",`, ``},
			{`"specversion":"1.0",`, `"specversion":"0.3",`},
			{`{"specversion":"1.0",`, `{"extra":"x","specversion":"1.0",`},
			{`"datacontenttype":"application/json"`, `"datacontenttype":"text/plain"`},
			{`"datacontenttype":"application/json"`, `"datacontenttype":"application/json; charset=utf-8"`},
			{`,"subject":`, `,"subject":" x",`},
			{`"id":"`, `"id":"\u0041`},
			{`"id":"`, `"id":" `},
			{`"source":"`, `"source":"%zz`},
			{`"time":"`, `"time":"x`},
			{`"time":"`, `"time":"","old":"`},
			{`"data":{`, `"data":{"nested":{"a":1},`},
			{`"data":{`, `"data":{"quantity":1.5,`},
			{`"data":{`, `"data_base64":"e30=","x":{`},
			{`,"correlationid":`, `,"correlationid":1,"c":`},
			{`,"partitionkey":`, `,"partitionkey":null,"p":`},
			{`.v1"`, `.v9"`},
		} {
			if e := strings.Replace(c, edit[0], edit[1], 1); e != c {
				seeds = append(seeds, []byte(e))
			}
		}
		// Another key order: data first.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			tb.Fatal(err)
		}
		reordered := []byte(`{"data":` + string(m["data"]))
		for k, v := range m {
			if k != "data" {
				reordered = append(reordered, `, "`+k+`" : `+string(v)...)
			}
		}
		seeds = append(seeds, append(reordered, '}'))
	}
	return seeds
}

// FuzzEnvelopeFastPath checks the envelope fast paths against the SDK:
// where parseEnvelope accepts a document, the SDK's path accepts it too
// and reads the same event; and the fast Marshal writes the bytes the
// SDK's WriteJson writes.
func FuzzEnvelopeFastPath(f *testing.F) {
	for _, s := range envelopeSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok := parseEnvelope(raw)
		slow, err := parseSDK(raw)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("fast path accepted what the SDK refuses (%v):\n%s", err, raw)
		}
		if d := diffEvents(fast, slow); d != "" {
			t.Fatalf("fast path and SDK disagree on %s from %s", d, raw)
		}
		checkMarshal(t, slow)
	})
}

// checkMarshal checks that Marshal writes what the SDK's WriteJson writes
// for ev, and that the fast path took it.
func checkMarshal(t *testing.T, ev *Event) {
	t.Helper()
	var want bytes.Buffer
	if err := ce.WriteJson(&ev.Envelope, &want); err != nil {
		t.Fatal(err)
	}
	got, ok := appendEnvelope(nil, &ev.Envelope)
	if !ok {
		t.Fatalf("fast Marshal refused a canonical envelope %#v", ev.Envelope.Context)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("fast Marshal wrote\n%s\nthe SDK writes\n%s", got, want.Bytes())
	}
}

// TestEnvelopeFastPathTaken checks that the fast paths take what stockgate
// itself writes: every golden sample parses without the SDK, reads what
// the SDK reads, and marshals as the SDK would, into bytes the fast path
// takes again.
func TestEnvelopeFastPathTaken(t *testing.T) {
	for _, f := range goldenSamples(t) {
		file, raw := f.path, f.raw
		ev, ok := parseEnvelope(raw)
		if !ok {
			t.Errorf("%s: the fast path refused a golden sample", file)
			continue
		}
		slow, err := parseSDK(raw)
		if err != nil {
			t.Fatal(err)
		}
		if d := diffEvents(ev, slow); d != "" {
			t.Errorf("%s: fast path and SDK disagree on %s", file, d)
		}
		checkMarshal(t, ev)
		b, err := ev.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := parseEnvelope(b); !ok {
			t.Errorf("%s: the fast path refused its own Marshal output %s", file, b)
		}
	}
}

// TestEnvelopeFastPathRefuses checks shapes the fast path must leave to
// the SDK, so that the SDK's error (or its reading) is what callers see.
func TestEnvelopeFastPathRefuses(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "samples", "order.committed.v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatal(err)
	}
	c := compact.String()
	for _, edit := range [][2]string{
		{`"specversion":"1.0",`, ``},
		{`"specversion":"1.0",`, `"specversion":"0.3",`},
		{`{"specversion":"1.0",`, `{"extra":"x","specversion":"1.0",`},
		{`"datacontenttype":"application/json"`, `"datacontenttype":"text/plain"`},
		{`"id":"`, `"id":"\u0041`},
		{`"data":{`, `"data":{"nested":{"a":1},`},
		{`.v1"`, `.v9"`},
		{`}`, `}x`},
	} {
		e := strings.Replace(c, edit[0], edit[1], 1)
		if e == c {
			t.Fatalf("edit %q not applied to %s", edit[0], c)
		}
		if ev, ok := parseEnvelope([]byte(e)); ok {
			t.Errorf("fast path accepted %s as %+v", e, ev)
		}
	}
}

// diffEvents names the first part in which a and b differ, with both
// values, or returns "".
func diffEvents(a, b *Event) string {
	for _, p := range []struct {
		name string
		x, y any
	}{
		{"context", a.Envelope.Context, b.Envelope.Context},
		{"data", string(a.Envelope.DataEncoded), string(b.Envelope.DataEncoded)},
		{"base64", a.Envelope.DataBase64, b.Envelope.DataBase64},
		{"field errors", a.Envelope.FieldErrors, b.Envelope.FieldErrors},
		{"type", a.Type, b.Type},
		{"movement", a.Movement, b.Movement},
		{"availability", a.Availability, b.Availability},
	} {
		if !reflect.DeepEqual(p.x, p.y) {
			return fmt.Sprintf("%s:\n%#v\n%#v", p.name, p.x, p.y)
		}
	}
	return ""
}

// goldenSample is one file of testdata/samples.
type goldenSample struct {
	path string
	raw  []byte
}

// goldenSamples reads every golden sample.
func goldenSamples(tb testing.TB) []goldenSample {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "samples", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no samples: %v", err)
	}
	out := make([]goldenSample, 0, len(files))
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, goldenSample{file, raw})
	}
	return out
}
