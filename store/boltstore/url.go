package boltstore

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/stockgate/stockgate/store"
)

// Scheme is the URL scheme boltstore opens.
const Scheme = "bolt"

// OpenURL opens a "bolt://" URL: host and path together are the file path,
// query parameters set Options (see the package doc). It reports every
// problem with the URL at once.
func OpenURL(u *url.URL) (store.Driver, error) {
	opts, path, err := parseURL(u)
	if err != nil {
		return nil, err
	}
	return Open(path, opts)
}

func parseURL(u *url.URL) (*Options, string, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if u.Scheme != Scheme {
		bad("scheme must be %q", Scheme)
	}
	if u.User != nil {
		bad("user info is not allowed")
	}
	if u.Opaque != "" {
		bad("want bolt:///absolute/path or bolt://./relative/path")
	}
	path := u.Host + u.Path
	if path == "" && u.Opaque == "" {
		bad("no file path")
	}
	opts := &Options{}
	q := u.Query()
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range q {
			if !yield(name) {
				return
			}
		}
	})
	for _, name := range names {
		vals := q[name]
		if len(vals) != 1 {
			bad("query parameter %q given %d times", name, len(vals))
			continue
		}
		v := vals[0]
		duration := func(dst *time.Duration) {
			dur, err := time.ParseDuration(v)
			if err != nil || dur < 0 {
				bad("query parameter %q: want a duration such as 5s, got %q", name, v)
			}
			*dst = dur
		}
		switch name {
		case "nosync":
			b, err := strconv.ParseBool(v)
			if err != nil {
				bad("query parameter %q: want true or false, got %q", name, v)
			}
			opts.NoSync = b
		case "max_batch_size":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				bad("query parameter %q: want a count, got %q", name, v)
			}
			opts.MaxBatchSize = n
		case "max_batch_delay":
			duration(&opts.MaxBatchDelay)
			if opts.MaxBatchDelay == 0 {
				opts.MaxBatchDelay = -1 // 0 in a URL: never wait
			}
		case "dedup_sweep_interval":
			duration(&opts.DedupSweepInterval)
		case "lock_timeout":
			duration(&opts.LockTimeout)
		default:
			bad("unknown query parameter %q", name)
		}
	}
	if len(errs) > 0 {
		return nil, "", fmt.Errorf("boltstore: open %s: %w", u.Redacted(), errors.Join(errs...))
	}
	return opts, path, nil
}
