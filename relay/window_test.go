package relay

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	gcpubsub "gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"

	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

// windowed returns a relay over f's store and topics with a window.
func (f *fixture) windowed(window int) *Relay {
	return f.windowedOn(f.st, Options{Window: window})
}

// windowedOn returns a relay over st and f's topics with o, retaining the
// inbound topic, resending after a minute, on f's clock.
func (f *fixture) windowedOn(st *store.Store, o Options) *Relay {
	o.Retain, o.ResendAfter, o.Now = []string{"inbound"}, time.Minute, f.clk.Now
	return New(st, map[string]*gcpubsub.Topic{"inbound": f.in, "availability": f.av}, &o)
}

func (f *fixture) acceptKeyed(t *testing.T, topic, id, key string) {
	t.Helper()
	err := f.st.Accept(context.Background(), store.Acceptance{Messages: []store.Message{{Topic: topic, EventID: id, Body: []byte(id), Key: key}}})
	if err != nil {
		t.Fatal(err)
	}
}

// drain receives every message sub has, until none comes for a while.
func drain(t *testing.T, sub *gcpubsub.Subscription) []*gcpubsub.Message {
	t.Helper()
	var out []*gcpubsub.Message
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		m, err := sub.Receive(ctx)
		cancel()
		if err != nil {
			return out
		}
		m.Ack()
		out = append(out, m)
	}
}

func seqOf(t *testing.T, m *gcpubsub.Message) uint64 {
	t.Helper()
	seq, err := strconv.ParseUint(m.Metadata[store.MetaOutboxSeq], 10, 64)
	if err != nil {
		t.Fatalf("message %q: outbox seq: %v", m.Body, err)
	}
	return seq
}

// TestWindowHoldsRetainedInOrder: with a window, no more retained
// messages than it are sent and unconsumed at once; the rest go out as the
// consumer reports progress, oldest first, each once; availability
// messages are never held back.
func TestWindowHoldsRetainedInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	const window, n = 4, 11
	r := f.windowed(window)
	for i := 1; i <= n-1; i++ {
		f.acceptKeyed(t, "inbound", fmt.Sprintf("e%d", i), fmt.Sprintf("sku-%d", i%3))
		if i == 2 {
			f.acceptKeyed(t, "availability", "a1", "sku-2")
		}
	}
	pass := func() {
		t.Helper()
		if err := r.Pass(ctx); err != nil {
			t.Fatal(err)
		}
	}
	pass()
	if got := drain(t, f.avSub); len(got) != 1 || string(got[0].Body) != "a1" {
		t.Fatalf("availability messages sent = %d; want a1, not held back", len(got))
	}
	round := drain(t, f.inSub)
	if len(round) != window {
		t.Fatalf("first pass sent %d retained messages; want the window, %d", len(round), window)
	}
	// While the window is full, a new availability message goes out and a
	// new retained message waits behind the held ones.
	f.acceptKeyed(t, "availability", "a2", "sku-0")
	f.acceptKeyed(t, "inbound", fmt.Sprintf("e%d", n), "sku-0")
	pass()
	if got := drain(t, f.avSub); len(got) != 1 || string(got[0].Body) != "a2" {
		t.Fatalf("availability sent with the window full = %d messages; want a2", len(got))
	}
	if got := drain(t, f.inSub); len(got) != 0 {
		t.Fatalf("%d retained messages sent with the window full", len(got))
	}

	seen := map[string]bool{}
	var lastMax uint64
	for rounds := 0; len(round) > 0; rounds++ {
		if rounds > n {
			t.Fatal("the window never drained")
		}
		if len(round) > window {
			t.Fatalf("%d retained messages unconsumed at once; window %d", len(round), window)
		}
		var lo, hi uint64 = ^uint64(0), 0
		for _, m := range round {
			if seen[string(m.Body)] {
				t.Fatalf("%q sent twice", m.Body)
			}
			seen[string(m.Body)] = true
			seq := seqOf(t, m)
			lo, hi = min(lo, seq), max(hi, seq)
			// The consumer applies it, deletes it, reports it.
			if err := f.st.DeleteOutbox(ctx, []uint64{seq}); err != nil {
				t.Fatal(err)
			}
			r.Consumed(seq)
		}
		if lo <= lastMax {
			t.Fatalf("message %d sent after %d: held messages went out of order", lo, lastMax)
		}
		lastMax = hi
		pass()
		round = drain(t, f.inSub)
	}
	if len(seen) != n {
		t.Fatalf("%d retained messages delivered, want %d", len(seen), n)
	}
	if out, _ := f.st.Outbox(ctx, 0, 100); len(out) != 0 {
		t.Fatalf("%d messages left in the outbox", len(out))
	}
}

// TestWindowRefillsFromFullPasses: a consumer that does not report what
// it consumes (another replica's) still frees the window, as full passes
// find its messages gone.
func TestWindowRefillsFromFullPasses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t) // a full pass every 15 s
	r := f.windowed(2)
	for i := range 5 {
		f.acceptKeyed(t, "inbound", fmt.Sprintf("e%d", i), "sku")
	}
	var got []string
	for rounds := 0; len(got) < 5; rounds++ {
		if rounds > 5 {
			t.Fatalf("delivered %v after %d rounds; want all 5", got, rounds)
		}
		if err := r.Pass(ctx); err != nil {
			t.Fatal(err)
		}
		round := drain(t, f.inSub)
		if len(round) > 2 {
			t.Fatalf("%d messages unconsumed at once; window 2", len(round))
		}
		for _, m := range round {
			got = append(got, string(m.Body))
			if err := f.st.DeleteOutbox(ctx, []uint64{seqOf(t, m)}); err != nil {
				t.Fatal(err)
			}
		}
		f.clk.Add(16 * time.Second)
	}
	if fmt.Sprint(got) != "[e0 e1 e2 e3 e4]" {
		t.Fatalf("delivered %v, want e0 … e4 in order", got)
	}
}

// TestWindowFirstPassSendsTheOldest: a relay's first pass over an outbox
// full of unconsumed messages (a restart's) sends a window of them, the
// oldest.
func TestWindowFirstPassSendsTheOldest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	for i := range 6 {
		f.acceptKeyed(t, "inbound", fmt.Sprintf("e%d", i), fmt.Sprintf("sku-%d", i))
	}
	if err := f.windowed(3).Pass(ctx); err != nil {
		t.Fatal(err)
	}
	round := drain(t, f.inSub)
	if len(round) != 3 {
		t.Fatalf("sent %d after a restart; want the window, 3", len(round))
	}
	for _, m := range round {
		if seq := seqOf(t, m); seq > 3 {
			t.Fatalf("sent message %d before older ones", seq)
		}
	}
}

// failingTopic is a driver.Topic that fails every batch while broken is
// set and otherwise drops what it is sent.
type failingTopic struct {
	topicStub
	broken atomic.Bool
	sent   atomic.Int64
}

var errBroken = errors.New("broker unreachable")

func (f *failingTopic) SendBatch(_ context.Context, ms []*driver.Message) error {
	if f.broken.Load() {
		return errBroken
	}
	f.sent.Add(int64(len(ms)))
	return nil
}

// TestWindowFailedSendsFreeTheirPlace: messages that could not be sent do
// not count against the window, so that they go out once the bus is back.
func TestWindowFailedSendsFreeTheirPlace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	ft := &failingTopic{}
	ft.broken.Store(true)
	top := gcpubsub.NewTopic(ft, nil)
	defer top.Shutdown(ctx)
	r := New(f.st, map[string]*gcpubsub.Topic{"inbound": top},
		&Options{Retain: []string{"inbound"}, ResendAfter: time.Minute, Window: 2, Now: f.clk.Now})
	for i := range 3 {
		f.acceptKeyed(t, "inbound", fmt.Sprintf("e%d", i), fmt.Sprintf("sku-%d", i))
	}
	if err := r.Pass(ctx); !errors.Is(err, errBroken) {
		t.Fatalf("Pass with the bus down = %v; want %v", err, errBroken)
	}
	ft.broken.Store(false)
	if err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if n := ft.sent.Load(); n != 2 {
		t.Fatalf("sent %d once the bus was back; want the window, 2", n)
	}
}

// countingReads is a store driver that counts the outbox messages read.
type countingReads struct {
	store.Driver
	read atomic.Int64
}

// Exclusive: memstore's, which the embedding hides.
func (d *countingReads) Exclusive() bool { return true }

func (d *countingReads) Outbox(ctx context.Context, after uint64, limit int) ([]store.Message, error) {
	ms, err := d.Driver.Outbox(ctx, after, limit)
	d.read.Add(int64(len(ms)))
	return ms, err
}

// TestFullPassSkipsTheHeldBacklog: a full pass does not read the messages
// held back behind the window (an overload's backlog, read once already),
// yet still resends a lost message and sees what was consumed.
func TestFullPassSkipsTheHeldBacklog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	d := &countingReads{Driver: memstore.New(nil)}
	st := store.New(d)
	defer st.Close()
	r := f.windowedOn(st, Options{Window: 3, PageSize: 50})
	const backlog = 500
	var accs []store.Acceptance
	for i := range backlog {
		accs = append(accs, store.Acceptance{Messages: []store.Message{{Topic: "inbound", EventID: fmt.Sprint(i), Body: []byte(fmt.Sprint(i)), Key: fmt.Sprint("sku-", i%7)}}})
	}
	if errs, err := st.AcceptBatch(ctx, accs); err != nil || errors.Join(errs...) != nil {
		t.Fatal(err, errs)
	}
	if err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	sent := drain(t, f.inSub)
	if len(sent) != 3 {
		t.Fatalf("sent %d; want the window, 3", len(sent))
	}
	// The consumer takes one; the other two are lost on the bus.
	if err := st.DeleteOutbox(ctx, []uint64{seqOf(t, sent[0])}); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(61 * time.Second)
	d.read.Store(0)
	if err := r.Pass(ctx); err != nil { // full: a minute since the last
		t.Fatal(err)
	}
	if n := d.read.Load(); n > 100 { // a page before the held, a page refilled
		t.Fatalf("a full pass read %d outbox messages; want only those before the held backlog of %d", n, backlog)
	}
	// The two lost messages went out again, and the one consumed made room
	// for the oldest held message.
	again := drain(t, f.inSub)
	got := map[uint64]bool{}
	for _, m := range again {
		got[seqOf(t, m)] = true
	}
	if len(again) != 3 || !got[seqOf(t, sent[1])] || !got[seqOf(t, sent[2])] || !got[4] {
		t.Fatalf("after the full pass sent %d messages (seqs %v); want the 2 lost ones and message 4", len(again), got)
	}
}

// TestHeldGoBeforeNew: once the window has a little room, the held
// messages take it, not a message accepted after them.
func TestHeldGoBeforeNew(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	r := f.windowed(4)
	for i := range 6 {
		f.acceptKeyed(t, "inbound", fmt.Sprintf("e%d", i), fmt.Sprintf("sku-%d", i))
	}
	if err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	first := drain(t, f.inSub)
	if len(first) != 4 {
		t.Fatalf("sent %d; want the window, 4", len(first))
	}
	seq := seqOf(t, first[0])
	if err := f.st.DeleteOutbox(ctx, []uint64{seq}); err != nil {
		t.Fatal(err)
	}
	r.Consumed(seq)
	f.acceptKeyed(t, "inbound", "late", "sku-late") // seq 7
	if err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	got := drain(t, f.inSub)
	if len(got) != 1 || seqOf(t, got[0]) != 5 {
		var seqs []uint64
		for _, m := range got {
			seqs = append(seqs, seqOf(t, m))
		}
		t.Fatalf("with one place free, sent %v; want the oldest held, 5", seqs)
	}
}

// consumingTopic is a driver.Topic whose consumer is quicker than Send
// returns: it consumes each message (deletes it, reports it) before
// SendBatch does.
type consumingTopic struct {
	topicStub
	st     *store.Store
	r      atomic.Pointer[Relay]
	bodies chan string
}

func (c *consumingTopic) SendBatch(ctx context.Context, ms []*driver.Message) error {
	for _, m := range ms {
		seq, err := strconv.ParseUint(m.Metadata[store.MetaOutboxSeq], 10, 64)
		if err != nil {
			return err
		}
		if err := c.st.DeleteOutbox(ctx, []uint64{seq}); err != nil {
			return err
		}
		c.r.Load().Consumed(seq)
		c.bodies <- string(m.Body)
	}
	return nil
}

// TestConsumedBeforeSendReturns: a message consumed before its Send
// returns frees its place in the window.
func TestConsumedBeforeSendReturns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	ct := &consumingTopic{st: f.st, bodies: make(chan string, 10)}
	top := gcpubsub.NewTopic(ct, nil)
	defer top.Shutdown(ctx)
	r := New(f.st, map[string]*gcpubsub.Topic{"inbound": top},
		&Options{Retain: []string{"inbound"}, ResendAfter: time.Minute, Window: 1, Now: f.clk.Now})
	ct.r.Store(r)
	for round := 1; round <= 2; round++ {
		for i := range 3 {
			f.acceptKeyed(t, "inbound", fmt.Sprintf("e%d-%d", round, i), "sku")
		}
		for range 3 {
			if err := r.Pass(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(ct.bodies); n != 3*round {
			t.Fatalf("round %d: consumed %d of %d after 3 passes: a message consumed during its Send kept its place", round, n, 3*round)
		}
	}
}

// TestConsumedWakesRun: Run refills the window as the consumer reports
// progress, without waiting for its poll.
func TestConsumedWakesRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFixture(t)
	r := New(f.st, map[string]*gcpubsub.Topic{"inbound": f.in, "availability": f.av},
		&Options{Retain: []string{"inbound"}, ResendAfter: time.Hour, Window: 2, PollInterval: time.Hour, Now: f.clk.Now})
	const n = 7
	for i := range n {
		f.acceptKeyed(t, "inbound", fmt.Sprintf("e%d", i), fmt.Sprintf("sku-%d", i))
	}
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	for range n {
		m := receive(t, f.inSub) // fails after 2 s
		seq := seqOf(t, m)
		if err := f.st.DeleteOutbox(ctx, []uint64{seq}); err != nil {
			t.Fatal(err)
		}
		r.Consumed(seq)
	}
	cancel()
	<-done
}

// consumeAfterRead is a store driver that, once armed, consumes a
// message right after the next outbox read returns it, as a ledger may.
type consumeAfterRead struct {
	store.Driver
	r   *Relay
	seq atomic.Uint64
}

func (d *consumeAfterRead) Exclusive() bool { return true }

func (d *consumeAfterRead) Outbox(ctx context.Context, after uint64, limit int) ([]store.Message, error) {
	ms, err := d.Driver.Outbox(ctx, after, limit)
	if seq := d.seq.Swap(0); seq != 0 {
		if err := d.Driver.DeleteOutbox(ctx, []uint64{seq}); err != nil {
			return nil, err
		}
		d.r.Consumed(seq)
	}
	return ms, err
}

// TestConsumedAfterTheReadIsNotResent: a message the consumer takes
// between the relay's read and its send is not taken for a new one.
func TestConsumedAfterTheReadIsNotResent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	d := &consumeAfterRead{Driver: memstore.New(nil)}
	st := store.New(d)
	defer st.Close()
	r := f.windowedOn(st, Options{Window: 8})
	d.r = r
	if err := st.Accept(ctx, store.Acceptance{Messages: []store.Message{{Topic: "inbound", EventID: "e1", Body: []byte("e1"), Key: "sku"}}}); err != nil {
		t.Fatal(err)
	}
	if err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, f.inSub); len(got) != 1 {
		t.Fatalf("sent %d, want 1", len(got))
	}
	f.clk.Add(16 * time.Second) // the next pass reads everything
	d.seq.Store(1)
	if err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, f.inSub); len(got) != 0 {
		t.Fatalf("a message consumed after the read was sent again (%d sent)", len(got))
	}
}
