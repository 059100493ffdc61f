package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// rawPoster sends webhooks to one plain-HTTP gateway URL over HTTP/1.1
// keep-alive connections that it owns, one request in flight per
// connection, each request written with one write call and its answer
// parsed by net/http's http.ReadResponse.
//
// It exists so that the load command measures the gateway rather than
// itself: gateway and command share the machine's cores, and net/http's
// client (a read and a write goroutine per connection, a goroutine handoff
// per request, a cloned header map) cost about three times as much CPU per
// webhook as the raw path. What goes over the wire is the same request.
type rawPoster struct {
	addr string // host:port to dial
	head []byte // request line and the fixed headers, up to the first per-request header
	idle chan *rawConn
}

// rawConn is one keep-alive connection and its reusable buffers.
type rawConn struct {
	c   net.Conn
	br  *bufio.Reader
	buf []byte
}

// newRawPoster returns a poster for u, an http:// URL, keeping up to conns
// idle connections. It fails for any other scheme: HTTPS goes through
// net/http (post).
func newRawPoster(u string, conns int) (*rawPoster, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, err
	}
	if pu.Scheme != "http" {
		return nil, fmt.Errorf("raw poster: %s: only http:// URLs", u)
	}
	addr := pu.Host
	if pu.Port() == "" {
		addr = net.JoinHostPort(pu.Hostname(), "80")
	}
	path := pu.EscapedPath()
	if path == "" {
		path = "/"
	}
	if pu.RawQuery != "" {
		path += "?" + pu.RawQuery
	}
	head := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: stockgate-load\r\n", path, pu.Host)
	return &rawPoster{addr: addr, head: head, idle: make(chan *rawConn, conns)}, nil
}

// post sends wh and returns the gateway's answer. An error means no answer
// arrived (a transport error or timeout, from ctx's deadline); the
// connection is then closed, never reused.
func (p *rawPoster) post(ctx context.Context, wh *webhook) (answer, error) {
	rc, err := p.get(ctx)
	if err != nil {
		return answer{}, err
	}
	if d, ok := ctx.Deadline(); ok {
		_ = rc.c.SetDeadline(d)
	}
	rc.buf = appendRequest(rc.buf[:0], p.head, wh)
	if _, err := rc.c.Write(rc.buf); err != nil {
		rc.c.Close()
		return answer{}, err
	}
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		rc.c.Close()
		return answer{}, err
	}
	a := answer{code: resp.StatusCode}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		rc.c.Close()
		return answer{}, err
	}
	if json.Unmarshal(b, &a) != nil && a.code != http.StatusOK {
		a.Error = string(bytes.TrimSpace(b))
	}
	// Drain what is left so the connection can carry the next request.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.Close {
		rc.c.Close()
		return a, nil
	}
	p.put(rc)
	return a, nil
}

// get returns an idle connection or dials a new one.
func (p *rawPoster) get(ctx context.Context) (*rawConn, error) {
	select {
	case rc := <-p.idle:
		return rc, nil
	default:
	}
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	return &rawConn{c: c, br: bufio.NewReaderSize(c, 4096)}, nil
}

// put keeps rc for the next request, or closes it when enough are idle.
func (p *rawPoster) put(rc *rawConn) {
	select {
	case p.idle <- rc:
	default:
		rc.c.Close()
	}
}

// close closes the idle connections.
func (p *rawPoster) close() {
	for {
		select {
		case rc := <-p.idle:
			rc.c.Close()
		default:
			return
		}
	}
}

// appendRequest appends the HTTP/1.1 request for wh to dst: head, then
// wh's headers, Content-Length and the body.
func appendRequest(dst, head []byte, wh *webhook) []byte {
	dst = append(dst, head...)
	for k, vs := range wh.header {
		for _, v := range vs {
			dst = append(dst, k...)
			dst = append(dst, ": "...)
			dst = append(dst, v...)
			dst = append(dst, "\r\n"...)
		}
	}
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(wh.body)), 10)
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, wh.body...)
}
