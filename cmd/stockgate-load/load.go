package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors that end a run before it reports.
var (
	errUnreachable = errors.New("gateway unreachable")
	errAllFailed   = errors.New("every webhook failed")
	errWarmUp      = errors.New("warm-up failed")
)

// config is a run's settings, from the flags. See flags for each field's
// meaning and default.
type config struct {
	URL         string
	Connector   string
	Secret      string
	Shop        string
	Key         string
	Location    string
	Rate        float64
	Duration    time.Duration
	Concurrency int
	SKUs        int
	Subscribers int
	Drain       time.Duration
	WarmUp      time.Duration
	Timeout     time.Duration
	JSON        bool
	// SKUName names the run's SKUs load-<SKUName>-<i> instead of a fresh
	// random run id, so that a gateway can sync them to the fakes (see
	// the fakes subcommand); each run then needs a fresh gateway store.
	SKUName string
	// CPUProfile, when set, is where the command writes its own CPU
	// profile.
	CPUProfile string
	// Interval, when positive, splits the ack latencies by when each
	// webhook was sent, one summary per interval of the run.
	Interval time.Duration
}

// validate reports every problem at once, each naming its flag.
func (c *config) validate() error {
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("-%s: %s", flag, fmt.Sprintf(format, args...)))
	}
	for _, b := range c.bases() {
		if u, err := url.Parse(b); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("url", "%q is not an http(s) URL such as http://127.0.0.1:8080", b)
		}
	}
	if c.Connector == "" {
		bad("connector", "required")
	}
	if c.Secret == "" {
		bad("secret", "required (or set SHOPIFY_WEBHOOK_SECRET)")
	}
	if c.Shop == "" {
		bad("shop", "required")
	}
	if c.Subscribers > 0 && c.Key == "" {
		bad("key", "required with subscribers (or set STOCKGATE_API_KEY; or -subscribers 0)")
	}
	if c.Rate < 0 {
		bad("rate", "%v is negative (0 means as fast as possible)", c.Rate)
	}
	if c.Duration <= 0 {
		bad("duration", "must be positive")
	}
	if c.Rate > 0 && c.Duration > 0 && c.Rate*c.Duration.Seconds() < 1 {
		bad("rate", "%v/s for %v sends nothing", c.Rate, c.Duration)
	}
	if c.Concurrency < 1 {
		bad("concurrency", "must be at least 1")
	}
	if c.SKUs < 1 {
		bad("skus", "must be at least 1")
	}
	if c.SKUName != "" && !validName(c.SKUName) {
		bad("sku-name", "%q: want letters, digits and '-'", c.SKUName)
	}
	if c.Subscribers < 0 {
		bad("subscribers", "must not be negative")
	}
	if c.Drain < 0 {
		bad("drain", "must not be negative")
	}
	if c.Interval < 0 {
		bad("interval", "must not be negative (0: no split)")
	}
	if c.WarmUp <= 0 {
		bad("warmup", "must be positive")
	}
	if c.Timeout <= 0 {
		bad("timeout", "must be positive")
	}
	return errors.Join(errs...)
}

// bases returns the gateway base URLs of -url, a comma-separated list,
// without trailing slashes.
func (c *config) bases() []string {
	var out []string
	for _, b := range strings.Split(c.URL, ",") {
		out = append(out, strings.TrimRight(strings.TrimSpace(b), "/"))
	}
	return out
}

// load is one run: it owns the HTTP client, the SKU pool, the subscribers
// and the counters.
type load struct {
	cfg     config
	client  *http.Client
	hooks   webhooks
	runID   string
	skus    []string // the run's SKUs, load-<runid>-<i>
	warmSKU string   // the warm-up webhook's SKU, outside skus
	// webhookURLs and graphqlURLs (ws:// or wss://) have one entry per
	// gateway of -url: webhook seq goes to webhookURLs[seq mod n],
	// subscriber i to graphqlURLs[i mod n].
	webhookURLs []string
	graphqlURLs []string
	// raw has, for each of webhookURLs, the lean poster that sends the
	// run's webhooks (client sends the warm-up ones).
	raw      []*rawPoster
	progress io.Writer

	track *tracker
	acks  samples   // ack latencies of 200 answers, by send time
	sched samples   // paced runs: due time to answer of 200 answers
	begin time.Time // when sending started; set before the first send
	seq   atomic.Int64

	// slots caps requests in flight; free holds the SKUs with no request
	// in flight, so that each SKU has at most one.
	slots chan struct{}
	free  chan int
	wg    sync.WaitGroup

	sent, acked, duplicates, unmapped, late, transportErrs atomic.Int64

	mu       sync.Mutex
	codes    map[int]int64 // non-200 answers by status
	firstErr string        // the first transport error or non-200 reason
}

// newLoad prepares a run of cfg, which must be valid. Progress lines go to
// progress.
func newLoad(cfg config, progress io.Writer) (*load, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	// 30 bits with the top one set: ids built from it are never 0 and fit
	// in an int64 with 28 bits of sequence number.
	run := binary.BigEndian.Uint32(b[:])&(1<<30-1) | 1<<29
	runID := fmt.Sprintf("%08x", run)
	if cfg.SKUName != "" {
		runID = cfg.SKUName
	}

	l := &load{
		cfg:      cfg,
		client:   newHTTPClient(cfg.Concurrency + cfg.Subscribers),
		hooks:    webhooks{secret: cfg.Secret, shop: cfg.Shop, run: run},
		runID:    runID,
		warmSKU:  "load-" + runID + "-warmup",
		progress: progress,
		slots:    make(chan struct{}, cfg.Concurrency),
		free:     make(chan int, cfg.SKUs),
		codes:    map[int]int64{},
	}
	for _, base := range cfg.bases() {
		u := base + "/webhooks/" + url.PathEscape(cfg.Connector)
		l.webhookURLs = append(l.webhookURLs, u)
		rp, err := newRawPoster(u, cfg.Concurrency, cfg.Timeout)
		if err != nil {
			return nil, err
		}
		l.raw = append(l.raw, rp)
		l.graphqlURLs = append(l.graphqlURLs, "ws"+strings.TrimPrefix(base, "http")+"/graphql") // http→ws, https→wss
	}
	for i := range cfg.SKUs {
		l.skus = append(l.skus, fmt.Sprintf("load-%s-%d", runID, i))
		l.free <- i
	}
	l.track = newTracker(l.skus, cfg.Subscribers)
	return l, nil
}

// newHTTPClient returns the run's one client. Its transport keeps an idle
// connection for every request that can be in flight, so a steady run
// reuses connections instead of dialing, and it ignores proxy settings: a
// load test measures the gateway, not a proxy. Requests carry their own
// timeout (-timeout), so the client has none.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          conns + 8,
		MaxIdleConnsPerHost:   conns + 8,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ExpectContinueTimeout: time.Second,
	}}
}

// liveSub is a running subscriber.
type liveSub struct {
	s    *subscriber
	warm chan struct{} // closed when the warm-up change arrived
	once sync.Once
	done chan struct{} // closed when run returned; err is then set
	err  error
}

// run subscribes, warms up, sends for the configured duration, drains and
// returns the report. The report is nil when the run could not start; it
// is returned with errAllFailed when no webhook was acknowledged.
func (l *load) run(ctx context.Context) (*report, error) {
	subs, err := l.subscribe(ctx)
	defer l.unsubscribe(subs)
	if err != nil {
		return nil, err
	}
	if err := l.warmUp(ctx, subs); err != nil {
		return nil, err
	}
	fmt.Fprintf(l.progress, "stockgate-load: run %s: %d subscriber(s) live, sending for %v\n", l.runID, len(subs), l.cfg.Duration)

	start := time.Now()
	l.begin = start
	l.send(ctx, start)
	wall := time.Since(start)
	for _, rp := range l.raw {
		rp.close()
	}
	l.drain(ctx, subs)
	l.unsubscribe(subs)

	rep := l.report(wall, subs)
	if rep.Acked == 0 {
		return rep, fmt.Errorf("%w: %d sent, %s", errAllFailed, rep.Sent, rep.failures())
	}
	return rep, nil
}

// subscribe opens the subscribers and starts reading.
func (l *load) subscribe(ctx context.Context) ([]*liveSub, error) {
	skus := append([]string{l.warmSKU}, l.skus...)
	var subs []*liveSub
	for i := range l.cfg.Subscribers {
		s, err := dialSubscriber(ctx, l.client, l.graphqlURLs[i%len(l.graphqlURLs)], l.cfg.Key, skus, l.cfg.Location)
		if err != nil {
			return subs, fmt.Errorf("subscriber %d: %w", i+1, err)
		}
		ls := &liveSub{s: s, warm: make(chan struct{}), done: make(chan struct{})}
		subs = append(subs, ls)
		go func() {
			defer close(ls.done)
			ls.err = s.run(context.WithoutCancel(ctx), func(c change, at time.Time) { l.onChange(i, ls, c, at) })
		}()
	}
	return subs, nil
}

// unsubscribe closes the subscribers and waits for their readers. It may
// be called more than once.
func (l *load) unsubscribe(subs []*liveSub) {
	for _, ls := range subs {
		ls.s.close()
	}
	for _, ls := range subs {
		<-ls.done
	}
}

// onChange routes a change that subscriber i read at at.
func (l *load) onChange(i int, ls *liveSub, c change, at time.Time) {
	switch {
	case l.cfg.Location != "" && c.Location != l.cfg.Location:
		// Not the location under test.
	case c.SKU == l.warmSKU:
		ls.once.Do(func() { close(ls.warm) })
	default:
		l.track.observe(i, c.SKU, c.Committed, at)
	}
}

// warmUp sends webhooks for the warm-up SKU until every subscriber has
// seen one of their changes, so that subscriptions are live before the
// clock starts (graphql-transport-ws does not acknowledge a subscribe),
// and so that a misconfiguration fails with a message that says what to
// fix.
func (l *load) warmUp(ctx context.Context, subs []*liveSub) error {
	deadline := time.Now().Add(l.cfg.WarmUp)
	wait := 50 * time.Millisecond
	for {
		if err := l.warmUpWebhook(ctx); err != nil {
			return err
		}
		if len(subs) == 0 {
			return nil
		}
		timer := time.NewTimer(min(wait, time.Until(deadline)))
		live, err := warmed(ctx, subs, timer.C)
		timer.Stop()
		switch {
		case err != nil:
			return err
		case live:
			return nil
		case !time.Now().Before(deadline):
			where := "its location"
			if l.cfg.Location != "" {
				where = fmt.Sprintf("location %q (-location)", l.cfg.Location)
			}
			why := "a gateway whose configuration declares skus: keeps events of other SKUs, such as the run's, as dead letters"
			if len(l.webhookURLs) > 1 {
				why += "; with several -url gateways, the warm-up webhooks go to the first, and a subscriber on another " +
					"sees them only through a shared bus on which each gateway has an availability subscription of its own"
			}
			return fmt.Errorf("%w: a subscriber saw no change of %s at %s within %v, though the gateway accepted its webhooks; %s",
				errWarmUp, l.warmSKU, where, l.cfg.WarmUp, why)
		}
		wait = min(2*wait, time.Second)
	}
}

// warmed waits until every subscriber has seen a warm-up change (true) or
// timeout fires (false).
func warmed(ctx context.Context, subs []*liveSub, timeout <-chan time.Time) (bool, error) {
	for i, ls := range subs {
		select {
		case <-ls.warm:
		case <-ls.done:
			return false, fmt.Errorf("%w: subscriber %d ended: %v", errWarmUp, i+1, ls.err)
		case <-timeout:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	return true, nil
}

// warmUpWebhook sends one warm-up webhook and explains a bad answer.
func (l *load) warmUpWebhook(ctx context.Context) error {
	wh, err := l.hooks.build(l.seq.Add(1), l.warmSKU, time.Now())
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	u := l.webhookURLs[0]
	a, err := post(rctx, l.client, u, wh)
	switch {
	case err != nil:
		return fmt.Errorf("%w at %s: %v", errUnreachable, u, err)
	case a.code == http.StatusUnauthorized:
		return fmt.Errorf("%w: %s answered 401: the signature was rejected; check that -secret (SHOPIFY_WEBHOOK_SECRET) is connector %q's secret",
			errWarmUp, u, l.cfg.Connector)
	case a.code == http.StatusNotFound:
		return fmt.Errorf("%w: %s answered 404: the gateway has no connector %q (-connector)", errWarmUp, u, l.cfg.Connector)
	case a.code != http.StatusOK:
		return fmt.Errorf("%w: %s answered %d %s", errWarmUp, u, a.code, a.Error)
	case a.Unmapped > 0:
		return fmt.Errorf("%w: connector %q kept the order line as a dead letter: give it a default location (defaultLocation)", errWarmUp, l.cfg.Connector)
	case a.Status != "accepted":
		return fmt.Errorf("%w: %s answered status %q to a new event, want \"accepted\"", errWarmUp, u, a.Status)
	}
	return nil
}

// send sends for the configured duration, paced or as fast as possible,
// and waits for every answer.
func (l *load) send(ctx context.Context, start time.Time) {
	defer l.wg.Wait()
	if l.cfg.Rate == 0 {
		deadline := start.Add(l.cfg.Duration)
		for ctx.Err() == nil && time.Now().Before(deadline) {
			if !l.launch(ctx, time.Time{}) {
				return
			}
		}
		return
	}
	p := newPacer(start, l.cfg.Rate, l.cfg.Duration)
	t := time.NewTicker(p.tick())
	defer t.Stop()
	for now := start; ; now = time.Now() {
		for n := p.take(now); n > 0; n-- {
			if !l.launch(ctx, p.due(p.taken-n)) {
				return
			}
		}
		if p.done() {
			return
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// launch starts one webhook when a slot and a SKU are free. A paced send
// has a due time; when it has to wait for a slot or a SKU it counts as
// late. It returns false when ctx ended first.
func (l *load) launch(ctx context.Context, due time.Time) bool {
	paced := !due.IsZero()
	late := false
	select {
	case l.slots <- struct{}{}:
	default:
		late = true
		select {
		case l.slots <- struct{}{}:
		case <-ctx.Done():
			return false
		}
	}
	var s int
	select {
	case s = <-l.free:
	default:
		late = true
		select {
		case s = <-l.free:
		case <-ctx.Done():
			<-l.slots
			return false
		}
	}
	if late && paced {
		l.late.Add(1)
	}
	seq := l.seq.Add(1)
	l.wg.Go(func() {
		l.deliver(ctx, seq, s, due)
		l.free <- s
		<-l.slots
	})
	return true
}

// deliver sends webhook seq for SKU s, due at due (zero when not paced),
// and records the outcome. It lets the request finish when ctx ends
// (within -timeout), so that an interrupted run still accounts for every
// send.
func (l *load) deliver(ctx context.Context, seq int64, s int, due time.Time) {
	wh, err := l.hooks.build(seq, l.skus[s], time.Now())
	if err != nil {
		l.transportErr(err)
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.Timeout)
	defer cancel()
	l.sent.Add(1)
	start := time.Now()
	l.track.sending(s, start)
	a, err := l.raw[seq%int64(len(l.raw))].post(rctx, wh)
	took := time.Since(start)
	switch {
	case err != nil:
		l.track.lost(s)
		l.transportErr(err)
	case a.code != http.StatusOK:
		l.track.failed(s)
		l.mu.Lock()
		l.codes[a.code]++
		if l.firstErr == "" {
			l.firstErr = fmt.Sprintf("%d %s", a.code, a.Error)
		}
		l.mu.Unlock()
	default:
		l.acked.Add(1)
		l.acks.add(start.Sub(l.begin), took)
		if !due.IsZero() {
			l.sched.add(due.Sub(l.begin), start.Add(took).Sub(due))
		}
		switch {
		case a.Status == "duplicate":
			l.duplicates.Add(1)
			l.track.failed(s)
		case a.Unmapped > 0:
			l.unmapped.Add(1)
			l.track.failed(s)
		}
	}
}

func (l *load) transportErr(err error) {
	l.transportErrs.Add(1)
	l.mu.Lock()
	if l.firstErr == "" {
		l.firstErr = err.Error()
	}
	l.mu.Unlock()
}

// drain waits up to -drain for the changes of every accepted webhook, or
// until no subscriber is left.
func (l *load) drain(ctx context.Context, subs []*liveSub) {
	if len(subs) == 0 {
		return
	}
	deadline := time.Now().Add(l.cfg.Drain)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for l.track.missing() > 0 && time.Now().Before(deadline) && anyAlive(subs) {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

func anyAlive(subs []*liveSub) bool {
	for _, ls := range subs {
		select {
		case <-ls.done:
		default:
			return true
		}
	}
	return false
}
