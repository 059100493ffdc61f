package event_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stockgate/stockgate/event"
)

// FuzzParse checks that Parse never panics, that every error is one of the
// two sentinels (with the envelope kept for an unknown type), and that an
// accepted event marshals and parses back to an equal event whose data a
// strict json.Decoder reads the same way.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "samples", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no samples: %v", err)
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			f.Fatal(err)
		}
		f.Add(compact.Bytes())
		f.Add(bytes.Replace(compact.Bytes(), []byte(`.v1"`), []byte(`.v2"`), 1))
		f.Add(bytes.Replace(compact.Bytes(), []byte(`"specversion":"1.0",`), nil, 1))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := event.Parse(raw)
		if err != nil {
			switch {
			case errors.Is(err, event.ErrUnknownType):
				if ev == nil {
					t.Fatalf("Parse = nil, %v: an unknown type must keep its envelope", err)
				}
			case !errors.Is(err, event.ErrInvalid):
				t.Fatalf("Parse error %v wraps neither sentinel", err)
			}
			return
		}
		if !slices.Contains(event.Types, ev.Type) || (ev.Movement == nil) == (ev.Availability == nil) ||
			(ev.Movement != nil) != ev.Type.IsMovement() {
			t.Fatalf("Parse accepted %s with Movement %v, Availability %v", ev.Type, ev.Movement, ev.Availability)
		}
		b1, err := ev.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		ev2, err := event.Parse(b1)
		if err != nil {
			t.Fatalf("Parse(Marshal(Parse(%q))) = %v; marshalled %q", raw, err, b1)
		}
		b2, err := ev2.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1, b2) || ev2.Type != ev.Type || ev2.ID() != ev.ID() {
			t.Fatalf("round trip changed the event:\n%s\n%s", b1, b2)
		}
		typed := func(e *event.Event) any {
			if e.Movement != nil {
				return e.Movement
			}
			return e.Availability
		}
		d1, d2 := jsonOf(t, typed(ev)), jsonOf(t, typed(ev2))
		if !bytes.Equal(d1, d2) {
			t.Fatalf("round trip changed the data:\n%s\n%s", d1, d2)
		}
		// Parse converts the schema-checked document itself rather than
		// decoding twice; it must read what a strict decoder reads.
		dec := json.NewDecoder(bytes.NewReader(ev.Envelope.Data()))
		dec.DisallowUnknownFields()
		var strict any = new(event.Movement)
		if ev.Availability != nil {
			strict = new(event.Availability)
		}
		if err := dec.Decode(strict); err != nil {
			t.Fatalf("Parse accepted data a strict decoder rejects: %v\n%s", err, ev.Envelope.Data())
		}
		if d3 := jsonOf(t, strict); !bytes.Equal(d1, d3) {
			t.Fatalf("Parse read\n%s\na strict decoder\n%s", d1, d3)
		}
	})
}

func jsonOf(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
