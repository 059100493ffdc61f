package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/gobwas/ws"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/stockgate/stockgate/auth"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/live"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

const (
	wsTestKey   = "livews-storefront-key-0123456789"
	wsTestAdmin = "livews-admin-key-0123456789abcdef"
)

// wsGateway is a test server in front of NewHandler and the auth
// middleware, over an in-memory store and its own hub.
type wsGateway struct {
	url  string
	st   *store.Store
	hub  *live.Hub
	keys *auth.Keys
	res  *Resolver
	srv  *httptest.Server
}

func newWSGateway(t *testing.T) *wsGateway {
	t.Helper()
	st := store.New(memstore.New(nil))
	t.Cleanup(func() { st.Close() })
	keys := auth.NewKeys()
	keys.SetStore(st)
	if err := keys.Add(wsTestKey, auth.Principal{ID: "config:shop", Name: "shop", Role: auth.Storefront}); err != nil {
		t.Fatal(err)
	}
	if err := keys.Add(wsTestAdmin, auth.Principal{ID: "config:ops", Name: "ops", Role: auth.Admin}); err != nil {
		t.Fatal(err)
	}
	hub := live.NewHub()
	res := &Resolver{Store: st, Hub: hub, Keys: keys}
	srv := httptest.NewServer(keys.Middleware(NewHandler(res, &HandlerOptions{Keys: keys})))
	t.Cleanup(srv.Close)
	return &wsGateway{url: srv.URL, st: st, hub: hub, keys: keys, res: res, srv: srv}
}

// wsClient is a graphql-transport-ws client on a real websocket.
type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

type wsMsg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func dialWS(t *testing.T, url string, opts *websocket.DialOptions) (*websocket.Conn, error) {
	t.Helper()
	if opts == nil {
		opts = &websocket.DialOptions{}
	}
	if opts.Subprotocols == nil {
		opts.Subprotocols = []string{"graphql-transport-ws"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/graphql", opts)
	if err == nil {
		c.SetReadLimit(1 << 20)
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, err
}

// connect opens a connection and, when key is not empty, initialises it.
func connect(t *testing.T, url, key string, opts *websocket.DialOptions) *wsClient {
	t.Helper()
	c, err := dialWS(t, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	wc := &wsClient{t: t, c: c}
	if key != "" {
		wc.send(wsMsg{Type: "connection_init", Payload: json.RawMessage(`{"Authorization":"Bearer ` + key + `"}`)})
		if m := wc.read(); m.Type != "connection_ack" {
			t.Fatalf("got %+v, want connection_ack", m)
		}
	}
	return wc
}

func (w *wsClient) send(m wsMsg) {
	w.t.Helper()
	b, _ := json.Marshal(m)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wsClient) subscribe(id, query string, vars map[string]any) {
	w.t.Helper()
	p, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	w.send(wsMsg{ID: id, Type: "subscribe", Payload: p})
}

// readErr reads the next message; the error is the close, if any.
func (w *wsClient) readErr() (wsMsg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := w.c.Read(ctx)
	if err != nil {
		return wsMsg{}, err
	}
	var m wsMsg
	if err := json.Unmarshal(b, &m); err != nil {
		w.t.Fatalf("%q: %v", b, err)
	}
	return m, nil
}

func (w *wsClient) read() wsMsg {
	w.t.Helper()
	m, err := w.readErr()
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

// next reads until the next "next" message of id, skipping pings.
func (w *wsClient) next(id string) wsMsg {
	w.t.Helper()
	for {
		m := w.read()
		if m.Type == "ping" {
			continue
		}
		if m.Type != "next" || m.ID != id {
			w.t.Fatalf("got %+v, want next of %s", m, id)
		}
		return m
	}
}

// closed reads until the server closes and returns the close code.
func (w *wsClient) closed() websocket.StatusCode {
	w.t.Helper()
	for {
		_, err := w.readErr()
		if err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// waitSubscribers waits until hub has n subscribers.
func waitSubscribers(t *testing.T, hub *live.Hub, n int) {
	t.Helper()
	for i := 0; hub.Subscribers() != n; i++ {
		if i > 1000 {
			t.Fatalf("hub has %d subscribers, want %d", hub.Subscribers(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const allFieldsSub = `subscription($skus: [String!], $after: String) { availabilityChanged(skus: $skus, after: $after) { sku location onHand committed safetyStock available seq causeEventId causeType occurredAt recordedAt coalesced cursor __typename } }`

// TestLiveWSSameAsGqlgen is the differential test: for the same documents
// and changes, the fast path's next payloads are byte for byte those of
// gqlgen's own websocket transport (its general path).
func TestLiveWSSameAsGqlgen(t *testing.T) {
	t.Parallel()
	gw := newWSGateway(t)
	// gqlgen's transport alone, over the same resolver and hub.
	ref := handler.New(NewExecutableSchema(Config{Resolvers: gw.res, Directives: DirectiveRoot{HasRole: HasRole}}))
	ref.AddTransport(transport.Websocket{InitFunc: wsInit(gw.keys), CloseFunc: wsClose})
	ref.SetErrorPresenter(ErrorPresenter)
	refSrv := httptest.NewServer(gw.keys.Middleware(ref))
	t.Cleanup(refSrv.Close)

	// The same cursor for both, so that their positions start equal.
	after := (&position{Start: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC).UnixNano(), Seqs: map[string]uint64{posKey("D<1>", "l0"): 2}}).cursor()
	docs := []struct {
		query string
		vars  map[string]any
	}{
		{allFieldsSub, map[string]any{"skus": []string{"D<1>", "D\u20282"}, "after": after}},
		{`subscription { a: availabilityChanged(skus: ["D<1>", "D\u20282"]) { s: sku n: available __typename t: __typename sku } }`, nil},
		{`subscription S { availabilityChanged(skus: "D<1>") { available sku coalesced } }`, nil},
		{`subscription($a: String!) { availabilityChanged(skus: ["D<1>", "D\u20282"], after: $a) { cursor seq c: cursor } }`, map[string]any{"a": after}},
	}
	tr := liveWSOf(t, gw)
	fast := connect(t, gw.url, wsTestKey, nil)
	slow := connect(t, refSrv.URL, wsTestKey, nil)
	for i, d := range docs {
		fast.subscribe(strconv.Itoa(i), d.query, d.vars)
		slow.subscribe(strconv.Itoa(i), d.query, d.vars)
	}
	waitSubscribers(t, gw.hub, 2*len(docs))
	if n := fastOps(tr); n != len(docs) {
		t.Fatalf("%d subscriptions on the fast path, want %d", n, len(docs))
	}

	// Distinct keys, so that nothing is coalesced and both see them all.
	var changes []event.Availability
	when := time.Date(2026, 3, 4, 5, 6, 7, 891011, time.FixedZone("X", 3600))
	for i := range 6 {
		changes = append(changes, event.Availability{
			SKU: []string{"D<1>", "D\u20282"}[i%2], Location: "l" + strconv.Itoa(i/2),
			OnHand: int64(10 * i), Committed: int64(i), SafetyStock: 1, Available: int64(9*i - 1),
			Seq: uint64(2 + i), CauseEventID: "ev-\"" + strconv.Itoa(i) + "\"\\&\x01\t", CauseType: "com.stockgate.order.committed.v1",
			OccurredAt: when.Add(time.Duration(i) * time.Millisecond), RecordedAt: when.Add(time.Duration(i) * time.Second).UTC(),
		})
	}
	changes[5].OccurredAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // no fraction
	for _, a := range changes {
		gw.hub.Publish(a)
	}
	n := map[string]int{"0": 5, "1": 6, "2": 3, "3": 5} // docs 0 and 3 resume past D<1> at l0, seq 2
	got := map[string][]string{}
	want := map[string][]string{}
	for id, k := range n {
		_ = id
		for range k {
			m := fast.read()
			got[m.ID] = append(got[m.ID], string(m.Payload))
			m = slow.read()
			want[m.ID] = append(want[m.ID], string(m.Payload))
		}
	}
	for id := range n {
		if len(got[id]) != n[id] || len(want[id]) != n[id] {
			t.Fatalf("%s: got %d and %d messages, want %d", id, len(got[id]), len(want[id]), n[id])
		}
		for i := range got[id] {
			if got[id][i] != want[id][i] {
				t.Errorf("subscription %s, message %d:\nfast path: %s\ngqlgen:    %s", id, i, got[id][i], want[id][i])
			}
		}
	}
	if all := strings.Join(got["0"], "\n"); !strings.Contains(all, `"D\u003c1\u003e"`) || !strings.Contains(all, `"D\u20282"`) || !strings.Contains(all, `"coalesced":false`) {
		t.Fatalf("payloads %s", all)
	}
}

// TestLiveWSCoalescedPayload: a coalesced change says so (the
// differential test cannot make gqlgen coalesce on cue).
func TestLiveWSCoalescedPayload(t *testing.T) {
	t.Parallel()
	p := (&liveWS{plans: map[string]*livePlan{}}).plan(mustOp(t, `subscription { availabilityChanged { coalesced sku } }`))
	if p == nil {
		t.Fatal("no fast-path plan")
	}
	b := appendNext(nil, "7", p, live.Change{Availability: event.Availability{SKU: "A"}, Coalesced: true}, nil, nil)
	if string(b) != `{"id":"7","type":"next","payload":{"data":{"availabilityChanged":{"coalesced":true,"sku":"A"}}}}` {
		t.Fatalf("got %s", b)
	}
}

// TestLiveWSFallsBack: operations that are not the fast-path shape, and
// errors, are answered by gqlgen's executor on the same connection.
func TestLiveWSFallsBack(t *testing.T) {
	t.Parallel()
	gw := newWSGateway(t)
	// A subscription with a directive: the general path.
	tr := liveWSOf(t, gw)
	c := connect(t, gw.url, wsTestKey, nil)
	c.subscribe("dir", `subscription { availabilityChanged(skus: ["F"]) { sku available @include(if: true) } }`, nil)
	// The fast path, next to it.
	c.subscribe("fast", `subscription { availabilityChanged(skus: ["F"]) { sku available } }`, nil)
	waitSubscribers(t, gw.hub, 2)
	if n := fastOps(tr); n != 1 {
		t.Fatalf("%d subscriptions on the fast path, want 1", n)
	}
	gw.hub.Publish(event.Availability{SKU: "F", Location: "web", Available: 4, Seq: 1})
	seen := map[string]string{}
	for len(seen) < 2 {
		m := c.read()
		seen[m.ID] = string(m.Payload)
	}
	for _, id := range []string{"dir", "fast"} {
		if seen[id] != `{"data":{"availabilityChanged":{"sku":"F","available":4}}}` {
			t.Fatalf("%s: %s", id, seen[id])
		}
	}
	// A query: next, then complete.
	c.subscribe("q", `{ availability(sku: "F", location: "web") { sku } }`, nil)
	if m := c.read(); m.Type != "next" || m.ID != "q" || !strings.Contains(string(m.Payload), `"errors"`) && !strings.Contains(string(m.Payload), `"data"`) {
		t.Fatalf("query answered %+v", m)
	}
	if m := c.read(); m.Type != "complete" || m.ID != "q" {
		t.Fatalf("got %+v, want complete of q", m)
	}
	// Errors the resolver would raise come from the general path: the cap
	// on SKUs and a bad cursor.
	many := make([]string, 1001)
	for i := range many {
		many[i] = "S" + strconv.Itoa(i)
	}
	c.subscribe("cap", `subscription($s: [String!]) { availabilityChanged(skus: $s) { sku } }`, map[string]any{"s": many})
	if m := c.read(); m.Type != "next" || !strings.Contains(string(m.Payload), "at most 1000 skus") || !strings.Contains(string(m.Payload), "BAD_USER_INPUT") {
		t.Fatalf("cap answered %s %s", m.Type, m.Payload)
	}
	if m := c.read(); m.Type != "complete" || m.ID != "cap" {
		t.Fatalf("got %+v, want complete of cap", m)
	}
	for _, q := range []string{`subscription { availabilityChanged(skus: []) { sku } }`, `subscription($s: [String!]) { availabilityChanged(skus: $s) { sku } }`} {
		c.subscribe("empty", q, map[string]any{"s": []string{}})
		if m := c.read(); m.Type != "next" || !strings.Contains(string(m.Payload), "skus is empty") || !strings.Contains(string(m.Payload), "BAD_USER_INPUT") {
			t.Fatalf("empty skus answered %s %s", m.Type, m.Payload)
		}
		if m := c.read(); m.Type != "complete" || m.ID != "empty" {
			t.Fatalf("got %+v, want complete of empty", m)
		}
	}
	c.subscribe("cur", `subscription { availabilityChanged(skus: ["F"], after: "nope") { sku } }`, nil)
	if m := c.read(); m.Type != "next" || !strings.Contains(string(m.Payload), "not a subscription cursor") {
		t.Fatalf("bad cursor answered %+v", m)
	}
	c.read() // complete
	// A validation error is an error message.
	c.subscribe("bad", `subscription { availabilityChanged { nope } }`, nil)
	if m := c.read(); m.Type != "error" || m.ID != "bad" || !strings.Contains(string(m.Payload), "nope") {
		t.Fatalf("invalid document answered %+v", m)
	}
	// and nothing more for it: the protocol's Error terminates the
	// operation (gqlgen's own transport, which serves the legacy
	// graphql-ws here, follows it with a complete).
	// The admin-only role check of an admin subscription still applies.
	c.subscribe("adm", `subscription { connectorStatusChanged { connector } }`, nil)
	if m := c.read(); !strings.Contains(string(m.Payload), "FORBIDDEN") {
		t.Fatalf("admin subscription with a storefront key answered %+v", m)
	}
}

// TestLiveWSChannelLimitedKey: a key limited to channels is refused
// per-location changes, as by the resolver.
func TestLiveWSChannelLimitedKey(t *testing.T) {
	t.Parallel()
	gw := newWSGateway(t)
	const k = "livews-channel-key-0123456789abcd"
	if err := gw.keys.Add(k, auth.Principal{ID: "config:eu", Name: "eu", Role: auth.Storefront, Channels: []string{"shop-eu"}}); err != nil {
		t.Fatal(err)
	}
	c := connect(t, gw.url, k, nil)
	c.subscribe("1", `subscription { availabilityChanged(skus: ["F"]) { sku } }`, nil)
	if m := c.read(); m.Type != "next" || !strings.Contains(string(m.Payload), "FORBIDDEN") {
		t.Fatalf("got %+v", m)
	}
	if gw.hub.Subscribers() != 0 {
		t.Fatal("a refused subscription subscribed")
	}
}

func TestLiveWSProtocol(t *testing.T) {
	t.Parallel()
	gw := newWSGateway(t)
	t.Run("bad key closes 4403", func(t *testing.T) {
		t.Parallel()
		c := connect(t, gw.url, "", nil)
		c.send(wsMsg{Type: "connection_init", Payload: json.RawMessage(`{"apiKey":"wrong"}`)})
		if code := c.closed(); code != 4403 {
			t.Fatalf("close code %d, want 4403", code)
		}
	})
	t.Run("header key", func(t *testing.T) {
		t.Parallel()
		c := connect(t, gw.url, "", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + wsTestKey}}})
		c.send(wsMsg{Type: "connection_init"})
		if m := c.read(); m.Type != "connection_ack" {
			t.Fatalf("got %+v", m)
		}
	})
	t.Run("ping pong", func(t *testing.T) {
		t.Parallel()
		c := connect(t, gw.url, wsTestKey, nil)
		c.send(wsMsg{Type: "ping", Payload: json.RawMessage(`{"n":1}`)})
		if m := c.read(); m.Type != "pong" || string(m.Payload) != `{"n":1}` {
			t.Fatalf("got %+v, want pong with the ping's payload", m)
		}
		// A pong is accepted silently; a websocket ping frame is answered.
		c.send(wsMsg{Type: "pong"})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		go c.c.Read(ctx) // Ping needs a reader
		if err := c.c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("complete from the client", func(t *testing.T) {
		t.Parallel()
		g := newWSGateway(t)
		c := connect(t, g.url, wsTestKey, nil)
		c.subscribe("1", `subscription { availabilityChanged(skus: ["C"]) { sku } }`, nil)
		waitSubscribers(t, g.hub, 1)
		c.send(wsMsg{ID: "1", Type: "complete"})
		waitSubscribers(t, g.hub, 0)
		// The id is free again.
		c.subscribe("1", `subscription { availabilityChanged(skus: ["C"]) { seq } }`, nil)
		waitSubscribers(t, g.hub, 1)
		g.hub.Publish(event.Availability{SKU: "C", Location: "web", Seq: 9})
		if m := c.next("1"); string(m.Payload) != `{"data":{"availabilityChanged":{"seq":9}}}` {
			t.Fatalf("got %s", m.Payload)
		}
	})
	t.Run("an error ends the operation without complete", func(t *testing.T) {
		t.Parallel()
		c := connect(t, gw.url, wsTestKey, nil)
		// A validation error and a payload that is no JSON object: each is
		// answered with error and nothing more for its id (the protocol's
		// "Error" message terminates the operation).
		c.subscribe("bad", `subscription { noSuchField }`, nil)
		if m := c.read(); m.Type != "error" || m.ID != "bad" || !strings.Contains(string(m.Payload), "noSuchField") {
			t.Fatalf("got %+v, want an error for bad", m)
		}
		c.send(wsMsg{ID: "json", Type: "subscribe", Payload: json.RawMessage(`[1]`)})
		if m := c.read(); m.Type != "error" || m.ID != "json" {
			t.Fatalf("got %+v, want an error for json", m)
		}
		// The next message is the answer to a later query, not a complete
		// of either: and both ids are free again.
		c.subscribe("bad", `{ __typename }`, nil)
		if m := c.read(); m.Type != "next" || m.ID != "bad" {
			t.Fatalf("got %+v, want the next of the reused id", m)
		}
		if m := c.read(); m.Type != "complete" || m.ID != "bad" {
			t.Fatalf("got %+v, want the complete of the reused id", m)
		}
	})
	t.Run("complete from the server", func(t *testing.T) {
		t.Parallel()
		g := newWSGateway(t)
		c := connect(t, g.url, wsTestKey, nil)
		c.subscribe("1", `subscription { availabilityChanged(skus: ["C"]) { sku } }`, nil)
		waitSubscribers(t, g.hub, 1)
		g.hub.Close()
		if m := c.read(); m.Type != "complete" || m.ID != "1" {
			t.Fatalf("got %+v, want complete", m)
		}
	})
	for _, tc := range []struct {
		name string
		do   func(c *wsClient)
		code websocket.StatusCode
	}{
		{"duplicate id closes 4409", func(c *wsClient) {
			c.subscribe("1", `subscription { availabilityChanged(skus: ["X"]) { sku } }`, nil)
			c.subscribe("1", `subscription { availabilityChanged(skus: ["X"]) { sku } }`, nil)
		}, 4409},
		{"second init closes 4429", func(c *wsClient) {
			c.send(wsMsg{Type: "connection_init"})
		}, 4429},
		{"invalid message closes 4400", func(c *wsClient) {
			c.send(wsMsg{Type: "next", ID: "1"})
		}, 4400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := connect(t, gw.url, wsTestKey, nil)
			tc.do(c)
			if code := c.closed(); code != tc.code {
				t.Fatalf("close code %d, want %d", code, tc.code)
			}
		})
	}
	t.Run("subscribe before init closes 4401", func(t *testing.T) {
		t.Parallel()
		c := connect(t, gw.url, "", nil)
		c.subscribe("1", `subscription { availabilityChanged { sku } }`, nil)
		if code := c.closed(); code != 4401 {
			t.Fatalf("close code %d, want 4401", code)
		}
	})
	t.Run("init timeout closes 4408", func(t *testing.T) {
		t.Parallel()
		g := newWSGateway(t)
		tr := liveWSOf(t, g)
		tr.initTimeout = time.Millisecond
		c := connect(t, g.url, "", nil)
		if code := c.closed(); code != 4408 {
			t.Fatalf("close code %d, want 4408", code)
		}
	})
	t.Run("origin", func(t *testing.T) {
		t.Parallel()
		_, err := dialWS(t, gw.url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
		if err == nil || !strings.Contains(err.Error(), "403") {
			t.Fatalf("a foreign origin connected: %v", err)
		}
	})
	t.Run("legacy graphql-ws stays with gqlgen", func(t *testing.T) {
		t.Parallel()
		c, err := dialWS(t, gw.url, &websocket.DialOptions{Subprotocols: []string{"graphql-ws"}})
		if err != nil {
			t.Fatal(err)
		}
		if c.Subprotocol() != "graphql-ws" {
			t.Fatalf("negotiated %q", c.Subprotocol())
		}
	})
}

// liveWSOf digs the graphql-transport-ws transport out of a fresh handler
// for g's resolver, and serves it at g.url instead.
func liveWSOf(t *testing.T, g *wsGateway) *liveWS {
	t.Helper()
	tr := newLiveWS(g.res, HandlerOptions{Keys: g.keys, KeepAlive: 10 * time.Second})
	ref := handler.New(NewExecutableSchema(Config{Resolvers: g.res, Directives: DirectiveRoot{HasRole: HasRole}}))
	ref.AddTransport(tr)
	ref.SetErrorPresenter(ErrorPresenter)
	ref.SetRecoverFunc(Recover)
	srv := httptest.NewServer(g.keys.Middleware(ref))
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return tr
}

// TestLiveWSShutdown: shutting the server down closes its websockets with
// 1001 Going Away (net/http does not track hijacked connections).
func TestLiveWSShutdown(t *testing.T) {
	t.Parallel()
	gw := newWSGateway(t)
	c := connect(t, gw.url, wsTestKey, nil)
	c.subscribe("1", `subscription { availabilityChanged(skus: ["S"]) { sku } }`, nil)
	waitSubscribers(t, gw.hub, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := gw.srv.Config.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if code := c.closed(); code != websocket.StatusGoingAway {
		t.Fatalf("close code %d, want 1001", code)
	}
	waitSubscribers(t, gw.hub, 0)
}

// TestLiveWSKeepAlive: the server pings an idle connection.
func TestLiveWSKeepAlive(t *testing.T) {
	t.Parallel()
	g := newWSGateway(t)
	tr := liveWSOf(t, g)
	tr.keepAlive = 20 * time.Millisecond
	c := connect(t, g.url, wsTestKey, nil)
	if m := c.read(); m.Type != "ping" {
		t.Fatalf("got %+v, want ping", m)
	}
	if m := c.read(); m.Type != "ping" {
		t.Fatalf("got %+v, want a second ping", m)
	}
}

// TestLiveWSRevocationCloses: revoking the key of an open connection
// closes it, whether the key came in connection_init or in the header.
func TestLiveWSRevocationCloses(t *testing.T) {
	t.Parallel()
	gw := newWSGateway(t)
	ctx := context.Background()
	for _, header := range []bool{false, true} {
		secret, mk, err := gw.keys.Create(ctx, "tab", auth.Storefront, nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		var c *wsClient
		if header {
			c = connect(t, gw.url, "", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + secret}}})
			c.send(wsMsg{Type: "connection_init"})
			c.read()
		} else {
			c = connect(t, gw.url, secret, nil)
		}
		c.subscribe("1", `subscription { availabilityChanged(skus: ["R"]) { sku } }`, nil)
		waitSubscribers(t, gw.hub, 1)
		if _, err := gw.keys.Revoke(ctx, mk.ID, "test"); err != nil {
			t.Fatal(err)
		}
		var ce websocket.CloseError
		if _, err := c.readErr(); !errors.As(err, &ce) || ce.Code != closeForbidden {
			t.Fatalf("header=%v: the revoked key's socket answered %v; want a 4403 close", header, err)
		}
		waitSubscribers(t, gw.hub, 0)
	}
}

// commitChange records a ledger entry and projection for sku at web, as
// the ledger does, and returns the change it publishes.
func commitChange(t *testing.T, st *store.Store, sku string, seq uint64, onHand int64) event.Availability {
	t.Helper()
	k := store.Key{SKU: sku, Location: "web"}
	now := time.Now().UTC()
	q := store.Quantities{OnHand: onHand, Available: onHand}
	id := sku + "-" + strconv.FormatUint(seq, 10)
	err := st.Commit(context.Background(), store.Commit{
		EventID: id, ExpectedSeq: seq - 1,
		Entry: &store.Entry{Key: k, Seq: seq, EventID: id, EventType: "com.stockgate.stock.received.v1", Connector: "admin",
			Outcome: store.OutcomeApplied, Delta: store.Quantities{OnHand: 1, Available: 1}, Result: q, OccurredAt: now, RecordedAt: now},
		Projection: &store.Projection{Key: k, Quantities: q, Seq: seq, UpdatedAt: now},
	})
	if err != nil {
		t.Fatal(err)
	}
	return event.Availability{SKU: sku, Location: "web", OnHand: onHand, Available: onHand, Seq: seq,
		CauseEventID: id, CauseType: "com.stockgate.stock.received.v1", OccurredAt: now, RecordedAt: now}
}

// TestLiveWSResume: a subscriber that comes back with its cursor gets
// exactly the changes it missed, in order, then live ones.
func TestLiveWSResume(t *testing.T) {
	t.Parallel()
	gw := newWSGateway(t)
	const q = `subscription($a: String) { availabilityChanged(skus: ["R1", "R2"], after: $a) { sku seq cursor } }`
	type change struct {
		SKU    string
		Seq    int
		Cursor string
	}
	decode := func(m wsMsg) change {
		var v struct {
			Data struct{ AvailabilityChanged change }
		}
		if err := json.Unmarshal(m.Payload, &v); err != nil {
			t.Fatal(err)
		}
		return v.Data.AvailabilityChanged
	}
	c := connect(t, gw.url, wsTestKey, nil)
	c.subscribe("1", q, nil)
	waitSubscribers(t, gw.hub, 1)
	gw.hub.Publish(commitChange(t, gw.st, "R1", 1, 1))
	first := decode(c.next("1"))
	c.send(wsMsg{ID: "1", Type: "complete"})
	waitSubscribers(t, gw.hub, 0)
	// Missed while away.
	commitChange(t, gw.st, "R2", 1, 5)
	commitChange(t, gw.st, "R1", 2, 2)
	dup := commitChange(t, gw.st, "R2", 2, 6)
	c.subscribe("2", q, map[string]any{"a": first.Cursor})
	var got []string
	for range 3 {
		ch := decode(c.next("2"))
		got = append(got, ch.SKU+"@"+strconv.Itoa(ch.Seq))
	}
	// Live, after a duplicate of what the backlog had.
	gw.hub.Publish(dup)
	gw.hub.Publish(commitChange(t, gw.st, "R1", 3, 3))
	ch := decode(c.next("2"))
	got = append(got, ch.SKU+"@"+strconv.Itoa(ch.Seq))
	if want := "R2@1 R1@2 R2@2 R1@3"; strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
}

// TestLiveWSSlowReaderCoalesces: a subscriber that does not read gets the
// latest value, marked coalesced, once it reads, and never delays another.
func TestLiveWSSlowReaderCoalesces(t *testing.T) {
	t.Parallel()
	gw := newWSGateway(t)
	small := &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{
		DialContext: (&net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var err error
			rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
			return err
		}}).DialContext,
	}}}
	slow := connect(t, gw.url, wsTestKey, small)
	fast := connect(t, gw.url, wsTestKey, nil)
	const q = `subscription { availabilityChanged(skus: ["K"]) { seq coalesced causeEventId } }`
	slow.subscribe("s", q, nil)
	fast.subscribe("f", q, nil)
	waitSubscribers(t, gw.hub, 2)
	const n = 3000
	pad := strings.Repeat("x", 200)
	for i := 1; i <= n; i++ {
		gw.hub.Publish(event.Availability{SKU: "K", Location: "web", Seq: uint64(i), CauseEventID: pad})
	}
	type v struct {
		Data struct {
			AvailabilityChanged struct {
				Seq       int
				Coalesced bool
			}
		}
	}
	last := func(c *wsClient, id string) (msgs int, coalesced bool) {
		for {
			var x v
			if err := json.Unmarshal(c.next(id).Payload, &x); err != nil {
				t.Fatal(err)
			}
			msgs++
			coalesced = coalesced || x.Data.AvailabilityChanged.Coalesced
			if x.Data.AvailabilityChanged.Seq == n {
				return msgs, coalesced
			}
		}
	}
	// The fast reader gets everything up to the last change while the slow
	// one reads nothing.
	last(fast, "f")
	msgs, coalesced := last(slow, "s")
	if msgs >= n || !coalesced {
		t.Fatalf("the slow reader got %d messages for %d changes (coalesced %v)", msgs, n, coalesced)
	}
}

// fastOps counts the fast-path subscriptions of tr's connections.
func fastOps(tr *liveWS) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for c := range tr.conns {
		c.mu.Lock()
		for _, op := range c.ops {
			if op.live != nil {
				n++
			}
		}
		c.mu.Unlock()
	}
	return n
}

// TestAppendCursorIsJSON: the cursor encoder (both transports use it)
// writes exactly base64url of json.Marshal's encoding, which
// parsePosition reads, for keys json.Marshal escapes every way.
func TestAppendCursorIsJSON(t *testing.T) {
	t.Parallel()
	keys := []string{"", "a", "A\x00web", "<&>", "q\"b\\s", "\b\f\n\r\t\x01\x1f\x7f", "\u2028\u2029x", "bad\xff\xfeutf8", "é漢字", "z"}
	var cs cursorScratch
	for n := 0; n <= len(keys); n++ {
		pos := &position{Start: 1767323045000000006 + int64(n), Seqs: map[string]uint64{}}
		for i, k := range keys[:n] {
			pos.Seqs[k] = uint64(i*1000 + n)
		}
		want := strconv.Quote(jsonCursor(t, pos))
		if got := string(appendCursor(nil, pos, &cs)); got != want || pos.cursor() != want[1:len(want)-1] {
			t.Fatalf("%d keys: got %s, want %s", n, got, want)
		}
	}
	if got, want := string(appendCursor(nil, &position{Start: 1}, &cs)), strconv.Quote(jsonCursor(t, &position{Start: 1})); got != want {
		t.Fatalf("nil Seqs: got %s, want %s", got, want)
	}
}

// jsonCursor is the cursor of pos as encoding/json and base64 make it, the
// reference the hand encoder is held to.
func jsonCursor(t *testing.T, pos *position) string {
	t.Helper()
	b, err := json.Marshal(pos)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func mustOp(t *testing.T, q string) *ast.OperationDefinition {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		t.Fatal(err)
	}
	return doc.Operations[0]
}

// BenchmarkLiveWSNext measures the fast path's handling of one change:
// the subscriber's position recording it (seen), and its encoding as a
// next frame, for the document cmd/stockgate-subs subscribes with (every
// field the command reads, and the cursor of a subscriber that has seen
// its 10 SKUs).
func BenchmarkLiveWSNext(b *testing.B) {
	doc, err := parser.ParseQuery(&ast.Source{Input: `subscription($skus: [String!]) { availabilityChanged(skus: $skus) { sku location committed available seq coalesced recordedAt cursor } }`})
	if err != nil {
		b.Fatal(err)
	}
	p := (&liveWS{plans: map[string]*livePlan{}}).plan(doc.Operations[0])
	pos := &position{Start: time.Now().UnixNano(), Seqs: map[string]uint64{}}
	for i := range 10 {
		pos.Seqs[posKey("subs-1a2b3c4d-"+strconv.Itoa(i), "web")] = uint64(i + 1)
	}
	ch := live.Change{Availability: event.Availability{SKU: "subs-1a2b3c4d-3", Location: "web", Committed: 12, Available: -2, Seq: 40,
		RecordedAt: time.Now().UTC(), OccurredAt: time.Now().UTC()}}
	var cs cursorScratch
	var msg, frame []byte
	b.ReportAllocs()
	for b.Loop() {
		ch.Seq++
		if pos.seen(ch.SKU, ch.Location, ch.Seq) {
			b.Fatal("a new seq taken for a repeat")
		}
		msg = appendNext(msg[:0], "1", p, ch, pos, &cs)
		frame = appendFrame(frame[:0], ws.OpText, msg)
		if len(frame) != len(msg)+4 || frame[len(frame)-1] != '}' {
			b.Fatalf("frame of %d bytes for a message of %d", len(frame), len(msg))
		}
	}
}

// TestSeenKeepsTheCursorInStep drives a position the way deliveries do
// (new keys, later seqs, repeats, and past maxCursorKeys the eviction of a
// key) and holds its cursor to encoding/json's after every step, so the
// sorted keys appendCursor reuses never go stale.
func TestSeenKeepsTheCursorInStep(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	pos := &position{Start: 1767323045000000006, Seqs: map[string]uint64{}}
	var cs cursorScratch
	check := func(step int) {
		t.Helper()
		if got, want := string(appendCursor(nil, pos, &cs)), strconv.Quote(jsonCursor(t, pos)); got != want {
			t.Fatalf("step %d: cursor %s, want %s", step, got, want)
		}
	}
	last := map[string]uint64{}
	for step := range 3000 {
		sku := "S" + strconv.Itoa(rng.IntN(maxCursorKeys+50))
		if step < 200 {
			sku = "S" + strconv.Itoa(rng.IntN(20)) // updates of a few keys first
		}
		k := posKey(sku, "web")
		prev, had := pos.Seqs[k]
		seq := last[k] + 1 + uint64(rng.IntN(3))
		if rng.IntN(4) == 0 && had {
			seq = prev // a repeat
		}
		dup := pos.seen(sku, "web", seq)
		if want := had && seq <= prev; dup != want {
			t.Fatalf("step %d: seen(%s, %d) = %v with last %d (known %v)", step, sku, seq, dup, prev, had)
		}
		if !dup {
			last[k] = seq
			if pos.Seqs[k] != seq {
				t.Fatalf("step %d: %s recorded %d, want %d", step, sku, pos.Seqs[k], seq)
			}
		}
		if len(pos.Seqs) > maxCursorKeys {
			t.Fatalf("step %d: %d keys, more than %d", step, len(pos.Seqs), maxCursorKeys)
		}
		if step < 300 || step%100 == 0 {
			check(step)
		}
	}
	check(3000)
}

func TestSeenOfAKnownKeyAllocatesNothing(t *testing.T) {
	pos := &position{Start: 1, Seqs: map[string]uint64{}}
	skus := make([]string, 10)
	for i := range skus {
		skus[i] = "subs-1a2b3c4d-" + strconv.Itoa(i)
		pos.seen(skus[i], "web", 1)
	}
	var cs cursorScratch
	buf := appendCursor(make([]byte, 0, 4096), pos, &cs)
	seq := uint64(1)
	if n := testing.AllocsPerRun(100, func() {
		seq++
		for _, sku := range skus {
			if pos.seen(sku, "web", seq) {
				t.Fatal("a later seq was taken for a repeat")
			}
		}
		buf = appendCursor(buf[:0], pos, &cs)
	}); n != 0 {
		t.Fatalf("%v allocations per 10 deliveries and a cursor, want 0", n)
	}
}
