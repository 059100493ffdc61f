package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRawGetter checks the -qps client against a net/http server: it
// keeps one connection for many requests, sends the headers it was given,
// dials again when the server closed the idle connection or answered
// Connection: close, and reads whole bodies.
func TestRawGetter(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k" || r.URL.Query().Get("sku") == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if r.URL.Query().Get("close") != "" {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, `{"data":{"availability":{"sku":"`+r.URL.Query().Get("sku")+`","location":"web","committed":1,"available":-1,"seq":1}}}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	req := func(sku, extra string) []byte {
		return rawGet(u.Host, "/graphql?sku="+sku+extra, "Authorization: Bearer k\r\n")
	}
	g, err := newRawGetter(srv.URL, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	ctx := context.Background()
	var buf bytes.Buffer
	get := func(sku, extra string) {
		t.Helper()
		code, b, err := g.do(ctx, req(sku, extra), &buf)
		if err != nil {
			t.Fatalf("%s: %v", sku, err)
		}
		if _, err := availabilityAnswer(code, b, sku); err != nil {
			t.Fatalf("%s: %v", sku, err)
		}
	}
	for _, sku := range []string{"a", "b", "c"} {
		get(sku, "")
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("3 requests used %d connections, want 1", n)
	}
	srv.CloseClientConnections() // the idle connection, as a server's idle timeout does
	get("d", "")
	get("e", "&close=1")
	get("f", "")
	if n := conns.Load(); n != 3 {
		t.Errorf("after a closed idle connection and a Connection: close, %d connections, want 3", n)
	}

	// A refused request is an answer, not a transport error.
	code, b, err := g.do(ctx, rawGet(u.Host, "/graphql?sku=g", ""), &buf)
	if err != nil || code != http.StatusBadRequest || !strings.Contains(string(b), "bad request") {
		t.Errorf("request without the key: %d %q %v", code, b, err)
	}
	if _, err := availabilityAnswer(code, b, "g"); err == nil {
		t.Error("availabilityAnswer accepted a 400")
	}

	// Cancelling the context ends the request and says why.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := g.do(cctx, req("h", ""), &buf); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request: %v, want context.Canceled", err)
	}
}

// TestRawGetterCancelInFlight checks that cancelling the context ends a
// request the server does not answer.
func TestRawGetterCancelInFlight(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	u, _ := url.Parse(srv.URL)
	g, err := newRawGetter(srv.URL, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	var buf bytes.Buffer
	if _, _, err := g.do(ctx, rawGet(u.Host, "/slow", ""), &buf); !errors.Is(err, context.Canceled) {
		t.Errorf("request cancelled in flight: %v, want context.Canceled", err)
	}
}

// TestAvailabilityAnswer checks the answers the -qps run accepts.
func TestAvailabilityAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		code       int
		want       error // nil: accepted; errSlowPath: some error
	}{
		{"fast path", `{"data":{"availability":{"sku":"s1","location":"web","committed":2,"available":-2,"seq":2}}}`, 200, nil},
		{"escaped", `{"data":{"availability":{"sku":"s\u0031","location":"web","committed":2,"available":-2,"seq":2}}}`, 200, nil},
		{"another SKU", `{"data":{"availability":{"sku":"s2","location":"web","committed":2,"available":-2,"seq":2}}}`, 200, errSlowPath},
		{"not persisted", `{"errors":[{"message":"PersistedQueryNotFound","extensions":{"code":"PERSISTED_QUERY_NOT_FOUND"}}],"data":null}`, 200, errNotPersisted},
		{"other error", `{"errors":[{"message":"no","extensions":{"code":"FORBIDDEN"}}],"data":null}`, 200, errSlowPath},
		{"null", `{"data":{"availability":null}}`, 200, errSlowPath},
		{"not JSON", `oops`, 502, errSlowPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := availabilityAnswer(tc.code, []byte(tc.body), "s1")
			switch {
			case tc.want == nil && (err != nil || c.Committed != 2):
				t.Errorf("got %+v, %v; want committed 2", c, err)
			case tc.want == errNotPersisted && !errors.Is(err, errNotPersisted):
				t.Errorf("got %v, want errNotPersisted", err)
			case tc.want == errSlowPath && (err == nil || errors.Is(err, errNotPersisted)):
				t.Errorf("got %v, want an error", err)
			}
		})
	}
}

// TestQuerierRawGetReregisters checks that a hash the gateway forgot is
// registered again with a POST, as Apollo clients do, and the GET then
// answered.
func TestQuerierRawGetReregisters(t *testing.T) {
	g := newFakeGateway(t, "s", "k")
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	q := newQuerier(newHTTPClient(1), srv.URL, "k", "web")
	u, _ := url.Parse(q.url("sku-1"))
	req := rawGet(u.Host, u.RequestURI(), "Authorization: "+q.auth+"\r\n")
	rg, err := newRawGetter(srv.URL, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer rg.close()
	var buf bytes.Buffer
	for range 2 {
		if err := q.rawGet(context.Background(), rg, req, "sku-1", &buf); err != nil {
			t.Fatal(err)
		}
	}
	g.mu.Lock()
	hits := g.hits
	g.mu.Unlock()
	if n := q.registered.Load(); n != 1 || hits != 2 {
		t.Errorf("%d registrations and %d hashed queries answered, want 1 and 2", n, hits)
	}
}
