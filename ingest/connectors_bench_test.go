package ingest_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/amazon"
	"github.com/stockgate/stockgate/connectors/pos"
	"github.com/stockgate/stockgate/connectors/square"
	"github.com/stockgate/stockgate/ingest"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/boltstore"
)

var azNotificationID = regexp.MustCompile(`"NotificationId":\s*"[^"]*"`)

// BenchmarkIngestPerConnector measures acknowledged messages per second
// through the whole ingest path (HTTP handler, verify, normalize, durable
// outbox write with the dedup key) for each connector's typical message,
// on the embedded bolt store with fsync.
func BenchmarkIngestPerConnector(b *testing.B) {
	read := func(path string) string {
		raw, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		return string(raw)
	}
	const (
		sqKey  = "square-bench-key-0123"
		sqURL  = "https://gw.example.com/webhooks/sq"
		posKey = "pos-bench-secret-0123"
		ebKey  = "eventbridge-bench-key-0123"
	)
	sqBody := read("../connectors/square/testdata/inventory_count_updated_sale.json")
	posBody := read("../connectors/pos/testdata/till_sales.json")
	azBody := read("../connectors/amazon/testdata/order_change_unshipped.json")
	cases := []struct {
		name string
		conn func() (connectors.Inbound, error)
		req  func(n int64) *http.Request
	}{
		{"square-count", func() (connectors.Inbound, error) {
			return square.New(square.Config{ID: "c", SignatureKeys: []string{sqKey}, NotificationURL: sqURL,
				Locations: map[string]string{"L8YQ2W4K7ZB3D": "berlin"}, Items: map[string]string{"VXKQ3J7T5M2PZ8RB6WCN4YHD": "TEE"}})
		}, func(n int64) *http.Request {
			body := []byte(strings.Replace(sqBody, "0b7f6c2e-5a41-4d8e-9f13-6e2a8c4d1b07", fmt.Sprintf("bench-%d", n), 1))
			r := httptest.NewRequest(http.MethodPost, "/webhooks/c", bytes.NewReader(body))
			r.Header.Set(square.HeaderSignature, square.Sign(sqKey, sqURL, body))
			return r
		}},
		{"pos-batch", func() (connectors.Inbound, error) {
			return pos.New(pos.Config{ID: "c", Secrets: []string{posKey}})
		}, func(n int64) *http.Request {
			body := []byte(strings.Replace(posBody, "hamburg-1-004711", fmt.Sprintf("bench-%d", n), 1))
			r := httptest.NewRequest(http.MethodPost, "/webhooks/c", bytes.NewReader(body))
			r.Header.Set(pos.HeaderSignature, pos.Sign(posKey, time.Now(), body))
			return r
		}},
		{"amazon-eventbridge-order", func() (connectors.Inbound, error) {
			return amazon.New(amazon.Config{ID: "c", DefaultLocation: "web", EventBridge: amazon.EventBridgeConfig{Secrets: []string{ebKey}},
				Locations: map[string]string{"6c1f0e52-8a7d-4f3b-9e21-0d5b7a3c4e11": "dc", "f0a9d8c7-b6a5-4433-8211-00ffeeddccbb": "dc2"}})
		}, func(n int64) *http.Request {
			body := []byte(azNotificationID.ReplaceAllString(azBody, fmt.Sprintf(`"NotificationId": "bench-%d"`, n)))
			r := httptest.NewRequest(http.MethodPost, "/webhooks/c", bytes.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+ebKey)
			return r
		}},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			d, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			st := store.New(d)
			defer st.Close()
			c, err := bc.conn()
			if err != nil {
				b.Fatal(err)
			}
			h := ingest.New(st, nil)
			h.Register(c)
			mux := http.NewServeMux()
			mux.Handle("POST /webhooks/{connectorID}", h)
			var seq atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					mux.ServeHTTP(w, bc.req(seq.Add(1)))
					if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"accepted"`) {
						b.Fatalf("%d %s", w.Code, w.Body)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
