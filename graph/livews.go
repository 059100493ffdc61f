package graph

// The graphql-transport-ws transport: a lean server for the websocket
// subprotocol of https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md
// that serves availabilityChanged subscriptions without running gqlgen per
// change, and every other operation through gqlgen's executor.
//
// Why its own transport: with gqlgen's transport.Websocket each idle
// subscriber cost 4 goroutines (27 KiB of stacks) and 24 KiB of heap, of
// which 8.4 KiB were net/http's bufio buffers that the hijacked connection
// kept; and each change was executed by gqlgen, marshalled, marshalled again
// inside its envelope and written with its own syscall (BENCHMARKS.md §8).
//
// Why github.com/gobwas/ws: it upgrades the connection and parses frames
// and nothing more, so the connection is a bare net.Conn with no buffers,
// no goroutines and no locks of the library's own. github.com/coder/websocket
// (what gqlgen's transport uses) keeps net/http's hijacked 4 KiB bufio
// reader and writer for the life of the connection, and a goroutine to
// watch its context; gorilla/websocket keeps a read buffer per connection
// (4 KiB by default) and writes each message with its own syscall. Measured
// with cmd/stockgate-subs, 10,000 idle subscribers: 17-20 KiB RSS and one
// goroutine each with this transport, against 61-64 KiB and four with
// gqlgen's over coder/websocket (BENCHMARKS.md §8).
//
// One connection holds one goroutine, its reader, with a small stack; the
// handler goroutine that upgraded it returns, which frees net/http's
// request, its buffers and its stack. Messages that need deep stacks
// (connection_init, subscribe) run on a short-lived goroutine so the
// reader's stack stays small. Nothing waits per subscription: a
// live.Subscriber in notify mode marks the subscription ready, and a writer
// goroutine, started on demand, drains every ready subscription of the
// connection, encodes each change as a "next" message by hand (the same
// bytes gqlgen writes, see TestLiveWSSameAsGqlgen), writes them all with
// one syscall, and exits when nothing is pending.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gobwas/ws"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/stockgate/stockgate/auth"
	"github.com/stockgate/stockgate/live"
)

const (
	liveWSProtocol = "graphql-transport-ws"
	// liveWSReadLimit caps a client message, as gqlgen's default.
	liveWSReadLimit = 1 << 20
	// liveWSWriteTimeout bounds one write: a client that reads nothing for
	// that long is disconnected (it resumes with its cursor).
	liveWSWriteTimeout = 15 * time.Second
	// liveWSCloseWait is how long a closing connection waits for the
	// client's close frame.
	liveWSCloseWait = 2 * time.Second
	// liveWSInitTimeout is how long a client has to send connection_init.
	liveWSInitTimeout = 10 * time.Second
	// liveWSMaxQueued is how many bytes of messages of the general path
	// may wait for the writer before their senders wait too.
	liveWSMaxQueued = 1 << 20
	// liveWSMaxPlans bounds the cache of selection plans.
	liveWSMaxPlans = 1024
)

// Close codes: RFC 6455 and graphql-transport-ws.
const (
	closeNormal       = 1000
	closeGoingAway    = 1001
	closeProtocol     = 1002
	closeTooBig       = 1009
	closeInternal     = 1011
	closeBadRequest   = 4400
	closeUnauthorized = 4401
	closeForbidden    = 4403
	closeInitTimeout  = 4408
	closeDuplicateID  = 4409
	closeTooManyInits = 4429
)

// liveWS is the graphql-transport-ws transport (a graphql.Transport).
type liveWS struct {
	res         *Resolver
	keys        *auth.Keys
	origins     []string
	keepAlive   time.Duration
	initTimeout time.Duration

	mu      sync.Mutex
	plans   map[string]*livePlan
	conns   map[*wsConn]struct{}
	servers map[*http.Server]struct{}
}

var _ graphql.Transport = (*liveWS)(nil)

// newLiveWS returns the graphql-transport-ws transport of NewHandler: the
// same authentication (initPrincipal), origins and keep-alive as the
// gqlgen transport that keeps serving the legacy graphql-ws subprotocol.
func newLiveWS(r *Resolver, o HandlerOptions) *liveWS {
	return &liveWS{
		res: r, keys: o.Keys, origins: o.AllowedOrigins, keepAlive: o.KeepAlive, initTimeout: liveWSInitTimeout,
		plans: map[string]*livePlan{}, conns: map[*wsConn]struct{}{}, servers: map[*http.Server]struct{}{},
	}
}

// Supports claims websocket upgrades that offer graphql-transport-ws and
// not graphql-ws (gqlgen's transport prefers graphql-ws when both are
// offered, and keeps serving it).
func (t *liveWS) Supports(r *http.Request) bool {
	if r.Method != http.MethodGet || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return false
	}
	offered := false
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			switch p = strings.TrimSpace(p); {
			case strings.EqualFold(p, "graphql-ws"):
				return false
			case strings.EqualFold(p, liveWSProtocol):
				offered = true
			}
		}
	}
	return offered
}

// Do upgrades the connection, starts its reader and returns, so that
// net/http releases the request and its buffers.
func (t *liveWS) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	if err := checkOrigin(r, t.origins); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	up := ws.HTTPUpgrader{
		Timeout:  liveWSWriteTimeout,
		Protocol: func(p string) bool { return strings.EqualFold(p, liveWSProtocol) },
	}
	nc, rw, _, err := up.Upgrade(r, w)
	if err != nil {
		return // the upgrader answered
	}
	c := &wsConn{t: t, nc: nc, exec: exec, ops: map[string]*wsOp{}}
	c.cond.L = &c.mu
	if n := rw.Reader.Buffered(); n > 0 {
		// A client that sent its first frames with the upgrade: keep
		// them, and drop the 4 KiB reader.
		b, _ := rw.Reader.Peek(n)
		c.pre = bytes.Clone(b)
	}
	// The request's context ends when Do returns, and would keep the
	// server's and the request's whole chain of contexts alive for as long
	// as the connection lasts: keep only the caller it names.
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	if p, ok := auth.FromContext(r.Context()); ok {
		ctx = auth.WithPrincipal(ctx, p)
		if t.keys != nil {
			// The key came in the Authorization header: the middleware's
			// revocation watch ends with the request, so watch again.
			c.watch(p.ID)
		}
	}
	c.ctx = ctx
	revoked := r.Context().Err() != nil
	t.track(r, c)
	go c.readLoop(revoked)
}

// track registers c to be closed when its server shuts down (net/http does
// not wait for hijacked connections).
func (t *liveWS) track(r *http.Request, c *wsConn) {
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.servers[srv]; srv != nil && !ok {
		t.servers[srv] = struct{}{}
		srv.RegisterOnShutdown(t.shutdown)
	}
	t.conns[c] = struct{}{}
}

func (t *liveWS) untrack(c *wsConn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// shutdown closes every connection with 1001 Going Away.
func (t *liveWS) shutdown() {
	t.mu.Lock()
	cs := make([]*wsConn, 0, len(t.conns))
	for c := range t.conns {
		cs = append(cs, c)
	}
	t.mu.Unlock()
	// In parallel: each close may wait a second for a client that reads
	// nothing.
	for _, c := range cs {
		go c.closeWith(closeGoingAway, "server shutting down")
	}
}

// checkOrigin allows requests without an Origin, same-origin requests and
// origins whose host matches one of patterns (path.Match, case-insensitive;
// a pattern with "://" matches scheme://host), as coder/websocket's
// AcceptOptions.OriginPatterns, which the legacy transport uses.
func checkOrigin(r *http.Request, patterns []string) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil {
		return fmt.Errorf("failed to parse Origin header %q: %w", origin, err)
	}
	if strings.EqualFold(r.Host, u.Host) {
		return nil
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, err := path.Match(strings.ToLower(p), strings.ToLower(target)); err == nil && ok {
			return nil
		}
	}
	return fmt.Errorf("request Origin %q is not authorized for Host %q", u.Host, r.Host)
}

// wsConn is one graphql-transport-ws connection.
type wsConn struct {
	t    *liveWS
	nc   net.Conn
	pre  []byte // bytes read with the upgrade request
	exec graphql.GraphExecutor

	// ctx carries the principal; cancel ends it (and the operations of
	// the general path) when the connection closes. Set before the
	// reader starts and, by connection_init, while the reader waits.
	ctx       context.Context
	cancel    context.CancelFunc
	stopWatch func() // set once, before the reader starts or by it

	mu        sync.Mutex
	cond      sync.Cond // on mu: the queue shrank or the connection closed
	initSeen  bool
	acked     bool
	closing   bool
	closeCode int
	ops       map[string]*wsOp
	out       []byte       // queued frames
	ready     []*liveSub   // fast-path subscriptions with pending changes
	writing   bool         // a writer goroutine runs
	keepAlive *time.Timer  // nil before connection_ack
	lastWrite atomic.Int64 // Unix ns of the writer's last write
}

// wsOp is one running operation: a fast-path subscription (live) or an
// operation of the general path (cancel).
type wsOp struct {
	live   *liveSub
	cancel context.CancelFunc
}

// liveSub is a fast-path availabilityChanged subscription.
type liveSub struct {
	c    *wsConn
	id   string
	plan *livePlan
	sub  *live.Subscriber
	// pos is read and written only by the connection's writer.
	pos *position
	// backlog is set once, before the subscription is first made ready,
	// and taken by the writer.
	backlog []live.Change
	// Guarded by c.mu.
	started, queued, done bool
}

// notify is the live.Subscriber's callback: it must not block.
func (ls *liveSub) notify() {
	c := ls.c
	c.mu.Lock()
	if !ls.done && !ls.queued {
		ls.queued = true
		if ls.started {
			c.ready = append(c.ready, ls)
			c.kickLocked()
		}
	}
	c.mu.Unlock()
}

// kickLocked starts the writer unless it runs.
func (c *wsConn) kickLocked() {
	if !c.writing && !c.closing {
		c.writing = true
		go c.writeLoop()
	}
}

// queue appends a message to be written.
func (c *wsConn) queue(msg []byte) {
	c.mu.Lock()
	if !c.closing {
		c.out = appendFrame(c.out, ws.OpText, msg)
		c.kickLocked()
	}
	c.mu.Unlock()
}

// send queues a message of operation op, unless op ended, waiting while
// too much is queued (backpressure for the general path).
func (c *wsConn) send(id string, op *wsOp, msg []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.closing && c.ops[id] == op && len(c.out) > liveWSMaxQueued {
		c.cond.Wait()
	}
	if c.closing || c.ops[id] != op {
		return
	}
	c.out = appendFrame(c.out, ws.OpText, msg)
	c.kickLocked()
}

// writerState is a writer's buffers, pooled: an idle connection holds
// none.
type writerState struct {
	buf, scratch []byte
	subs         []*liveSub
	changes      []live.Change
	cs           cursorScratch
}

var writerStates = sync.Pool{New: func() any { return new(writerState) }}

// writeLoop writes everything pending in one syscall per round and exits
// when nothing is.
func (c *wsConn) writeLoop() {
	w := writerStates.Get().(*writerState)
	buf, subs, changes, scratch := w.buf[:0], w.subs[:0], w.changes[:0], w.scratch[:0]
	for {
		c.mu.Lock()
		if c.closing || (len(c.out) == 0 && len(c.ready) == 0) {
			c.writing = false
			c.mu.Unlock()
			break
		}
		buf = append(buf[:0], c.out...)
		c.out = nil
		subs = subs[:0]
		for _, ls := range c.ready {
			ls.queued = false
			if !ls.done {
				subs = append(subs, ls)
			}
		}
		clear(c.ready)
		c.ready = c.ready[:0]
		c.cond.Broadcast()
		c.mu.Unlock()

		for _, ls := range subs {
			buf, changes, scratch = c.appendLive(buf, ls, changes, scratch, &w.cs)
		}
		if len(buf) == 0 {
			continue
		}
		now := time.Now()
		c.lastWrite.Store(now.UnixNano())
		_ = c.nc.SetWriteDeadline(now.Add(liveWSWriteTimeout))
		if _, err := c.nc.Write(buf); err != nil {
			c.fail()
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
			break
		}
	}
	clear(subs)
	if cap(buf) > 64<<10 || cap(changes) > 1024 {
		return // a large backlog: let the collector have it
	}
	w.buf, w.subs, w.changes, w.scratch = buf[:0], subs[:0], changes[:0], scratch[:0]
	writerStates.Put(w)
}

// appendLive appends a next message for each change of ls not delivered
// yet, and complete when its subscriber closed.
func (c *wsConn) appendLive(buf []byte, ls *liveSub, changes []live.Change, scratch []byte, cs *cursorScratch) ([]byte, []live.Change, []byte) {
	changes = append(changes[:0], ls.backlog...)
	ls.backlog = nil
	changes, err := ls.sub.Drain(changes)
	for _, ch := range changes {
		if ls.pos.seen(ch.SKU, ch.Location, ch.Seq) {
			continue
		}
		scratch = appendNext(scratch[:0], ls.id, ls.plan, ch, ls.pos, cs)
		buf = appendFrame(buf, ws.OpText, scratch)
	}
	clear(changes)
	if errors.Is(err, live.ErrClosed) {
		c.mu.Lock()
		op := c.ops[ls.id]
		ended := op != nil && op.live == ls
		if ended {
			delete(c.ops, ls.id)
			ls.done = true
		}
		c.mu.Unlock()
		if ended {
			scratch = appendIDMessage(scratch[:0], ls.id, "complete")
			buf = appendFrame(buf, ws.OpText, scratch)
		}
	}
	return buf, changes, scratch
}

// fail closes the connection after a write error; the reader then ends.
func (c *wsConn) fail() {
	c.mu.Lock()
	if !c.closing {
		c.closing = true
		c.closeCode = closeInternal
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	_ = c.nc.Close()
}

// closeWith sends a close frame and gives the client liveWSCloseWait to
// answer it; the reader then closes the connection.
func (c *wsConn) closeWith(code int, reason string) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.closeCode = code
	c.cond.Broadcast()
	c.mu.Unlock()
	if len(reason) > 123 { // a close frame's payload is at most 125 bytes
		reason = strings.ToValidUTF8(reason[:123], "")
	}
	frame := appendFrame(nil, ws.OpClose, ws.NewCloseFrameBody(ws.StatusCode(code), reason))
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.nc.Write(frame)
	_ = c.nc.SetReadDeadline(time.Now().Add(liveWSCloseWait))
}

func (c *wsConn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// Read reads the connection, first what came with the upgrade request.
func (c *wsConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		if len(c.pre) == 0 {
			c.pre = nil
		}
		return n, nil
	}
	return c.nc.Read(p)
}

var (
	errPeerClosed  = errors.New("livews: the client closed the connection")
	errFrameTooBig = errors.New("livews: message too big")
)

type protocolError string

func (e protocolError) Error() string { return "livews: " + string(e) }

// readMessage returns the next data message, answering control frames.
func (c *wsConn) readMessage() ([]byte, error) {
	var msg []byte
	fragmented := false
	for {
		h, err := ws.ReadHeader(c)
		if err != nil {
			return nil, err
		}
		if !h.Masked || h.Rsv != 0 {
			return nil, protocolError("unmasked frame or reserved bits set")
		}
		if h.Length > int64(liveWSReadLimit-len(msg)) {
			return nil, errFrameTooBig
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(c, payload); err != nil {
			return nil, err
		}
		ws.Cipher(payload, h.Mask, 0)
		switch {
		case h.OpCode.IsControl():
			if !h.Fin || h.Length > 125 {
				return nil, protocolError("fragmented or long control frame")
			}
			switch h.OpCode {
			case ws.OpPing:
				c.mu.Lock()
				if !c.closing {
					c.out = appendFrame(c.out, ws.OpPong, payload)
					c.kickLocked()
				}
				c.mu.Unlock()
			case ws.OpClose:
				code, _ := ws.ParseCloseFrameData(payload)
				c.mu.Lock()
				answer := !c.closing
				if answer {
					c.closing = true
					c.closeCode = int(code)
					c.cond.Broadcast()
				}
				c.mu.Unlock()
				if answer {
					// Echo the client's code (none when it sent none).
					var body []byte
					if !code.Empty() {
						body = ws.NewCloseFrameBody(code, "")
					}
					_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
					_, _ = c.nc.Write(appendFrame(nil, ws.OpClose, body))
				}
				return nil, errPeerClosed
			}
			continue
		case h.OpCode == ws.OpContinuation:
			if !fragmented {
				return nil, protocolError("continuation without a message")
			}
			msg = append(msg, payload...)
		case h.OpCode == ws.OpText || h.OpCode == ws.OpBinary:
			if fragmented {
				return nil, protocolError("new message inside a fragmented one")
			}
			fragmented = true
			msg = payload
		default:
			return nil, protocolError("reserved opcode")
		}
		if h.Fin {
			return msg, nil
		}
	}
}

// readLoop reads and handles messages until the connection ends, then
// tears it down.
func (c *wsConn) readLoop(revoked bool) {
	defer c.teardown()
	if revoked {
		c.closeWith(closeForbidden, "key revoked")
	} else {
		_ = c.nc.SetReadDeadline(time.Now().Add(c.t.initTimeout))
	}
	for {
		msg, err := c.readMessage()
		if err != nil {
			if errors.Is(err, errPeerClosed) || c.isClosing() {
				return
			}
			var ne net.Error
			var pe protocolError
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				c.closeWith(closeInitTimeout, "Connection initialisation timeout")
			case errors.Is(err, errFrameTooBig):
				c.closeWith(closeTooBig, "message too big")
			case errors.As(err, &pe):
				c.closeWith(closeProtocol, string(pe))
			default:
				return
			}
			continue
		}
		if !c.isClosing() {
			c.handle(msg, graphql.Now())
		}
	}
}

// teardown ends every operation and closes the connection.
func (c *wsConn) teardown() {
	c.mu.Lock()
	c.closing = true
	ops := c.ops
	c.ops = nil
	for _, op := range ops {
		if op.live != nil {
			op.live.done = true
		}
	}
	code := c.closeCode
	if code == 0 {
		code = closeNormal
	}
	ka := c.keepAlive
	c.cond.Broadcast()
	c.mu.Unlock()
	_ = c.nc.Close()
	for _, op := range ops {
		if op.live != nil {
			op.live.sub.Close()
		} else if op.cancel != nil {
			op.cancel()
		}
	}
	if ka != nil {
		ka.Stop()
	}
	c.cancel()
	c.mu.Lock()
	stop := c.stopWatch
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
	c.t.untrack(c)
}

// watch closes the connection when key id is revoked, with 4403
// Forbidden: graphql-ws clients take it as final, where after a 1000 they
// would reconnect with the revoked key.
func (c *wsConn) watch(id string) {
	stop := c.t.keys.OnRevoke(id, func() { c.closeWith(closeForbidden, "key revoked") })
	c.mu.Lock()
	c.stopWatch = stop
	closing := c.closing
	c.mu.Unlock()
	if closing { // closed meanwhile: it may not have seen stopWatch
		stop()
	}
}

// onFreshStack runs f on a new goroutine and waits for it, so that the
// reader's stack does not grow to f's depth and stay grown while idle.
func (c *wsConn) onFreshStack(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				slog.Error("graphql: websocket panic", "panic", p)
				c.closeWith(closeInternal, "internal error")
			}
		}()
		f()
	}()
	<-done
}

// handle handles one client message.
func (c *wsConn) handle(raw []byte, start time.Time) {
	var m struct {
		ID      string          `json:"id"`
		Type    string          `json:"type"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || m.Type == "" {
		c.closeWith(closeBadRequest, "Invalid message received")
		return
	}
	switch m.Type {
	case "connection_init":
		c.mu.Lock()
		again := c.initSeen
		c.initSeen = true
		c.mu.Unlock()
		if again {
			c.closeWith(closeTooManyInits, "Too many initialisation requests")
			return
		}
		c.onFreshStack(func() { c.init(m.Payload) })
	case "subscribe":
		c.mu.Lock()
		acked := c.acked
		_, dup := c.ops[m.ID]
		c.mu.Unlock()
		switch {
		case !acked:
			c.closeWith(closeUnauthorized, "Unauthorized")
		case m.ID == "" || len(m.Payload) == 0:
			c.closeWith(closeBadRequest, "Invalid message received")
		case dup:
			c.closeWith(closeDuplicateID, "Subscriber for "+m.ID+" already exists")
		default:
			c.onFreshStack(func() { c.subscribe(m.ID, m.Payload, start) })
		}
	case "complete":
		c.stop(m.ID)
	case "ping":
		c.queue(appendPayloadMessage(nil, "pong", m.Payload))
	case "pong":
	default:
		c.closeWith(closeBadRequest, "Invalid message received")
	}
}

// init handles connection_init: initPrincipal authenticates (unless the
// upgrade request's Authorization header did), and a rejection closes with
// 4403 Forbidden. The connection_ack carries no payload, as wsInit's.
func (c *wsConn) init(payload json.RawMessage) {
	var p transport.InitPayload
	if len(payload) > 0 {
		if err := json.Unmarshal(payload, &p); err != nil {
			c.closeWith(closeBadRequest, "Invalid message received")
			return
		}
	}
	ctx := c.ctx
	watchID := ""
	if _, ok := auth.FromContext(ctx); !ok {
		pr, err := initPrincipal(ctx, c.t.keys, p)
		if err != nil {
			c.closeWith(closeForbidden, err.Error())
			return
		}
		ctx, watchID = auth.WithPrincipal(ctx, pr), pr.ID
	}
	msg := []byte(`{"type":"connection_ack"}`)
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.ctx = ctx
	c.acked = true
	c.out = appendFrame(c.out, ws.OpText, msg)
	c.kickLocked()
	if c.t.keepAlive > 0 {
		c.keepAlive = time.AfterFunc(c.t.keepAlive, c.ping)
	}
	c.mu.Unlock()
	_ = c.nc.SetReadDeadline(time.Time{})
	if watchID != "" {
		// A revoked key closes the connection, as gqlgen's does.
		c.watch(watchID)
	}
}

// ping sends a keep-alive ping, unless something was written in the last
// interval (a busy connection needs none).
func (c *wsConn) ping() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	if idle := time.Since(time.Unix(0, c.lastWrite.Load())); idle < c.t.keepAlive {
		c.keepAlive.Reset(c.t.keepAlive - idle)
		return
	}
	c.out = appendFrame(c.out, ws.OpText, []byte(`{"type":"ping"}`))
	c.kickLocked()
	c.keepAlive.Reset(c.t.keepAlive)
}

// stop handles the client's complete: the operation ends without a
// complete from the server.
func (c *wsConn) stop(id string) {
	c.mu.Lock()
	op := c.ops[id]
	delete(c.ops, id)
	if op != nil && op.live != nil {
		op.live.done = true
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	switch {
	case op == nil:
	case op.live != nil:
		op.live.sub.Close()
	case op.cancel != nil:
		op.cancel()
	}
}

// subscribe runs a subscribe message through gqlgen's operation context
// (parsing, APQ, validation, complexity and depth limits), then serves it
// on the fast path when it can, else through gqlgen's executor.
func (c *wsConn) subscribe(id string, payload json.RawMessage, start time.Time) {
	params := &graphql.RawParams{}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	// An error message ends its operation: the protocol sends no complete
	// after it (graphql-ws PROTOCOL.md, github.com/enisdenjo/graphql-ws,
	// "Error": "This message terminates the operation and no further
	// messages will be sent"). A result with errors is a next, and a
	// complete follows it.
	if err := dec.Decode(params); err != nil {
		c.queue(appendErrorMessage(nil, id, gqlerror.List{{Message: "invalid json"}}))
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	ctx := graphql.StartOperationTrace(c.ctx)
	rc, gerrs := c.exec.CreateOperationContext(ctx, params)
	if gerrs != nil {
		resp := c.exec.DispatchError(graphql.WithOperationContext(ctx, rc), gerrs)
		if errcode.GetErrorKind(gerrs) == errcode.KindProtocol {
			c.queue(appendErrorMessage(nil, id, resp.Errors))
			return
		}
		b, err := json.Marshal(&graphql.Response{Errors: gerrs})
		if err == nil {
			c.queue(appendPayloadMessage(appendIDPrefix(nil, id), "next", b))
		}
		c.queue(appendIDMessage(nil, id, "complete"))
		return
	}
	ctx = graphql.WithOperationContext(ctx, rc)
	if plan := c.t.plan(rc.Operation); plan != nil && c.startLive(ctx, id, rc, plan) {
		return
	}
	c.startGeneral(ctx, id, rc)
}

// startGeneral runs an operation through gqlgen's executor, as its
// websocket transport does.
func (c *wsConn) startGeneral(ctx context.Context, id string, rc *graphql.OperationContext) {
	ctx, cancel := context.WithCancel(ctx)
	op := &wsOp{cancel: cancel}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		cancel()
		return
	}
	c.ops[id] = op
	c.mu.Unlock()
	go func() {
		defer func() {
			failed := false
			if p := recover(); p != nil {
				failed = true
				err := rc.Recover(ctx, p)
				var ge *gqlerror.Error
				if !errors.As(err, &ge) {
					ge = &gqlerror.Error{}
					if err != nil {
						ge.Message = err.Error()
					}
				}
				c.send(id, op, appendErrorMessage(nil, id, gqlerror.List{ge}))
			}
			c.mu.Lock()
			ours := c.ops[id] == op
			if ours {
				delete(c.ops, id)
				if !c.closing && !failed { // an error message ended it
					c.out = appendFrame(c.out, ws.OpText, appendIDMessage(nil, id, "complete"))
					c.kickLocked()
				}
			}
			c.mu.Unlock()
			cancel()
		}()
		responses, ctx := c.exec.DispatchOperation(ctx, rc)
		for {
			resp := responses(ctx)
			if resp == nil {
				return
			}
			b, err := json.Marshal(resp)
			if err != nil {
				panic(err)
			}
			c.send(id, op, appendPayloadMessage(appendIDPrefix(nil, id), "next", b))
		}
	}()
}

// startLive serves an availabilityChanged subscription on the fast path
// with the semantics of subscriptionResolver.AvailabilityChanged and
// availabilityStream. It returns false, having done nothing, for anything
// the resolver would answer with an error (the general path then answers
// it exactly as before).
func (c *wsConn) startLive(ctx context.Context, id string, rc *graphql.OperationContext, plan *livePlan) bool {
	f := rc.Operation.SelectionSet[0].(*ast.Field)
	args := f.ArgumentMap(rc.Variables)
	skus, ok1 := argStrings(args["skus"])
	loc, ok2 := argString(args["location"])
	after, ok3 := argString(args["after"])
	if !ok1 || !ok2 || !ok3 || len(skus) > 1000 || (skus != nil && len(skus) == 0) {
		return false
	}
	// @hasRole(role: STOREFRONT), then perLocation.
	if p, ok := auth.FromContext(ctx); !ok || !p.Can(auth.Storefront) || perLocation(ctx) != nil {
		return false
	}
	pos := &position{Start: time.Now().UnixNano(), Seqs: map[string]uint64{}}
	resume := after != ""
	if resume {
		p, err := parsePosition(after)
		if err != nil {
			return false
		}
		pos = p
	}
	ls := &liveSub{c: c, id: id, plan: plan, pos: pos}
	ls.sub = c.t.res.Hub.SubscribeFunc(live.Filter{SKUs: skus, Location: loc}, ls.notify)
	var backlog []live.Change
	if resume {
		// Subscribed first, read second: a change committed meanwhile is
		// in both, and pos drops the second copy.
		var err error
		if backlog, err = (&subscriptionResolver{c.t.res}).missed(ctx, pos, skus, loc); err != nil {
			ls.sub.Close()
			return false
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		ls.done = true
		// Not under c.mu: the hub may be calling notify, which takes it.
		go ls.sub.Close()
		return true
	}
	c.ops[id] = &wsOp{live: ls}
	ls.backlog = backlog
	ls.started = true
	if len(backlog) > 0 {
		ls.queued = true
	}
	if ls.queued {
		c.ready = append(c.ready, ls)
		c.kickLocked()
	}
	return true
}

// argStrings reads a [String!] argument: null, a list, or a single string
// (input coercion).
func argStrings(v any) ([]string, bool) {
	switch v := v.(type) {
	case nil:
		return nil, true
	case string:
		return []string{v}, true
	case []string:
		return v, true
	case []any:
		out := make([]string, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

// argString reads a String argument; null is "".
func argString(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", true
	case string:
		return v, true
	}
	return "", false
}

// Fields of AvailabilityChange the fast path encodes.
const (
	lfSKU = iota
	lfLocation
	lfOnHand
	lfCommitted
	lfSafetyStock
	lfAvailable
	lfSeq
	lfCauseEventID
	lfCauseType
	lfOccurredAt
	lfRecordedAt
	lfCoalesced
	lfCursor
	lfTypename
)

var liveFields = map[string]uint8{
	"sku": lfSKU, "location": lfLocation, "onHand": lfOnHand, "committed": lfCommitted,
	"safetyStock": lfSafetyStock, "available": lfAvailable, "seq": lfSeq,
	"causeEventId": lfCauseEventID, "causeType": lfCauseType, "occurredAt": lfOccurredAt,
	"recordedAt": lfRecordedAt, "coalesced": lfCoalesced, "cursor": lfCursor, "__typename": lfTypename,
}

// livePlan is how the fast path encodes the selection of one document:
// shared by every subscription with the same selection.
type livePlan struct {
	root   []byte // {"data":{"alias":{
	fields []planField
	cursor bool
}

type planField struct {
	key  []byte // "alias":
	kind uint8
}

// plan returns the fast-path plan of op, or nil when op is not a
// subscription whose only root field is availabilityChanged selecting
// leaf fields of AvailabilityChange (aliases and __typename allowed; no
// fragments, no directives).
func (t *liveWS) plan(op *ast.OperationDefinition) *livePlan {
	if op == nil || op.Operation != ast.Subscription || len(op.Directives) > 0 || len(op.SelectionSet) != 1 {
		return nil
	}
	f, ok := op.SelectionSet[0].(*ast.Field)
	if !ok || f.Name != "availabilityChanged" || len(f.Directives) > 0 || len(f.SelectionSet) == 0 {
		return nil
	}
	var sig strings.Builder
	sig.WriteString(alias(f))
	for _, s := range f.SelectionSet {
		g, ok := s.(*ast.Field)
		if !ok || len(g.Directives) > 0 || len(g.SelectionSet) > 0 || len(g.Arguments) > 0 {
			return nil
		}
		if _, ok := liveFields[g.Name]; !ok {
			return nil
		}
		sig.WriteString(" " + alias(g) + ":" + g.Name)
	}
	key := sig.String()
	t.mu.Lock()
	p := t.plans[key]
	t.mu.Unlock()
	if p != nil {
		return p
	}
	p = &livePlan{root: []byte(`{"data":{"` + alias(f) + `":{`)}
	seen := map[string]bool{}
	for _, s := range f.SelectionSet {
		g := s.(*ast.Field)
		a := alias(g)
		if seen[a] { // validation made same-named fields the same field
			continue
		}
		seen[a] = true
		k := liveFields[g.Name]
		p.cursor = p.cursor || k == lfCursor
		p.fields = append(p.fields, planField{key: []byte(`"` + a + `":`), kind: k})
	}
	t.mu.Lock()
	if len(t.plans) < liveWSMaxPlans {
		t.plans[key] = p
	}
	t.mu.Unlock()
	return p
}

func alias(f *ast.Field) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.Name
}

// appendNext appends the next message of change ch: the bytes gqlgen's
// transport writes for it (its Marshalers, then encoding/json's HTML
// escaping when it wraps the payload in the message).
//
// The cursor, when selected, is pos's (encoded into cs's buffers).
func appendNext(b []byte, id string, p *livePlan, ch live.Change, pos *position, cs *cursorScratch) []byte {
	b = appendIDPrefix(b, id)
	b = append(b, `"type":"next","payload":`...)
	b = append(b, p.root...)
	for i, f := range p.fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, f.key...)
		switch f.kind {
		case lfSKU:
			b = appendString(b, ch.SKU)
		case lfLocation:
			b = appendString(b, ch.Location)
		case lfOnHand:
			b = strconv.AppendInt(b, ch.OnHand, 10)
		case lfCommitted:
			b = strconv.AppendInt(b, ch.Committed, 10)
		case lfSafetyStock:
			b = strconv.AppendInt(b, ch.SafetyStock, 10)
		case lfAvailable:
			b = strconv.AppendInt(b, ch.Available, 10)
		case lfSeq:
			b = strconv.AppendInt(b, int64(ch.Seq), 10)
		case lfCauseEventID:
			b = appendString(b, ch.CauseEventID)
		case lfCauseType:
			b = appendString(b, ch.CauseType)
		case lfOccurredAt:
			b = appendTime(b, ch.OccurredAt)
		case lfRecordedAt:
			b = appendTime(b, ch.RecordedAt)
		case lfCoalesced:
			b = strconv.AppendBool(b, ch.Coalesced)
		case lfCursor:
			b = appendCursor(b, pos, cs)
		case lfTypename:
			b = append(b, `"AvailabilityChange"`...)
		}
	}
	return append(b, "}}}}"...)
}

// appendTime appends t as graphql.MarshalTime does: RFC 3339 with
// nanoseconds, null when zero.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// cursorScratch holds appendCursor's buffer between calls.
type cursorScratch struct {
	json []byte
}

// appendCursor appends pos's cursor as a JSON string: base64url of the
// JSON encoding/json writes for pos (which parsePosition reads back), made
// without reflection or intermediate strings.
func appendCursor(b []byte, pos *position, cs *cursorScratch) []byte {
	js := append(cs.json[:0], `{"t":`...)
	js = strconv.AppendInt(js, pos.Start, 10)
	js = append(js, `,"s":`...)
	if pos.Seqs == nil {
		js = append(js, "null"...)
	} else {
		js = append(js, '{')
		for i, k := range pos.sortedKeys() {
			if i > 0 {
				js = append(js, ',')
			}
			js = appendJSONString(js, k)
			js = append(js, ':')
			js = strconv.AppendUint(js, pos.Seqs[k], 10)
		}
		js = append(js, '}')
	}
	js = append(js, '}')
	cs.json = js
	b = append(b, '"')
	b = base64.RawURLEncoding.AppendEncode(b, js)
	return append(b, '"')
}

const hexLower = "0123456789abcdef"

// appendJSONString appends s as encoding/json.Marshal encodes a string:
// HTML-safe, invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexLower[c>>4], hexLower[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexLower[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexUpper = "0123456789ABCDEF"

// appendString appends s quoted as graphql.MarshalString does, then with
// <, >, &, U+2028 and U+2029 escaped as encoding/json does when it
// compacts the payload into the message.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var esc string
		switch {
		case c == '"':
			esc = `\"`
		case c == '\\':
			esc = `\\`
		case c == '\n':
			esc = `\n`
		case c == '\r':
			esc = `\r`
		case c == '\t':
			esc = `\t`
		case c < 0x20:
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '0', '0', hexUpper[c>>4], hexUpper[c&0xf])
			start = i + 1
			continue
		case c == '<' || c == '>' || c == '&':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '0', '0', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			start = i + 1
			continue
		case c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && s[i+2]&^1 == 0xA8:
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, "0123456789abcdef"[s[i+2]&0xF])
			i += 2
			start = i + 1
			continue
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendIDPrefix appends `{"id":"<id>",`.
func appendIDPrefix(b []byte, id string) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, id)
	return append(b, ',')
}

// appendIDMessage appends {"id":..,"type":..}.
func appendIDMessage(b []byte, id, typ string) []byte {
	b = appendIDPrefix(b, id)
	return append(append(append(b, `"type":"`...), typ...), `"}`...)
}

// appendPayloadMessage appends `"type":typ,"payload":payload}` to b (a
// message opened by appendIDPrefix) or, for b empty, a message without id.
func appendPayloadMessage(b []byte, typ string, payload []byte) []byte {
	if len(b) == 0 {
		b = append(b, '{')
	}
	b = append(append(append(b, `"type":"`...), typ...), '"')
	if len(payload) > 0 {
		b = append(append(b, `,"payload":`...), payload...)
	}
	return append(b, '}')
}

// appendErrorMessage appends an error message with errs as its payload.
func appendErrorMessage(b []byte, id string, errs gqlerror.List) []byte {
	payload, err := json.Marshal(errs)
	if err != nil {
		payload = []byte(`[{"message":"internal error"}]`)
	}
	return appendPayloadMessage(appendIDPrefix(b, id), "error", payload)
}

// appendFrame appends an unmasked, unfragmented frame (a server's).
func appendFrame(b []byte, op ws.OpCode, payload []byte) []byte {
	n := len(payload)
	b = append(b, 0x80|byte(op))
	switch {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xFFFF:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127, byte(uint64(n)>>56), byte(uint64(n)>>48), byte(uint64(n)>>40), byte(uint64(n)>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, payload...)
}
