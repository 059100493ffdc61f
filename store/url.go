package store

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"sync"
)

// URLOpener opens a driver from a URL.
type URLOpener func(ctx context.Context, u *url.URL) (Driver, error)

var (
	openersMu sync.RWMutex
	openers   = map[string]URLOpener{}
)

// Register makes a backend available to Open under a URL scheme. Backends
// call it from init; registering a scheme twice panics.
func Register(scheme string, o URLOpener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	if _, dup := openers[scheme]; dup {
		panic("store: scheme registered twice: " + scheme)
	}
	openers[scheme] = o
}

// Open opens a store by URL, such as bolt:///var/lib/stockgate/stockgate.db
// or redis://127.0.0.1:6379/0. The backend's package must be imported
// (for its registration).
func Open(ctx context.Context, urlstr string) (*Store, error) {
	u, err := url.Parse(urlstr)
	if err != nil {
		return nil, fmt.Errorf("store: open %q: %w", urlstr, err)
	}
	openersMu.RLock()
	o, ok := openers[u.Scheme]
	var schemes []string
	for s := range openers {
		schemes = append(schemes, s)
	}
	openersMu.RUnlock()
	if !ok {
		sort.Strings(schemes)
		return nil, fmt.Errorf("store: no backend for scheme %q (have %v)", u.Scheme, schemes)
	}
	d, err := o(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", u.Redacted(), err)
	}
	return New(d), nil
}
