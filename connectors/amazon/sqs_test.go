package amazon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/gcerrors"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/pubsub"
	"github.com/stockgate/stockgate/pubsub/mempubsub"
)

// flakyFetcher fails its first call, then asks next.
type flakyFetcher struct {
	next  OrderItemsFetcher
	calls atomic.Int32
}

func (f *flakyFetcher) OrderItems(ctx context.Context, id string) ([]OrderItem, error) {
	if f.calls.Add(1) == 1 {
		return nil, errors.New("connection reset by peer")
	}
	return f.next.OrderItems(ctx, id)
}

// recorder is a Handler that stores results by dedup key, failing the
// first attempt for the keys in failOnce.
type recorder struct {
	mu       sync.Mutex
	attempts map[string]int
	results  map[string]*connectors.Result
	failOnce map[string]bool
	done     chan struct{} // closed when want results are stored
	want     int
}

func newRecorder(want int, failOnce ...string) *recorder {
	r := &recorder{attempts: map[string]int{}, results: map[string]*connectors.Result{}, failOnce: map[string]bool{}, done: make(chan struct{}), want: want}
	for _, k := range failOnce {
		r.failOnce[k] = true
	}
	return r
}

func (r *recorder) handle(ctx context.Context, res *connectors.Result) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts[res.DedupKey]++
	if r.failOnce[res.DedupKey] && r.attempts[res.DedupKey] == 1 {
		return errors.New("outbox unavailable")
	}
	if _, dup := r.results[res.DedupKey]; dup {
		return fmt.Errorf("stored %s twice", res.DedupKey)
	}
	r.results[res.DedupKey] = res
	if len(r.results) == r.want {
		close(r.done)
	}
	return nil
}

// sqsBodies are the message bodies of the SQS tests, in every form a queue
// can hold (ref §2.2: the notification; §2.3: an EventBridge event; §2.4:
// an SNS message), and the dedup key each normalizes to.
func sqsBodies(t testing.TB, host string) (bodies [][]byte, keys []string) {
	add := func(b []byte, key string) {
		bodies = append(bodies, b)
		keys = append(keys, key)
	}
	add(readTestdata(t, "order_change_unshipped.json"), "amazon:2026-11-19T08:15:31.004000000Z:9f3c6a1e-2d4b-4e8a-b7c1-5a6d7e8f9012")
	add(ebEnvelope(readTestdata(t, "listings_item_mfn_quantity_change.json")), "amazon:2026-11-19T09:41:08.115000000Z:e7a9c1e3-5b7d-4f9b-9d3f-5b7d9f1b3d5f")
	add(snsNotification(host, "2", readTestdata(t, "fba_inventory_availability_changes.json")).body(), "amazon:2026-11-19T06:00:13.001000000Z:c4e6a8b0-1d3f-4b5d-9f1b-3d5f7b9d1f3b")
	add(readTestdata(t, "order_change_no_items.json"), "amazon:2026-11-19T12:00:05.250000000Z:8e0f2a4b-6c8d-4e0f-9a1b-2c3d4e5f6a7b")
	add(readTestdata(t, "listings_item_status_change.json"), "amazon:2026-11-19T10:05:01.250000000Z:0a2c4e6a-8c0e-4a2c-8e4a-6c8e0a2c4e6a")
	add([]byte(`{"NotificationType": "ORDER_CHANGE", "Payload": 42}`), digestKeyFor(`{"NotificationType": "ORDER_CHANGE", "Payload": 42}`))
	return bodies, keys
}

func digestKeyFor(s string) string { return "amazon:" + digestKey([]byte(s)) }

// TestSQSSource runs the source over stockgate's mempubsub: every message
// is handed over and acked once its handler succeeded; a handler error and
// a failed order-items fetch nack it, and it comes back; a malformed body
// becomes a dead-letter result and is acked.
func TestSQSSource(t *testing.T) {
	t.Parallel()
	f := newSNSFake(t)
	orders := newOrdersFake(t)
	fetcher := &flakyFetcher{next: orders.client(t)}
	c := newConnector(t, f, func(c *Config) { c.OrderItems = fetcher })

	topic := mempubsub.NewTopic(nil)
	sub, err := mempubsub.NewSubscription(topic, &mempubsub.SubscriptionOptions{AckDeadline: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	defer func() { _ = topic.Shutdown(ctx) }()
	defer func() { _ = sub.Shutdown(ctx) }()

	bodies, keys := sqsBodies(t, f.host())
	rec := newRecorder(len(bodies), keys[4]) // the status change's first handling fails
	var nacked sync.Map
	src, err := NewSQSSource(sub, c, rec.handle, &SQSSourceOptions{
		MaxConcurrency: 3,
		OnError:        func(id string, err error) { nacked.Store(err.Error(), id) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bodies {
		if err := topic.Send(ctx, &gcpubsub.Message{Body: b}); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- src.Run(runCtx) }()
	select {
	case <-rec.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("handled %d of %d messages", len(rec.results), len(bodies))
	}
	stop()
	if err := <-ran; err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i, k := range keys {
		res := rec.results[k]
		if res == nil {
			t.Errorf("message %d (%s) not handed over; have %v", i, k, rec.attempts)
			continue
		}
		wantAttempts := 1
		if i == 4 {
			wantAttempts = 2
		}
		if rec.attempts[k] != wantAttempts {
			t.Errorf("message %d handled %d times, want %d", i, rec.attempts[k], wantAttempts)
		}
	}
	if n := len(rec.results[keys[0]].Events); n != 2 {
		t.Errorf("bare ORDER_CHANGE: %d events", n)
	}
	if n := len(rec.results[keys[3]].Events); n != 2 || fetcher.calls.Load() != 2 {
		t.Errorf("ORDER_CHANGE fetched: %d events after %d fetches; want 2 events, 2 fetches (one failed)", n, fetcher.calls.Load())
	}
	poison := rec.results[keys[5]]
	if poison.Topic != "malformed" || len(poison.Unmapped) != 1 || !strings.Contains(poison.Unmapped[0].Reason, "field Payload is a JSON number, want an object") {
		t.Errorf("malformed message: %+v", poison)
	}
	var errs []string
	nacked.Range(func(k, _ any) bool { errs = append(errs, k.(string)); return true })
	if len(errs) != 2 {
		t.Errorf("nacked for %q, want a failed fetch and a failed handler", errs)
	}

	// Everything was acked: nothing comes back after the ack deadline.
	if testing.Short() {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 2500*time.Millisecond)
	defer cancel()
	if m, err := sub.Receive(rctx); err == nil {
		m.Ack()
		t.Errorf("message %s came back: it was not acked", m.LoggableID)
	}
}

func TestSQSSourceHandlerSeesCancel(t *testing.T) {
	t.Parallel()
	c := newConnector(t, newSNSFake(t))
	topic := mempubsub.NewTopic(nil)
	sub, _ := mempubsub.NewSubscription(topic, nil)
	ctx := context.Background()
	defer func() { _ = topic.Shutdown(ctx); _ = sub.Shutdown(ctx) }()
	started := make(chan struct{})
	src, _ := NewSQSSource(sub, c, func(ctx context.Context, _ *connectors.Result) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}, nil)
	_ = topic.Send(ctx, &gcpubsub.Message{Body: readTestdata(t, "listings_item_status_change.json")})
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- src.Run(runCtx) }()
	<-started
	stop()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	// The nacked message is there for the next receiver at once.
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m, err := sub.Receive(rctx)
	if err != nil {
		t.Fatalf("the message was not nacked: %v", err)
	}
	m.Ack()
}

// TestOpenSQSSource opens a mem:// subscription by URL through stockgate's
// pubsub package, as the gateway does with awssqs://, and owns it.
func TestOpenSQSSource(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newConnector(t, newSNSFake(t))
	url := "mem://amazon-open-sqs-source-" + strings.ReplaceAll(t.Name(), "/", "-")
	topic, err := pubsub.OpenTopic(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = topic.Shutdown(ctx) }()
	rec := newRecorder(1)
	src, err := OpenSQSSource(ctx, url, c, rec.handle, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := topic.Send(ctx, &gcpubsub.Message{Body: readTestdata(t, "listings_item_mfn_quantity_change.json")}); err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- src.Run(ctx) }()
	select {
	case <-rec.done:
	case <-time.After(10 * time.Second):
		t.Fatal("not handled")
	}
	if err := src.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-ran; err != nil {
		t.Fatalf("Run after Shutdown = %v, want nil", err)
	}
	if err := src.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown = %v", err)
	}
	if err := src.Run(ctx); err == nil {
		t.Error("Run after Shutdown succeeded")
	}
	if _, err := OpenSQSSource(ctx, "nosuchscheme://x", c, rec.handle, nil); !errors.Is(err, pubsub.ErrUnknownScheme) {
		t.Errorf("unknown scheme: %v", err)
	}
	if _, err := OpenSQSSource(ctx, url+"?bogus=1", c, rec.handle, nil); err == nil {
		t.Error("unknown parameter accepted")
	}
	sub, _ := pubsub.OpenSubscription(ctx, url)
	defer func() { _ = sub.Shutdown(ctx) }()
	if _, err := NewSQSSource(nil, nil, nil, &SQSSourceOptions{MaxConcurrency: -1}); err == nil ||
		!strings.Contains(err.Error(), "nil subscription") || !strings.Contains(err.Error(), "nil handler") ||
		!strings.Contains(err.Error(), "nil connector") || !strings.Contains(err.Error(), "negative") {
		t.Errorf("NewSQSSource(nil…) = %v", err)
	}
}

// A subscription that fails (here: its topic does not exist) ends Run with
// the error.
func TestSQSSourceReceiveError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newConnector(t, newSNSFake(t))
	sub, err := pubsub.OpenSubscription(ctx, "mem://amazon-never-opened-topic-"+strings.ReplaceAll(t.Name(), "/", "-"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Shutdown(ctx) }()
	src, _ := NewSQSSource(sub, c, newRecorder(1).handle, nil)
	err = src.Run(ctx)
	if gcerrors.Code(errors.Unwrap(err)) != gcerrors.NotFound {
		t.Errorf("Run = %v, want NotFound", err)
	}
}

// ackOnlyDriver is a gocloud driver whose messages cannot be nacked, as
// Kafka's and NATS core's (shared/reference/infrastructure.md §4: "Nack()
// panics when Nackable() is false"). It delivers each body once and
// records acks.
type ackOnlyDriver struct {
	mu     sync.Mutex
	bodies [][]byte
	acked  []string
}

func (d *ackOnlyDriver) ReceiveBatch(ctx context.Context, max int) ([]*driver.Message, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ms []*driver.Message
	for len(d.bodies) > 0 && len(ms) < max {
		id := fmt.Sprintf("m%d", len(d.acked)+len(ms))
		ms = append(ms, &driver.Message{LoggableID: id, Body: d.bodies[0], AckID: id, AsFunc: func(any) bool { return false }})
		d.bodies = d.bodies[1:]
	}
	if len(ms) == 0 {
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	return ms, nil
}

func (d *ackOnlyDriver) SendAcks(_ context.Context, ids []driver.AckID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		d.acked = append(d.acked, id.(string))
	}
	return nil
}

func (*ackOnlyDriver) CanNack() bool { return false }
func (*ackOnlyDriver) SendNacks(context.Context, []driver.AckID) error {
	panic("SendNacks on a driver that cannot nack")
}
func (*ackOnlyDriver) IsRetryable(error) bool             { return false }
func (*ackOnlyDriver) As(any) bool                        { return false }
func (*ackOnlyDriver) ErrorAs(error, any) bool            { return false }
func (*ackOnlyDriver) ErrorCode(error) gcerrors.ErrorCode { return gcerrors.Unknown }
func (*ackOnlyDriver) Close() error                       { return nil }

// On a driver that cannot Nack, a failed message is neither acked nor
// nacked (gocloud panics on Nack there): the broker redelivers it.
func TestSQSSourceNotNackable(t *testing.T) {
	t.Parallel()
	c := newConnector(t, newSNSFake(t))
	d := &ackOnlyDriver{bodies: [][]byte{
		readTestdata(t, "listings_item_mfn_quantity_change.json"),
		readTestdata(t, "listings_item_status_change.json"),
	}}
	sub := gcpubsub.NewSubscription(d, nil, nil)
	ctx := context.Background()
	defer func() { _ = sub.Shutdown(ctx) }()
	fail := "amazon:2026-11-19T10:05:01.250000000Z:0a2c4e6a-8c0e-4a2c-8e4a-6c8e0a2c4e6a"
	var handled atomic.Int32
	var failures atomic.Int32
	src, _ := NewSQSSource(sub, c, func(_ context.Context, res *connectors.Result) error {
		defer handled.Add(1)
		if res.DedupKey == fail {
			return errors.New("outbox unavailable")
		}
		return nil
	}, &SQSSourceOptions{OnError: func(string, error) { failures.Add(1) }})
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- src.Run(runCtx) }()
	for handled.Load() < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if err := sub.Shutdown(ctx); err != nil { // flushes acks
		t.Fatal(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.acked) != 1 || failures.Load() != 1 {
		t.Errorf("acked %v with %d failures; want the one that succeeded", d.acked, failures.Load())
	}
}
