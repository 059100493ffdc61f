package pos

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
)

// tParam finds the t= values in a header, for the oracle below.
var tParam = regexp.MustCompile(`t=(\d+)`)

// FuzzNormalize checks that Normalize never panics and fails only with
// ErrMalformed, that every event it returns is within its type's bounds,
// and that Verify never accepts a header unless it carries, for some
// secret, the MAC of its own timestamp and the body (computed here
// independently of Verify).
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
	f.Add([]byte(batchBody(`{"type":"adjustment","sku":"A","quantity":-1000000000,"reason":"x"}`)), "t=1795175980,v1="+strings.Repeat("0", 64))
	f.Add([]byte(`{}`), "t=9223372036854775807,v1="+strings.Repeat("a", 64))
	c := newConnector(f)
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		r := newRequest(body)
		valid := r.Header.Get(HeaderSignature)

		// Any header is refused unless it carries a true MAC for its t.
		r.Header.Set(HeaderSignature, header)
		err := c.Verify(r)
		if err == nil && !carriesMAC(header, body) {
			t.Fatalf("Verify accepted %q for a body signed %q", header, valid)
		}
		if err != nil && !errors.Is(err, connectors.ErrUnauthorized) {
			t.Fatalf("Verify error %v does not wrap ErrUnauthorized", err)
		}
		// The body's signature does not carry over to a changed body.
		r.Header.Set(HeaderSignature, valid)
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
		if len(res.Events) > MaxMovements || !strings.HasPrefix(res.DedupKey, "pos:"+testID+":") {
			t.Fatalf("result %+v", res)
		}
		for _, e := range res.Events {
			m := e.Movement
			if m == nil || m.SKU == "" || m.Location == "" || m.Quantity < -maxQuantity || m.Quantity > maxQuantity ||
				(e.Type != event.StockAdjusted && m.Quantity < 0) || (e.Type == event.StockAdjusted && m.Quantity == 0) {
				t.Fatalf("event %s %+v", e.Type, m)
			}
		}
		for _, d := range res.Unmapped {
			if d.Reason == "" || d.Connector != testID {
				t.Fatalf("dead letter %+v", d)
			}
		}
	})
}

// carriesMAC reports whether header holds, for one of its t= values and
// one of the test secrets, the hex MAC of "<t>." + body.
func carriesMAC(header string, body []byte) bool {
	h := strings.ToLower(header)
	for _, m := range tParam.FindAllStringSubmatch(header, -1) {
		for _, s := range []string{testSecret, oldSecret} {
			mac := hmac.New(sha256.New, []byte(s))
			mac.Write([]byte(m[1] + "."))
			mac.Write(body)
			if strings.Contains(h, "v1="+hex.EncodeToString(mac.Sum(nil))) {
				return true
			}
		}
	}
	return false
}
