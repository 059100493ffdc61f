package rawhttp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// get is a GET of target on host with the header lines hdr.
func get(host, target, hdr string) []byte {
	return []byte("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + hdr + "\r\n")
}

// TestConn checks a Conn against a net/http server: it keeps one
// connection for many requests, sends the headers it was given, dials
// again when the server closed the idle connection or answered
// Connection: close, reads whole bodies, and answers a refused request
// as an answer, not an error.
func TestConn(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if r.URL.Query().Get("close") != "" {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, "echo "+r.URL.Query().Get("v")+strings.Repeat(".", 20000)) // larger than the reader's buffer
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	var buf bytes.Buffer
	do := func(v, extra string) {
		t.Helper()
		code, b, err := c.Do(ctx, get(c.Host(), "/?v="+v+extra, "Authorization: Bearer k\r\n"), &buf)
		if err != nil || code != http.StatusOK || !strings.HasPrefix(string(b), "echo "+v+".") || len(b) != 5+len(v)+20000 {
			t.Fatalf("%s: %d, %d bytes, %v", v, code, len(b), err)
		}
	}
	for _, v := range []string{"a", "b", "c"} {
		do(v, "")
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("3 requests used %d connections, want 1", n)
	}
	srv.CloseClientConnections() // the idle connection, as a server's idle timeout does
	do("d", "")
	do("e", "&close=1")
	do("f", "")
	if n := conns.Load(); n != 3 {
		t.Errorf("after a closed idle connection and a Connection: close, %d connections, want 3", n)
	}

	code, b, err := c.Do(ctx, get(c.Host(), "/", ""), &buf)
	if err != nil || code != http.StatusBadRequest || !strings.Contains(string(b), "bad request") {
		t.Errorf("request without the key: %d %q %v", code, b, err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := c.Do(cctx, get(c.Host(), "/?v=h", "Authorization: Bearer k\r\n"), &buf); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request: %v, want context.Canceled", err)
	}

	// A request whose context ended after it was answered leaves the
	// connection usable for the next one.
	for i := range 3 {
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, _, err := c.Do(rctx, get(c.Host(), "/?v=x", "Authorization: Bearer k\r\n"), &buf)
		cancel()
		if err != nil {
			t.Fatalf("request %d with its own context: %v", i, err)
		}
	}
	if _, err := New("ftp://example.com", time.Second); err == nil {
		t.Error("New accepted an ftp URL")
	}
}

// TestConnCancelInFlight checks that cancelling the context, or its
// deadline, ends a request the server does not answer.
func TestConnCancelInFlight(t *testing.T) {
	arrived, release := make(chan struct{}, 2), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c, err := New(srv.URL, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var buf bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	if _, _, err := c.Do(ctx, get(c.Host(), "/slow", ""), &buf); !errors.Is(err, context.Canceled) {
		t.Errorf("request cancelled in flight: %v, want context.Canceled", err)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer dcancel()
	if _, _, err := c.Do(dctx, get(c.Host(), "/slow", ""), &buf); err == nil {
		t.Error("a request past its deadline got an answer")
	}
}
