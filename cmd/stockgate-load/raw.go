package main

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/stockgate/stockgate/internal/rawhttp"
)

// rawPoster sends webhooks to one gateway URL over keep-alive connections
// of package rawhttp, one request in flight on each, each request written
// with one write call. It exists so that the load command measures the
// gateway rather than itself: gateway and command share the machine's
// cores, and net/http's client cost about half again as much CPU per
// webhook. What goes over the wire is the same request.
type rawPoster struct {
	url     string
	head    []byte // request line and the fixed headers
	timeout time.Duration
	idle    chan *rawConn
}

// rawConn is a connection and its reusable buffers.
type rawConn struct {
	c    *rawhttp.Conn
	req  []byte
	body bytes.Buffer
}

// newRawPoster returns a poster for u, an http:// or https:// URL, keeping
// up to conns idle connections.
func newRawPoster(u string, conns int, timeout time.Duration) (*rawPoster, error) {
	c, err := rawhttp.New(u, timeout) // checks the URL
	if err != nil {
		return nil, err
	}
	pu, _ := url.Parse(u)
	target := pu.RequestURI()
	head := []byte("POST " + target + " HTTP/1.1\r\nHost: " + c.Host() + "\r\nUser-Agent: stockgate-load\r\n")
	return &rawPoster{url: u, head: head, timeout: timeout, idle: make(chan *rawConn, conns)}, nil
}

// post sends wh and returns the gateway's answer. An error means no answer
// arrived (a transport error, or ctx's deadline). A delivery may be sent
// twice when a kept-alive connection turns out closed before any answer
// (rawhttp.Conn.Do); the gateway deduplicates it by its event id.
func (p *rawPoster) post(ctx context.Context, wh *webhook) (answer, error) {
	var rc *rawConn
	select {
	case rc = <-p.idle:
	default:
		c, err := rawhttp.New(p.url, p.timeout)
		if err != nil {
			return answer{}, err
		}
		rc = &rawConn{c: c}
	}
	defer p.put(rc)
	rc.req = appendRequest(rc.req[:0], p.head, wh)
	code, b, err := rc.c.Do(ctx, rc.req, &rc.body)
	if err != nil {
		return answer{}, err
	}
	a := answer{code: code}
	if len(b) > maxAnswerBytes {
		b = b[:maxAnswerBytes]
	}
	// goccy/go-json: encoding/json's reflection cost the command a tenth
	// of its CPU on these few bytes per answer.
	if gojson.Unmarshal(b, &a) != nil && a.code != http.StatusOK {
		a.Error = string(bytes.TrimSpace(b))
	}
	return a, nil
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
