package dispatch_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/ratelimit"
)

// writeLog records every update the writers of one account applied, from
// whichever replica, in order.
type writeLog struct {
	mu sync.Mutex
	ws []applied
}

type applied struct {
	replica  string
	sku      string
	version  uint64
	quantity int64
	at       time.Time
}

func (l *writeLog) add(a applied) {
	l.mu.Lock()
	l.ws = append(l.ws, a)
	l.mu.Unlock()
}

// since returns the writes from index i on.
func (l *writeLog) since(i int) []applied {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ws[min(i, len(l.ws)):])
}

func (l *writeLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ws)
}

// last returns the last quantity written of every SKU.
func (l *writeLog) last() map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := map[string]int64{}
	for _, w := range l.ws {
		m[w.sku] = w.quantity
	}
	return m
}

// twice lists the (SKU, version) pairs written more than once.
func (l *writeLog) twice() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := map[string]int{}
	var out []string
	for _, w := range l.ws {
		k := fmt.Sprintf("%s@%d", w.sku, w.version)
		if n[k]++; n[k] == 2 {
			out = append(out, k+" by "+w.replica)
		}
	}
	return out
}

// recWriter is one replica's Writer of a shared account: every update it
// applies goes to the shared log. A Write takes delay (and ends early,
// unapplied, when its context does); while down is set it fails as an
// outage would.
type recWriter struct {
	key     string
	replica string
	skus    []string
	batch   int
	delay   time.Duration
	log     *writeLog
	down    *atomic.Bool
	gate    chan struct{} // when set, each Write waits for a value first
	calls   atomic.Int64
}

func newRecWriter(key, replica string, n int, log *writeLog) *recWriter {
	w := &recWriter{key: key, replica: replica, batch: 100, log: log, down: new(atomic.Bool)}
	for i := range n {
		w.skus = append(w.skus, fmt.Sprintf("S%03d", i))
	}
	return w
}

func (w *recWriter) Key() string                       { return w.key }
func (w *recWriter) MaxBatch() int                     { return w.batch }
func (w *recWriter) SKUs() []string                    { return w.skus }
func (w *recWriter) Syncs(sku string) bool             { return slices.Contains(w.skus, sku) }
func (w *recWriter) Cost(int) float64                  { return 1 }
func (w *recWriter) InitialBudget() (float64, float64) { return 1000, 1000 }
func (w *recWriter) RetryAfter(error) time.Duration    { return 0 }

func (w *recWriter) ErrorCode(err error) errcode.Code {
	if c, ok := err.(codedError); ok {
		return c.code
	}
	return errcode.Unknown
}

func (w *recWriter) Write(ctx context.Context, p dispatch.Pacer, ups []dispatch.Update) ([]dispatch.Outcome, error) {
	w.calls.Add(1)
	if err := p.Wait(ctx, 1); err != nil {
		return nil, err
	}
	p.Observe(ratelimit.Observation{ReservedCost: 1, ActualCost: 1})
	if w.gate != nil {
		select {
		case <-w.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if w.delay > 0 {
		select {
		case <-time.After(w.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if w.down.Load() {
		return nil, codedError{code: errcode.Unavailable}
	}
	for _, u := range ups {
		w.log.add(applied{replica: w.replica, sku: u.SKU, version: u.Version, quantity: u.Quantity, at: time.Now()})
	}
	return make([]dispatch.Outcome, len(ups)), nil
}
