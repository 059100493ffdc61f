package jetstreampubsub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stockgate/stockgate/internal/testsvc"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"
	"gocloud.dev/pubsub/drivertest"
)

// The pre-started server of the project's machines (shared/SERVICES.md).
const (
	prestartedAddr  = "127.0.0.1:4222"
	prestartedStart = "start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- " +
		"-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log"
)

// conformanceAckWait is short so a lost ack shows up as a redelivery within
// a test, and long enough that a slow -race run does not redeliver a
// message the suite is about to ack.
const conformanceAckWait = 5 * time.Second

// backend is a NATS server the tests run against.
type backend struct {
	name string
	url  func(testing.TB) string // skips or fails if the server is missing
}

var backends = []backend{
	{"prestarted", prestartedURL},
	{"embedded", embeddedURL},
}

// prestartedURL returns the pre-started server's URL after checking that it
// answers with JetStream on. If it does not, the test fails under CI=true
// and is skipped otherwise, with the command that starts the server.
func prestartedURL(tb testing.TB) string {
	tb.Helper()
	url := "nats://" + prestartedAddr
	err := func() error {
		c, err := net.DialTimeout("tcp", prestartedAddr, time.Second)
		if err != nil {
			return err
		}
		c.Close()
		nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
		if err != nil {
			return err
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := js.AccountInfo(ctx); err != nil {
			return fmt.Errorf("JetStream: %w", err)
		}
		return nil
	}()
	if err != nil {
		msg := fmt.Sprintf("NATS with JetStream is not answering on %s: %v\nstart it with:\n\t%s", prestartedAddr, err, prestartedStart)
		testsvc.Missing(tb, msg)
	}
	return url
}

// embeddedURL starts an in-process nats-server with JetStream, stopped when
// tb ends, and returns its URL.
func embeddedURL(tb testing.TB) string {
	tb.Helper()
	s := startEmbedded(tb, &server.Options{Port: -1, StoreDir: tb.TempDir()})
	tb.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s.ClientURL()
}

// startEmbedded starts a JetStream server on 127.0.0.1 with opts' port and
// store directory; the caller shuts it down.
func startEmbedded(tb testing.TB, opts *server.Options) *server.Server {
	tb.Helper()
	opts.Host = "127.0.0.1"
	opts.JetStream = true
	opts.NoLog = true
	opts.NoSigs = true
	s, err := server.NewServer(opts)
	if err != nil {
		tb.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		tb.Fatal("embedded nats-server did not start")
	}
	// Ready for connections is not ready for streams: on a loaded machine
	// JetStream may still be starting, and a stream created then fails
	// with "error creating store for stream" (err_code 10049).
	for deadline := time.Now().Add(10 * time.Second); !s.JetStreamEnabled(); {
		if time.Now().After(deadline) {
			s.Shutdown()
			tb.Fatal("embedded nats-server: JetStream did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

// Names unique to this test run, so that test packages running at once on
// the shared server never meet.
var (
	runID   = newRunID()
	nameSeq atomic.Uint64
)

func newRunID() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// uniqueName returns a new name usable in stream, consumer and subject names.
func uniqueName() string {
	return "sgtest_" + runID + "_" + strconv.FormatUint(nameSeq.Add(1), 10)
}

// connect returns a JetStream context on a new connection to url, closed
// when tb ends.
func connect(tb testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := nats.Connect(url, nats.Name(tb.Name()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return nc, js
}

// newStream creates a stream capturing one subject, deleted when tb ends,
// and returns the stream's name and subject.
func newStream(tb testing.TB, js jetstream.JetStream) (stream, subject string) {
	tb.Helper()
	name := uniqueName()
	stream, subject = name, "sgtest."+name
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := EnsureStream(ctx, js, stream, subject); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { deleteStream(tb, js, stream) })
	return stream, subject
}

func deleteStream(tb testing.TB, js jetstream.JetStream, stream string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := js.DeleteStream(ctx, stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		tb.Errorf("delete stream %s: %v", stream, err)
	}
}

// harness runs gocloud's conformance suite on one server. Every topic has a
// stream of its own and every subscription a durable of its own, deleted
// by the cleanup functions.
type harness struct {
	t  *testing.T
	js jetstream.JetStream

	mu      sync.Mutex
	streams map[*topic]string
}

func newHarnessMaker(url string) drivertest.HarnessMaker {
	return func(_ context.Context, t *testing.T) (drivertest.Harness, error) {
		_, js := connect(t, url)
		return &harness{t: t, js: js, streams: make(map[*topic]string)}, nil
	}
}

func (h *harness) CreateTopic(ctx context.Context, _ string) (driver.Topic, func(), error) {
	name := uniqueName()
	if err := EnsureStream(ctx, h.js, name, "sgtest."+name); err != nil {
		return nil, nil, err
	}
	cleanup := func() { deleteStream(h.t, h.js, name) }
	dt, err := newTopic(h.js, "sgtest."+name, nil)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	h.mu.Lock()
	h.streams[dt] = name
	h.mu.Unlock()
	return dt, cleanup, nil
}

// MakeNonexistentTopic returns a topic on a subject no stream captures.
func (h *harness) MakeNonexistentTopic(context.Context) (driver.Topic, error) {
	return newTopic(h.js, "sgtest."+uniqueName()+".nostream", nil)
}

func (h *harness) CreateSubscription(_ context.Context, dt driver.Topic, _ string) (driver.Subscription, func(), error) {
	h.mu.Lock()
	stream := h.streams[dt.(*topic)]
	h.mu.Unlock()
	durable := uniqueName()
	ds, err := newSubscription(h.js, stream, durable, &SubscriptionOptions{AckWait: conformanceAckWait})
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := h.js.DeleteConsumer(ctx, stream, durable)
		if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
			h.t.Errorf("delete consumer %s/%s: %v", stream, durable, err)
		}
	}
	return ds, cleanup, nil
}

// MakeNonexistentSubscription returns a subscription on a stream that does
// not exist: it opens, and Receive fails with NotFound.
func (h *harness) MakeNonexistentSubscription(context.Context) (driver.Subscription, func(), error) {
	ds, err := newSubscription(h.js, uniqueName()+"_missing", "nobody", nil)
	return ds, func() {}, err
}

func (h *harness) Close() {}

func (h *harness) MaxBatchSizes() (int, int) { return 0, 0 }

func (h *harness) SupportsMultipleSubscriptions() bool { return true }

func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			drivertest.RunConformanceTests(t, newHarnessMaker(b.url(t)), []drivertest.AsTest{asTest{}})
		})
	}
}

// asTest checks the types the package doc promises to As and ErrorAs.
type asTest struct{}

func (asTest) Name() string { return "jetstream types" }

func (asTest) TopicCheck(t *pubsub.Topic) error {
	var js jetstream.JetStream
	if !t.As(&js) || js == nil {
		return errors.New("Topic.As(*jetstream.JetStream) failed")
	}
	return nil
}

func (asTest) SubscriptionCheck(s *pubsub.Subscription) error {
	var js jetstream.JetStream
	if !s.As(&js) || js == nil {
		return errors.New("Subscription.As(*jetstream.JetStream) failed")
	}
	return nil
}

func (asTest) TopicErrorCheck(t *pubsub.Topic, err error) error {
	var jsErr jetstream.JetStreamError
	if !t.ErrorAs(err, &jsErr) {
		return fmt.Errorf("Topic.ErrorAs(%v, *jetstream.JetStreamError) failed", err)
	}
	return nil
}

func (asTest) SubscriptionErrorCheck(s *pubsub.Subscription, err error) error {
	var apiErr *jetstream.APIError
	if !s.ErrorAs(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamNotFound {
		return fmt.Errorf("Subscription.ErrorAs(%v, **jetstream.APIError) failed or gave %v", err, apiErr)
	}
	return nil
}

func (asTest) MessageCheck(m *pubsub.Message) error {
	var jm jetstream.Msg
	if !m.As(&jm) {
		return errors.New("Message.As(*jetstream.Msg) failed")
	}
	meta, err := jm.Metadata()
	if err != nil {
		return err
	}
	if meta.NumDelivered != 1 {
		return fmt.Errorf("NumDelivered = %d, want 1", meta.NumDelivered)
	}
	return nil
}

func (asTest) BeforeSend(as func(any) bool) error {
	var nm *nats.Msg
	if !as(&nm) || nm == nil {
		return errors.New("BeforeSend As(**nats.Msg) failed")
	}
	return nil
}

func (asTest) AfterSend(as func(any) bool) error {
	var ack *jetstream.PubAck
	if !as(&ack) || ack == nil || ack.Sequence == 0 {
		return fmt.Errorf("AfterSend As(**jetstream.PubAck) failed or gave %+v", ack)
	}
	return nil
}

func BenchmarkConformance(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			_, js := connect(b, be.url(b))
			stream, subject := newStream(b, js)
			topic, err := OpenTopic(js, subject, nil)
			if err != nil {
				b.Fatal(err)
			}
			// The default AckWait (30 s): a redelivery would count twice.
			sub, err := OpenSubscription(js, stream, uniqueName(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				ctx := context.Background()
				if err := topic.Shutdown(ctx); err != nil {
					b.Errorf("topic Shutdown: %v", err)
				}
				if err := sub.Shutdown(ctx); err != nil {
					b.Errorf("subscription Shutdown: %v", err)
				}
			}()
			drivertest.RunBenchmarks(b, topic, sub)
		})
	}
}
