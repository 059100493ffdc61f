// Package dispatchtest is test support for dispatch.Writer drivers: a
// ledger to move stock in and a Dispatcher running over it, so that every
// driver's tests (dispatch/shopifywriter, squarewriter, amazonwriter)
// drive the real Dispatcher the same way.
package dispatchtest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

// Ledger is an in-memory store with helpers to move stock.
type Ledger struct {
	*store.Store
	t   testing.TB
	mu  sync.Mutex
	seq int
}

// NewLedger returns an empty Ledger, closed when t ends.
func NewLedger(t testing.TB) *Ledger {
	st := store.New(memstore.New(nil))
	t.Cleanup(func() { st.Close() })
	return &Ledger{Store: st, t: t}
}

// Move adds delta to the available units of sku at loc and returns the
// availability change the ledger would publish.
func (l *Ledger) Move(sku, loc string, delta int64) event.Availability {
	l.t.Helper()
	ctx := context.Background()
	for {
		p, err := l.Projection(ctx, store.Key{SKU: sku, Location: loc})
		if err != nil {
			l.t.Fatal(err)
		}
		l.mu.Lock()
		l.seq++
		id := fmt.Sprintf("ev-%d", l.seq)
		l.mu.Unlock()
		next := p
		next.Key = store.Key{SKU: sku, Location: loc}
		next.OnHand += delta
		next.Available += delta
		next.Seq = p.Seq + 1
		next.UpdatedAt = time.Now()
		e := store.Entry{Key: next.Key, Seq: next.Seq, EventID: id, Outcome: store.OutcomeApplied,
			Delta: store.Quantities{OnHand: delta, Available: delta}, Result: next.Quantities, RecordedAt: next.UpdatedAt}
		err = l.Commit(ctx, store.Commit{EventID: id, ExpectedSeq: p.Seq, Entry: &e, Projection: &next})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			l.t.Fatal(err)
		}
		return event.Availability{SKU: sku, Location: loc, OnHand: next.OnHand, Available: next.Available, Seq: next.Seq,
			RecordedAt: next.UpdatedAt}
	}
}

// Want is the channel quantity of sku by rule and the ledger now.
func (l *Ledger) Want(rule channel.Rule, sku string) int64 {
	l.t.Helper()
	var ps []store.Projection
	for _, loc := range rule.Locations {
		p, err := l.Projection(context.Background(), store.Key{SKU: sku, Location: loc})
		if err != nil {
			l.t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return rule.Compute(ps).Value
}

// Stock gives each of n SKUs, named by name, some units at berlin and
// hamburg.
func (l *Ledger) Stock(n int, name func(int) string) {
	for i := range n {
		l.Move(name(i), "berlin", 40+int64(i%7))
		l.Move(name(i), "hamburg", 10+int64(i%3))
	}
}

// FlashSale sends changes changes over skus SKUs (named by name) to src at
// perSecond changes per second, on the clock (a synctest bubble's): mostly
// sales of one unit at berlin or hamburg, with a restock of five now and
// then. It returns when all were sent.
func (l *Ledger) FlashSale(src chan<- event.Availability, rnd *rand.Rand, name func(int) string, skus, changes, perSecond int) {
	const tick = 5 * time.Millisecond
	perTick := max(1, perSecond*int(tick)/int(time.Second))
	for i := 0; i < changes; i++ {
		sku := name(rnd.IntN(skus))
		loc := "berlin"
		if rnd.IntN(3) == 0 {
			loc = "hamburg"
		}
		delta := int64(-1)
		if rnd.IntN(20) == 0 {
			delta = 5
		}
		src <- l.Move(sku, loc, delta)
		if (i+1)%perTick == 0 {
			time.Sleep(tick)
		}
	}
}

// Running is a Dispatcher running in the background over a Ledger, fed
// through Src.
type Running struct {
	*dispatch.Dispatcher
	Src    chan event.Availability
	cancel context.CancelFunc
	done   chan error
}

// Start runs a Dispatcher of accounts over l until Stop or the end of t.
func Start(t testing.TB, l *Ledger, accounts []dispatch.Account, opts *dispatch.Options) *Running {
	t.Helper()
	d, err := dispatch.New(l.Store, accounts, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Queue every SKU before Run, so that Idle cannot see an empty queue
	// before Run begins.
	_ = d.Reconcile("")
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{Dispatcher: d, Src: make(chan event.Availability, 4096), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx, dispatch.ChanSource(r.Src)) }()
	t.Cleanup(r.Stop)
	return r
}

// Stop cancels Run and waits for it (as a kill would, minus the writes in
// flight, which a kill -9 may or may not have let through).
func (r *Running) Stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
	r.cancel = nil
}

// Idle waits until every account's queue is empty, up to limit. It looks
// every 50ms: Status walks the whole queue.
func (r *Running) Idle(t testing.TB, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		busy := false
		for _, s := range r.Status() {
			if s.QueueDepth > 0 {
				busy = true
			}
		}
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not idle after %v: %+v", limit, r.Status())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Serve serves h over a PipeNet at host (such as "shop.test:80"), inside
// the current synctest bubble or on real time outside one, and returns a
// client of it. When t ends it closes the server and waits for the
// requests being answered; one that arrives meanwhile is answered 503.
func Serve(t testing.TB, host string, h http.Handler) *http.Client {
	t.Helper()
	g := &gated{h: h}
	g.idle = sync.NewCond(&g.mu)
	pn := NewPipeNet(host)
	srv := &http.Server{Handler: g, ReadHeaderTimeout: time.Minute}
	go srv.Serve(pn) //nolint:errcheck // ErrServerClosed
	tr := &http.Transport{DialContext: pn.Dial, MaxIdleConnsPerHost: 4}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
		pn.Close()
		g.mu.Lock()
		g.closing = true
		for g.inflight > 0 {
			g.idle.Wait()
		}
		g.mu.Unlock()
	})
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// ReadBody reads r's body for a test's wrapper around a fake and puts
// back a copy for the fake to read: the same bytes, ending with the same
// error, so that a body the client cut short mid-send reaches the fake
// cut short rather than as a complete, truncated request.
func ReadBody(r *http.Request) []byte {
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), iotest.ErrReader(cmp.Or(err, io.EOF))))
	return body
}

// gated counts the requests h is answering and refuses new ones once
// closing.
type gated struct {
	h        http.Handler
	mu       sync.Mutex
	idle     *sync.Cond // signalled when a request ends
	inflight int
	closing  bool
}

func (g *gated) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	if g.closing {
		g.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	g.inflight++
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inflight--
		g.idle.Broadcast()
		g.mu.Unlock()
	}()
	g.h.ServeHTTP(w, r)
}
