package relay

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"gocloud.dev/gcerrors"
	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"

	"github.com/stockgate/stockgate/pubsub/mempubsub"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	st           *store.Store
	in, av       *gcpubsub.Topic
	inSub, avSub *gcpubsub.Subscription
	clk          *clock
	r            *Relay
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{st: store.New(memstore.New(nil)), clk: &clock{now: time.Unix(1_800_000_000, 0)}}
	f.in, f.av = mempubsub.NewTopic(nil), mempubsub.NewTopic(nil)
	var err error
	if f.inSub, err = mempubsub.NewSubscription(f.in, nil); err != nil {
		t.Fatal(err)
	}
	if f.avSub, err = mempubsub.NewSubscription(f.av, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.inSub.Shutdown(ctx)
		f.avSub.Shutdown(ctx)
		f.in.Shutdown(ctx)
		f.av.Shutdown(ctx)
		f.st.Close()
	})
	f.r = New(f.st, map[string]*gcpubsub.Topic{"inbound": f.in, "availability": f.av},
		&Options{Retain: []string{"inbound"}, ResendAfter: time.Minute, Now: f.clk.Now})
	return f
}

func (f *fixture) accept(t *testing.T, topic, id string) {
	t.Helper()
	err := f.st.Accept(context.Background(), store.Acceptance{Messages: []store.Message{{Topic: topic, EventID: id, Body: []byte(id), Key: "sku"}}})
	if err != nil {
		t.Fatal(err)
	}
}

func receive(t *testing.T, sub *gcpubsub.Subscription) *gcpubsub.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m, err := sub.Receive(ctx)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	m.Ack()
	return m
}

func nothing(t *testing.T, sub *gcpubsub.Subscription) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if m, err := sub.Receive(ctx); err == nil {
		m.Ack()
		t.Fatalf("unexpected message %q", m.Body)
	}
}

func TestRetainedUntilConsumedAndResent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.accept(t, "inbound", "e1")
	f.accept(t, "availability", "a1")
	if err := f.r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	m := receive(t, f.inSub)
	if string(m.Body) != "e1" || m.Metadata[store.MetaOutboxSeq] != "1" || m.Metadata[store.MetaKey] != "sku" || m.Metadata[MetaEventID] != "e1" {
		t.Fatalf("inbound message = %q %v", m.Body, m.Metadata)
	}
	if m := receive(t, f.avSub); string(m.Body) != "a1" {
		t.Fatalf("availability message = %q", m.Body)
	}
	out, _ := f.st.Outbox(ctx, 0, 10)
	if len(out) != 1 || out[0].EventID != "e1" {
		t.Fatalf("outbox after pass = %+v; want only the retained inbound message", out)
	}
	// Not due yet: not sent again.
	if err := f.r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	nothing(t, f.inSub)
	// Unconsumed past ResendAfter: sent again.
	f.clk.Add(2 * time.Minute)
	if err := f.r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, f.inSub); string(m.Body) != "e1" {
		t.Fatalf("resent = %q", m.Body)
	}
	// Consumed: never sent again.
	if err := f.st.DeleteOutbox(ctx, []uint64{1}); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(2 * time.Minute)
	if err := f.r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	nothing(t, f.inSub)
}

// TestQueuedIsNotResent: a retained message that has waited ResendAfter
// while the consumer works through the messages before it is queued, not
// lost, and is not sent again; once the consumer has consumed a message sent
// after it, it is taken for lost and sent again.
func TestQueuedIsNotResent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t) // ResendAfter: a minute; a full pass every 15 s
	pass := func() {
		t.Helper()
		if err := f.r.Pass(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"e1", "e2", "e3"} {
		f.accept(t, "inbound", id)
	}
	pass()
	for _, want := range []string{"e1", "e2", "e3"} {
		if m := receive(t, f.inSub); string(m.Body) != want {
			t.Fatalf("sent %q, want %q", m.Body, want)
		}
	}
	// The consumer takes e1 and is still busy with the others.
	if err := f.st.DeleteOutbox(ctx, []uint64{1}); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(16 * time.Second)
	pass()
	f.clk.Add(50 * time.Second)
	f.accept(t, "inbound", "e4")
	pass() // e2 and e3 were sent 66 s ago; the consumer progressed 50 s ago
	if m := receive(t, f.inSub); string(m.Body) != "e4" {
		t.Fatalf("sent %q, want only the new e4", m.Body)
	}
	nothing(t, f.inSub)

	// The consumer takes e3, sent after e2: e2 was lost.
	if err := f.st.DeleteOutbox(ctx, []uint64{3}); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(16 * time.Second)
	pass()
	if m := receive(t, f.inSub); string(m.Body) != "e2" {
		t.Fatalf("resent %q, want e2", m.Body)
	}
	nothing(t, f.inSub)

	// The consumer takes e4, sent before e2 was sent again: the copy of e2
	// is queued behind it, not lost.
	if err := f.st.DeleteOutbox(ctx, []uint64{4}); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(16 * time.Second)
	pass()
	f.clk.Add(50 * time.Second)
	pass()
	nothing(t, f.inSub)
}

func TestRestartSendsEverythingAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.accept(t, "inbound", "e1")
	if err := f.r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	receive(t, f.inSub)
	// A new relay over the same store (a restart) sends the unconsumed
	// message at once: the bus may have lost it with the process.
	r2 := New(f.st, map[string]*gcpubsub.Topic{"inbound": f.in, "availability": f.av},
		&Options{Retain: []string{"inbound"}, ResendAfter: time.Minute, Now: f.clk.Now})
	if err := r2.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, f.inSub); string(m.Body) != "e1" {
		t.Fatalf("after restart got %q", m.Body)
	}
}

func TestSendFailureLosesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	broken := mempubsub.NewTopic(nil)
	broken.Shutdown(ctx)
	r := New(f.st, map[string]*gcpubsub.Topic{"availability": broken}, &Options{Now: f.clk.Now})
	f.accept(t, "availability", "a1")
	if err := r.Pass(ctx); err == nil {
		t.Fatal("Pass to a shut-down topic reported no error")
	}
	out, _ := f.st.Outbox(ctx, 0, 10)
	if len(out) != 1 {
		t.Fatalf("outbox after failed send has %d messages, want 1", len(out))
	}
	// The same message goes out once the topic works.
	r = New(f.st, map[string]*gcpubsub.Topic{"availability": f.av}, &Options{Now: f.clk.Now})
	if err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, f.avSub); string(m.Body) != "a1" {
		t.Fatalf("got %q", m.Body)
	}
}

func TestUnknownTopicIsAnError(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.accept(t, "nowhere", "x")
	if err := f.r.Pass(context.Background()); err == nil {
		t.Fatal("a message for an unknown topic was accepted silently")
	}
}

// jitterTopic is a driver.Topic that takes a random while to send each
// batch and records what reached it, in order, with the record key
// pubsub.OrderingKey gave each message (read as a Kafka driver would).
type jitterTopic struct {
	topicStub
	mu   sync.Mutex
	rnd  *rand.Rand
	sent []sentMsg
}

type sentMsg struct {
	seq      string
	key, rec string // metadata key, and the Kafka record key BeforeSend set
}

func (j *jitterTopic) SendBatch(_ context.Context, ms []*driver.Message) error {
	j.mu.Lock()
	d := time.Duration(j.rnd.Int64N(int64(2 * time.Millisecond)))
	j.mu.Unlock()
	time.Sleep(d) // the bus's round trip, different for every batch
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, m := range ms {
		km := &sarama.ProducerMessage{}
		if m.BeforeSend != nil {
			if err := m.BeforeSend(func(i any) bool {
				p, ok := i.(**sarama.ProducerMessage)
				if ok {
					*p = km
				}
				return ok
			}); err != nil {
				return err
			}
		}
		var rec []byte
		if km.Key != nil {
			rec, _ = km.Key.Encode()
		}
		j.sent = append(j.sent, sentMsg{seq: m.Metadata[store.MetaOutboxSeq], key: m.Metadata[store.MetaKey], rec: string(rec)})
	}
	return nil
}

// topicStub gives a test's driver.Topic the methods beyond SendBatch.
type topicStub struct{}

func (topicStub) IsRetryable(error) bool             { return false }
func (topicStub) As(any) bool                        { return false }
func (topicStub) ErrorAs(error, any) bool            { return false }
func (topicStub) ErrorCode(error) gcerrors.ErrorCode { return gcerrors.Unknown }
func (topicStub) Close() error                       { return nil }

// TestOrderPerKey: the messages of one key reach the bus in outbox order,
// each with the key as its partition key, however long each send takes,
// while different keys go out concurrently.
func TestOrderPerKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store.New(memstore.New(nil))
	defer st.Close()
	const keys, perKey = 8, 40
	var accs []store.Acceptance
	for i := range keys * perKey {
		k := fmt.Sprintf("SKU-%d", i%keys)
		accs = append(accs, store.Acceptance{Messages: []store.Message{{Topic: "availability", EventID: fmt.Sprint(i), Body: []byte(k), Key: k}}})
	}
	if errs, err := st.AcceptBatch(ctx, accs); err != nil || errors.Join(errs...) != nil {
		t.Fatal(err, errs)
	}
	jt := &jitterTopic{rnd: rand.New(rand.NewPCG(1, 2))}
	top := gcpubsub.NewTopic(jt, nil)
	defer top.Shutdown(ctx)
	r := New(st, map[string]*gcpubsub.Topic{"availability": top}, &Options{Parallel: 16})
	if err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}

	jt.mu.Lock()
	defer jt.mu.Unlock()
	if len(jt.sent) != keys*perKey {
		t.Fatalf("%d messages sent, want %d", len(jt.sent), keys*perKey)
	}
	last := map[string]int{}
	for _, m := range jt.sent {
		seq, _ := strconv.Atoi(m.seq)
		if seq < last[m.key] {
			t.Errorf("key %s: outbox message %d sent after %d", m.key, seq, last[m.key])
		}
		last[m.key] = seq
		if m.rec != m.key {
			t.Errorf("message %s: record key %q, want the SKU %q", m.seq, m.rec, m.key)
		}
	}
	if out, _ := st.Outbox(ctx, 0, 1000); len(out) != 0 {
		t.Errorf("%d sent availability messages are still in the outbox", len(out))
	}
}

// slowDeletes is a store driver whose DeleteOutbox waits for release, as
// a store busy with other writes would.
type slowDeletes struct {
	store.Driver
	release chan struct{}
	calls   chan []uint64
}

func (d *slowDeletes) DeleteOutbox(ctx context.Context, seqs []uint64) error {
	d.calls <- seqs
	select {
	case <-d.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return d.Driver.DeleteOutbox(ctx, seqs)
}

// TestRunDoesNotWaitForDeletes: while the store is slow to delete what was
// sent, Run keeps sending what arrives, and its passes, whole-outbox ones
// included, do not send again what is waiting to be deleted.
func TestRunDoesNotWaitForDeletes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	d := &slowDeletes{Driver: memstore.New(nil), release: make(chan struct{}), calls: make(chan []uint64, 100)}
	st := store.New(d)
	av := mempubsub.NewTopic(nil)
	sub, err := mempubsub.NewSubscription(av, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	r := New(st, map[string]*gcpubsub.Topic{"availability": av},
		&Options{ResendAfter: time.Minute, PollInterval: 10 * time.Millisecond, Now: clk.Now})
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		sub.Shutdown(context.Background())
		av.Shutdown(context.Background())
		st.Close()
	})
	send := func(id string) {
		t.Helper()
		if err := st.Accept(ctx, store.Acceptance{Messages: []store.Message{{Topic: "availability", EventID: id, Body: []byte(id), Key: id}}}); err != nil {
			t.Fatal(err)
		}
		r.Notify()
	}

	send("a1")
	if m := receive(t, sub); string(m.Body) != "a1" {
		t.Fatalf("got %q, want a1", m.Body)
	}
	if seqs := <-d.calls; len(seqs) != 1 || seqs[0] != 1 {
		t.Fatalf("first deletion of %v, want [1]", seqs)
	}
	// a1's deletion is stuck; a2 still goes out at once.
	send("a2")
	if m := receive(t, sub); string(m.Body) != "a2" {
		t.Fatalf("got %q, want a2 while a1's deletion waits", m.Body)
	}
	// Whole-outbox passes while a1 and a2 wait for deletion send neither.
	for range 3 {
		clk.Add(time.Minute)
		r.Notify()
		time.Sleep(30 * time.Millisecond)
	}
	nothing(t, sub)
	if out, err := st.Outbox(ctx, 0, 10); err != nil || len(out) != 2 {
		t.Fatalf("outbox before the deletions are released: %d messages (%v), want 2", len(out), err)
	}
	close(d.release)
	deadline := time.Now().Add(2 * time.Second)
	for {
		out, err := st.Outbox(ctx, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d sent messages after the deletions were released", len(out))
		}
		time.Sleep(5 * time.Millisecond)
	}
	nothing(t, sub)
}

// BenchmarkPass measures a pass over 1,000 outbox messages of 1,000 keys
// (SKUs), as under load, to a mem:// topic; per message.
func BenchmarkPass(b *testing.B) {
	ctx := context.Background()
	st := store.New(memstore.New(nil))
	defer st.Close()
	av := mempubsub.NewTopic(nil) // no subscription: sent messages are dropped
	defer av.Shutdown(ctx)
	r := New(st, map[string]*gcpubsub.Topic{"availability": av}, nil)
	const perPass = 1000
	body := make([]byte, 500)
	batch := make([]store.Message, perPass)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := range batch {
			batch[i] = store.Message{Topic: "availability", EventID: "ev" + strconv.Itoa(i), Body: body, Key: "SKU-" + strconv.Itoa(i)}
		}
		if err := st.Accept(ctx, store.Acceptance{Messages: batch}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := r.Pass(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if out, err := st.Outbox(ctx, 0, 10); err != nil || len(out) != 0 {
		b.Fatalf("outbox after the passes: %d messages (%v), want none", len(out), err)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perPass), "ns/msg")
}
