package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stockgate/stockgate/store"
)

// URL schemes OpenURL opens.
const (
	Scheme    = "redis"
	SchemeTLS = "rediss"
)

// PasswordEnv names the environment variable OpenURL reads the password
// from when the URL carries none.
const PasswordEnv = "REDIS_PASSWORD"

// Query parameters that set Options; the rest go to redis.ParseURL.
const (
	paramPrefix     = "prefix"
	paramDedupGrace = "dedup_grace"
)

// OpenURL opens a "redis://" or "rediss://" (TLS) URL such as
// redis://127.0.0.1:6379/0?prefix={stockgate}: with a client of its own,
// which Close closes. The prefix and dedup_grace parameters set Options;
// the others are go-redis's (see redis.ParseURL), and an unknown one is an
// error. The password is the URL's or, when the URL has none, the
// REDIS_PASSWORD environment variable's. Unless the URL sets max_retries,
// the client does not retry failed commands (see Open).
func OpenURL(ctx context.Context, u *url.URL) (store.Driver, error) {
	ro, opts, err := parseURL(u, os.Getenv(PasswordEnv))
	if err != nil {
		return nil, err
	}
	c := redis.NewClient(ro)
	d, err := open(ctx, c, true, opts)
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redisstore: open %s: %w", u.Redacted(), err)
	}
	return d, nil
}

// parseURL splits u into go-redis's options and ours, reporting every
// problem at once. Errors show the URL redacted.
func parseURL(u *url.URL, envPassword string) (*redis.Options, *Options, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if u.Scheme != Scheme && u.Scheme != SchemeTLS {
		bad("scheme must be %q or %q", Scheme, SchemeTLS)
	}
	opts := &Options{}
	q := u.Query()
	for _, name := range []string{paramPrefix, paramDedupGrace} {
		vals, ok := q[name]
		if !ok {
			continue
		}
		q.Del(name)
		if len(vals) != 1 {
			bad("query parameter %q given %d times", name, len(vals))
			continue
		}
		v := vals[0]
		switch name {
		case paramPrefix:
			if v == "" {
				bad("query parameter %q is empty", name)
			}
			opts.Prefix = v
		case paramDedupGrace:
			dur, err := time.ParseDuration(v)
			if err != nil {
				bad("query parameter %q: want a duration such as 1h (negative: no Redis TTL), got %q", name, v)
			}
			opts.DedupGrace = dur
		}
	}
	rest := *u
	if rest.Scheme != SchemeTLS {
		rest.Scheme = Scheme // a wrong scheme is reported above
	}
	rest.RawQuery = q.Encode()
	ro, err := redis.ParseURL(rest.String())
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the URL, password and all
		}
		msg := err.Error()
		if r, ok := strings.CutPrefix(msg, "redis: unexpected option: "); ok {
			names := strings.Split(r, ", ")
			slices.Sort(names)
			for _, n := range names {
				bad("unknown query parameter %q", n)
			}
		} else {
			bad("%s", strings.TrimPrefix(msg, "redis: "))
		}
	}
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("redisstore: open %s: %w", u.Redacted(), errors.Join(errs...))
	}
	if ro.Password == "" && envPassword != "" {
		ro.Password = envPassword
	}
	if !q.Has("max_retries") {
		ro.MaxRetries = -1
	}
	return ro, opts, nil
}
