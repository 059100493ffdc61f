package amazon

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stockgate/stockgate/connectors"
)

// staticFetcher returns one item for any order, so the fuzzer's
// ORDER_CHANGE without items takes the fetch path without a network.
type staticFetcher struct{}

func (staticFetcher) OrderItems(_ context.Context, id string) ([]OrderItem, error) {
	return []OrderItem{{OrderItemID: "1", SellerSKU: "NP-SOCK-MOSS-M", QuantityOrdered: 2}}, nil
}

// Fuzz transports.
const (
	fuzzSNS    = 0 // as SNS delivers it: x-amz-sns-message-type from the body
	fuzzHeader = 1 // as an API destination delivers it: x-api-key
)

// FuzzNormalize checks that Verify accepts an SNS body only if its
// signature verifies under the test's own rendering of the SNS rules, and
// a header-authenticated one only with a configured secret; that Normalize
// never panics and fails only with ErrMalformed; and that every event it
// returns is within the schema's bounds.
func FuzzNormalize(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, file := range files {
		b := readTestdata(f, filepath.Base(file))
		f.Add(uint8(fuzzSNS), snsNotification(awsHost, "2", b).body(), "")
		f.Add(uint8(fuzzSNS), snsNotification(awsHost, "1", ebEnvelope(b)).body(), "")
		f.Add(uint8(fuzzHeader), ebEnvelope(b), testAPIKey)
		f.Add(uint8(fuzzHeader), b, oldAPIKey)
	}
	f.Add(uint8(fuzzSNS), snsConfirmation(awsHost, SNSSubscriptionConfirmation, "tok").body(), "")
	f.Add(uint8(fuzzHeader), []byte(`{"detail-type":"X","source":"`+ebSource+`","detail":{"detail":{}}}`), testAPIKey)

	c := memConnector(f, func(c *Config) {
		c.OrderItems = staticFetcher{}
		c.Locations[mxMarket] = "amazon-fba-mx"
	})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, transport uint8, body []byte, key string) {
		var env snsEnvelope
		isSNS := decodeSNS(body, &env) && isSNSType(env.Type)
		h := http.Header{}
		if transport%2 == fuzzSNS {
			h.Set(HeaderSNSMessageType, env.Type)
			if env.Type == "" {
				h.Set(HeaderSNSMessageType, SNSNotification)
			}
		} else {
			h.Set(testAuthHeader, key)
		}
		r := requestAt(h, body)
		err := c.Verify(r)
		switch {
		case err != nil && !errors.Is(err, connectors.ErrUnauthorized):
			t.Fatalf("Verify error %v does not wrap ErrUnauthorized", err)
		case err == nil && transport%2 == fuzzSNS && !testVerifySNS(body):
			t.Fatalf("Verify accepted an SNS body whose signature does not match: %s", body)
		case err == nil && transport%2 == fuzzHeader && !testVerifySNS(body) && key != testAPIKey && key != oldAPIKey:
			t.Fatalf("Verify accepted header %q", key)
		case err == nil && transport%2 == fuzzHeader && isSNS && mayBeSNS(body) && !testVerifySNS(body):
			// An SNS-shaped body is judged by its signature, never by the
			// header (a key spelled with JSON escapes aside: mayBeSNS).
			t.Fatalf("Verify accepted an SNS body by its header: %s", body)
		}

		res, nerr := c.normalize(ctx, r, err == nil)
		if nerr != nil {
			if !errors.Is(nerr, connectors.ErrMalformed) {
				t.Fatalf("Normalize error %v does not wrap ErrMalformed", nerr)
			}
			return
		}
		if res.DedupKey == "" {
			t.Fatal("empty DedupKey")
		}
		for _, e := range res.Events {
			m := e.Movement
			if m == nil || m.Quantity < 0 || m.Quantity > maxQuantity || m.SKU == "" || m.Location == "" ||
				m.OccurredAt.IsZero() || m.Connector != testID || m.SourceEventID == "" {
				b, _ := json.Marshal(m)
				t.Fatalf("event %s", b)
			}
		}
		for _, d := range res.Unmapped {
			if d.Reason == "" || d.Connector != testID {
				t.Fatalf("dead letter %+v", d)
			}
		}
	})
}
