package redislimit

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stockgate/stockgate/ratelimit"
)

// ErrInvalidOptions: New was given an empty account or a negative TTL.
var ErrInvalidOptions = errors.New("redislimit: invalid options")

// DefaultPrefix is the key prefix when Options.Prefix is empty.
const DefaultPrefix = "stockgate:ratelimit:"

// DefaultTTL is the TTL when Options.TTL is zero.
const DefaultTTL = 24 * time.Hour

//go:embed bucket.lua
var bucketLua string

// bucket is the one script every operation runs.
var bucket = redis.NewScript(bucketLua)

// Options configure a Limiter. A nil *Options means all defaults.
type Options struct {
	// Prefix goes before the account in the key. Zero: DefaultPrefix.
	Prefix string
	// ServerTime makes the bucket run on the Redis server's clock (TIME)
	// instead of the caller's; see the package documentation. Zero: the
	// caller's clock.
	ServerTime bool
	// TTL is how long a key lives after its bucket would be full again and
	// any hold is over. Zero: DefaultTTL.
	TTL time.Duration
}

// Limiter is one connector account's bucket in Redis; see the package
// documentation. It is safe for concurrent use, and any number of
// Limiters, in any number of processes, may share one key. Make it with
// New.
type Limiter struct {
	client       redis.Scripter
	key          string
	limit, burst string // of a new bucket, formatted for the script
	ttl          string // milliseconds
	serverTime   bool
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// New returns the Limiter of account's bucket on client. A bucket that does
// not exist yet starts full, refilling at limit units per second up to
// burst units; an existing one keeps its stored limit and burst. New does
// not talk to Redis.
func New(client redis.Scripter, account string, limit, burst float64, opts *Options) (*Limiter, error) {
	if opts == nil {
		opts = &Options{}
	}
	var errs []error
	if client == nil {
		errs = append(errs, fmt.Errorf("%w: client is nil", ErrInvalidOptions))
	}
	if account == "" {
		errs = append(errs, fmt.Errorf("%w: account is empty", ErrInvalidOptions))
	}
	if opts.TTL < 0 {
		errs = append(errs, fmt.Errorf("%w: TTL %v is negative", ErrInvalidOptions, opts.TTL))
	}
	errs = append(errs, ratelimit.CheckBudget(limit, burst))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	prefix, ttl := opts.Prefix, opts.TTL
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	return &Limiter{
		client:     client,
		key:        prefix + account,
		limit:      ftoa(limit),
		burst:      ftoa(burst),
		ttl:        strconv.FormatInt(max(1, ttl.Milliseconds()), 10),
		serverTime: opts.ServerTime,
	}, nil
}

// Key returns the Redis key of the bucket.
func (l *Limiter) Key() string { return l.key }

// Wait implements [ratelimit.Limiter.Wait] with [ratelimit.WaitOn].
func (l *Limiter) Wait(ctx context.Context, cost float64) error {
	return ratelimit.WaitOn(ctx, l, cost)
}

// Reserve implements [ratelimit.Limiter.Reserve] in one script call.
func (l *Limiter) Reserve(ctx context.Context, now time.Time, cost float64) (time.Duration, error) {
	if err := ratelimit.CheckCost(cost); err != nil {
		return 0, err
	}
	r, err := l.run(ctx, now, "reserve", ftoa(cost))
	if err != nil {
		return 0, err
	}
	switch r[0] {
	case "ok":
		us, err := l.number(r, 1)
		if err != nil {
			return 0, err
		}
		return usToDuration(us), nil
	case "burst":
		return 0, fmt.Errorf("%w: cost %v, burst %s", ratelimit.ErrCostExceedsBurst, cost, r[1])
	case "norefill":
		return 0, fmt.Errorf("%w: cost %v, tokens %s", ratelimit.ErrNoRefill, cost, r[1])
	}
	return 0, l.badReply(r)
}

// Observe implements [ratelimit.Limiter.Observe] in one script call: the
// change is seen by every Limiter on the key.
func (l *Limiter) Observe(ctx context.Context, now time.Time, o ratelimit.Observation) error {
	if err := o.Validate(); err != nil {
		return err
	}
	drain := ""
	if d, ok := o.DrainTo(); ok {
		drain = ftoa(d)
	}
	_, err := l.run(ctx, now, "observe",
		ftoa(o.Limit), ftoa(o.Burst), ftoa(o.Settle()), drain,
		strconv.FormatInt(o.RetryAfter.Microseconds(), 10))
	return err
}

// State implements [ratelimit.Limiter.State]. With Options.ServerTime it
// reports the state at the server's time.
func (l *Limiter) State(ctx context.Context, now time.Time) (ratelimit.Budget, error) {
	r, err := l.run(ctx, now, "state")
	if err != nil {
		return ratelimit.Budget{}, err
	}
	var v [4]float64
	for i := range v {
		if v[i], err = l.number(r, i+1); err != nil {
			return ratelimit.Budget{}, err
		}
	}
	b := ratelimit.Budget{Limit: v[0], Burst: v[1], Tokens: v[2]}
	if v[3] > 0 {
		b.HoldUntil = time.UnixMicro(int64(v[3])).In(now.Location())
	}
	return b, nil
}

// run runs the script and returns its reply.
func (l *Limiter) run(ctx context.Context, now time.Time, op string, args ...string) ([]string, error) {
	nowArg := ""
	if !l.serverTime {
		nowArg = strconv.FormatInt(now.UnixMicro(), 10)
	}
	argv := make([]any, 0, 5+len(args))
	argv = append(argv, op, nowArg, l.limit, l.burst, l.ttl)
	for _, a := range args {
		argv = append(argv, a)
	}
	r, err := bucket.Run(ctx, l.client, []string{l.key}, argv...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redislimit: %s %s: %w", op, l.key, err)
	}
	if len(r) == 0 || r[0] != "ok" && len(r) < 2 {
		return nil, l.badReply(r)
	}
	return r, nil
}

func (l *Limiter) number(r []string, i int) (float64, error) {
	if i >= len(r) {
		return 0, l.badReply(r)
	}
	v, err := strconv.ParseFloat(r[i], 64)
	if err != nil {
		return 0, l.badReply(r)
	}
	return v, nil
}

func (l *Limiter) badReply(r []string) error {
	return fmt.Errorf("redislimit: %s: unexpected script reply %q", l.key, r)
}

// usToDuration converts the script's microseconds, rounding up to the
// nanosecond and saturating.
func usToDuration(us float64) time.Duration {
	ns := math.Ceil(us * 1e3)
	switch {
	case ns <= 0:
		return 0
	case ns >= math.MaxInt64:
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ns)
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
