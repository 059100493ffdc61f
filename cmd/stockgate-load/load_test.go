package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

const (
	fakeSecret = "fake-webhook-secret"
	fakeKey    = "fake-api-key-0123456789"
	fakeLoc    = "web"
)

// fakeGateway is an in-process stand-in for the stockgate gateway that
// speaks its wire contract: POST /webhooks/shop with Shopify signatures
// (answers as package ingest documents them) and /graphql subscriptions
// over graphql-transport-ws. Each accepted orders/create line raises the
// SKU's committed quantity and pushes an availabilityChanged to the
// subscribers of that SKU.
type fakeGateway struct {
	t *testing.T
	// answer, when set, picks a non-200 status for the n-th webhook (from
	// 1) of sku; 0 accepts it.
	answer func(sku string, n int) int
	// skip, when set, drops the change that raises sku to committed, as
	// the gateway's coalescing does for a slow reader.
	skip func(sku string, committed int64) bool
	// delay is added to every webhook answer.
	delay time.Duration
	// unapplied, when set, is how many of sku's committed units the
	// availability query does not count yet (a ledger behind its acks).
	unapplied func(sku string) int64

	mu        sync.Mutex
	events    map[string]bool
	received  map[string]int
	committed map[string]int64
	subs      map[*fakeSub]bool
	pongs     int
	seq       int64
}

type fakeSub struct {
	skus map[string]bool
	ch   chan change
}

func newFakeGateway(t *testing.T, setup func(*fakeGateway)) *httptest.Server {
	t.Helper()
	return newFakeReplicas(t, 1, setup)[0].srv
}

// fakeReplica is one of several servers in front of one fakeGateway, as
// gateway replicas share one store and bus: a webhook to any of them
// reaches the subscribers of all. It counts what it served.
type fakeReplica struct {
	srv                  *httptest.Server
	webhooks, websockets atomic.Int64
}

func newFakeReplicas(t *testing.T, n int, setup func(*fakeGateway)) []*fakeReplica {
	t.Helper()
	g := &fakeGateway{t: t, events: map[string]bool{}, received: map[string]int{}, committed: map[string]int64{}, subs: map[*fakeSub]bool{}}
	if setup != nil {
		setup(g)
	}
	rs := make([]*fakeReplica, n)
	for i := range rs {
		r := &fakeReplica{}
		mux := http.NewServeMux()
		mux.HandleFunc("POST /webhooks/{connector}", func(w http.ResponseWriter, req *http.Request) {
			r.webhooks.Add(1)
			g.webhook(w, req)
		})
		mux.HandleFunc("POST /graphql", g.query)
		mux.HandleFunc("/graphql", func(w http.ResponseWriter, req *http.Request) {
			r.websockets.Add(1)
			g.graphql(w, req)
		})
		r.srv = httptest.NewServer(mux)
		t.Cleanup(r.srv.Close)
		rs[i] = r
	}
	return rs
}

// query answers the availability query (POST /graphql) with a SKU's
// committed quantity, less what unapplied holds back.
func (g *fakeGateway) query(w http.ResponseWriter, r *http.Request) {
	var q struct {
		Query     string            `json:"query"`
		Variables map[string]string `json:"variables"`
	}
	if r.Header.Get("Authorization") != "Bearer "+fakeKey {
		reply(w, http.StatusUnauthorized, map[string]string{"error": "unauthenticated"})
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil || !strings.Contains(q.Query, "availability(") || q.Variables["l"] != fakeLoc {
		reply(w, http.StatusOK, map[string]any{"errors": []map[string]string{{"message": "unexpected query"}}})
		return
	}
	sku := q.Variables["s"]
	g.mu.Lock()
	c := g.committed[sku]
	g.mu.Unlock()
	if g.unapplied != nil {
		c -= g.unapplied(sku)
	}
	reply(w, http.StatusOK, map[string]any{"data": map[string]any{"availability": map[string]int64{"committed": c}}})
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (g *fakeGateway) webhook(w http.ResponseWriter, r *http.Request) {
	time.Sleep(g.delay)
	if r.PathValue("connector") != "shop" {
		reply(w, http.StatusNotFound, map[string]string{"status": "error", "error": "unknown connector"})
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil || !verify(fakeSecret, body, r.Header.Get(headerHMAC)) {
		reply(w, http.StatusUnauthorized, map[string]string{"status": "error", "error": "bad signature"})
		return
	}
	var o struct {
		ID         int64  `json:"id"`
		LocationID *int64 `json:"location_id"`
		CreatedAt  string `json:"created_at"`
		LineItems  []struct {
			ID       int64  `json:"id"`
			SKU      string `json:"sku"`
			Quantity int64  `json:"quantity"`
		} `json:"line_items"`
	}
	id := r.Header.Get(headerEventID)
	if err := json.Unmarshal(body, &o); err != nil || o.ID <= 0 || o.LocationID != nil || o.CreatedAt == "" ||
		len(o.LineItems) == 0 || id == "" || r.Header.Get(headerTopic) != "orders/create" || r.Header.Get(headerShopDomain) == "" {
		reply(w, http.StatusBadRequest, map[string]string{"status": "error", "error": "malformed"})
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.events[id] {
		reply(w, http.StatusOK, map[string]string{"status": "duplicate"})
		return
	}
	for _, li := range o.LineItems {
		g.received[li.SKU]++
		if g.answer != nil {
			if code := g.answer(li.SKU, g.received[li.SKU]); code != 0 {
				reply(w, code, map[string]string{"status": "error", "error": "injected"})
				return
			}
		}
	}
	g.events[id] = true
	for _, li := range o.LineItems {
		g.committed[li.SKU] += li.Quantity
		g.seq++
		c := change{SKU: li.SKU, Location: fakeLoc, OnHand: 0, Committed: g.committed[li.SKU], Available: -g.committed[li.SKU],
			Seq: g.seq, CauseEventID: id, RecordedAt: time.Now()}
		if g.skip != nil && g.skip(c.SKU, c.Committed) {
			continue
		}
		for s := range g.subs {
			if s.skus[c.SKU] {
				s.ch <- c
			}
		}
	}
	reply(w, http.StatusOK, map[string]any{"status": "accepted", "events": len(o.LineItems)})
}

func (g *fakeGateway) graphql(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wsSubprotocol}})
	if err != nil {
		return
	}
	defer conn.CloseNow()
	if conn.Subprotocol() != wsSubprotocol {
		conn.Close(websocket.StatusPolicyViolation, "graphql-transport-ws required")
		return
	}
	ctx := r.Context()
	var m wsMessage
	if err := wsjson.Read(ctx, conn, &m); err != nil || m.Type != msgConnectionInit {
		conn.Close(4400, "connection_init expected")
		return
	}
	var init map[string]string
	json.Unmarshal(m.Payload, &init)
	if init["Authorization"] != "Bearer "+fakeKey {
		conn.Close(4403, "Forbidden")
		return
	}
	wsjson.Write(ctx, conn, wsMessage{Type: msgConnectionAck})
	wsjson.Write(ctx, conn, wsMessage{Type: msgPing}) // the client must answer pong
	sub := &fakeSub{skus: map[string]bool{}, ch: make(chan change, 1<<16)}
	for {
		if err := wsjson.Read(ctx, conn, &m); err != nil {
			return
		}
		if m.Type == msgPong {
			g.gotPong()
			continue
		}
		var p struct {
			Query     string `json:"query"`
			Variables struct {
				SKUs []string `json:"skus"`
			} `json:"variables"`
		}
		if m.Type != msgSubscribe || json.Unmarshal(m.Payload, &p) != nil || !strings.Contains(p.Query, "availabilityChanged") {
			conn.Close(4400, "subscribe expected")
			return
		}
		if !g.addSKUs(ctx, conn, sub, m.ID, p.Variables.SKUs) {
			return
		}
		break
	}
	g.mu.Lock()
	g.subs[sub] = true
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.subs, sub)
		g.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // reader: pongs until complete or close
		defer cancel()
		for {
			var m wsMessage
			if wsjson.Read(ctx, conn, &m) != nil || m.Type == msgComplete {
				return
			}
			switch m.Type {
			case msgPong:
				g.gotPong()
			case msgSubscribe: // more SKUs on the same connection
				var p struct {
					Variables struct {
						SKUs []string `json:"skus"`
					} `json:"variables"`
				}
				if json.Unmarshal(m.Payload, &p) != nil || !g.addSKUs(ctx, conn, sub, m.ID, p.Variables.SKUs) {
					return
				}
			}
		}
	}()
	for {
		select {
		case c := <-sub.ch:
			b, _ := json.Marshal(map[string]any{"data": map[string]any{"availabilityChanged": c}})
			if wsjson.Write(ctx, conn, wsMessage{ID: m.ID, Type: msgNext, Payload: b}) != nil {
				return
			}
		case <-ctx.Done():
			conn.Close(websocket.StatusNormalClosure, "")
			return
		}
	}
}

// addSKUs adds the SKUs of subscription id to sub, refusing more than the
// gateway's 1,000 per subscription as the gateway does (an error message
// for the subscription).
func (g *fakeGateway) addSKUs(ctx context.Context, conn *websocket.Conn, sub *fakeSub, id string, skus []string) bool {
	if len(skus) > 1000 {
		b, _ := json.Marshal([]map[string]string{{"message": "at most 1000 skus per subscription"}})
		wsjson.Write(ctx, conn, wsMessage{ID: id, Type: msgError, Payload: b})
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range skus {
		sub.skus[s] = true
	}
	return true
}

func (g *fakeGateway) gotPong() {
	g.mu.Lock()
	g.pongs++
	g.mu.Unlock()
}

// runLoad runs the command with args and -json, and returns the decoded
// report (nil when none was printed), the text output and run's error.
func runLoad(t *testing.T, args ...string) (*report, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append(args, "-json"), &stdout, &stderr)
	out := stdout.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[len(lines)-1], "{") {
		return nil, out + stderr.String(), err
	}
	var r report
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &r); jerr != nil {
		t.Fatalf("JSON report: %v\n%s", jerr, out)
	}
	return &r, out + stderr.String(), err
}

func TestLoadAgainstFakeGateway(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(*fakeGateway)
		args  []string
		check func(t *testing.T, r *report)
	}{
		{
			name: "paced, two subscribers",
			args: []string{"-rate", "400", "-duration", "250ms", "-concurrency", "8", "-skus", "10", "-subscribers", "2", "-location", fakeLoc},
			check: func(t *testing.T, r *report) {
				if r.Sent != 100 || r.Acked != 100 || len(r.Non200) != 0 || r.TransportErrors != 0 {
					t.Errorf("sent %d acked %d non-200 %v transport errors %d, want 100 sent and acked", r.Sent, r.Acked, r.Non200, r.TransportErrors)
				}
				d := r.Delivery
				if d == nil || d.Latency.Count != 200 || d.deliveryCounts != (deliveryCounts{}) {
					t.Errorf("delivery = %+v, want 200 samples and nothing else", d)
				}
				if r.AckLatency.Count != 100 || r.AckedPerSecond <= 0 {
					t.Errorf("ack latency %+v, %v/s", r.AckLatency, r.AckedPerSecond)
				}
			},
		},
		{
			name: "more SKUs than one subscription takes",
			args: []string{"-rate", "0", "-duration", "300ms", "-concurrency", "32", "-skus", "2500", "-subscribers", "1", "-location", fakeLoc},
			check: func(t *testing.T, r *report) {
				d := r.Delivery
				if r.Acked == 0 || d == nil || int64(d.Latency.Count) != r.Acked || d.Missing != 0 || d.Unexpected != 0 {
					t.Errorf("acked %d, delivery %+v: want every acked webhook delivered over the split subscriptions", r.Acked, d)
				}
			},
		},
		{
			name: "as fast as possible, some 503s",
			setup: func(g *fakeGateway) {
				// Every second request of a SKU: with 4 SKUs, a 503 within
				// the first 8 requests, however slowly a loaded machine
				// sends them.
				g.answer = func(sku string, n int) int {
					if n%2 == 0 && !strings.HasSuffix(sku, "-warmup") {
						return http.StatusServiceUnavailable
					}
					return 0
				}
			},
			args: []string{"-rate", "0", "-duration", "200ms", "-concurrency", "16", "-skus", "4"},
			check: func(t *testing.T, r *report) {
				if r.AckFromSchedule != nil {
					t.Errorf("from schedule %+v in a run without -rate", r.AckFromSchedule)
				}
				if r.Non200[503] == 0 || r.Acked+r.Non200[503] != r.Sent || len(r.Non200) != 1 {
					t.Errorf("sent %d acked %d non-200 %v, want some 503s and the rest acked", r.Sent, r.Acked, r.Non200)
				}
				if d := r.Delivery; d == nil || int64(d.Latency.Count) != r.Acked || d.deliveryCounts != (deliveryCounts{}) {
					t.Errorf("delivery = %+v, want one sample per acked webhook", d)
				}
			},
		},
		{
			name: "coalesced changes",
			setup: func(g *fakeGateway) {
				g.skip = func(_ string, c int64) bool { return c%3 == 1 }
			},
			args: []string{"-rate", "0", "-duration", "150ms", "-concurrency", "4", "-skus", "4", "-drain", "300ms"},
			check: func(t *testing.T, r *report) {
				d := r.Delivery
				if d == nil || d.Coalesced == 0 {
					t.Fatalf("delivery = %+v, want coalesced changes", d)
				}
				if got := int64(d.Latency.Count) + d.Coalesced + d.Missing; got != r.Acked {
					t.Errorf("samples %d + coalesced %d + missing %d = %d, want acked %d", d.Latency.Count, d.Coalesced, d.Missing, got, r.Acked)
				}
			},
		},
		{
			name:  "late sends keep the schedule",
			setup: func(g *fakeGateway) { g.delay = 20 * time.Millisecond },
			args:  []string{"-rate", "200", "-duration", "200ms", "-concurrency", "1", "-skus", "1"},
			check: func(t *testing.T, r *report) {
				if r.Sent != 40 || r.Late == 0 {
					t.Errorf("sent %d, late %d, want 40 sent, some late", r.Sent, r.Late)
				}
				// One at a time, 20ms each: the last send, due at 195ms,
				// cannot be answered before 800ms, though each request
				// itself takes about 20ms.
				s := r.AckFromSchedule
				if s == nil || s.Count != 40 || s.Max < 500*time.Millisecond || s.Max <= r.AckLatency.Max {
					t.Errorf("from schedule %+v, ack latency %+v: want 40 samples, the last waiting ≥ 500ms in all", s, r.AckLatency)
				}
			},
		},
		{
			name: "ack latencies per interval",
			args: []string{"-rate", "400", "-duration", "250ms", "-concurrency", "8", "-skus", "10", "-subscribers", "0", "-interval", "100ms"},
			check: func(t *testing.T, r *report) {
				// Sends start from 0 to 247.5ms: the first window and the
				// third hold some; the second may be empty after a stall.
				ws := r.AckSeries
				if len(ws) < 2 || ws[0].From != 0 || ws[len(ws)-1].From != 200*time.Millisecond {
					t.Fatalf("ack series = %+v, want windows from 0 to 200ms", ws)
				}
				n := 0
				for i, w := range ws {
					n += w.Count
					if w.Count == 0 || (i > 0 && w.From <= ws[i-1].From) {
						t.Errorf("window %d = %+v: empty or out of order", i, w)
					}
				}
				if int64(n) != r.Acked || r.Acked != 100 {
					t.Errorf("windows hold %d samples, acked %d, want 100 in both", n, r.Acked)
				}
			},
		},
		{
			name: "no subscribers",
			args: []string{"-rate", "100", "-duration", "100ms", "-subscribers", "0", "-key", ""},
			check: func(t *testing.T, r *report) {
				if r.Delivery != nil || r.Acked != 10 {
					t.Errorf("acked %d, delivery %+v; want 10, none", r.Acked, r.Delivery)
				}
				// A send starts no sooner than it is due, so each sample
				// from schedule is at least its ack latency.
				s, a := r.AckFromSchedule, r.AckLatency
				if s == nil || s.Count != 10 || s.P50 < a.P50 || s.P99 < a.P99 || s.Max < a.Max {
					t.Errorf("from schedule %+v, ack latency %+v: want 10 samples, none shorter", s, a)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFakeGateway(t, tt.setup)
			args := append([]string{"-url", srv.URL, "-secret", fakeSecret, "-key", fakeKey, "-drain", "2s"}, tt.args...)
			r, out, err := runLoad(t, args...)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out)
			}
			if r == nil {
				t.Fatalf("no JSON report:\n%s", out)
			}
			t.Log(out)
			for _, want := range []string{"acked (200)", "ack latency"} {
				if !strings.Contains(out, want) {
					t.Errorf("text report lacks %q:\n%s", want, out)
				}
			}
			tt.check(t, r)
		})
	}
}

// TestLoadSpreadsOverGateways: with -url a list, webhooks go round-robin
// to every gateway and subscribers are spread over them; changes reach
// every subscriber whichever gateway took the webhook.
func TestLoadSpreadsOverGateways(t *testing.T) {
	t.Parallel()
	rs := newFakeReplicas(t, 3, nil)
	var urls []string
	for _, r := range rs {
		urls = append(urls, r.srv.URL+"/")
	}
	r, out, err := runLoad(t, "-url", strings.Join(urls, ", "), "-secret", fakeSecret, "-key", fakeKey,
		"-rate", "600", "-duration", "250ms", "-concurrency", "8", "-skus", "10", "-subscribers", "3", "-drain", "2s")
	if err != nil || r == nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if r.Sent != 150 || r.Acked != 150 {
		t.Errorf("sent %d acked %d, want 150", r.Sent, r.Acked)
	}
	if d := r.Delivery; d == nil || d.Latency.Count != 3*150 || d.deliveryCounts != (deliveryCounts{}) {
		t.Errorf("delivery = %+v, want 450 samples (150 changes × 3 subscribers) and nothing else", d)
	}
	for i, rep := range rs {
		// 150 round-robin; the warm-up webhooks all go to the first.
		if w := rep.webhooks.Load(); i == 0 && w < 51 || i > 0 && w != 50 {
			t.Errorf("gateway %d took %d webhooks, want 50 of the run's 150 (the first also the warm-up)", i, w)
		}
		if ws := rep.websockets.Load(); ws != 1 {
			t.Errorf("gateway %d had %d subscribers, want 1", i, ws)
		}
	}
}

func TestLoadAnswersPings(t *testing.T) {
	t.Parallel()
	var g *fakeGateway
	srv := newFakeGateway(t, func(fg *fakeGateway) { g = fg })
	if _, out, err := runLoad(t, "-url", srv.URL, "-secret", fakeSecret, "-key", fakeKey, "-rate", "100", "-duration", "50ms", "-subscribers", "2"); err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		g.mu.Lock()
		pongs := g.pongs
		g.mu.Unlock()
		if pongs == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fake gateway got %d pongs, want 2", pongs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLoadFailures(t *testing.T) {
	t.Parallel()
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		u := "http://" + ln.Addr().String()
		ln.Close()
		return u
	}()
	tests := []struct {
		name  string
		setup func(*fakeGateway)
		url   string // empty: the fake's
		args  []string
		want  error
		msg   string
		// report: whether a report is printed.
		report bool
	}{
		{name: "unreachable, with subscribers", url: closed, want: errUnreachable, msg: "gateway unreachable at ws://"},
		{name: "unreachable, without subscribers", url: closed, args: []string{"-subscribers", "0"}, want: errUnreachable, msg: "gateway unreachable at http://"},
		{name: "wrong secret", args: []string{"-secret", "not-the-secret"}, want: errWarmUp, msg: "401"},
		{name: "unknown connector", args: []string{"-connector", "nope"}, want: errWarmUp, msg: `no connector "nope"`},
		{
			name: "SKUs dead-lettered by a catalog",
			setup: func(g *fakeGateway) {
				g.skip = func(string, int64) bool { return true }
			},
			args: []string{"-warmup", "300ms"},
			want: errWarmUp, msg: "dead letters",
		},
		{name: "wrong key", args: []string{"-key", "not-the-key"}, msg: "4403 Forbidden (check -key"},
		{
			name: "every webhook failed",
			setup: func(g *fakeGateway) {
				g.answer = func(sku string, _ int) int {
					if strings.HasSuffix(sku, "-warmup") {
						return 0
					}
					return http.StatusServiceUnavailable
				}
			},
			want: errAllFailed, msg: "503×", report: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := tt.url
			if u == "" {
				u = newFakeGateway(t, tt.setup).URL
			}
			args := append([]string{"-url", u, "-secret", fakeSecret, "-key", fakeKey, "-rate", "100", "-duration", "100ms", "-drain", "100ms"}, tt.args...)
			r, out, err := runLoad(t, args...)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("run error = %v, want %v containing %q\n%s", err, tt.want, tt.msg, out)
			}
			if (r != nil) != tt.report {
				t.Errorf("report printed: %v, want %v\n%s", r != nil, tt.report, out)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	// Not parallel: it sets environment variables.
	t.Setenv(envSecret, "from-env")
	t.Setenv(envKey, "key-from-env")
	var stderr bytes.Buffer
	c, err := parseFlags(nil, &stderr)
	if err != nil {
		t.Fatalf("defaults: %v\n%s", err, &stderr)
	}
	if c.Secret != "from-env" || c.Key != "key-from-env" || c.URL != "http://127.0.0.1:8080" || c.Rate != 1000 ||
		c.Duration != 10*time.Second || c.Concurrency != 64 || c.SKUs != 100 || c.Subscribers != 1 || c.Drain != 5*time.Second {
		t.Errorf("defaults = %+v", c)
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}

	t.Setenv(envSecret, "")
	stderr.Reset()
	_, err = parseFlags([]string{"-url", "ftp://x", "-rate", "-1", "-concurrency", "0", "-duration", "0s"}, &stderr)
	if !errors.Is(err, errUsage) {
		t.Fatalf("bad flags: %v, want errUsage", err)
	}
	for _, want := range []string{"-url:", "-rate:", "-concurrency:", "-duration:", "-secret: required"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("problems lack %q:\n%s", want, &stderr)
		}
	}
}
