package relay

import (
	"context"
	"sync"
	"testing"
	"time"

	gcpubsub "gocloud.dev/pubsub"

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
	if string(m.Body) != "e1" || m.Metadata[store.MetaOutboxSeq] != "1" || m.Metadata[store.MetaKey] != "sku" {
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
