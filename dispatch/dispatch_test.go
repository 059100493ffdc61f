package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/live"
	"github.com/stockgate/stockgate/ratelimit"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

// memWriter is a scripted Writer: it keeps what it was given, and answers
// each call with the next entry of its script (then OK).
type memWriter struct {
	key   string
	skus  []string
	batch int

	mu     sync.Mutex
	script []answer
	shown  map[string]int64
	calls  []time.Time
	sizes  []int
}

// answer is one scripted reply: a call error, or per-SKU codes.
type answer struct {
	hang  bool // until the call's context ends
	code  errcode.Code
	after time.Duration
	items map[string]errcode.Code
}

type codedError struct {
	code  errcode.Code
	after time.Duration
}

func (e codedError) Error() string { return "scripted " + e.code.String() }

func newMemWriter(key string, n int) *memWriter {
	w := &memWriter{key: key, batch: 100, shown: map[string]int64{}}
	for i := range n {
		w.skus = append(w.skus, fmt.Sprintf("S%03d", i))
	}
	return w
}

func (w *memWriter) Key() string                       { return w.key }
func (w *memWriter) MaxBatch() int                     { return w.batch }
func (w *memWriter) SKUs() []string                    { return w.skus }
func (w *memWriter) Cost(int) float64                  { return 1 }
func (w *memWriter) InitialBudget() (float64, float64) { return 1000, 1000 }
func (w *memWriter) RetryAfter(err error) time.Duration {
	var c codedError
	errors.As(err, &c)
	return c.after
}
func (w *memWriter) Syncs(sku string) bool {
	for _, s := range w.skus {
		if s == sku {
			return true
		}
	}
	return false
}

func (w *memWriter) ErrorCode(err error) errcode.Code {
	var c codedError
	switch {
	case errors.As(err, &c):
		return c.code
	case errors.Is(err, context.DeadlineExceeded):
		return errcode.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return errcode.Canceled
	}
	return errcode.Unknown
}

func (w *memWriter) Write(ctx context.Context, p dispatch.Pacer, ups []dispatch.Update) ([]dispatch.Outcome, error) {
	if err := p.Wait(ctx, 1); err != nil {
		return nil, err
	}
	p.Observe(ratelimit.Observation{ReservedCost: 1, ActualCost: 1})
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, time.Now())
	w.sizes = append(w.sizes, len(ups))
	var a answer
	if len(w.script) > 0 {
		a, w.script = w.script[0], w.script[1:]
	}
	if a.hang {
		w.mu.Unlock()
		<-ctx.Done()
		w.mu.Lock()
		return nil, ctx.Err()
	}
	if a.code != errcode.OK {
		return nil, codedError{a.code, a.after}
	}
	outs := make([]dispatch.Outcome, len(ups))
	for i, u := range ups {
		if c, ok := a.items[u.SKU]; ok {
			outs[i] = dispatch.Outcome{Code: c, Err: errors.New("scripted")}
			continue
		}
		w.shown[u.SKU] = u.Quantity
	}
	return outs, nil
}

func (w *memWriter) then(as ...answer) {
	w.mu.Lock()
	w.script = append(w.script, as...)
	w.mu.Unlock()
}

func (w *memWriter) show(sku string) (int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	q, ok := w.shown[sku]
	return q, ok
}

func (w *memWriter) callTimes() []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Time(nil), w.calls...)
}

var rule = channel.Rule{Channel: "mem", Locations: []string{"berlin"}}

// set gives sku n available units at berlin.
func set(t *testing.T, st *store.Store, sku string, n int64) event.Availability {
	t.Helper()
	return setAt(t, st, sku, "berlin", n)
}

// setAt commits a new available quantity of sku at loc.
func setAt(t *testing.T, st *store.Store, sku, loc string, n int64) event.Availability {
	t.Helper()
	ctx := context.Background()
	k := store.Key{SKU: sku, Location: loc}
	p, err := st.Projection(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	next := p
	next.Key, next.Available, next.OnHand, next.Seq = k, n, n, p.Seq+1
	id := fmt.Sprintf("%s@%s-%d", sku, loc, next.Seq)
	e := store.Entry{Key: k, Seq: next.Seq, EventID: id, Result: next.Quantities}
	if err := st.Commit(ctx, store.Commit{EventID: id, ExpectedSeq: p.Seq, Entry: &e, Projection: &next}); err != nil {
		t.Fatal(err)
	}
	return event.Availability{SKU: sku, Location: loc, Available: n, Seq: next.Seq}
}

// run starts d in the bubble and stops it at cleanup.
func run(t *testing.T, d *dispatch.Dispatcher, src dispatch.Source) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, src) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func newStore(t *testing.T) *store.Store {
	st := store.New(memstore.New(nil))
	t.Cleanup(func() { st.Close() })
	return st
}

func TestNewReportsEveryProblem(t *testing.T) {
	t.Parallel()
	w := newMemWriter("a", 1)
	_, err := dispatch.New(nil, []dispatch.Account{
		{Writer: w, Rule: rule},
		{Writer: w, Rule: channel.Rule{}},
		{},
		{Writer: noBudget{w}, Rule: rule},
	}, nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"store: required",
		`accounts[1].writer: key "a" is used twice`,
		"accounts[1].rule: channel: required",
		"accounts[2].writer: required",
		"accounts[3].limiter: required (the writer has no InitialBudget)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// noBudget hides memWriter's InitialBudget.
type noBudget struct{ dispatch.Writer }

func (n noBudget) Key() string { return "nb" }

func TestNotifyRoutesByLocationAndSKU(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		w1, w2 := newMemWriter("one", 3), newMemWriter("two", 3)
		d, err := dispatch.New(st, []dispatch.Account{
			{Writer: w1, Rule: rule},
			{Writer: w2, Rule: channel.Rule{Channel: "two", Locations: []string{"hamburg"}}},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		d.Notify(event.Availability{SKU: "S001", Location: "berlin"}, event.Availability{SKU: "nope", Location: "berlin"})
		s := d.Status()
		if s[0].QueueDepth != 1 || s[1].QueueDepth != 0 {
			t.Fatalf("depths %d, %d", s[0].QueueDepth, s[1].QueueDepth)
		}
	})
}

func TestRetryableFailureBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		w := newMemWriter("m", 1)
		set(t, st, "S000", 5)
		w.then(answer{code: errcode.Unavailable}, answer{code: errcode.Unavailable})
		d, err := dispatch.New(st, []dispatch.Account{{Writer: w, Rule: rule}}, &dispatch.Options{
			Backoff: dispatch.Backoff{Rand: func() float64 { return 0 }},
		})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		run(t, d, nil)
		time.Sleep(5 * time.Second)
		calls := w.callTimes()
		if len(calls) != 3 {
			t.Fatalf("%d calls", len(calls))
		}
		if d1, d2 := calls[1].Sub(calls[0]), calls[2].Sub(calls[1]); d1 != 125*time.Millisecond || d2 != 250*time.Millisecond {
			t.Errorf("retries after %v and %v, want 125ms and 250ms", d1, d2)
		}
		if q, _ := w.show("S000"); q != 5 {
			t.Errorf("shown %d", q)
		}
		st0 := d.Status()[0]
		if st0.LastErrorCode != errcode.Unavailable || !st0.LastErrorAt.After(start) || st0.Written != 1 {
			t.Errorf("status %+v", st0)
		}
	})
}

func TestThrottleWaitsRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		w := newMemWriter("m", 1)
		set(t, st, "S000", 5)
		w.then(answer{code: errcode.ResourceExhausted, after: 3 * time.Second})
		d, _ := dispatch.New(st, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
		run(t, d, nil)
		time.Sleep(10 * time.Second)
		calls := w.callTimes()
		if len(calls) != 2 || calls[1].Sub(calls[0]) != 3*time.Second {
			t.Fatalf("calls %v", calls)
		}
		if s := d.Status()[0]; s.BreakerState != "closed" {
			t.Errorf("breaker %s after a throttle", s.BreakerState)
		}
	})
}

func TestCallLevelValidationDeadLettersTheBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		w := newMemWriter("m", 3)
		for _, s := range w.skus {
			set(t, st, s, 1)
		}
		w.then(answer{code: errcode.InvalidArgument})
		d, _ := dispatch.New(st, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
		run(t, d, nil)
		time.Sleep(time.Second)
		dls, err := st.DeadLetters(context.Background(), "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(dls) != 3 {
			t.Fatalf("%d dead letters", len(dls))
		}
		_ = d.Reconcile("")
		time.Sleep(time.Second)
		if n := len(w.callTimes()); n != 1 {
			t.Errorf("%d calls: dead-lettered SKUs were sent again unchanged", n)
		}
		d.Notify(set(t, st, "S001", 2))
		time.Sleep(time.Second)
		if q, ok := w.show("S001"); !ok || q != 2 {
			t.Errorf("S001 not written after it moved: %d %v", q, ok)
		}
	})
}

func TestPoisonItemIsGivenUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		w := newMemWriter("m", 2)
		set(t, st, "S000", 1)
		set(t, st, "S001", 1)
		bad := map[string]errcode.Code{"S000": errcode.Unknown, "S001": errcode.Aborted}
		for range 3 {
			w.then(answer{items: bad})
		}
		d, _ := dispatch.New(st, []dispatch.Account{{Writer: w, Rule: rule}}, &dispatch.Options{MaxItemAttempts: 3})
		run(t, d, nil)
		time.Sleep(time.Minute)
		dls, _ := st.DeadLetters(context.Background(), "", 10)
		if len(dls) != 1 || !strings.Contains(string(dls[0].Body), `"sku":"S000"`) {
			t.Fatalf("dead letters %+v", dls)
		}
		if n := len(w.callTimes()); n != 4 { // 3 attempts, then S001 alone
			t.Errorf("%d calls", n)
		}
		if s := d.Status()[0]; s.QueueDepth != 0 || s.DeadLettered != 1 {
			t.Errorf("status %+v", s)
		}
	})
}

func TestPauseAndResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		w := newMemWriter("m", 1)
		set(t, st, "S000", 4)
		w.then(answer{code: errcode.Unauthenticated})
		d, _ := dispatch.New(st, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
		run(t, d, nil)
		time.Sleep(time.Minute)
		if s := d.Status()[0]; !s.Paused || s.QueueDepth != 1 || len(w.callTimes()) != 1 {
			t.Fatalf("status %+v, %d calls", s, len(w.callTimes()))
		}
		if err := d.Resume("m"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if q, _ := w.show("S000"); q != 4 || d.Status()[0].Paused {
			t.Errorf("after Resume: shown %d, status %+v", q, d.Status()[0])
		}
		if err := d.Resume("nope"); !errors.Is(err, dispatch.ErrUnknownAccount) {
			t.Errorf("Resume(nope) = %v", err)
		}
	})
}

func TestPeriodicReconcile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		w := newMemWriter("m", 5)
		for _, s := range w.skus {
			set(t, st, s, 1)
		}
		d, _ := dispatch.New(st, []dispatch.Account{{Writer: w, Rule: rule}}, &dispatch.Options{ReconcileInterval: time.Minute})
		run(t, d, nil)
		time.Sleep(time.Second)
		// A change nobody was told about (a lost notification).
		set(t, st, "S002", 9)
		time.Sleep(time.Minute)
		if q, _ := w.show("S002"); q != 9 {
			t.Errorf("S002 shows %d a reconcile interval later", q)
		}
	})
}

func TestRunTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		d, _ := dispatch.New(st, []dispatch.Account{{Writer: newMemWriter("m", 1), Rule: rule}}, nil)
		run(t, d, nil)
		time.Sleep(time.Millisecond)
		if err := d.Run(context.Background(), nil); !errors.Is(err, dispatch.ErrRunning) {
			t.Fatalf("second Run = %v", err)
		}
	})
}

func TestSourceErrorEndsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		d, _ := dispatch.New(st, []dispatch.Account{{Writer: newMemWriter("m", 1), Rule: rule}}, nil)
		err := d.Run(context.Background(), failing{})
		if err == nil || !strings.Contains(err.Error(), "bus gone") {
			t.Fatalf("Run = %v", err)
		}
	})
}

type failing struct{}

func (failing) Next(context.Context) ([]event.Availability, error) {
	return nil, errors.New("bus gone")
}

func TestSources(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ch := make(chan event.Availability, 3)
		ch <- event.Availability{SKU: "a"}
		ch <- event.Availability{SKU: "b"}
		got, err := dispatch.ChanSource(ch).Next(context.Background())
		if err != nil || len(got) != 2 {
			t.Fatalf("ChanSource: %v %v", got, err)
		}
		close(ch)
		if _, err := dispatch.ChanSource(ch).Next(context.Background()); err != io.EOF {
			t.Fatalf("closed ChanSource: %v", err)
		}

		hub := live.NewHub()
		sub := hub.Subscribe(live.Filter{})
		src := dispatch.LiveSource(sub)
		hub.Publish(event.Availability{SKU: "a", Location: "x", Seq: 1})
		hub.Publish(event.Availability{SKU: "a", Location: "x", Seq: 2})
		got, err = src.Next(context.Background())
		if err != nil || len(got) != 1 || got[0].Seq != 2 {
			t.Fatalf("LiveSource: %v %v", got, err)
		}
		hub.Close()
		if _, err := src.Next(context.Background()); err != io.EOF {
			t.Fatalf("closed LiveSource: %v", err)
		}
	})
}

func TestRunFeedsFromSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		w := newMemWriter("m", 2)
		d, _ := dispatch.New(st, []dispatch.Account{{Writer: w, Rule: rule}}, nil)
		hub := live.NewHub()
		sub := hub.Subscribe(live.Filter{})
		run(t, d, dispatch.LiveSource(sub))
		time.Sleep(time.Second)
		hub.Publish(set(t, st, "S001", 7))
		time.Sleep(time.Second)
		if q, _ := w.show("S001"); q != 7 {
			t.Errorf("shown %d", q)
		}
		hub.Close() // io.EOF: Run goes on
		time.Sleep(time.Second)
		d.Notify(set(t, st, "S001", 8))
		time.Sleep(time.Second)
		if q, _ := w.show("S001"); q != 8 {
			t.Errorf("after the source ended: shown %d", q)
		}
	})
}

func TestWriteTimeoutIsAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		w := newMemWriter("m", 1)
		set(t, st, "S000", 5)
		w.then(answer{hang: true}, answer{hang: true})
		d, _ := dispatch.New(st, []dispatch.Account{{Writer: w, Rule: rule}}, &dispatch.Options{
			WriteTimeout: time.Second, Breaker: dispatch.BreakerSettings{Failures: 2, Timeout: 10 * time.Second},
		})
		run(t, d, nil)
		time.Sleep(3 * time.Second)
		s := d.Status()[0]
		if s.BreakerState != "open" || s.LastErrorCode != errcode.Unavailable {
			t.Fatalf("after two timeouts: %+v", s)
		}
		time.Sleep(10 * time.Second)
		if q, _ := w.show("S000"); q != 5 || d.Status()[0].BreakerState != "closed" {
			t.Errorf("after the breaker timeout: shown %d, status %+v", q, d.Status()[0])
		}
	})
}
