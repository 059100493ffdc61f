package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

// verify checks a signature the way the gateway does: HMAC-SHA256 over
// the raw body, compared in constant time.
func verify(secret string, body []byte, sig string) bool {
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// TestSignVector checks sign against the vector Shopify publishes in
// shopify-app-js lib/webhooks/__tests__/validate.test.ts
// (shared/reference/shopify.md §2.3).
func TestSignVector(t *testing.T) {
	t.Parallel()
	if got, want := sign("test_secret_key", []byte(`{"foo": "bar"}`)), "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="; got != want {
		t.Errorf("sign = %q, want %q", got, want)
	}
	// Re-serialised JSON no longer verifies (§2.3 negative case).
	if verify("test_secret_key", []byte(`{"foo":"bar"}`), "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=") {
		t.Error("signature verified over different bytes")
	}
}

func TestBuildWebhook(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-for-tests"
	w := webhooks{secret: secret, shop: "example.myshopify.com", run: 1<<29 | 0xabc}
	at := time.Date(2026, 8, 1, 10, 0, 0, 123, time.UTC)
	wh, err := w.build(42, "load-x-7", at)
	if err != nil {
		t.Fatal(err)
	}
	if !verify(secret, wh.body, wh.header.Get(headerHMAC)) {
		t.Error("signature does not verify over the body")
	}
	if verify("another-secret", wh.body, wh.header.Get(headerHMAC)) {
		t.Error("signature verifies with another secret")
	}
	for h, want := range map[string]string{
		headerTopic:       "orders/create",
		headerShopDomain:  "example.myshopify.com",
		headerAPIVersion:  "2026-07",
		headerEventID:     wh.eventID,
		headerTriggeredAt: "2026-08-01T10:00:00.000000123Z",
		"Content-Type":    "application/json",
	} {
		if got := wh.header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if wh.header.Get(headerWebhookID) == "" || wh.header.Get(headerWebhookID) == wh.eventID {
		t.Errorf("webhook id %q should be set and differ from the event id", wh.header.Get(headerWebhookID))
	}

	// The body has the Order shape the gateway reads (rest_order.json).
	var o struct {
		ID         int64           `json:"id"`
		CreatedAt  string          `json:"created_at"`
		UpdatedAt  string          `json:"updated_at"`
		LocationID json.RawMessage `json:"location_id"`
		LineItems  []struct {
			ID        int64  `json:"id"`
			VariantID int64  `json:"variant_id"`
			SKU       string `json:"sku"`
			Quantity  int64  `json:"quantity"`
		} `json:"line_items"`
	}
	if err := json.Unmarshal(wh.body, &o); err != nil {
		t.Fatal(err)
	}
	if o.ID != (1<<29|0xabc)<<28|42 || o.CreatedAt != "2026-08-01T10:00:00Z" || o.UpdatedAt != o.CreatedAt || string(o.LocationID) != "null" {
		t.Errorf("order = %+v", o)
	}
	if len(o.LineItems) != 1 || o.LineItems[0].SKU != "load-x-7" || o.LineItems[0].Quantity != 1 || o.LineItems[0].ID <= 0 || o.LineItems[0].VariantID <= 0 {
		t.Errorf("line items = %+v", o.LineItems)
	}

	// Ids are unique per sequence number.
	other, err := w.build(43, "load-x-7", at)
	if err != nil {
		t.Fatal(err)
	}
	if other.eventID == wh.eventID || bytes.Equal(other.body, wh.body) {
		t.Error("two sequence numbers built the same delivery")
	}
	// Ids are UUIDs, the same on a retry, and scattered: consecutive
	// deliveries share no leading digits as sequential ids would.
	again, err := w.build(42, "load-x-7", at)
	if err != nil {
		t.Fatal(err)
	}
	if again.eventID != wh.eventID || again.header.Get(headerWebhookID) != wh.header.Get(headerWebhookID) {
		t.Errorf("a rebuilt delivery has ids %s, %s; want %s, %s", again.eventID, again.header.Get(headerWebhookID), wh.eventID, wh.header.Get(headerWebhookID))
	}
	for _, id := range []string{wh.eventID, wh.header.Get(headerWebhookID), other.eventID} {
		if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
			t.Errorf("id %q is not a UUID: %v", id, err)
		}
	}
	if wh.eventID[:4] == other.eventID[:4] {
		t.Errorf("consecutive event ids %s and %s share their first digits", wh.eventID, other.eventID)
	}
	for _, seq := range []int64{-1, maxSeq + 1} {
		if _, err := w.build(seq, "x", at); err == nil {
			t.Errorf("build(%d) succeeded", seq)
		}
	}
}

// TestPostSendsSignedBytes checks that the bytes on the wire are the bytes
// that were signed, and how answers are read.
func TestPostSendsSignedBytes(t *testing.T) {
	t.Parallel()
	const secret = "post-secret"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case !verify(secret, body, r.Header.Get(headerHMAC)):
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"status":"error","error":"bad signature"}`)
		case r.URL.Path != "/webhooks/shop":
			http.Error(w, "no such connector", http.StatusNotFound)
		default:
			io.WriteString(w, `{"status":"accepted","events":1}`)
		}
	}))
	t.Cleanup(srv.Close)
	good := webhooks{secret: secret, shop: "s.myshopify.com", run: 1 << 29}
	bad := webhooks{secret: "wrong", shop: "s.myshopify.com", run: 1 << 29}
	tests := []struct {
		name   string
		hooks  webhooks
		path   string
		code   int
		status string
		errMsg string
	}{
		{"accepted", good, "/webhooks/shop", 200, "accepted", ""},
		{"bad signature", bad, "/webhooks/shop", 401, "error", "bad signature"},
		{"plain-text error", good, "/webhooks/nope", 404, "", "no such connector"},
	}
	posters := map[string]func(u string, wh *webhook) (answer, error){
		"net/http": func(u string, wh *webhook) (answer, error) {
			return post(context.Background(), srv.Client(), u, wh)
		},
		"raw": func(u string, wh *webhook) (answer, error) {
			p, err := newRawPoster(u, 1, 5*time.Second)
			if err != nil {
				return answer{}, err
			}
			defer p.close()
			return p.post(context.Background(), wh)
		},
	}
	for name, send := range posters {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				wh, err := tt.hooks.build(1, "sku", time.Now())
				if err != nil {
					t.Fatal(err)
				}
				a, err := send(srv.URL+tt.path, wh)
				if err != nil {
					t.Fatal(err)
				}
				if a.code != tt.code || a.Status != tt.status || a.Error != tt.errMsg {
					t.Errorf("answer = %+v, want code %d status %q error %q", a, tt.code, tt.status, tt.errMsg)
				}
			})
		}
	}
}

// TestRawPosterConnections checks that the raw poster carries sequential
// requests over one kept-alive connection, dials again after the server
// closed one, gives up at the request's deadline, and refuses a URL that
// is not http(s).
func TestRawPosterConnections(t *testing.T) {
	t.Parallel()
	var conns atomic.Int64
	var gotBodies atomic.Int64
	block := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.ContentLength != int64(len(body)) || r.Header.Get(headerTopic) != topicOrdersCreate {
			http.Error(w, "bad request framing", http.StatusBadRequest)
			return
		}
		gotBodies.Add(1)
		switch r.URL.Path {
		case "/close":
			w.Header().Set("Connection", "close")
		case "/slow":
			<-block
		}
		io.WriteString(w, `{"status":"accepted","events":1}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(func() { close(block); srv.Close() })
	w := webhooks{secret: "s", shop: "s.myshopify.com", run: 1 << 29}
	send := func(p *rawPoster, seq int64) (answer, error) {
		t.Helper()
		wh, err := w.build(seq, "sku", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return p.post(context.Background(), wh)
	}

	keep, err := newRawPoster(srv.URL+"/keep", 4, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer keep.close()
	for i := range int64(5) {
		if a, err := send(keep, i); err != nil || a.code != 200 || a.Status != "accepted" {
			t.Fatalf("request %d: %+v, %v", i, a, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 sequential requests used %d connections, want 1", n)
	}

	closing, err := newRawPoster(srv.URL+"/close", 4, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer closing.close()
	for i := range int64(3) {
		if a, err := send(closing, 10+i); err != nil || a.code != 200 {
			t.Fatalf("request %d to a closing server: %+v, %v", i, a, err)
		}
	}
	if n := conns.Load(); n != 4 {
		t.Errorf("3 requests answered with Connection: close used %d new connections, want 3", n-1)
	}
	if n := gotBodies.Load(); n != 8 {
		t.Errorf("server read %d well-framed requests, want 8", n)
	}

	slow, err := newRawPoster(srv.URL+"/slow", 1, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.close()
	wh, err := w.build(20, "sku", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if a, err := slow.post(ctx, wh); err == nil {
		t.Errorf("a request past its deadline answered %+v, want an error", a)
	}

	if _, err := newRawPoster("ftp://example.com/webhooks/x", 1, time.Second); err == nil {
		t.Error("newRawPoster accepted an ftp URL")
	}
}
