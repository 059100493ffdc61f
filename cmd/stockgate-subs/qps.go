package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/stockgate/stockgate/internal/cpuprof"
	"github.com/stockgate/stockgate/internal/rawhttp"
)

// qpsReport is a -qps run's result.
type qpsReport struct {
	cfg        config
	RunID      string
	Seeded     int64
	Queries    int64
	Errors     int64
	FirstErr   string
	Wall       time.Duration
	Latency    dist
	Registered int64
	CPU        *cpuWindow
	Profile    string
}

// runQPS seeds -qps-seed SKUs with one webhook each, then sends persisted
// availability queries from -concurrency workers for -duration.
func runQPS(ctx context.Context, cfg config, progress io.Writer) (*qpsReport, error) {
	r, err := newSubsRun(cfg, progress)
	if err != nil {
		return nil, err
	}
	if err := r.reachable(ctx); err != nil {
		return nil, err
	}
	rep := &qpsReport{cfg: cfg, RunID: r.runID}
	pool := cfg.SKUs
	if cfg.QPSSeed > 0 {
		pool = cfg.QPSSeed
		r.logf("run %s: seeding %d SKUs with one webhook each", r.runID, pool)
		if err := r.seed(ctx, pool); err != nil {
			return nil, err
		}
		rep.Seeded = r.accepted.Load()
	}

	q := newQuerier(r.client, cfg.URL, cfg.Key, cfg.Location)
	// The workers' requests, built once: the hashed GET of each SKU as
	// raw HTTP/1.1 bytes (see package rawhttp).
	reqs := make([][]byte, pool)
	urls := make([]string, pool)
	hdr := "Authorization: " + q.auth + "\r\nAccept: application/graphql-response+json, application/json\r\n"
	for i := range urls {
		urls[i] = q.url(r.skuNames[i])
		u, err := url.Parse(urls[i])
		if err != nil {
			return nil, err
		}
		reqs[i] = rawGet(u.Host, u.RequestURI(), hdr)
	}
	// The first query, with net/http, registers the persisted query (or
	// finds it known) and fails fast on a bad key.
	var buf bytes.Buffer
	qctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	c, err := q.get(qctx, urls[0], r.skuNames[0], &buf)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("first query: %w", err)
	}
	if cfg.QPSSeed > 0 && c.Committed != 1 {
		return nil, fmt.Errorf("first query: %s has committed %d, want 1 after its seed webhook", r.skuNames[0], c.Committed)
	}
	r.logf("querying for %v with %d workers", cfg.Duration, cfg.Concurrency)

	cpu, err := r.gauge.startCPU()
	if err != nil {
		return nil, err
	}
	var prof chan error
	if cfg.CPUProfile != "" {
		prof = make(chan error, 1)
		go func() { prof <- r.gauge.profile(ctx, cfg.Duration, cfg.CPUProfile) }()
	}
	if cfg.OwnProfile != "" {
		stop, err := cpuprof.Start(cfg.OwnProfile)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	var (
		wg       sync.WaitGroup
		queries  atomic.Int64
		errs     atomic.Int64
		mu       sync.Mutex
		firstErr string
		lats     = make([][]time.Duration, cfg.Concurrency)
	)
	start := time.Now()
	end := start.Add(cfg.Duration)
	for w := range cfg.Concurrency {
		rng := rand.New(rand.NewPCG(uint64(w), r.rng.Uint64()))
		g, err := rawhttp.New(cfg.URL, cfg.Timeout)
		if err != nil {
			return nil, err
		}
		wg.Go(func() {
			defer g.Close()
			var buf bytes.Buffer
			lat := make([]time.Duration, 0, 1<<14)
			for {
				t0 := time.Now()
				if !t0.Before(end) || ctx.Err() != nil {
					break
				}
				i := rng.IntN(pool)
				err := q.rawGet(ctx, g, reqs[i], r.skuNames[i], &buf)
				if err != nil {
					if ctx.Err() != nil {
						break // interrupted: not the gateway's error
					}
					errs.Add(1)
					mu.Lock()
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				lat = append(lat, time.Since(t0))
				queries.Add(1)
			}
			lats[w] = lat
		})
	}
	wg.Wait()
	rep.Wall = time.Since(start)
	if err := cpu.stop(r.gauge); err != nil {
		return nil, err
	}
	rep.CPU = cpu
	if prof != nil {
		if err := <-prof; err != nil {
			r.logf("cpu profile: %v", err)
		} else {
			rep.Profile = cfg.CPUProfile
		}
	}
	rep.Queries, rep.Errors, rep.FirstErr = queries.Load(), errs.Load(), firstErr
	rep.Latency = newDist(lats...)
	rep.Registered = q.registered.Load()
	return rep, nil
}

// rawGet sends req, the hashed GET of sku, with g and checks that the
// answer is sku's availability. When the gateway no longer knows the
// hash (its cache evicted it), it registers the query with a POST and
// sends the GET again, as Apollo clients do.
func (q *querier) rawGet(ctx context.Context, g *rawhttp.Conn, req []byte, sku string, buf *bytes.Buffer) error {
	code, b, err := g.Do(ctx, req, buf)
	if err != nil {
		return err
	}
	if _, err = availabilityAnswer(code, b, sku); !errors.Is(err, errNotPersisted) {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, g.Timeout())
	err = q.register(rctx, sku, buf)
	cancel()
	if err != nil {
		return err
	}
	if code, b, err = g.Do(ctx, req, buf); err != nil {
		return err
	}
	_, err = availabilityAnswer(code, b, sku)
	return err
}

// seed sends one webhook to each of the first n SKUs, at -rate.
func (r *subsRun) seed(ctx context.Context, n int) error {
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Go(func() { r.worker(ctx, jobs) })
	}
	lim := rate.NewLimiter(rate.Limit(r.cfg.Rate), max(int(r.cfg.Rate/50), 4))
	for i := range n {
		if err := lim.Wait(ctx); err != nil {
			break
		}
		r.track.reserve(i)
		jobs <- job{i}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if got := r.accepted.Load(); got != int64(n) {
		return fmt.Errorf("seeding: %d of %d webhooks accepted; first failure: %s", got, n, r.firstErr)
	}
	return nil
}

func (r *qpsReport) write(w io.Writer) {
	c := r.cfg
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	pool := c.SKUs
	if c.QPSSeed > 0 {
		pool = c.QPSSeed
	}
	p("run %s: persisted availability queries (GET with the SHA-256 only) over %d SKUs at %q, %d workers (one raw HTTP/1.1 keep-alive connection each)",
		r.RunID, pool, c.Location, c.Concurrency)
	p("queries: %d in %v = %.1f/s; %d errors; %d registrations (POST with the full query)",
		r.Queries, r.Wall.Round(time.Millisecond), float64(r.Queries)/r.Wall.Seconds(), r.Errors, r.Registered)
	if r.FirstErr != "" {
		p("  first error: %s", r.FirstErr)
	}
	p("latency: %v", r.Latency)
	line := fmt.Sprintf("CPU: %v", r.CPU)
	if w := r.CPU; w.pid && r.Queries > 0 && w.Gateway > 0 {
		line += fmt.Sprintf("; gateway %.1f µs per query = %.0f queries/s per gateway core",
			float64(w.Gateway.Microseconds())/float64(r.Queries), float64(r.Queries)/w.Gateway.Seconds())
	}
	p("%s", line)
	if r.Profile != "" {
		p("gateway CPU profile: %s (go tool pprof -top %s)", r.Profile, r.Profile)
	}
}
