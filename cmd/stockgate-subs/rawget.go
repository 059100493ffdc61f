package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// rawGetter sends prebuilt HTTP/1.1 GET requests over one keep-alive
// connection it owns, one request in flight at a time, and parses each
// answer with http.ReadResponse on a reused bufio.Reader. It is the -qps
// run's client: net/http's Client costs about as much CPU per request as
// the gateway spends answering it (a goroutine pair per connection, a
// request and a header map per call, a context per timeout), so on a
// shared machine it measured itself as much as the gateway. A rawGetter is
// not safe for concurrent use: give each worker its own.
type rawGetter struct {
	addr    string      // host:port
	tls     *tls.Config // nil: plain HTTP
	timeout time.Duration

	conn  net.Conn
	br    *bufio.Reader
	stop  func() bool // the context.AfterFunc that closes conn
	fresh bool        // conn has not yet answered a request
}

// newRawGetter returns a getter for the http or https base URL; it dials
// on first use.
func newRawGetter(baseURL string, timeout time.Duration) (*rawGetter, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	g := &rawGetter{addr: u.Host, timeout: timeout}
	switch u.Scheme {
	case "http":
		if u.Port() == "" {
			g.addr = net.JoinHostPort(u.Hostname(), "80")
		}
	case "https":
		if u.Port() == "" {
			g.addr = net.JoinHostPort(u.Hostname(), "443")
		}
		g.tls = &tls.Config{ServerName: u.Hostname(), NextProtos: []string{"http/1.1"}}
	default:
		return nil, fmt.Errorf("%q: not an http(s) URL", baseURL)
	}
	return g, nil
}

// rawGet returns the bytes of a GET of target (a path with its query) on
// host, with the header lines hdr ("Name: value\r\n" each).
func rawGet(host, target, hdr string) []byte {
	return []byte("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + hdr + "\r\n")
}

// do sends req (from rawGet) and reads the whole answer into buf. A
// request that finds a kept-alive connection closed by the server (no
// byte of an answer read) is sent once more on a new one: a GET is
// idempotent, and net/http's Transport does the same. Each request has
// the getter's timeout; cancelling the ctx of the request that dialed the
// connection ends the request in flight on it, so give a getter one ctx.
func (g *rawGetter) do(ctx context.Context, req []byte, buf *bytes.Buffer) (int, []byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	for attempt := 0; ; attempt++ {
		if g.conn == nil {
			if err := g.dial(ctx); err != nil {
				return 0, nil, err
			}
		}
		reused := !g.fresh
		code, body, err := g.roundTrip(req, buf)
		if err == nil {
			return code, body, nil
		}
		g.close()
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		if !reused || attempt > 0 || !errors.Is(err, errNoAnswer) {
			return 0, nil, err
		}
	}
}

// errNoAnswer marks a connection that ended before the first byte of an
// answer.
var errNoAnswer = errors.New("connection closed before an answer")

func (g *rawGetter) roundTrip(req []byte, buf *bytes.Buffer) (int, []byte, error) {
	if err := g.conn.SetDeadline(time.Now().Add(g.timeout)); err != nil {
		return 0, nil, err
	}
	if _, err := g.conn.Write(req); err != nil {
		return 0, nil, fmt.Errorf("%w: %v", errNoAnswer, err)
	}
	if _, err := g.br.Peek(1); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return 0, nil, fmt.Errorf("%w: %v", errNoAnswer, err)
		}
		return 0, nil, err
	}
	resp, err := http.ReadResponse(g.br, nil)
	if err != nil {
		return 0, nil, err
	}
	buf.Reset()
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return 0, nil, err
	}
	g.fresh = false
	if resp.Close {
		g.close()
	}
	return resp.StatusCode, buf.Bytes(), nil
}

func (g *rawGetter) dial(ctx context.Context) error {
	d := &net.Dialer{Timeout: g.timeout, KeepAlive: 30 * time.Second}
	var (
		c   net.Conn
		err error
	)
	if g.tls != nil {
		c, err = (&tls.Dialer{NetDialer: d, Config: g.tls}).DialContext(ctx, "tcp", g.addr)
	} else {
		c, err = d.DialContext(ctx, "tcp", g.addr)
	}
	if err != nil {
		return err
	}
	g.conn, g.fresh = c, true
	if g.br == nil {
		g.br = bufio.NewReaderSize(c, 16<<10)
	} else {
		g.br.Reset(c)
	}
	// Cancelling ctx unblocks a read or write in flight.
	g.stop = context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	return nil
}

// close closes the connection, if any; the next do dials again.
func (g *rawGetter) close() {
	if g.conn == nil {
		return
	}
	g.stop()
	g.conn.Close()
	g.conn = nil
}

// availabilityAnswer reads the availability from a GraphQL answer to a
// query of sku, as querier.do does: a fast parse of the usual answer,
// encoding/json for anything else, errNotPersisted for
// PERSISTED_QUERY_NOT_FOUND, and an error for an answer about another SKU.
func availabilityAnswer(code int, b []byte, sku string) (change, error) {
	var c change
	if code != http.StatusOK || findObject(b, "availability", &c) != nil {
		var errs []gqlError
		var ok bool
		var err error
		c, errs, ok, err = decodeResult(b, "availability")
		switch {
		case err != nil:
			return change{}, fmt.Errorf("GET /graphql: %d %s", code, bytes.TrimSpace(b))
		case len(errs) > 0 && errs[0].Extensions.Code == "PERSISTED_QUERY_NOT_FOUND":
			return change{}, errNotPersisted
		case len(errs) > 0:
			return change{}, fmt.Errorf("GET /graphql: %d: %s", code, firstError(errs))
		case !ok || code != http.StatusOK:
			return change{}, fmt.Errorf("GET /graphql: %d %s", code, bytes.TrimSpace(b))
		}
	}
	if string(c.SKU) != sku {
		return change{}, fmt.Errorf("asked for %s, got %q", sku, c.SKU)
	}
	return c, nil
}
