package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// SchedulerOptions configure a Scheduler; nil means the defaults.
type SchedulerOptions struct {
	// Interval is the time from the start of one run of a job to the
	// start of the next. Zero: 15 minutes.
	Interval time.Duration
	// Lookback is taken off since, to cover clock skew between stockgate
	// and the marketplace and rows stamped just before a run started.
	// Zero: 2 minutes. Negative: none.
	Lookback time.Duration
	// Now is the clock. Zero: time.Now.
	Now func() time.Time
	// After returns a channel that receives after d, as time.After; with
	// Now it puts Run on fake time. Zero: time.After.
	After func(d time.Duration) <-chan time.Time
	// Logger logs every run. Zero: slog.Default().
	Logger *slog.Logger
	// OnReport, when set, is called with every run's report (for metrics
	// or a test), after LastReports shows it.
	OnReport func(Report)
}

// Scheduler runs each of its jobs every Interval and on demand, never two
// runs of one job at once.
//
// A run asks its Source for what changed since the start of the job's
// last successful run, minus Lookback; the first run of a job, and every
// run until one succeeds, reads everything (since zero). That watermark
// is kept in memory only: after a restart the first run is a full one,
// which is also what a gateway that may have missed webhooks while it was
// down needs.
//
// Run drives the schedule on the clock; Tick is its explicit-time twin,
// for tests on fake time: it starts every job that is due at the given
// time and waits for them. RunNow runs one job at once.
type Scheduler struct {
	opts SchedulerOptions
	log  *slog.Logger

	mu      sync.Mutex
	jobs    map[string]*jobState
	order   []string
	running bool // Run is running
	wake    chan struct{}
}

type jobState struct {
	job     *Job
	busy    bool
	success time.Time // start of the last successful run; zero: none
	next    time.Time // when the next scheduled run is due; zero: now
	last    *Report
}

// NewScheduler returns a Scheduler of jobs, whose connector ids must be
// unique.
func NewScheduler(jobs []*Job, opts *SchedulerOptions) (*Scheduler, error) {
	var o SchedulerOptions
	if opts != nil {
		o = *opts
	}
	var problems []error
	if o.Interval < 0 {
		problems = append(problems, errors.New("SchedulerOptions.Interval: negative"))
	}
	s := &Scheduler{jobs: map[string]*jobState{}, wake: make(chan struct{}, 1)}
	for i, j := range jobs {
		switch {
		case j == nil:
			problems = append(problems, fmt.Errorf("jobs[%d]: nil", i))
		case s.jobs[j.id] != nil:
			problems = append(problems, fmt.Errorf("jobs[%d]: a second job for connector %q", i, j.id))
		default:
			s.jobs[j.id] = &jobState{job: j}
			s.order = append(s.order, j.id)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("reconcile.NewScheduler: %w", errors.Join(problems...))
	}
	slices.Sort(s.order)
	if o.Interval == 0 {
		o.Interval = 15 * time.Minute
	}
	switch {
	case o.Lookback == 0:
		o.Lookback = 2 * time.Minute
	case o.Lookback < 0:
		o.Lookback = 0
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s.opts, s.log = o, o.Logger
	return s, nil
}

// begin marks st busy and returns the since of its run; false when a run
// is already in progress.
func (s *Scheduler) begin(st *jobState, full bool) (time.Time, bool) {
	if st.busy {
		return time.Time{}, false
	}
	st.busy = true
	if full || st.success.IsZero() {
		return time.Time{}, true
	}
	return st.success.Add(-s.opts.Lookback), true
}

// run runs a job that begin marked busy, started at start on the
// scheduler's clock, and records the outcome.
func (s *Scheduler) run(ctx context.Context, st *jobState, start, since time.Time) Report {
	r, err := st.job.Run(ctx, since)
	s.mu.Lock()
	st.busy = false
	if err == nil {
		st.success = start
	}
	st.next = start.Add(s.opts.Interval)
	st.last = &r
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	attrs := []any{"connector", r.Connector, "since", r.Since, "read", r.Read, "matched", r.Matched,
		"corrected", r.Corrected, "resubmitted", r.Resubmitted, "stale", r.Stale, "skipped", r.Skipped,
		"duration", r.Finished.Sub(r.Started)}
	switch {
	case err != nil:
		s.log.Warn("reconciliation failed", append(attrs, "err", err)...)
	case r.Corrected > 0:
		s.log.Info("reconciliation corrected the ledger", attrs...)
	default:
		s.log.Debug("reconciliation run", attrs...)
	}
	if s.opts.OnReport != nil {
		s.opts.OnReport(r)
	}
	return r
}

// RunNow runs the job of connectorID at once, from the usual since, and
// returns its report and error. It fails with ErrUnknownConnector, or
// ErrRunning while a run of the job is in progress. The next scheduled
// run comes Interval after this one's start.
func (s *Scheduler) RunNow(ctx context.Context, connectorID string) (Report, error) {
	return s.runNow(ctx, connectorID, false)
}

// RunFull is RunNow reading everything (since zero), to repair what an
// incremental read cannot see.
func (s *Scheduler) RunFull(ctx context.Context, connectorID string) (Report, error) {
	return s.runNow(ctx, connectorID, true)
}

func (s *Scheduler) runNow(ctx context.Context, id string, full bool) (Report, error) {
	start := s.opts.Now()
	s.mu.Lock()
	st := s.jobs[id]
	if st == nil {
		s.mu.Unlock()
		return Report{}, fmt.Errorf("%w %q", ErrUnknownConnector, id)
	}
	since, ok := s.begin(st, full)
	s.mu.Unlock()
	if !ok {
		return Report{}, fmt.Errorf("%w (connector %q)", ErrRunning, id)
	}
	r := s.run(ctx, st, start, since)
	return r, r.Err
}

// startDue starts every idle job due at now in its own goroutine and
// returns one channel per started run.
func (s *Scheduler) startDue(ctx context.Context, now time.Time, wg *sync.WaitGroup) []<-chan Report {
	var out []<-chan Report
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.order {
		st := s.jobs[id]
		if st.busy || now.Before(st.next) {
			continue
		}
		since, _ := s.begin(st, false)
		ch := make(chan Report, 1)
		out = append(out, ch)
		wg.Go(func() { ch <- s.run(ctx, st, now, since) })
	}
	return out
}

// nextDue is the earliest time an idle job is due; false when every job
// is busy.
func (s *Scheduler) nextDue() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	found := false
	for _, st := range s.jobs {
		if !st.busy && (!found || st.next.Before(next)) {
			next, found = st.next, true
		}
	}
	return next, found
}

// Tick starts every job that is idle and due at now, as if the clock
// showed now, waits for those runs and returns their reports, ordered by
// connector. Jobs busy with an earlier run are skipped.
func (s *Scheduler) Tick(ctx context.Context, now time.Time) []Report {
	var wg sync.WaitGroup
	chans := s.startDue(ctx, now, &wg)
	wg.Wait()
	reports := make([]Report, 0, len(chans))
	for _, ch := range chans {
		reports = append(reports, <-ch)
	}
	return reports
}

// ErrSchedulerRunning: Run was called while another Run is going.
var ErrSchedulerRunning = errors.New("reconcile: scheduler already running")

// Run runs jobs as they fall due until ctx is done: each job at once, then
// every Interval after the start of its previous run (scheduled or on
// demand). A run that outlasts Interval delays the next; runs are never
// queued. When ctx is done Run waits for the runs it started, which see
// ctx canceled, and returns nil.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return ErrSchedulerRunning
	}
	s.running = true
	s.mu.Unlock()
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
	}()
	for {
		if ctx.Err() != nil {
			return nil
		}
		now := s.opts.Now()
		s.startDue(ctx, now, &wg)
		var timer <-chan time.Time
		if next, ok := s.nextDue(); ok {
			timer = s.opts.After(max(0, next.Sub(now)))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-timer:
		case <-s.wake:
		}
	}
}

// LastReports returns the last report of every job that has run, ordered
// by connector.
func (s *Scheduler) LastReports() []Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Report
	for _, id := range s.order {
		if r := s.jobs[id].last; r != nil {
			out = append(out, *r)
		}
	}
	return out
}
