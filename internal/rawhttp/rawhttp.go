// Package rawhttp is the load commands' lean HTTP/1.1 client: requests
// written as bytes over one keep-alive connection, answers parsed by
// net/http's http.ReadResponse on a reused bufio.Reader.
//
// The commands that measure stockgate (cmd/stockgate-load,
// cmd/stockgate-subs) share the machine's cores with the gateway they
// measure. net/http's Client spends about as much CPU per request as the
// gateway spends answering a small one (a read and a write goroutine per
// connection, a goroutine handoff, a request, header map and context per
// call); a Conn spends about half of that, nearly all of it in the write
// and read system calls, so the measurement takes less of what it
// measures. What goes over the wire is an ordinary HTTP/1.1 request.
package rawhttp

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

// MaxBody bounds how much of an answer's body Do reads.
const MaxBody = 1 << 20

// Conn sends requests to one server over one keep-alive connection, one
// at a time, dialing on first use and again after the server closed it.
// A Conn is not safe for concurrent use: give each worker its own.
type Conn struct {
	host    string      // the URL's host, for the Host header
	addr    string      // host:port to dial
	tls     *tls.Config // nil: plain HTTP
	timeout time.Duration

	conn  net.Conn
	br    *bufio.Reader
	fresh bool // conn has not yet answered a request
}

// New returns a Conn to the server of baseURL, http:// or https://. Each
// request gets at most timeout, or less when its ctx says so.
func New(baseURL string, timeout time.Duration) (*Conn, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	c := &Conn{host: u.Host, addr: u.Host, timeout: timeout}
	port := "80"
	switch u.Scheme {
	case "http":
	case "https":
		port = "443"
		c.tls = &tls.Config{ServerName: u.Hostname(), NextProtos: []string{"http/1.1"}}
	default:
		return nil, fmt.Errorf("%q: not an http(s) URL", baseURL)
	}
	if u.Port() == "" {
		c.addr = net.JoinHostPort(u.Hostname(), port)
	}
	return c, nil
}

// Timeout is the most a request may take.
func (c *Conn) Timeout() time.Duration { return c.timeout }

// Host is the value of the Host header for requests to c's server.
func (c *Conn) Host() string { return c.host }

// ErrNoAnswer marks a connection that ended before the first byte of an
// answer.
var ErrNoAnswer = errors.New("connection closed before an answer")

// Do sends req, a whole HTTP/1.1 request, and reads the answer's body
// into buf. A request that finds a kept-alive connection closed by the
// server (not one byte of an answer read) is sent once more on a new
// connection, as net/http's Transport does; so send only requests that
// may arrive twice (GETs, or deliveries the server deduplicates). Any
// error closes the connection.
func (c *Conn) Do(ctx context.Context, req []byte, buf *bytes.Buffer) (code int, body []byte, err error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	for attempt := 0; ; attempt++ {
		if c.conn == nil {
			if err := c.dial(ctx); err != nil {
				return 0, nil, err
			}
		}
		reused := !c.fresh
		code, body, err := c.roundTrip(ctx, req, buf)
		if err == nil {
			return code, body, nil
		}
		c.Close()
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		if !reused || attempt > 0 || !errors.Is(err, ErrNoAnswer) {
			return 0, nil, err
		}
	}
}

func (c *Conn) roundTrip(ctx context.Context, req []byte, buf *bytes.Buffer) (int, []byte, error) {
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.conn.SetDeadline(deadline); err != nil {
		return 0, nil, err
	}
	// Cancelling ctx ends the request in flight; the connection is then
	// spoiled (its deadline is past) and closed.
	conn := c.conn
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	code, body, err := c.exchange(req, buf)
	if !stop() {
		c.Close()
		if err == nil {
			return code, body, nil
		}
		return 0, nil, ctx.Err()
	}
	return code, body, err
}

func (c *Conn) exchange(req []byte, buf *bytes.Buffer) (int, []byte, error) {
	if _, err := c.conn.Write(req); err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrNoAnswer, err)
	}
	if _, err := c.br.Peek(1); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return 0, nil, fmt.Errorf("%w: %v", ErrNoAnswer, err)
		}
		return 0, nil, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, nil, err
	}
	buf.Reset()
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, MaxBody))
	if err == nil {
		// Drain what is left past MaxBody, so the next answer starts clean.
		_, err = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	if err != nil {
		return 0, nil, err
	}
	c.fresh = false
	if resp.Close {
		c.Close()
	}
	return resp.StatusCode, buf.Bytes(), nil
}

func (c *Conn) dial(ctx context.Context) error {
	d := &net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}
	var (
		conn net.Conn
		err  error
	)
	if c.tls != nil {
		conn, err = (&tls.Dialer{NetDialer: d, Config: c.tls}).DialContext(ctx, "tcp", c.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", c.addr)
	}
	if err != nil {
		return err
	}
	c.conn, c.fresh = conn, true
	if c.br == nil {
		c.br = bufio.NewReaderSize(conn, 16<<10)
	} else {
		c.br.Reset(conn)
	}
	return nil
}

// Close closes the connection, if any; the next Do dials again.
func (c *Conn) Close() {
	if c.conn == nil {
		return
	}
	c.conn.Close()
	c.conn = nil
}
