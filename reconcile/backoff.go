package reconcile

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is how a Source retries a request that its driver classifies
// as retryable (a 429, a 5xx, a timeout). Drivers never retry; the
// Sources in this package do, with Backoff, page by page, so that one
// throttled page does not lose a long read.
//
// A wait is the error's RetryAfter when it has one, else Base doubled per
// attempt with equal jitter (half fixed, half random), as Square and
// Amazon advise (square.md §4.3, amazon.md §6.1); either is capped at
// Max. The zero value is usable: 5 attempts, 500ms, 30s.
type Backoff struct {
	// Attempts is how many times one request is sent in all. Zero: 5.
	// One: never retry.
	Attempts int
	// Base is the first wait when the error names none. Zero: 500ms.
	Base time.Duration
	// Max caps every wait. Zero: 30s.
	Max time.Duration
	// Sleep waits d, or returns ctx.Err() when ctx is done first. Zero: a
	// timer. Tests pass a fake to run on fake time.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (b *Backoff) withDefaults() Backoff {
	var o Backoff
	if b != nil {
		o = *b
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Base <= 0 {
		o.Base = 500 * time.Millisecond
	}
	if o.Max <= 0 {
		o.Max = 30 * time.Second
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	return o
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wait is the wait before attempt n+1 (n from 1).
func (b Backoff) wait(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, b.Max)
	}
	d := b.Base << min(n-1, 20)
	if d <= 0 || d > b.Max {
		d = b.Max
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// do calls fn until it succeeds, fails with an error retryable does not
// accept, or has been called Attempts times; it returns fn's last error.
func (b Backoff) do(ctx context.Context, retryable func(error) bool, retryAfter func(error) time.Duration, fn func() error) error {
	for n := 1; ; n++ {
		err := fn()
		if err == nil || n >= b.Attempts || !retryable(err) || ctx.Err() != nil {
			return err
		}
		if serr := b.Sleep(ctx, b.wait(n, retryAfter(err))); serr != nil {
			return err
		}
	}
}
