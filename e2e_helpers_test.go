package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/stockgate/stockgate/connectors/shopify"
)

const (
	testSecret     = "shpss_test_secret_for_e2e"
	testAdminKey   = "admin-key-0123456789abcdef"
	testStoreKey   = "storefront-key-0123456789ab"
	testConnector  = "shop"
	testShopDomain = "e2e-test.myshopify.com"
)

// writeConfig writes a gateway config into dir and sets the secrets it
// references in the environment.
func writeConfig(t *testing.T, dir string, extra string) string {
	t.Helper()
	t.Setenv("E2E_SHOPIFY_SECRET", testSecret)
	t.Setenv("E2E_ADMIN_KEY", testAdminKey)
	t.Setenv("E2E_STOREFRONT_KEY", testStoreKey)
	cfg := fmt.Sprintf(`addr: 127.0.0.1:0
dataDir: %s
keys:
  - {name: ops, role: admin, secret: env:E2E_ADMIN_KEY}
  - {name: web, role: storefront, secret: env:E2E_STOREFRONT_KEY}
connectors:
  - id: %s
    kind: shopify
    shop: %s
    secrets: [env:E2E_SHOPIFY_SECRET]
    defaultLocation: web
    locations: {"655441491": berlin}
%s`, filepath.Join(dir, "data"), testConnector, testShopDomain, extra)
	path := filepath.Join(dir, "stockgate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startGateway runs the gateway in-process and returns its base URL.
func startGateway(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, io.Discard, func(a string) { addrc <- a }) }()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		cancel()
		t.Fatalf("gateway did not start: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("gateway did not start in 20 s")
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("gateway exited with %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Error("gateway did not shut down in 20 s")
			}
		})
	}
	t.Cleanup(stop)
	base := "http://" + addr
	gateways.Store(base, stop)
	return base
}

// gateways holds the stop function of every gateway startGateway started.
var gateways sync.Map

// stopGateway shuts a gateway down gracefully and waits for it.
func stopGateway(t *testing.T, base string) {
	t.Helper()
	stop, ok := gateways.LoadAndDelete(base)
	if !ok {
		t.Fatalf("no gateway at %s", base)
	}
	stop.(func())()
}

var orderSeq atomic.Int64

// orderBody is a Shopify orders/create body (the REST Order resource) with
// one line per sku.
func orderBody(orderID int64, lines map[string]int) []byte {
	var items []string
	i := 0
	for sku, q := range lines {
		i++
		items = append(items, fmt.Sprintf(`{"id":%d,"variant_id":%d,"sku":%q,"quantity":%d,"current_quantity":%d,"fulfillable_quantity":%d,"title":"Test item"}`,
			orderID*100+int64(i), 40000+i, sku, q, q, q))
	}
	return []byte(fmt.Sprintf(`{"id":%d,"admin_graphql_api_id":"gid://shopify/Order/%d","name":"#%d","created_at":"2026-11-20T10:00:00-05:00","updated_at":"2026-11-20T10:00:00-05:00","location_id":null,"source_name":"web","financial_status":"paid","line_items":[%s]}`,
		orderID, orderID, orderID, strings.Join(items, ",")))
}

type webhook struct {
	topic, eventID string
	body           []byte
	secret         string
}

func newOrderWebhook(lines map[string]int) webhook {
	id := 820000000000 + orderSeq.Add(1)
	return webhook{topic: "orders/create", eventID: fmt.Sprintf("evt-%d", id), body: orderBody(id, lines), secret: testSecret}
}

func (w webhook) request(t testing.TB, base string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/webhooks/"+testConnector, bytes.NewReader(w.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(shopify.HeaderTopic, w.topic)
	req.Header.Set(shopify.HeaderShopDomain, testShopDomain)
	req.Header.Set(shopify.HeaderAPIVersion, "2026-07")
	req.Header.Set(shopify.HeaderEventID, w.eventID)
	req.Header.Set(shopify.HeaderWebhookID, "wh-"+w.eventID)
	req.Header.Set(shopify.HeaderTriggeredAt, "2026-11-20T15:00:00.000000000Z")
	req.Header.Set(shopify.HeaderHMAC, shopify.Sign(w.secret, w.body))
	return req
}

func post(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// gql runs a GraphQL request with a key and decodes data into out.
func gql(t testing.TB, base, key, query string, vars map[string]any, out any) []gqlError {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlError      `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("decoding GraphQL answer (HTTP %d): %v", resp.StatusCode, err)
	}
	if out != nil && len(r.Data) > 0 && string(r.Data) != "null" {
		if err := json.Unmarshal(r.Data, out); err != nil {
			t.Fatal(err)
		}
	}
	return r.Errors
}

type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

type level struct {
	SKU       string `json:"sku"`
	Location  string `json:"location"`
	OnHand    int64  `json:"onHand"`
	Committed int64  `json:"committed"`
	Available int64  `json:"available"`
	Seq       int64  `json:"seq"`
	Coalesced bool   `json:"coalesced"`
}

const subQuery = `subscription($skus:[String!]){ availabilityChanged(skus:$skus){ sku location onHand committed available seq coalesced } }`

// wsSubscribe opens a graphql-transport-ws subscription and returns a
// channel of changes.
func wsSubscribe(t *testing.T, base, key string, skus []string, legacy bool) <-chan level {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	proto := "graphql-transport-ws"
	if legacy {
		proto = "graphql-ws"
	}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/graphql", &websocket.DialOptions{Subprotocols: []string{proto}})
	if err != nil {
		t.Fatalf("websocket dial: %v", err)
	}
	t.Cleanup(func() { c.Close(websocket.StatusNormalClosure, "") })
	send := func(v any) {
		if err := wsjson.Write(ctx, c, v); err != nil {
			t.Fatalf("websocket write: %v", err)
		}
	}
	send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + key}})
	var ack map[string]any
	if err := wsjson.Read(ctx, c, &ack); err != nil || ack["type"] != "connection_ack" {
		t.Fatalf("connection_init answered %v, %v", ack, err)
	}
	if _, echoed := ack["payload"]; echoed {
		t.Fatalf("connection_ack has a payload (connection_init's, with the key?): %v", ack)
	}
	startType := "subscribe"
	if legacy {
		startType = "start"
	}
	send(map[string]any{"id": "1", "type": startType, "payload": map[string]any{"query": subQuery, "variables": map[string]any{"skus": skus}}})
	out := make(chan level, 1024)
	go func() {
		defer close(out)
		for {
			var msg struct {
				Type    string          `json:"type"`
				Payload json.RawMessage `json:"payload"`
			}
			if err := wsjson.Read(ctx, c, &msg); err != nil {
				return
			}
			switch msg.Type {
			case "ping":
				_ = wsjson.Write(ctx, c, map[string]any{"type": "pong"})
			case "next", "data":
				var p struct {
					Data struct {
						AvailabilityChanged level `json:"availabilityChanged"`
					} `json:"data"`
				}
				if json.Unmarshal(msg.Payload, &p) == nil {
					out <- p.Data.AvailabilityChanged
				}
			case "error":
				t.Errorf("subscription error: %s", msg.Payload)
				return
			}
		}
	}()
	// The subscription is registered once the server has read the
	// subscribe message; give it a moment so the first change is not
	// published before it exists.
	time.Sleep(100 * time.Millisecond)
	return out
}

// sseSubscribe opens an SSE subscription.
func sseSubscribe(t *testing.T, base, key string, skus []string) <-chan level {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	body, _ := json.Marshal(map[string]any{"query": subQuery, "variables": map[string]any{"skus": skus}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("SSE answered %d", resp.StatusCode)
	}
	out := make(chan level, 1024)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "data:") {
				continue
			}
			var p struct {
				Data struct {
					AvailabilityChanged level `json:"availabilityChanged"`
				} `json:"data"`
			}
			if json.Unmarshal([]byte(strings.TrimSpace(strings.TrimPrefix(line, "data:"))), &p) == nil && p.Data.AvailabilityChanged.SKU != "" {
				out <- p.Data.AvailabilityChanged
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	return out
}

// await reads changes until one matches or the timeout passes.
func await(t *testing.T, ch <-chan level, what string, match func(level) bool) level {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("subscription closed while waiting for %s", what)
			}
			if match(l) {
				return l
			}
		case <-deadline:
			t.Fatalf("no change matching %s within 10 s", what)
		}
	}
}
