package shopify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stockgate/stockgate/connectors"
)

// fuzzTopics are the topics the fuzzer picks from by index.
var fuzzTopics = []string{
	TopicOrdersCreate, TopicOrdersCancelled, TopicFulfillmentsCreate,
	TopicRefundsCreate, TopicInventoryLevelsUpdate, "products/update",
}

// testdataTopic is the topic of each testdata file, by name prefix.
func testdataTopic(name string) uint8 {
	for i, t := range fuzzTopics {
		if strings.HasPrefix(name, strings.ReplaceAll(t, "/", "_")) {
			return uint8(i)
		}
	}
	return uint8(len(fuzzTopics) - 1)
}

// FuzzNormalize checks that Normalize never panics and fails only with
// ErrMalformed, that every event it returns passed the schema, and that
// Verify never accepts a body under a signature that is not the body's.
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
		f.Add(testdataTopic(filepath.Base(file)), b, "")
	}
	f.Add(uint8(0), []byte(`{"id":1,"line_items":[{"id":2,"sku":"A","quantity":-1}]}`), vectorHMAC)
	c := newConnector(f)
	f.Fuzz(func(t *testing.T, topic uint8, body []byte, sig string) {
		r := newRequest(fuzzTopics[int(topic)%len(fuzzTopics)], body)
		valid := r.Header.Get(HeaderHMAC)

		// Any signature but the body's own is refused.
		r.Header.Set(HeaderHMAC, sig)
		err := c.Verify(r)
		if err == nil && sig != valid && sig != Sign(oldSecret, body) {
			t.Fatalf("Verify accepted signature %q for a body signed %q", sig, valid)
		}
		if err != nil && !errors.Is(err, connectors.ErrUnauthorized) {
			t.Fatalf("Verify error %v does not wrap ErrUnauthorized", err)
		}
		// The body's signature does not carry over to a changed body.
		r.Header.Set(HeaderHMAC, valid)
		if err := c.Verify(r); err != nil {
			t.Fatalf("Verify rejected the body's own signature: %v", err)
		}
		r.Body = append(append([]byte(nil), body...), ' ')
		if err := c.Verify(r); err == nil {
			t.Fatal("Verify accepted a changed body")
		}
		r.Body = body

		res, err := c.Normalize(context.Background(), r)
		if err != nil {
			if !errors.Is(err, connectors.ErrMalformed) {
				t.Fatalf("Normalize error %v does not wrap ErrMalformed", err)
			}
			return
		}
		for _, e := range res.Events {
			if m := e.Movement; m == nil || m.Quantity < 0 || m.Quantity > maxQuantity || m.SKU == "" || m.Location == "" {
				t.Fatalf("event %+v", e.Movement)
			}
		}
		for _, d := range res.Unmapped {
			if d.Reason == "" || d.Connector != testID {
				t.Fatalf("dead letter %+v", d)
			}
		}
	})
}
