package reconcile_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/reconcile"
	"github.com/stockgate/stockgate/reconcile/reconciletest"
)

var quiet = slog.New(slog.DiscardHandler)

func newJob(t *testing.T, id string, src reconcile.Source, now func() time.Time) *reconcile.Job {
	t.Helper()
	st, _ := newLedger(t)
	job, err := reconcile.NewJob(id, src, st, (&recorder{}).submit, &reconcile.JobOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return job
}

func TestSchedulerTicksAtIntervals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock(t0)
	src := &reconciletest.MemSource{}
	src.Set(obs("SKU-1", "berlin", 3, event.StateOnHand, t0))
	s, err := reconcile.NewScheduler([]*reconcile.Job{newJob(t, "square", src, clk.Now)},
		&reconcile.SchedulerOptions{Now: clk.Now, Interval: 15 * time.Minute, Lookback: 2 * time.Minute, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if rs := s.Tick(ctx, t0); len(rs) != 1 || rs[0].Err != nil || rs[0].Corrected != 1 {
		t.Fatalf("first tick: %+v", rs)
	}
	if rs := s.Tick(ctx, t0.Add(14*time.Minute)); len(rs) != 0 {
		t.Fatalf("a tick before the interval ran %d jobs", len(rs))
	}
	if rs := s.Tick(ctx, t0.Add(15*time.Minute)); len(rs) != 1 {
		t.Fatalf("a tick at the interval ran %d jobs", len(rs))
	}
	src.SetErr(errors.New("square down"))
	if rs := s.Tick(ctx, t0.Add(30*time.Minute)); len(rs) != 1 || rs[0].Err == nil {
		t.Fatalf("failing tick: %+v", rs)
	}
	src.SetErr(nil)
	s.Tick(ctx, t0.Add(45*time.Minute))
	want := []time.Time{
		{},                       // first run: everything
		t0.Add(-2 * time.Minute), // the first run's start, less the lookback
		t0.Add(13 * time.Minute), // the second's
		t0.Add(13 * time.Minute), // the third failed: same since again
	}
	got := src.Reads()
	if len(got) != len(want)+0 && len(got) != len(want)+1 {
		t.Fatalf("reads %v", got)
	}
	for i, w := range want {
		if !got[i].Equal(w) {
			t.Errorf("read %d since %v, want %v", i, got[i], w)
		}
	}
	last := s.LastReports()
	if len(last) != 1 || last[0].Connector != "square" || last[0].Err != nil || !last[0].Since.Equal(t0.Add(13*time.Minute)) {
		t.Errorf("LastReports = %+v", last)
	}
}

func TestSchedulerNeverOverlaps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := &reconciletest.MemSource{}
	s, _ := reconcile.NewScheduler([]*reconcile.Job{newJob(t, "amazon", src, nil)}, &reconcile.SchedulerOptions{Logger: quiet})
	entered, release := src.Block()
	done := make(chan error, 1)
	go func() {
		_, err := s.RunNow(ctx, "amazon")
		done <- err
	}()
	<-entered
	if _, err := s.RunNow(ctx, "amazon"); !errors.Is(err, reconcile.ErrRunning) {
		t.Errorf("RunNow during a run: %v, want ErrRunning", err)
	}
	if _, err := s.RunFull(ctx, "amazon"); !errors.Is(err, reconcile.ErrRunning) {
		t.Errorf("RunFull during a run: %v, want ErrRunning", err)
	}
	if rs := s.Tick(ctx, time.Now().Add(24*time.Hour)); len(rs) != 0 {
		t.Errorf("a due tick during a run started %d runs", len(rs))
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(src.Reads()); n != 1 {
		t.Errorf("%d reads, want 1", n)
	}
	if _, err := s.RunNow(ctx, "amazon"); err != nil {
		t.Errorf("RunNow after the run: %v", err)
	}
	if _, err := s.RunNow(ctx, "nope"); !errors.Is(err, reconcile.ErrUnknownConnector) {
		t.Errorf("unknown connector: %v", err)
	}
}

func TestRunNowMovesTheSchedule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock(t0)
	src := &reconciletest.MemSource{}
	s, _ := reconcile.NewScheduler([]*reconcile.Job{newJob(t, "c", src, clk.Now)},
		&reconcile.SchedulerOptions{Now: clk.Now, Lookback: -1, Logger: quiet})
	s.Tick(ctx, t0)
	clk.Advance(10 * time.Minute)
	if _, err := s.RunNow(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if rs := s.Tick(ctx, t0.Add(15*time.Minute)); len(rs) != 0 {
		t.Errorf("the tick 5 minutes after RunNow ran")
	}
	if rs := s.Tick(ctx, t0.Add(25*time.Minute)); len(rs) != 1 {
		t.Errorf("the tick 15 minutes after RunNow did not run")
	}
	if _, err := s.RunFull(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	reads := src.Reads()
	want := []time.Time{{}, t0, t0.Add(10 * time.Minute), {}}
	for i, w := range want {
		if !reads[i].Equal(w) {
			t.Errorf("read %d since %v, want %v (no lookback)", i, reads[i], w)
		}
	}
}

// Run on fake time: each job at once, then every Interval.
func TestSchedulerRun(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	srcA, srcB := &reconciletest.MemSource{}, &reconciletest.MemSource{}
	reports := make(chan reconcile.Report, 16)
	s, err := reconcile.NewScheduler(
		[]*reconcile.Job{newJob(t, "a", srcA, clk.Now), newJob(t, "b", srcB, clk.Now)},
		&reconcile.SchedulerOptions{Now: clk.Now, After: clk.After, Logger: quiet, OnReport: func(r reconcile.Report) { reports <- r }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- s.Run(ctx) }()

	// wait collects n reports, moving the fake clock forward in steps
	// until they come.
	wait := func(n int, step time.Duration) []reconcile.Report {
		t.Helper()
		var got []reconcile.Report
		deadline := time.After(10 * time.Second)
		for len(got) < n {
			select {
			case r := <-reports:
				got = append(got, r)
			case <-time.After(time.Millisecond):
				clk.Advance(step)
			case <-deadline:
				t.Fatalf("got %d reports, want %d", len(got), n)
			}
		}
		return got
	}
	first := wait(2, 0)
	for _, r := range first {
		if !r.Since.IsZero() || !r.Started.Equal(t0) {
			t.Errorf("first run %+v: want a full read at t0", r)
		}
	}
	if err := s.Run(ctx); !errors.Is(err, reconcile.ErrSchedulerRunning) {
		t.Errorf("a second Run: %v", err)
	}
	second := wait(2, 10*time.Second)
	for _, r := range second {
		if r.Started.Before(t0.Add(15*time.Minute)) || r.Started.After(t0.Add(16*time.Minute)) || !r.Since.Equal(t0.Add(-2*time.Minute)) {
			t.Errorf("second run %+v: want about t0+15m, since t0-2m", r)
		}
	}
	cancel()
	if err := <-runDone; err != nil {
		t.Errorf("Run returned %v after cancel, want nil", err)
	}
	if n := len(s.LastReports()); n != 2 {
		t.Errorf("LastReports has %d reports", n)
	}
}

func TestNewSchedulerRejectsDuplicates(t *testing.T) {
	t.Parallel()
	src := &reconciletest.MemSource{}
	_, err := reconcile.NewScheduler([]*reconcile.Job{newJob(t, "a", src, nil), newJob(t, "a", src, nil), nil}, nil)
	if err == nil {
		t.Fatal("no error for a duplicate and a nil job")
	}
}
