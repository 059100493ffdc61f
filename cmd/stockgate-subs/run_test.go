package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/connectors/shopify"
)

// fakeGateway is a tiny stand-in for the gateway, enough for a short run:
// webhooks are verified and normalized by the real Shopify connector and
// counted into an in-memory ledger; graphql-transport-ws subscribers get
// each change as gqlgen sends it; availability answers GETs with
// automatic persisted queries as gqlgen's APQ extension does
// (PERSISTED_QUERY_NOT_FOUND until the full query was sent once).
type fakeGateway struct {
	t    *testing.T
	conn *shopify.Connector
	key  string
	// skipFirst: the first subscriber is sent only the warm-up changes, so
	// that it falls behind the ledger.
	skipFirst bool

	mu         sync.Mutex
	levels     map[string]int64 // committed per SKU
	seq        int64
	subs       []*fakeSub
	registered bool
	hits       int // hashed queries answered
}

type fakeSub struct {
	n    int
	skus map[string]bool
	out  chan []byte
}

func newFakeGateway(t *testing.T, secret, key string) *fakeGateway {
	c, err := shopify.New(shopify.Config{ID: "shop", Secrets: []string{secret}, DefaultLocation: "web"})
	if err != nil {
		t.Fatal(err)
	}
	return &fakeGateway{t: t, conn: c, key: key, levels: map[string]int64{}}
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/healthz":
		io.WriteString(w, "ok\n")
	case r.URL.Path == "/webhooks/shop":
		g.webhook(w, r)
	case r.URL.Path == "/graphql" && strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		g.websocket(w, r)
	case r.URL.Path == "/graphql":
		g.query(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (g *fakeGateway) webhook(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := &connectors.Request{Header: r.Header, Body: body, URL: "http://" + r.Host + r.URL.Path, ReceivedAt: time.Now()}
	if err := g.conn.Verify(req); err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"status":"error","error":"bad signature"}`)
		return
	}
	res, err := g.conn.Normalize(r.Context(), req)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"status":"error","error":%q}`, err.Error())
		return
	}
	g.mu.Lock()
	for _, ev := range res.Events {
		m := ev.Movement
		g.levels[m.SKU] += m.Quantity
		g.seq++
		k := g.levels[m.SKU]
		msg := fmt.Sprintf(`{"payload":{"data":{"availabilityChanged":{"sku":%q,"location":%q,"committed":%d,"available":%d,"seq":%d,"coalesced":false,"recordedAt":%q,"cursor":"c"}}},"id":"s","type":"next"}`,
			m.SKU, m.Location, k, -k, k, time.Now().UTC().Format(time.RFC3339Nano))
		for _, s := range g.subs {
			if s.skus[m.SKU] && (!g.skipFirst || s.n > 0 || strings.HasSuffix(m.SKU, "-warm")) {
				s.out <- []byte(msg)
			}
		}
	}
	g.mu.Unlock()
	fmt.Fprintf(w, `{"status":"accepted","events":%d}`, len(res.Events))
}

func (g *fakeGateway) websocket(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{subprotocol}})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := r.Context()
	var init struct {
		Type    string            `json:"type"`
		Payload map[string]string `json:"payload"`
	}
	if _, b, err := c.Read(ctx); err != nil || json.Unmarshal(b, &init) != nil || init.Type != "connection_init" {
		return
	}
	if init.Payload["Authorization"] != "Bearer "+g.key {
		c.Close(4403, "Forbidden")
		return
	}
	c.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_ack"}`))
	var sub struct {
		Type    string `json:"type"`
		Payload struct {
			Variables struct {
				SKUs     []string `json:"skus"`
				Location string   `json:"location"`
			} `json:"variables"`
		} `json:"payload"`
	}
	if _, b, err := c.Read(ctx); err != nil || json.Unmarshal(b, &sub) != nil || sub.Type != "subscribe" {
		return
	}
	s := &fakeSub{skus: map[string]bool{}, out: make(chan []byte, 10_000)}
	for _, sku := range sub.Payload.Variables.SKUs {
		s.skus[sku] = true
	}
	g.mu.Lock()
	s.n = len(g.subs)
	g.subs = append(g.subs, s)
	g.mu.Unlock()
	readCtx := c.CloseRead(ctx) // the client's complete ends the read
	for {
		select {
		case m := <-s.out:
			if c.Write(ctx, websocket.MessageText, m) != nil {
				return
			}
		case <-readCtx.Done():
			return
		}
	}
}

func (g *fakeGateway) query(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+g.key {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"errors":[{"message":"unknown or revoked key","extensions":{"code":"UNAUTHENTICATED"}}]}`)
		return
	}
	var p struct {
		Query     string `json:"query"`
		Variables struct {
			SKU string `json:"sku"`
		} `json:"variables"`
	}
	if r.Method == http.MethodPost {
		json.NewDecoder(r.Body).Decode(&p)
	} else {
		p.Query = r.URL.Query().Get("query")
		json.Unmarshal([]byte(r.URL.Query().Get("variables")), &p.Variables)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case p.Query != "":
		g.registered = true
	case !g.registered:
		io.WriteString(w, `{"errors":[{"message":"PersistedQueryNotFound","extensions":{"code":"PERSISTED_QUERY_NOT_FOUND"}}],"data":null}`)
		return
	default:
		g.hits++
	}
	k := g.levels[p.Variables.SKU]
	fmt.Fprintf(w, `{"data":{"availability":{"sku":%q,"location":"web","committed":%d,"available":%d,"seq":%d}}}`, p.Variables.SKU, k, -k, k)
}

// TestRunAgainstFakeGateway runs the command end to end, briefly: every
// subscriber catches up and matches the ledger; and when the gateway
// leaves one subscriber behind, the final check reports it.
func TestRunAgainstFakeGateway(t *testing.T) {
	const secret, key = "fake-secret", "fake-key"
	args := func(url string, extra ...string) []string {
		return append([]string{"-url", url, "-secret", secret, "-key", key, "-subscribers", "6", "-per-sub", "3", "-skus", "12",
			"-rate", "200", "-duration", "300ms", "-settle", "0", "-drain", "3s", "-warmup", "5s", "-dial-rate", "1000"}, extra...)
	}
	mismatches := regexp.MustCompile(`(\d+) mismatches of (\d+) subscriber×SKU pairs`)
	delivered := regexp.MustCompile(`deliveries: (\d+) in .*expected (\d+)`)

	t.Run("in step", func(t *testing.T) {
		g := newFakeGateway(t, secret, key)
		srv := httptest.NewServer(g)
		t.Cleanup(srv.Close)
		var out, progress bytes.Buffer
		if err := run(context.Background(), args(srv.URL), &out, &progress); err != nil {
			t.Fatalf("run: %v\n%s\n%s", err, out.String(), progress.String())
		}
		m := mismatches.FindStringSubmatch(out.String())
		d := delivered.FindStringSubmatch(out.String())
		if m == nil || m[1] != "0" || m[2] != "18" || d == nil || d[1] != d[2] || d[1] == "0" {
			t.Errorf("report:\n%s", out.String())
		}
		for _, want := range []string{"every subscriber caught up", "latency webhook → subscriber: p50", "0 rejected"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("report lacks %q:\n%s", want, out.String())
			}
		}
	})

	t.Run("one subscriber behind", func(t *testing.T) {
		g := newFakeGateway(t, secret, key)
		g.skipFirst = true
		srv := httptest.NewServer(g)
		t.Cleanup(srv.Close)
		var out, progress bytes.Buffer
		if err := run(context.Background(), args(srv.URL, "-drain", "200ms"), &out, &progress); err != nil {
			t.Fatalf("run: %v\n%s\n%s", err, out.String(), progress.String())
		}
		m := mismatches.FindStringSubmatch(out.String())
		if m == nil || m[1] == "0" {
			t.Errorf("the subscriber left behind was not reported:\n%s", out.String())
		}
		if !strings.Contains(out.String(), "NOT every subscriber caught up") {
			t.Errorf("report:\n%s", out.String())
		}
	})

	t.Run("wrong key", func(t *testing.T) {
		g := newFakeGateway(t, secret, "another-key")
		srv := httptest.NewServer(g)
		t.Cleanup(srv.Close)
		var out, progress bytes.Buffer
		err := run(context.Background(), args(srv.URL), &out, &progress)
		if err == nil || !strings.Contains(err.Error(), "4403") {
			t.Errorf("run with a refused key: %v", err)
		}
	})

	t.Run("qps", func(t *testing.T) {
		g := newFakeGateway(t, secret, key)
		srv := httptest.NewServer(g)
		t.Cleanup(srv.Close)
		var out, progress bytes.Buffer
		if err := run(context.Background(), []string{"-url", srv.URL, "-secret", secret, "-key", key, "-qps", "-skus", "20", "-qps-seed", "5",
			"-duration", "200ms", "-concurrency", "4", "-rate", "500"}, &out, &progress); err != nil {
			t.Fatalf("run -qps: %v\n%s", err, progress.String())
		}
		q := regexp.MustCompile(`queries: (\d+) in .* (\d+) errors; (\d+) registrations`).FindStringSubmatch(out.String())
		if q == nil || q[2] != "0" || q[3] != "1" {
			t.Fatalf("report:\n%s", out.String())
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if n, _ := strconv.Atoi(q[1]); n == 0 || g.hits < n || len(g.levels) != 5 {
			t.Errorf("%s queries reported, %d hashed queries answered, %d SKUs seeded (want 5)", q[1], g.hits, len(g.levels))
		}
	})
}
