package square

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
)

// FuzzNormalize checks that Normalize never panics and fails only with
// ErrMalformed, that every event it returns is a well-formed count, and
// that Verify never accepts a body under a signature that is not the
// body's (for the configured URL) under one of the keys.
func FuzzNormalize(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "")
	}
	f.Add([]byte(countBody(`{"catalog_object_id":"`+sockVariation+`","location_id":"`+berlinLocation+`","state":"IN_STOCK","quantity":"-0.000"}`)),
		publishedVectors[0].sig)
	c := newConnector(f)
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		r := newRequest(body)
		valid := r.Header.Get(HeaderSignature)

		// Any signature but the body's own is refused.
		r.Header.Set(HeaderSignature, sig)
		err := c.Verify(r)
		if err == nil && sig != valid && sig != Sign(oldKey, testURL, body) {
			t.Fatalf("Verify accepted signature %q for a body signed %q", sig, valid)
		}
		if err != nil && !errors.Is(err, connectors.ErrUnauthorized) {
			t.Fatalf("Verify error %v does not wrap ErrUnauthorized", err)
		}
		// The body's signature does not carry over to a changed body, nor
		// to the same body at another URL.
		r.Header.Set(HeaderSignature, valid)
		if err := c.Verify(r); err != nil {
			t.Fatalf("Verify rejected the body's own signature: %v", err)
		}
		r.Body = append(append([]byte(nil), body...), ' ')
		if err := c.Verify(r); err == nil {
			t.Fatal("Verify accepted a changed body")
		}
		r.Body = body
		r.Header.Set(HeaderSignature, Sign(testKey, testURL+"x", body))
		if err := c.Verify(r); err == nil {
			t.Fatal("Verify accepted a signature over another URL")
		}

		res, err := c.Normalize(context.Background(), r)
		if err != nil {
			if !errors.Is(err, connectors.ErrMalformed) {
				t.Fatalf("Normalize error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if res.DedupKey == "" || res.Topic == "" {
			t.Fatalf("result without dedup key or topic: %+v", res)
		}
		for _, e := range res.Events {
			m := e.Movement
			if e.Type != event.StockCounted || m == nil || m.Quantity < 0 || m.Quantity > maxQuantity ||
				m.SKU == "" || m.Location == "" || (m.State != event.StateOnHand && m.State != event.StateAvailable) {
				t.Fatalf("event %s %+v", e.Type, m)
			}
		}
		for _, d := range res.Unmapped {
			if d.Reason == "" || d.Connector != testID || d.EventID == "" {
				t.Fatalf("dead letter %+v", d)
			}
		}
	})
}
