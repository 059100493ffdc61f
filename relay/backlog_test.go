package relay

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	gcpubsub "gocloud.dev/pubsub"

	"github.com/stockgate/stockgate/store"
)

// records is a slog.Handler that keeps what is logged.
type records struct {
	mu  sync.Mutex
	all []slog.Record
}

func (h *records) Enabled(context.Context, slog.Level) bool { return true }
func (h *records) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *records) WithGroup(string) slog.Handler            { return h }
func (h *records) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.all = append(h.all, r.Clone())
	h.mu.Unlock()
	return nil
}

// count returns how many records at level have msg as their message's
// prefix, and the attributes of the last one.
func (h *records) count(level slog.Level, msg string) (int, map[string]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, attrs := 0, map[string]string{}
	for _, r := range h.all {
		if r.Level != level || len(r.Message) < len(msg) || r.Message[:len(msg)] != msg {
			continue
		}
		n++
		clear(attrs)
		r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
	}
	return n, attrs
}

func (f *fixture) acceptAt(t *testing.T, topic, id string, at time.Time) {
	t.Helper()
	err := f.st.Accept(context.Background(), store.Acceptance{Messages: []store.Message{{Topic: topic, EventID: id, Body: []byte(id), Key: "sku", CreatedAt: at}}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadBacklog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	b, err := ReadBacklog(ctx, f.st)
	if err != nil || b != (Backlog{}) || b.Lag(f.clk.Now()) != 0 {
		t.Fatalf("empty outbox: %+v, %v", b, err)
	}
	t0 := f.clk.Now()
	f.acceptAt(t, "inbound", "e1", t0)
	f.acceptAt(t, "availability", "a1", t0.Add(3*time.Second))
	b, err = ReadBacklog(ctx, f.st)
	if err != nil || !b.Oldest.Equal(t0) || b.Topic != "inbound" || b.EventID != "e1" {
		t.Fatalf("backlog = %+v, %v; want e1 on inbound since %v", b, err, t0)
	}
	if got := b.Lag(t0.Add(5 * time.Second)); got != 5*time.Second {
		t.Errorf("lag 5 s later = %v", got)
	}
	if got := b.Lag(t0.Add(-time.Second)); got != 0 {
		t.Errorf("lag before the message was written = %v, want 0", got)
	}
	// The ledger applies e1: the availability message is the oldest now.
	if err := f.st.DeleteOutbox(ctx, []uint64{1}); err != nil {
		t.Fatal(err)
	}
	if b, err = ReadBacklog(ctx, f.st); err != nil || b.Topic != "availability" || !b.Oldest.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("backlog after e1 was consumed = %+v, %v", b, err)
	}
}

// TestRunWarnsWhileBehind: an inbound event that no ledger consumes makes
// Run warn once it has waited LagWarning, again a minute later while it
// still waits, and say so once when it has been consumed.
func TestRunWarnsWhileBehind(t *testing.T) {
	t.Parallel()
	const warn, caught = "the pipeline is behind", "the pipeline has caught up"
	f := newFixture(t)
	logs := &records{}
	r := New(f.st, map[string]*gcpubsub.Topic{"inbound": f.in, "availability": f.av}, &Options{
		Retain: []string{"inbound"}, ResendAfter: time.Hour, PollInterval: 5 * time.Millisecond,
		LagWarning: 10 * time.Second, Now: f.clk.Now, Logger: slog.New(logs),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	// step moves the clock past the next backlog check and waits for Run
	// to poll a few times.
	step := func(d time.Duration) {
		f.clk.Add(d)
		time.Sleep(50 * time.Millisecond)
	}
	waitFor := func(level slog.Level, msg string, n int) map[string]string {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			got, attrs := logs.count(level, msg)
			if got == n {
				return attrs
			}
			if got > n || time.Now().After(deadline) {
				t.Fatalf("%d %q records, want %d", got, msg, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	f.acceptAt(t, "inbound", "e1", f.clk.Now())
	step(9 * time.Second)
	if n, _ := logs.count(slog.LevelWarn, warn); n != 0 {
		t.Fatalf("warned after 9 s, under the 10 s threshold")
	}
	step(2 * time.Second)
	attrs := waitFor(slog.LevelWarn, warn, 1)
	if attrs["topic"] != "inbound" || attrs["event"] != "e1" || attrs["lag"] != "11s" {
		t.Errorf("warning attributes = %v", attrs)
	}
	step(30 * time.Second) // still behind: not repeated within the minute
	waitFor(slog.LevelWarn, warn, 1)
	step(31 * time.Second)
	waitFor(slog.LevelWarn, warn, 2)
	if n, _ := logs.count(slog.LevelInfo, caught); n != 0 {
		t.Fatal("caught up while the event still waits")
	}
	if err := f.st.DeleteOutbox(context.Background(), []uint64{1}); err != nil {
		t.Fatal(err)
	}
	step(2 * time.Second)
	waitFor(slog.LevelInfo, caught, 1)
	step(2 * time.Second)
	waitFor(slog.LevelInfo, caught, 1)
	waitFor(slog.LevelWarn, warn, 2)
}
