package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stockgate/stockgate/internal/cpuprof"
	"golang.org/x/time/rate"
)

// fdMargin is what a process needs beyond its websockets: listeners,
// webhook and query connections, files.
const fdMargin = 256

// subsRun is one subscription run.
type subsRun struct {
	cfg      config
	progress io.Writer
	runID    string
	skuNames []string
	warmSKU  string
	hooks    hookMaker
	client   *http.Client // webhooks, queries, the debug server
	wsClient *http.Client // websocket handshakes
	hookURL  string
	wsURL    string
	track    *tracker
	gauge    *gauge
	rng      *rand.Rand // setup and the sender's dispatcher only
	seq      atomic.Int64
	start    atomic.Int64 // traffic start, Unix ns
	subs     []*subscriber
	watchers []int32 // per SKU

	sent, accepted, rejected, lost, late atomic.Int64
	mu                                   sync.Mutex
	codes                                map[int]int64 // rejected answers by status
	firstErr                             string
	acks                                 [][]time.Duration // per worker: request start to answer, accepted only
}

// runSubs runs a subscription measurement; the report is nil when the run
// could not start.
func runSubs(ctx context.Context, cfg config, progress io.Writer) (*subsReport, error) {
	r, err := newSubsRun(cfg, progress)
	if err != nil {
		return nil, err
	}
	defer r.closeAll()
	return r.run(ctx)
}

func newSubsRun(cfg config, progress io.Writer) (*subsRun, error) {
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	rng := rand.New(rand.NewPCG(seed, seed>>32|1))
	run := rng.Uint32() | 1<<31 // never 0
	runID := fmt.Sprintf("%08x", run)
	prefix := "subs-" + runID + "-"
	r := &subsRun{
		cfg: cfg, progress: progress, runID: runID, warmSKU: prefix + "warm",
		hooks:    hookMaker{secret: cfg.Secret, shop: cfg.Shop, run: run},
		client:   newHTTPClient(cfg.Concurrency),
		wsClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}},
		hookURL:  cfg.URL + "/webhooks/" + url.PathEscape(cfg.Connector),
		wsURL:    "ws" + cfg.URL[len("http"):] + "/graphql", // http→ws, https→wss
		track:    newTracker(prefix, cfg.SKUs),
		rng:      rng,
		watchers: make([]int32, cfg.SKUs),
		codes:    map[int]int64{},
	}
	r.gauge = &gauge{pid: cfg.PID, debug: cfg.Debug, client: r.client}
	for i := range cfg.SKUs {
		r.skuNames = append(r.skuNames, prefix+strconv.Itoa(i))
	}
	return r, nil
}

func (r *subsRun) logf(format string, args ...any) {
	fmt.Fprintf(r.progress, "stockgate-subs: "+format+"\n", args...)
}

func (r *subsRun) run(ctx context.Context) (*subsReport, error) {
	rep := &subsReport{cfg: r.cfg, RunID: r.runID}
	if err := r.limits(rep); err != nil {
		return nil, err
	}
	if err := r.reachable(ctx); err != nil {
		return nil, err
	}
	before, err := r.gauge.memory(ctx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := r.connect(ctx); err != nil {
		return nil, err
	}
	rep.ConnectTime = time.Since(start)
	r.logf("run %s: %d subscribers connected in %v; settling %v", r.runID, len(r.subs), rep.ConnectTime.Round(time.Millisecond), r.cfg.Settle)
	if err := sleep(ctx, r.cfg.Settle); err != nil {
		return nil, err
	}
	after, err := r.gauge.memory(ctx)
	if err != nil {
		return nil, err
	}
	rep.Idle = idleMemory(before, after, len(r.subs))
	if r.cfg.HeapProfile != "" {
		if err := r.gauge.save(ctx, "/debug/pprof/heap", r.cfg.HeapProfile); err != nil {
			return nil, fmt.Errorf("heap profile: %w", err)
		}
		rep.HeapProfile = r.cfg.HeapProfile
	}

	if err := r.warmUp(ctx); err != nil {
		return rep, err
	}
	r.logf("every subscriber is live; sending %v webhooks/s for %v", r.cfg.Rate, r.cfg.Duration)

	cpu, err := r.gauge.startCPU()
	if err != nil {
		return rep, err
	}
	var prof chan error
	if r.cfg.CPUProfile != "" {
		prof = make(chan error, 1)
		go func() { prof <- r.gauge.profile(ctx, r.cfg.Duration, r.cfg.CPUProfile) }()
	}
	if r.cfg.OwnProfile != "" {
		stop, err := cpuprof.Start(r.cfg.OwnProfile)
		if err != nil {
			return rep, err
		}
		defer stop()
	}
	trafficStart := time.Now()
	r.start.Store(trafficStart.UnixNano())
	r.send(ctx, trafficStart)
	rep.SendTime = time.Since(trafficStart)
	rep.Caught = r.drain(ctx)
	rep.DrainTime = time.Since(trafficStart) - rep.SendTime
	if err := cpu.stop(r.gauge); err != nil {
		return rep, err
	}
	rep.CPU = cpu
	if prof != nil {
		if err := <-prof; err != nil {
			r.logf("cpu profile: %v", err)
		} else {
			rep.Profile = r.cfg.CPUProfile
		}
	}

	r.logf("checking every subscriber's last values against the ledger")
	if err := r.check(ctx, rep); err != nil {
		return rep, err
	}
	r.closeAll()
	r.collect(rep, trafficStart)
	return rep, r.subscriberError()
}

// limits raises this process's open-file limit and checks the gateway's.
func (r *subsRun) limits(rep *subsReport) error {
	need := uint64(r.cfg.Subscribers + r.cfg.Concurrency + fdMargin)
	got, err := raiseFDLimit(need)
	if err != nil || got < need {
		msg := fmt.Sprintf("this process may open only %d files, and %d subscribers need about %d: raise the hard limit (ulimit -Hn, as root) or lower -subscribers",
			got, r.cfg.Subscribers, need)
		if err != nil {
			msg += " (" + err.Error() + ")"
		}
		return errors.New(msg)
	}
	rep.OwnFDLimit = got
	if r.cfg.PID == 0 {
		r.logf("without -pid the gateway's open-file limit is not checked: it needs about %d", r.cfg.Subscribers+fdMargin)
		return nil
	}
	gw, err := r.gauge.fdLimit()
	if err != nil {
		return err
	}
	rep.GatewayFDLimit = gw
	if gw >= 0 && gw < int64(r.cfg.Subscribers+fdMargin) {
		return fmt.Errorf("the gateway (pid %d) may open only %d files, and %d subscribers need about %d: restart it after raising its limit (ulimit -n %d; Go raises its soft limit to the hard one at start, so the hard limit is what counts)",
			r.cfg.PID, gw, r.cfg.Subscribers, r.cfg.Subscribers+fdMargin, r.cfg.Subscribers+fdMargin)
	}
	return nil
}

// reachable checks that the gateway answers at all.
func (r *subsRun) reachable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.URL+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("gateway unreachable at %s: %w", r.cfg.URL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("gateway at %s: /healthz answered %s", r.cfg.URL, resp.Status)
	}
	return nil
}

// connect opens the subscribers, paced by -dial-rate and
// -dial-concurrency, and starts their readers.
func (r *subsRun) connect(ctx context.Context) error {
	query := subscriptionQuery(r.cfg.Cursor)
	warm := []byte(r.warmSKU)
	r.subs = make([]*subscriber, r.cfg.Subscribers)
	msgs := make([][]byte, r.cfg.Subscribers)
	for n := range r.subs {
		idx := make([]int32, 0, r.cfg.PerSub)
		names := make([]string, 0, r.cfg.PerSub+1)
		for len(idx) < r.cfg.PerSub {
			i := int32(r.rng.IntN(r.cfg.SKUs))
			if !containsInt32(idx, i) {
				idx = append(idx, i)
				names = append(names, r.skuNames[i])
				r.watchers[i]++
			}
		}
		r.subs[n] = newSubscriber(idx, warm)
		msgs[n] = subscribeMessage(query, append(names, r.warmSKU), r.cfg.Location)
	}

	lim := rate.NewLimiter(rate.Limit(r.cfg.DialRate), 1)
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range r.cfg.DialConcurrency {
		wg.Go(func() {
			for n := range next {
				s := r.subs[n]
				dctx, dcancel := context.WithTimeout(ctx, r.cfg.Timeout)
				err := s.dial(dctx, r.wsClient, r.wsURL, r.cfg.Key, msgs[n])
				dcancel()
				if err != nil {
					once.Do(func() {
						firstErr = fmt.Errorf("subscriber %d of %d: %w", n+1, len(r.subs), err)
						cancel()
					})
					continue
				}
				go s.read(r)
			}
		})
	}
	step := max(len(r.subs)/10, 1)
	for n := range r.subs {
		if lim.Wait(ctx) != nil {
			break
		}
		next <- n
		if (n+1)%step == 0 {
			r.logf("%d of %d subscribers connecting", n+1, len(r.subs))
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func containsInt32(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// warmUp sends webhooks for the shared warm-up SKU until every subscriber
// has seen a change of it, then waits until every subscriber has the last
// one and the gateway is quiet again: each warm-up webhook fans out to
// every subscriber, and that backlog must not leak into the measurement.
func (r *subsRun) warmUp(ctx context.Context) error {
	deadline := time.Now().Add(r.cfg.WarmUp)
	wait := time.Second // 10,000 deliveries take about that
	var (
		buf  bytes.Buffer
		sent int64
	)
	for {
		seq := r.seq.Add(1)
		now := time.Now()
		body := r.hooks.appendBody(nil, seq, r.warmSKU, now)
		rctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
		a, err := postHook(rctx, r.client, r.hookURL, body, r.hooks.header(seq, body, now), &buf)
		cancel()
		if err != nil {
			return fmt.Errorf("warm-up webhook: gateway unreachable at %s: %w", r.hookURL, err)
		}
		if why := a.explain(r.hookURL, r.cfg.Connector); why != "" {
			return fmt.Errorf("warm-up webhook: %s", why)
		}
		sent++
		until := time.Now().Add(wait)
		if until.After(deadline) {
			until = deadline
		}
		if ok, err := r.warmWait(ctx, 1, until); err != nil || ok {
			if err != nil {
				return err
			}
			break
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("warm-up: %d of %d subscribers saw a change of %s at %q within %v, though the gateway accepted its webhooks; "+
				"is -location the connector's defaultLocation, and does the gateway's configuration declare no skus: catalog (which keeps other SKUs' events as dead letters)?",
				r.warmCount(1), len(r.subs), r.warmSKU, r.cfg.Location, r.cfg.WarmUp)
		}
		wait = min(2*wait, 4*time.Second)
	}
	// Every subscriber has the last warm-up change: the fan-out is done.
	if ok, err := r.warmWait(ctx, sent, deadline); err != nil || !ok {
		if err != nil {
			return err
		}
		return fmt.Errorf("warm-up: only %d of %d subscribers received the last of %d warm-up changes within %v", r.warmCount(sent), len(r.subs), sent, r.cfg.WarmUp)
	}
	return sleep(ctx, time.Second)
}

// warmWait waits until every subscriber has seen the warm-up SKU at
// committed ≥ k (true), or until deadline (false).
func (r *subsRun) warmWait(ctx context.Context, k int64, deadline time.Time) (bool, error) {
	for {
		if err := r.subscriberError(); err != nil {
			return false, err
		}
		if r.warmCount(k) == len(r.subs) {
			return true, nil
		}
		if !time.Now().Before(deadline) {
			return false, nil
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return false, err
		}
	}
}

// warmCount returns how many subscribers have seen the warm-up SKU at
// committed ≥ k.
func (r *subsRun) warmCount(k int64) int {
	n := 0
	for _, s := range r.subs {
		if s.warm.Load() >= k {
			n++
		}
	}
	return n
}

// subscriberError returns the first subscriber's failure, if any.
func (r *subsRun) subscriberError() error {
	for n, s := range r.subs {
		select {
		case <-s.done:
			if s.err != nil {
				return fmt.Errorf("subscriber %d: %w", n+1, s.err)
			}
		default:
		}
	}
	return nil
}

// job is one webhook to send.
type job struct{ sku int }

// send sends -rate webhooks a second for -duration (or until ctx ends) on
// an open-loop schedule, and waits for the answers.
func (r *subsRun) send(ctx context.Context, start time.Time) {
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Go(func() { r.worker(ctx, jobs) })
	}
	// A burst of a fiftieth of a second (at least 4) absorbs the timer's
	// lateness, which a burst of 1 would turn into a lower rate.
	lim := rate.NewLimiter(rate.Limit(r.cfg.Rate), max(int(r.cfg.Rate/50), 4))
	end := start.Add(r.cfg.Duration)
	for time.Now().Before(end) {
		if err := lim.Wait(ctx); err != nil {
			break
		}
		i, ok := r.pick()
		if !ok {
			r.late.Add(1)
			continue
		}
		select {
		case jobs <- job{i}:
		default:
			r.late.Add(1) // every worker busy: the send waits
			select {
			case jobs <- job{i}:
			case <-ctx.Done():
				r.track.settle(i, unsent)
			}
		}
	}
	close(jobs)
	wg.Wait()
}

// pick reserves a random SKU with no webhook in flight.
func (r *subsRun) pick() (int, bool) {
	for range 16 {
		if i := r.rng.IntN(r.cfg.SKUs); r.track.reserve(i) {
			return i, true
		}
	}
	return 0, false
}

func (r *subsRun) worker(ctx context.Context, jobs <-chan job) {
	var (
		body []byte
		buf  bytes.Buffer
		acks []time.Duration
	)
	defer func() {
		r.mu.Lock()
		r.acks = append(r.acks, acks)
		r.mu.Unlock()
	}()
	// The answers must arrive even after an interrupt, so that the
	// tracker knows what committed.
	ctx = context.WithoutCancel(ctx)
	for j := range jobs {
		seq := r.seq.Add(1)
		now := time.Now()
		body = r.hooks.appendBody(body[:0], seq, r.skuNames[j.sku], now)
		hd := r.hooks.header(seq, body, now)
		t0 := time.Now()
		r.track.sending(j.sku, t0)
		r.sent.Add(1)
		rctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
		a, err := postHook(rctx, r.client, r.hookURL, body, hd, &buf)
		cancel()
		took := time.Since(t0)
		switch {
		case err != nil:
			r.track.settle(j.sku, noAnswer)
			r.lost.Add(1)
			r.noteErr(0, err.Error())
		case a.code == http.StatusOK && a.Status == "accepted" && a.Unmapped == 0:
			r.track.settle(j.sku, accepted)
			r.accepted.Add(1)
			acks = append(acks, took)
		default:
			r.track.settle(j.sku, rejected)
			r.rejected.Add(1)
			r.noteErr(a.code, a.explain(r.hookURL, r.cfg.Connector))
		}
	}
}

func (r *subsRun) noteErr(code int, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if code != 0 {
		r.codes[code]++
	}
	if r.firstErr == "" {
		r.firstErr = msg
	}
}

// observe handles a change that subscriber s read at at. It runs on s's
// reader goroutine.
func (r *subsRun) observe(s *subscriber, c *change, at time.Time) {
	i, ok := r.track.index(c.SKU)
	if !ok {
		if bytes.Equal(c.SKU, s.warmSKU) {
			if c.Committed > s.warm.Load() {
				s.warm.Store(c.Committed)
			}
		} else {
			s.counts.Unexpected++
		}
		return
	}
	p := s.position(i)
	if p < 0 {
		s.counts.Unexpected++ // a SKU it did not ask for
		return
	}
	s.delivered.Add(1)
	s.lastAt = at
	if c.Coalesced {
		s.counts.Flagged++
	}
	last := s.committed[p].Load()
	if c.Committed <= last {
		s.counts.Repeats++
		return
	}
	s.available[p].Store(c.Available)
	s.seq[p].Store(c.Seq)
	s.committed[p].Store(c.Committed)
	sentAt, m := r.track.sentAt(i, c.Committed)
	switch m {
	case unmatched:
		s.counts.Unmatched++
		return
	case beyond:
		s.counts.Unexpected++
		return
	}
	s.counts.Skipped += c.Committed - last - 1
	s.lat = append(s.lat, at.Sub(sentAt))
	s.secs = append(s.secs, int32(sentAt.Sub(time.Unix(0, r.start.Load()))/time.Second))
	if rec, err := time.Parse(time.RFC3339Nano, string(c.RecordedAt)); err == nil {
		s.ledgerLat = append(s.ledgerLat, at.Sub(rec))
	}
}

// drain waits up to -drain until every subscriber holds, for each of its
// SKUs, the committed value of every accepted webhook. It reports
// whether they all did.
func (r *subsRun) drain(ctx context.Context) bool {
	deadline := time.Now().Add(r.cfg.Drain)
	for {
		if r.caughtUp() {
			return true
		}
		if !time.Now().Before(deadline) || sleep(ctx, 50*time.Millisecond) != nil {
			return r.caughtUp()
		}
	}
}

func (r *subsRun) caughtUp() bool {
	for _, s := range r.subs {
		for p, i := range s.skus {
			if n, exact := r.track.accepted(int(i)); exact && s.committed[p].Load() != n {
				return false
			}
		}
	}
	return true
}

// check reads every watched SKU from the ledger and compares each
// subscriber's last values with it.
func (r *subsRun) check(ctx context.Context, rep *subsReport) error {
	q := newQuerier(r.client, r.cfg.URL, r.cfg.Key, r.cfg.Location)
	ledger := make([]change, r.cfg.SKUs)
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range min(16, r.cfg.Concurrency) {
		wg.Go(func() {
			var buf bytes.Buffer
			for i := range next {
				qctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
				c, err := q.get(qctx, q.url(r.skuNames[i]), r.skuNames[i], &buf)
				cancel()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("reading %s from the ledger: %w", r.skuNames[i], err)
					}
					mu.Unlock()
					continue
				}
				c.SKU, c.Location, c.RecordedAt = nil, nil, nil // they alias buf
				ledger[i] = c
			}
		})
	}
	for i := range r.cfg.SKUs {
		if r.watchers[i] > 0 {
			next <- i
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	for i := range r.cfg.SKUs {
		if n, exact := r.track.accepted(i); exact && r.watchers[i] > 0 && ledger[i].Committed != n {
			rep.LedgerDisagrees++
		}
	}
	for n, s := range r.subs {
		for p, i := range s.skus {
			rep.Pairs++
			l := ledger[i]
			if got := s.seq[p].Load(); got != l.Seq || s.committed[p].Load() != l.Committed || s.available[p].Load() != l.Available {
				rep.Mismatches++
				if len(rep.Examples) < 5 {
					rep.Examples = append(rep.Examples, fmt.Sprintf("subscriber %d, %s: last delivered seq %d committed %d, ledger seq %d committed %d",
						n+1, r.skuNames[i], got, s.committed[p].Load(), l.Seq, l.Committed))
				}
			}
		}
	}
	return nil
}

// closeAll closes every subscriber, a few at a time, and waits for their
// readers. It may be called more than once.
func (r *subsRun) closeAll() {
	next := make(chan *subscriber)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for s := range next {
				s.close()
			}
		})
	}
	for _, s := range r.subs {
		if s != nil {
			next <- s
		}
	}
	close(next)
	wg.Wait()
	for _, s := range r.subs {
		if s != nil {
			<-s.done
		}
	}
}

// collect sums the subscribers' counts and samples into rep; the readers
// must have returned.
func (r *subsRun) collect(rep *subsReport, trafficStart time.Time) {
	rep.Sent, rep.Accepted, rep.Rejected, rep.Lost, rep.Late = r.sent.Load(), r.accepted.Load(), r.rejected.Load(), r.lost.Load(), r.late.Load()
	rep.Codes, rep.FirstErr = r.codes, r.firstErr
	var lat, ledgerLat [][]time.Duration
	var last time.Time
	for _, s := range r.subs {
		rep.Delivered += s.delivered.Load()
		rep.Counts.add(s.counts)
		lat = append(lat, s.lat)
		ledgerLat = append(ledgerLat, s.ledgerLat)
		if s.lastAt.After(last) {
			last = s.lastAt
		}
	}
	rep.Latency, rep.LedgerLatency = newDist(lat...), newDist(ledgerLat...)
	rep.BySecond = bySecond(r.subs)
	rep.Acks = newDist(r.acks...)
	if last.After(trafficStart) {
		rep.DeliveryWindow = last.Sub(trafficStart)
	}
	for i := range r.cfg.SKUs {
		n, _ := r.track.accepted(i)
		rep.Expected += n * int64(r.watchers[i])
	}
}

// bySecond groups the latency samples by the second of the run their
// webhook was sent in, so that a stall shows when it happened.
func bySecond(subs []*subscriber) []dist {
	var out [][]time.Duration
	for _, s := range subs {
		for i, sec := range s.secs {
			if sec < 0 || int(sec) > 3600 {
				continue
			}
			for int(sec) >= len(out) {
				out = append(out, nil)
			}
			out[sec] = append(out[sec], s.lat[i])
		}
	}
	ds := make([]dist, len(out))
	for i, o := range out {
		ds[i] = newDist(o)
	}
	return ds
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
