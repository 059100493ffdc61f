package mempubsub

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/batcher"
	"gocloud.dev/pubsub/driver"
)

// openTopic opens rawURL on o and shuts the topic down at the end of the test.
func openTopic(t testing.TB, o *URLOpener, rawURL string) *pubsub.Topic {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	top, err := o.OpenTopicURL(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := top.Shutdown(context.Background()); err != nil {
			t.Errorf("topic Shutdown: %v", err)
		}
	})
	return top
}

// openSub opens rawURL on o and shuts the subscription down at the end of the test.
func openSub(t testing.TB, o *URLOpener, rawURL string) *pubsub.Subscription {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := o.OpenSubscriptionURL(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sub.Shutdown(context.Background()); err != nil {
			t.Errorf("subscription Shutdown: %v", err)
		}
	})
	return sub
}

func send(t testing.TB, top *pubsub.Topic, body string) {
	t.Helper()
	if err := top.Send(context.Background(), &pubsub.Message{Body: []byte(body)}); err != nil {
		t.Fatal(err)
	}
}

func receive(t testing.TB, sub *pubsub.Subscription) *pubsub.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := sub.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFIFOOrder(t *testing.T) {
	t.Parallel()
	o := new(URLOpener)
	top := openTopic(t, o, "mem://fifo")
	sub := openSub(t, o, "mem://fifo")
	const n = 1000
	go func() {
		for i := range n {
			if err := top.Send(context.Background(), &pubsub.Message{Body: []byte(strconv.Itoa(i))}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := range n {
		m := receive(t, sub)
		m.Ack()
		if got, want := string(m.Body), strconv.Itoa(i); got != want {
			t.Fatalf("message %d: got body %q, want %q", i, got, want)
		}
	}
}

// TestIdleLatency checks that a message sent to an idle subscription is
// received at once, not after a poll interval (gocloud's mempubsub polls
// every 250 ms). The sends follow idle gaps of varied length, so they land
// at every phase of ReceiveBatch's 100 ms wait; the median must be far
// below the old ~125 ms.
func TestIdleLatency(t *testing.T) {
	t.Parallel()
	o := new(URLOpener)
	top := openTopic(t, o, "mem://latency")
	sub := openSub(t, o, "mem://latency")

	const n = 20
	received := make(chan time.Time)
	go func() {
		for range n {
			m, err := sub.Receive(context.Background())
			if err != nil {
				t.Error(err)
				close(received)
				return
			}
			at := time.Now()
			m.Ack()
			received <- at
		}
	}()
	lat := make([]time.Duration, 0, n)
	for i := range n {
		time.Sleep(time.Duration(30+(i*37)%100) * time.Millisecond)
		sent := time.Now()
		send(t, top, strconv.Itoa(i))
		select {
		case at, ok := <-received:
			if !ok {
				t.FailNow()
			}
			lat = append(lat, at.Sub(sent))
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d not received", i)
		}
	}
	slices.Sort(lat)
	median := lat[n/2]
	t.Logf("latency after idle: min %v, median %v, max %v", lat[0], median, lat[n-1])
	if median >= 50*time.Millisecond {
		t.Errorf("median latency after idle = %v, want < 50ms (all: %v)", median, lat)
	}
}

func TestAckDeadlineRedelivery(t *testing.T) {
	t.Parallel()
	o := new(URLOpener)
	top := openTopic(t, o, "mem://deadline")
	sub := openSub(t, o, "mem://deadline?ackdeadline=200ms")

	send(t, top, "late")
	first := receive(t, sub)
	start := time.Now()
	second := receive(t, sub) // not acked: comes back after the deadline
	elapsed := time.Since(start)
	first.Ack()
	second.Ack()
	if string(second.Body) != "late" {
		t.Fatalf("redelivered body %q, want %q", second.Body, "late")
	}
	if elapsed < 150*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("redelivered after %v, want about 200ms", elapsed)
	}

	// Once acked, it is not delivered again.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if m, err := sub.Receive(ctx); err == nil {
		m.Ack()
		t.Fatalf("got %q after ack, want no message", m.Body)
	}
}

func TestNackRedelivery(t *testing.T) {
	t.Parallel()
	o := new(URLOpener)
	top := openTopic(t, o, "mem://nack")
	sub := openSub(t, o, "mem://nack") // 1 min ack deadline: only Nack can bring it back in time

	send(t, top, "retry me")
	m := receive(t, sub)
	if !m.Nackable() {
		t.Fatal("Nackable() = false")
	}
	start := time.Now()
	m.Nack()
	again := receive(t, sub)
	again.Ack()
	if string(again.Body) != "retry me" {
		t.Fatalf("got %q, want the nacked message", again.Body)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("nacked message came back after %v, want at once", d)
	}
}

func TestFanOut(t *testing.T) {
	t.Parallel()
	o := new(URLOpener)
	top := openTopic(t, o, "mem://fanout")
	subs := []*pubsub.Subscription{openSub(t, o, "mem://fanout"), openSub(t, o, "mem://fanout?ackdeadline=5s")}
	for i := range 10 {
		send(t, top, strconv.Itoa(i))
	}
	for j, sub := range subs {
		for i := range 10 {
			m := receive(t, sub)
			m.Ack()
			if got, want := string(m.Body), strconv.Itoa(i); got != want {
				t.Fatalf("subscription %d, message %d: got %q, want %q", j, i, got, want)
			}
		}
	}
}

func TestCompetingReceivers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts batcher.Options
	}{
		{"default batching", batcher.Options{}},
		{"concurrent ReceiveBatch", batcher.Options{MaxHandlers: 4, MaxBatchSize: 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := &URLOpener{SubscriptionOptions: SubscriptionOptions{ReceiveBatcherOptions: tc.opts}}
			top := openTopic(t, o, "mem://compete")
			sub := openSub(t, o, "mem://compete")

			const n, receivers = 2000, 4
			var (
				mu    sync.Mutex
				seen  = make(map[string]int)
				perRx [receivers]int
				wg    sync.WaitGroup
			)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for r := range receivers {
				wg.Go(func() {
					for {
						m, err := sub.Receive(ctx)
						if err != nil {
							return // ctx done: all received, or the test times out
						}
						m.Ack()
						mu.Lock()
						seen[string(m.Body)]++
						perRx[r]++
						done := len(seen) == n
						mu.Unlock()
						if done {
							cancel()
						}
					}
				})
			}
			for i := range n {
				send(t, top, strconv.Itoa(i))
			}
			wg.Wait()
			if len(seen) != n {
				t.Fatalf("received %d distinct messages, want %d", len(seen), n)
			}
			for body, c := range seen {
				if c != 1 {
					t.Errorf("message %s received %d times, want once", body, c)
				}
			}
			t.Logf("per receiver: %v", perRx)
		})
	}
}

func TestSendWithoutSubscriptionIsDropped(t *testing.T) {
	t.Parallel()
	o := new(URLOpener)
	top := openTopic(t, o, "mem://nobody")
	send(t, top, "lost")
	sub := openSub(t, o, "mem://nobody")
	send(t, top, "kept")
	m := receive(t, sub)
	m.Ack()
	if string(m.Body) != "kept" {
		t.Errorf("got %q, want only the message sent after subscribing", m.Body)
	}
}

func TestSubscriptionToMissingTopic(t *testing.T) {
	t.Parallel()
	o := new(URLOpener)
	sub := openSub(t, o, "mem://never-opened")
	_, err := sub.Receive(context.Background())
	if gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("Receive error = %v (code %v), want NotFound", err, gcerrors.Code(err))
	}
}

// TestShutdownWhileReceiving checks that Shutdown of an idle subscription with
// a Receive blocked in ReceiveBatch ends that Receive with FailedPrecondition
// and that a second Shutdown still fails.
func TestShutdownWhileReceiving(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := new(URLOpener)
	openTopic(t, o, "mem://shutdown")
	u, _ := url.Parse("mem://shutdown")
	sub, err := o.OpenSubscriptionURL(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := sub.Receive(ctx)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond) // let Receive block
	if err := sub.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case err := <-errc:
		if gcerrors.Code(err) != gcerrors.FailedPrecondition {
			t.Errorf("blocked Receive ended with %v (code %v), want FailedPrecondition", err, gcerrors.Code(err))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Receive still blocked after Shutdown")
	}
	if err := sub.Shutdown(ctx); gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Errorf("second Shutdown = %v, want FailedPrecondition", err)
	}
}

func TestBodyCopiedAtSend(t *testing.T) {
	t.Parallel()
	o := new(URLOpener)
	top := openTopic(t, o, "mem://copy")
	sub := openSub(t, o, "mem://copy")
	body := []byte("original")
	if err := top.Send(context.Background(), &pubsub.Message{Body: body}); err != nil {
		t.Fatal(err)
	}
	copy(body, "mutated!")
	m := receive(t, sub)
	m.Ack()
	if string(m.Body) != "original" {
		t.Errorf("got %q: the sender's later write leaked into the sent message", m.Body)
	}
}

func TestOpenersAreIsolated(t *testing.T) {
	t.Parallel()
	o1, o2 := new(URLOpener), new(URLOpener)
	top1 := openTopic(t, o1, "mem://same-name")
	openTopic(t, o2, "mem://same-name")
	sub2 := openSub(t, o2, "mem://same-name")
	send(t, top1, "for o1 only")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if m, err := sub2.Receive(ctx); err == nil {
		m.Ack()
		t.Fatalf("opener 2 received %q sent on opener 1's topic", m.Body)
	}
}

func TestTopicHandlesAreIndependent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := new(URLOpener)
	u, _ := url.Parse("mem://shared")
	first, err := o.OpenTopicURL(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	second := openTopic(t, o, "mem://shared")
	sub := openSub(t, o, "mem://shared")
	if err := first.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	send(t, second, "still open")
	m := receive(t, sub)
	m.Ack()
}

func TestOpenURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := new(URLOpener)
	openTopic(t, o, "mem://t")
	// topicErr and subErr are "" when the open must succeed, else a part of
	// the error message.
	for _, tc := range []struct {
		url, topicErr, subErr string
	}{
		{"mem://t", "", ""},
		{"mem://a/b/c", "", ""},
		{"mem://t?ackdeadline=2s", "unknown query parameter(s) ackdeadline", ""},
		{"mem://t?param=value", "unknown query parameter(s) param", "unknown query parameter(s) param"},
		{"mem://t?ackdeadline=2s&param=value&other=1", "ackdeadline, other, param", "unknown query parameter(s) other, param"},
		{"mem://t?ackdeadline=soon", "ackdeadline", "invalid ackdeadline"},
		{"mem://t?ackdeadline=0s", "ackdeadline", "greater than zero"},
		{"mem://t?ackdeadline=-1s", "ackdeadline", "greater than zero"},
		{"mem://t?ackdeadline=1s&ackdeadline=2s", "ackdeadline", "ackdeadline given 2 times"},
		{"mem://", "missing topic name", "missing topic name"},
		{"mem:t", "opaque", "opaque"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			t.Parallel()
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			top, err := o.OpenTopicURL(ctx, u)
			checkOpen(t, "OpenTopicURL", err, tc.topicErr)
			if top != nil {
				if err := top.Shutdown(ctx); err != nil {
					t.Error(err)
				}
			}
			sub, err := o.OpenSubscriptionURL(ctx, u)
			checkOpen(t, "OpenSubscriptionURL", err, tc.subErr)
			if sub != nil {
				if err := sub.Shutdown(ctx); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func checkOpen(t *testing.T, op string, err error, wantErr string) {
	t.Helper()
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("%s: %v, want success", op, err)
	case wantErr != "" && err == nil:
		t.Errorf("%s succeeded, want an error mentioning %q", op, wantErr)
	case wantErr != "" && !strings.Contains(err.Error(), wantErr):
		t.Errorf("%s error %q does not mention %q", op, err, wantErr)
	}
}

func TestNewSubscription(t *testing.T) {
	t.Parallel()
	if _, err := NewSubscription(NewTopic(nil), &SubscriptionOptions{AckDeadline: -time.Second}); err == nil {
		t.Error("negative AckDeadline: want an error")
	}
	if _, err := NewSubscription(nil, nil); err == nil {
		t.Error("nil topic: want an error")
	}
	foreign := pubsub.NewTopic(&topicWrapper{}, nil)
	defer foreign.Shutdown(context.Background())
	if _, err := NewSubscription(foreign, nil); err == nil {
		t.Error("topic of another driver: want an error")
	}
}

// topicWrapper is a driver.Topic that is not this package's.
type topicWrapper struct{ topic }

func (*topicWrapper) As(any) bool { return false }

// deliveries polls s at now and returns the bodies and AckIDs delivered.
func deliveries(s *subscription, now time.Time, maxMessages int) ([]string, []driver.AckID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var bodies []string
	var ids []driver.AckID
	for _, m := range s.pollLocked(now, maxMessages) {
		bodies = append(bodies, string(m.Body))
		ids = append(ids, m.AckID)
	}
	return bodies, ids
}

func publish(b *broker, bodies ...string) {
	ps := make([]payload, len(bodies))
	for i, body := range bodies {
		ps[i] = payload{id: body, body: []byte(body)}
	}
	b.publish(ps)
}

// TestLeasesOnExplicitTime drives ack deadlines, nacks and acks on explicit
// time through pollLocked, the core of ReceiveBatch.
func TestLeasesOnExplicitTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := newBroker("t")
	s := newSubscription(b, time.Minute)
	other := newSubscription(b, time.Minute)
	t0 := time.Unix(1_000_000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	expect := func(now time.Time, maxMessages int, want ...string) []driver.AckID {
		t.Helper()
		got, ids := deliveries(s, now, maxMessages)
		if !slices.Equal(got, want) {
			t.Fatalf("at t0+%v: got %q, want %q", now.Sub(t0), got, want)
		}
		return ids
	}

	publish(b, "a", "b", "c")
	ab := expect(t0, 2, "a", "b")
	c := expect(t0, 10, "c")
	expect(at(59*time.Second), 10) // all leased

	// A nacked message is due at once, ahead of fresh ones.
	if err := s.SendNacks(ctx, ab[1:2]); err != nil {
		t.Fatal(err)
	}
	publish(b, "d")
	expect(at(time.Second), 10, "b", "d")

	// a and c expire at t0+60s; b and d, leased at t0+1s, are still out.
	expect(at(60*time.Second), 10, "a", "c")

	// A nack from a's superseded first delivery is ignored...
	if err := s.SendNacks(ctx, ab[:1]); err != nil {
		t.Fatal(err)
	}
	expect(at(60*time.Second), 10)
	// ...but an ack from c's first delivery acks c.
	if err := s.SendAcks(ctx, c); err != nil {
		t.Fatal(err)
	}
	// Acking twice, and acking another subscription's AckID, are no-ops.
	if err := s.SendAcks(ctx, c); err != nil {
		t.Fatal(err)
	}
	_, otherIDs := deliveries(other, t0, 1)
	if err := s.SendAcks(ctx, otherIDs); err != nil {
		t.Fatal(err)
	}

	// Everything unacked expires in lease order; c stays acked.
	expect(at(200*time.Second), 10, "b", "d", "a")
}

// TestStaleLeasesAreCompacted checks that one old unacked message does not
// pin a lease record for every message acked after it.
func TestStaleLeasesAreCompacted(t *testing.T) {
	t.Parallel()
	b := newBroker("t")
	s := newSubscription(b, time.Minute)
	bodies := make([]string, 10_000)
	for i := range bodies {
		bodies[i] = strconv.Itoa(i)
	}
	publish(b, bodies...)
	_, ids := deliveries(s, time.Unix(0, 0), len(bodies))
	if err := s.SendAcks(context.Background(), ids[1:]); err != nil { // all but the first
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live != 1 || s.leases.len() > 2*s.live+compactAfter {
		t.Errorf("live %d, lease records %d: stale leases not compacted", s.live, s.leases.len())
	}
}

func TestErrorCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want gcerrors.ErrorCode
	}{
		{errNotFound, gcerrors.NotFound},
		{fmt.Errorf("wrapped: %w", errNotFound), gcerrors.NotFound},
		{errClosed, gcerrors.FailedPrecondition},
		{context.Canceled, gcerrors.Canceled},
		{context.DeadlineExceeded, gcerrors.DeadlineExceeded},
		{errors.New("other"), gcerrors.Unknown},
	} {
		if got := errorCode(tc.err); got != tc.want {
			t.Errorf("errorCode(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// BenchmarkSendReceive measures one message sent, received and acked per op,
// through the portable types, behind a standing backlog of queued messages.
// The cost per op should not depend on the backlog.
func BenchmarkSendReceive(b *testing.B) {
	for _, backlog := range []int{0, 10_000} {
		b.Run(fmt.Sprintf("backlog=%d", backlog), func(b *testing.B) {
			ctx := context.Background()
			top := NewTopic(nil)
			defer top.Shutdown(ctx)
			sub, err := NewSubscription(top, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer sub.Shutdown(ctx)
			body := []byte("sku-123:42")
			for range backlog {
				if err := top.Send(ctx, &pubsub.Message{Body: body}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := top.Send(ctx, &pubsub.Message{Body: body}); err != nil {
					b.Fatal(err)
				}
				m, err := sub.Receive(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if len(m.Body) != len(body) {
					b.Fatalf("got body %q", m.Body)
				}
				m.Ack()
			}
		})
	}
}

// BenchmarkThroughput measures end-to-end throughput with 8 senders and 8
// Receive+Ack loops, as in infrastructure.md §15.
func BenchmarkThroughput(b *testing.B) {
	const senders, receivers = 8, 8
	ctx := context.Background()
	top := NewTopic(nil)
	defer top.Shutdown(ctx)
	sub, err := NewSubscription(top, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Shutdown(ctx)
	body := []byte("sku-123:42")
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := s; i < b.N; i += senders {
				if err := top.Send(ctx, &pubsub.Message{Body: body}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	for r := range receivers {
		wg.Go(func() {
			for i := r; i < b.N; i += receivers {
				m, err := sub.Receive(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				if len(m.Body) != len(body) {
					b.Errorf("got body %q", m.Body)
				}
				m.Ack()
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkDriver measures the driver alone: SendBatch, ReceiveBatch and
// SendAcks of one message per op, behind a standing backlog of queued
// messages. gocloud's mempubsub walks every unacked message on each
// receive; here the cost per op must not grow with the backlog.
func BenchmarkDriver(b *testing.B) {
	for _, backlog := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("backlog=%d", backlog), func(b *testing.B) {
			ctx := context.Background()
			br := newBroker("bench")
			t := &topic{b: br}
			s := newSubscription(br, time.Minute)
			defer s.Close()
			body := []byte("sku-123:42")
			queued := make([]*driver.Message, backlog)
			for i := range queued {
				queued[i] = &driver.Message{Body: body}
			}
			if err := t.SendBatch(ctx, queued); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := t.SendBatch(ctx, []*driver.Message{{Body: body}}); err != nil {
					b.Fatal(err)
				}
				ms, err := s.ReceiveBatch(ctx, 1)
				if err != nil || len(ms) != 1 {
					b.Fatalf("ReceiveBatch = %d messages, %v", len(ms), err)
				}
				if err := s.SendAcks(ctx, []driver.AckID{ms[0].AckID}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
