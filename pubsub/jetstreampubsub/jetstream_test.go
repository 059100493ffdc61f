package jetstreampubsub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
)

// forEachBackend runs f as a parallel subtest against every server.
func forEachBackend(t *testing.T, f func(t *testing.T, url string)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b.url(t))
		})
	}
}

func shutdown(t *testing.T, s interface{ Shutdown(context.Context) error }) {
	t.Helper()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func send(t *testing.T, topic *pubsub.Topic, body string, md map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := topic.Send(ctx, &pubsub.Message{Body: []byte(body), Metadata: md}); err != nil {
		t.Fatalf("Send %q: %v", body, err)
	}
}

func receive(t *testing.T, sub *pubsub.Subscription, timeout time.Duration) *pubsub.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	m, err := sub.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return m
}

// numDelivered returns how often the server has delivered m.
func numDelivered(t *testing.T, m *pubsub.Message) uint64 {
	t.Helper()
	var jm jetstream.Msg
	if !m.As(&jm) {
		t.Fatal("Message.As(*jetstream.Msg) failed")
	}
	meta, err := jm.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	return meta.NumDelivered
}

// expectNothing checks that sub delivers nothing within d.
func expectNothing(t *testing.T, sub *pubsub.Subscription, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if m, err := sub.Receive(ctx); err == nil {
		m.Ack()
		t.Fatalf("received %q (delivery %d), want nothing", m.Body, numDelivered(t, m))
	}
}

// A message received and never acked by a process that then dies comes
// back, to a new connection and subscription on the same durable, once its
// AckWait has passed; once acked, it stays gone.
func TestRedeliveryAfterCrash(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		const ackWait = time.Second
		opts := &SubscriptionOptions{AckWait: ackWait}
		_, js := connect(t, url)
		stream, subject := newStream(t, js)
		durable := uniqueName()
		topic, err := OpenTopic(js, subject, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, topic)

		// The "crashing" process has a connection of its own.
		crashNC, crashJS := connect(t, url)
		sub, err := OpenSubscription(crashJS, stream, durable, opts)
		if err != nil {
			t.Fatal(err)
		}
		send(t, topic, "stock sku-1 5", nil)
		m := receive(t, sub, 10*time.Second)
		if got := string(m.Body); got != "stock sku-1 5" {
			t.Fatalf("received %q", got)
		}
		crashed := time.Now()
		crashNC.Close() // no ack ever reaches the server
		_ = sub.Shutdown(context.Background())
		m.Ack() // goes nowhere: only silences gocloud's never-acked log

		// The restarted process.
		_, js2 := connect(t, url)
		sub2, err := OpenSubscription(js2, stream, durable, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, sub2)
		m2 := receive(t, sub2, 10*time.Second)
		if got := string(m2.Body); got != "stock sku-1 5" {
			t.Fatalf("after the crash, received %q", got)
		}
		if n := numDelivered(t, m2); n != 2 {
			t.Errorf("NumDelivered = %d, want 2", n)
		}
		if waited := time.Since(crashed); waited < ackWait/2 {
			t.Errorf("redelivered %v after the crash, before AckWait %v", waited, ackWait)
		}
		m2.Ack()
		expectNothing(t, sub2, 2*ackWait) // the ack held past another AckWait
	})
}

// Shutting a subscription down without acking is a crash too, as far as
// the message is concerned.
func TestRedeliveryAfterShutdownWithoutAck(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		opts := &SubscriptionOptions{AckWait: time.Second}
		_, js := connect(t, url)
		stream, subject := newStream(t, js)
		durable := uniqueName()
		topic, err := OpenTopic(js, subject, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, topic)
		send(t, topic, "order-7 placed", nil)

		sub, err := OpenSubscription(js, stream, durable, opts)
		if err != nil {
			t.Fatal(err)
		}
		m := receive(t, sub, 10*time.Second)
		shutdown(t, sub)
		m.Ack() // after Shutdown: goes nowhere, only silences gocloud's never-acked log

		sub2, err := OpenSubscription(js, stream, durable, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, sub2)
		m = receive(t, sub2, 10*time.Second)
		if string(m.Body) != "order-7 placed" || numDelivered(t, m) != 2 {
			t.Errorf("received %q, delivery %d; want %q, delivery 2", m.Body, numDelivered(t, m), "order-7 placed")
		}
		m.Ack()
	})
}

// Nack redelivers at once, not after AckWait, with NumDelivered 2.
func TestNackRedelivers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		_, js := connect(t, url)
		stream, subject := newStream(t, js)
		topic, err := OpenTopic(js, subject, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, topic)
		sub, err := OpenSubscription(js, stream, uniqueName(), &SubscriptionOptions{AckWait: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, sub)

		send(t, topic, "adjust sku-9 -1", map[string]string{"event-id": "e1"})
		m := receive(t, sub, 10*time.Second)
		if !m.Nackable() {
			t.Fatal("Nackable() = false")
		}
		if n := numDelivered(t, m); n != 1 {
			t.Errorf("first delivery: NumDelivered = %d", n)
		}
		m.Nack()
		m2 := receive(t, sub, 10*time.Second) // far less than AckWait
		if string(m2.Body) != "adjust sku-9 -1" || m2.Metadata["event-id"] != "e1" {
			t.Errorf("redelivered %q %v", m2.Body, m2.Metadata)
		}
		if n := numDelivered(t, m2); n != 2 {
			t.Errorf("after Nack: NumDelivered = %d, want 2", n)
		}
		m2.Ack()
	})
}

// One sender's messages come back in Send order to one Receive loop.
func TestOrderPerSubject(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		_, js := connect(t, url)
		stream, subject := newStream(t, js)
		topic, err := OpenTopic(js, subject, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, topic)
		sub, err := OpenSubscription(js, stream, uniqueName(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, sub)

		const n = 200
		for i := range n {
			send(t, topic, strconv.Itoa(i), nil)
		}
		for i := range n {
			m := receive(t, sub, 10*time.Second)
			m.Ack()
			if got := string(m.Body); got != strconv.Itoa(i) {
				t.Fatalf("message %d: got %q", i, got)
			}
		}
	})
}

// With MsgIDKey, the stream stores a message re-sent with the same ID once.
func TestMsgIDDeduplicates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		_, js := connect(t, url)
		stream, subject := newStream(t, js)
		topic, err := OpenTopic(js, subject, &TopicOptions{MsgIDKey: "event-id"})
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, topic)

		send(t, topic, "first", map[string]string{"event-id": "evt-1"})
		send(t, topic, "outbox re-send", map[string]string{"event-id": "evt-1"})
		send(t, topic, "second", map[string]string{"event-id": "evt-2"})
		send(t, topic, "no id", map[string]string{"other": "x"})
		send(t, topic, "no id", nil)

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.CachedInfo().State.Msgs; got != 4 {
			t.Errorf("stream holds %d messages, want 4", got)
		}

		sub, err := OpenSubscription(js, stream, uniqueName(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, sub)
		m := receive(t, sub, 10*time.Second)
		m.Ack()
		want := map[string]string{"event-id": "evt-1", jetstream.MsgIDHeader: "evt-1"}
		if string(m.Body) != "first" || fmt.Sprint(m.Metadata) != fmt.Sprint(want) {
			t.Errorf("got %q %v, want %q %v", m.Body, m.Metadata, "first", want)
		}
	})
}

// Metadata edge cases beyond the suite: empty values round-trip, an empty
// key is InvalidArgument, headers from a plain NATS publisher arrive.
func TestMetadataEdges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		nc, js := connect(t, url)
		stream, subject := newStream(t, js)
		topic, err := OpenTopic(js, subject, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, topic)
		sub, err := OpenSubscription(js, stream, uniqueName(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, sub)

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = topic.Send(ctx, &pubsub.Message{Body: []byte("x"), Metadata: map[string]string{"": "v"}})
		if gcerrors.Code(err) != gcerrors.InvalidArgument || !errors.Is(err, ErrEmptyMetadataKey) {
			t.Errorf("Send with an empty key: %v (code %v), want InvalidArgument", err, gcerrors.Code(err))
		}

		send(t, topic, "empty value", map[string]string{"k": "", "a b": "c:d"})
		m := receive(t, sub, 10*time.Second)
		m.Ack()
		if v, ok := m.Metadata["k"]; !ok || v != "" || m.Metadata["a b"] != "c:d" {
			t.Errorf("metadata %q", m.Metadata)
		}

		// A core-NATS publisher (as natspubsub's natsv2 mode writes it); the
		// stream captures plain publishes too. A value that is not valid
		// query escaping arrives as it is.
		nm := nats.NewMsg(subject)
		nm.Data = []byte("from core")
		nm.Header["sku%3Aid"] = []string{"A%2F1"}
		nm.Header["raw"] = []string{"100%"}
		if err := nc.PublishMsg(nm); err != nil {
			t.Fatal(err)
		}
		m = receive(t, sub, 10*time.Second)
		m.Ack()
		if string(m.Body) != "from core" || m.Metadata["sku:id"] != "A/1" || m.Metadata["raw"] != "100%" {
			t.Errorf("got %q %q", m.Body, m.Metadata)
		}
	})
}

// A subscription on a missing stream opens, and Receive fails with
// NotFound; so does a Send on a subject no stream captures.
func TestNotFound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		_, js := connect(t, url)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()

		sub, err := OpenSubscription(js, uniqueName(), "ledger", nil)
		if err != nil {
			t.Fatalf("open on a missing stream: %v", err)
		}
		defer func() { _ = sub.Shutdown(context.Background()) }()
		_, err = sub.Receive(ctx)
		if gcerrors.Code(err) != gcerrors.NotFound || !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("Receive: %v (code %v), want NotFound", err, gcerrors.Code(err))
		}

		topic, err := OpenTopic(js, "sgtest."+uniqueName()+".nostream", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, topic)
		err = topic.Send(ctx, &pubsub.Message{Body: []byte("x")})
		if gcerrors.Code(err) != gcerrors.NotFound || !errors.Is(err, jetstream.ErrNoStreamResponse) {
			t.Errorf("Send: %v (code %v), want NotFound", err, gcerrors.Code(err))
		}
	})
}

// A consumer deleted while its subscription is in use fails the next
// Receive with NotFound, and is not created again.
func TestConsumerDeleted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		_, js := connect(t, url)
		stream, subject := newStream(t, js)
		topic, err := OpenTopic(js, subject, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, topic)
		durable := uniqueName()
		sub, err := OpenSubscription(js, stream, durable, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = sub.Shutdown(context.Background()) }()
		send(t, topic, "a", nil)
		receive(t, sub, 10*time.Second).Ack()

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := js.DeleteConsumer(ctx, stream, durable); err != nil {
			t.Fatal(err)
		}
		_, err = sub.Receive(ctx)
		if gcerrors.Code(err) != gcerrors.NotFound || !errors.Is(err, jetstream.ErrConsumerNotFound) {
			t.Errorf("Receive: %v (code %v), want NotFound", err, gcerrors.Code(err))
		}
		if _, err := js.Consumer(ctx, stream, durable); !errors.Is(err, jetstream.ErrConsumerNotFound) {
			t.Errorf("the consumer is back: %v", err)
		}
	})
}

// Messages stored in a file-backed stream survive a restart of the server,
// and an unacked delivery is delivered again after it.
func TestServerRestart(t *testing.T) {
	dir := t.TempDir()
	s := startEmbedded(t, &server.Options{Port: -1, StoreDir: dir})
	port := s.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() }) // s is the restarted server by then

	nc, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, subject := newStream(t, js)
	topic, err := OpenTopic(js, subject, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, topic)
	sub, err := OpenSubscription(js, stream, uniqueName(), &SubscriptionOptions{AckWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, sub)
	send(t, topic, "before restart 1", nil)
	send(t, topic, "before restart 2", nil)
	unacked := receive(t, sub, 10*time.Second)

	s.Shutdown()
	s.WaitForShutdown()
	s = startEmbedded(t, &server.Options{Port: port, StoreDir: dir})

	got := map[string]uint64{}
	for len(got) < 2 {
		m := receive(t, sub, 20*time.Second)
		got[string(m.Body)] = numDelivered(t, m)
		m.Ack()
	}
	unacked.Ack() // too late to matter: it was delivered again
	if got["before restart 1"] != 2 || got["before restart 2"] != 1 {
		t.Errorf("after the restart got %v (body: NumDelivered), want the first delivered twice, the second once", got)
	}
}

func TestErrorCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err       error
		code      gcerrors.ErrorCode
		retryable bool
	}{
		{jetstream.ErrNoStreamResponse, gcerrors.NotFound, false},
		{fmt.Errorf("wrapped: %w", jetstream.ErrStreamNotFound), gcerrors.NotFound, false},
		{&jetstream.APIError{Code: 404, ErrorCode: jetstream.JSErrCodeStreamNotFound}, gcerrors.NotFound, false},
		{jetstream.ErrConsumerNotFound, gcerrors.NotFound, false},
		{jetstream.ErrConsumerDeleted, gcerrors.NotFound, false},
		{ErrEmptyMetadataKey, gcerrors.InvalidArgument, false},
		{jetstream.ErrInvalidSubject, gcerrors.InvalidArgument, false},
		{&jetstream.APIError{Code: 400, ErrorCode: 10093}, gcerrors.InvalidArgument, false},
		{nats.ErrConnectionClosed, gcerrors.FailedPrecondition, false},
		{jetstream.ErrJetStreamNotEnabled, gcerrors.FailedPrecondition, false},
		{context.Canceled, gcerrors.Canceled, false},
		{fmt.Errorf("no PubAck: %w", context.DeadlineExceeded), gcerrors.DeadlineExceeded, true},
		{nats.ErrTimeout, gcerrors.DeadlineExceeded, true},
		{jetstream.ErrTooManyStalledMsgs, gcerrors.ResourceExhausted, true},
		{nats.ErrDisconnected, gcerrors.Unknown, true},
		{jetstream.ErrServerShutdown, gcerrors.Unknown, true},
		{&jetstream.APIError{Code: 503, ErrorCode: 10008}, gcerrors.Unknown, true},
		{errors.New("something else"), gcerrors.Unknown, false},
	} {
		if got := errorCode(tc.err); got != tc.code {
			t.Errorf("errorCode(%v) = %v, want %v", tc.err, got, tc.code)
		}
		if got := isRetryable(tc.err); got != tc.retryable {
			t.Errorf("isRetryable(%v) = %v, want %v", tc.err, got, tc.retryable)
		}
	}
}

func TestSubjectCovers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern, subject string
		want             bool
	}{
		{"inv.stock", "inv.stock", true},
		{"inv.*", "inv.stock", true},
		{"inv.>", "inv.stock.eu", true},
		{">", "inv", true},
		{"inv.>", "inv", false},
		{"inv.*", "inv.stock.eu", false},
		{"inv.stock", "inv.stock.eu", false},
		{"inv.stock.eu", "inv.stock", false},
		{"*.stock", "inv.stock", true},
		{"inv.order", "inv.stock", false},
	} {
		if got := subjectCovers(tc.pattern, tc.subject); got != tc.want {
			t.Errorf("subjectCovers(%q, %q) = %v, want %v", tc.pattern, tc.subject, got, tc.want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	_, js := connect(t, embeddedURL(t))
	for name, open := range map[string]func() error{
		"nil JetStream topic": func() error { _, err := OpenTopic(nil, "a", nil); return err },
		"wildcard topic":      func() error { _, err := OpenTopic(js, "inv.*", nil); return err },
		"negative timeout": func() error {
			_, err := OpenTopic(js, "inv", &TopicOptions{PublishTimeout: -1})
			return err
		},
		"nil JetStream subscription": func() error { _, err := OpenSubscription(nil, "S", "d", nil); return err },
		"dotted stream":              func() error { _, err := OpenSubscription(js, "S.x", "d", nil); return err },
		"empty durable":              func() error { _, err := OpenSubscription(js, "S", "", nil); return err },
		"negative everything": func() error {
			_, err := OpenSubscription(js, "S", "d", &SubscriptionOptions{AckWait: -1, MaxDeliver: -1, MaxWait: -1, FilterSubject: "a..b"})
			return err
		},
	} {
		if err := open(); err == nil {
			t.Errorf("%s: opened, want an error", name)
		}
	}
	_, err := OpenSubscription(js, "S", "d", &SubscriptionOptions{AckWait: -1, MaxDeliver: -1, MaxWait: -1, FilterSubject: "a..b", InactiveThreshold: -1})
	for _, want := range []string{"AckWait", "MaxDeliver", "MaxWait", "FilterSubject", "InactiveThreshold"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not report %s", err, want)
		}
	}
}

// TestClosedWhileReconnecting: nats.go fails an ack flush or a pull that
// is waiting when the connection drops with ErrConnectionClosed, though
// the connection reconnects. The driver reports that as transient (a
// permanent ack error would end the portable Subscription for good), and
// only a connection that is really closed as FailedPrecondition.
func TestClosedWhileReconnecting(t *testing.T) {
	s := startEmbedded(t, &server.Options{Port: -1, StoreDir: t.TempDir()})
	nc, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	top, err := newTopic(js, "sgtest.reconnect", nil)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := newSubscription(js, "S", "d", nil)
	if err != nil {
		t.Fatal(err)
	}
	errs := []error{nats.ErrConnectionClosed, jetstream.ErrConnectionClosed, fmt.Errorf("flush: %w", nats.ErrConnectionClosed)}
	check := func(state string, retryable bool, code gcerrors.ErrorCode) {
		t.Helper()
		for _, err := range errs {
			if got := sub.IsRetryable(err); got != retryable {
				t.Errorf("%s: subscription IsRetryable(%v) = %v, want %v", state, err, got, retryable)
			}
			if got := top.IsRetryable(err); got != retryable {
				t.Errorf("%s: topic IsRetryable(%v) = %v, want %v", state, err, got, retryable)
			}
			if got := sub.ErrorCode(err); got != code {
				t.Errorf("%s: subscription ErrorCode(%v) = %v, want %v", state, err, got, code)
			}
			if got := top.ErrorCode(err); got != code {
				t.Errorf("%s: topic ErrorCode(%v) = %v, want %v", state, err, got, code)
			}
		}
	}
	s.Shutdown()
	s.WaitForShutdown()
	deadline := time.Now().Add(10 * time.Second)
	for nc.Status() != nats.RECONNECTING {
		if time.Now().After(deadline) {
			t.Fatalf("connection status %v, want RECONNECTING", nc.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	check("reconnecting", true, gcerrors.Unknown)
	nc.Close()
	check("closed", false, gcerrors.FailedPrecondition)
}
