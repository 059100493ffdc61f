// Package auth holds stockgate's API keys and roles: who may call the
// GraphQL API and what they may do.
//
// Admin keys may do everything; storefront keys may query and subscribe.
// A request carries its key as "Authorization: Bearer <key>"; a websocket
// may carry it in its connection_init payload instead, since browsers
// cannot set headers on websockets. Keys are kept only as SHA-256 hashes in
// memory and compared by hash.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Role is what a key may do.
type Role string

// The roles.
const (
	Admin      Role = "admin"
	Storefront Role = "storefront"
)

// ParseRole returns the Role named s.
func ParseRole(s string) (Role, error) {
	switch Role(s) {
	case Admin, Storefront:
		return Role(s), nil
	}
	return "", fmt.Errorf("auth: unknown role %q (want admin or storefront)", s)
}

// Principal is the caller a key identifies.
type Principal struct {
	// ID identifies the key: "config:<name>" for keys from the
	// configuration, the record id for keys made by admins.
	ID string
	// Name is the key's name, for logs and the audit trail.
	Name string
	Role Role
	// Channels limits a storefront key to these channels; empty: no limit.
	Channels []string
}

// Can reports whether p may act with role r: admins may do everything.
func (p Principal) Can(r Role) bool { return p.Role == Admin || p.Role == r }

// Limited reports whether p is limited to some channels.
func (p Principal) Limited() bool { return p.Role != Admin && len(p.Channels) > 0 }

// CanSeeChannel reports whether p may read channel ch.
func (p Principal) CanSeeChannel(ch string) bool {
	return !p.Limited() || slices.Contains(p.Channels, ch)
}

// Keys is the set of API keys: those of the configuration (Add) and, when
// it has a store (SetStore), those admins made, which it reads through on
// a miss and reloads on Refresh. NewKeys makes one.
type Keys struct {
	mu      sync.RWMutex
	byHash  map[[32]byte]Principal // configuration keys
	managed map[[32]byte]Principal // admin-made keys, live ones only
	unknown map[[32]byte]time.Time // recent misses, so bad keys cost no store read
	st      RecordStore
	now     func() time.Time
	watches map[string]map[*watch]struct{} // key id → open connections
}

// NewKeys returns an empty key set.
func NewKeys() *Keys {
	return &Keys{
		byHash: map[[32]byte]Principal{}, managed: map[[32]byte]Principal{},
		unknown: map[[32]byte]time.Time{}, now: time.Now,
		watches: map[string]map[*watch]struct{}{},
	}
}

// Add adds a configuration key. Its ID is "config:" + p.Name unless set.
func (k *Keys) Add(secret string, p Principal) error {
	if len(secret) < 16 {
		return errors.New("auth: a key must be at least 16 characters")
	}
	if p.ID == "" {
		p.ID = "config:" + p.Name
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.byHash[sha256.Sum256([]byte(secret))] = p
	return nil
}

// Len returns the number of configuration keys.
func (k *Keys) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.byHash)
}

// Lookup returns the principal of a key.
func (k *Keys) Lookup(secret string) (Principal, bool) {
	return k.LookupContext(context.Background(), secret)
}

// LookupContext returns the principal of a key, reading the store when
// the key is not known yet (made on another replica).
func (k *Keys) LookupContext(ctx context.Context, secret string) (Principal, bool) {
	if k == nil || secret == "" {
		return Principal{}, false
	}
	h := sha256.Sum256([]byte(secret))
	k.mu.RLock()
	p, ok := k.byHash[h]
	if !ok {
		p, ok = k.managed[h]
	}
	missed, recent := k.unknown[h]
	st := k.st
	k.mu.RUnlock()
	if ok || st == nil || (recent && k.now().Sub(missed) < missTTL) {
		return p, ok
	}
	p, ok = k.load(ctx, h)
	if !ok {
		k.mu.Lock()
		if len(k.unknown) >= maxMisses {
			clear(k.unknown)
		}
		k.unknown[h] = k.now()
		k.mu.Unlock()
	}
	return p, ok
}

// Token returns the bearer token of an Authorization header value, or "".
func Token(header string) string {
	const prefix = "bearer "
	if len(header) > len(prefix) && strings.EqualFold(header[:len(prefix)], prefix) {
		return strings.TrimSpace(header[len(prefix):])
	}
	return ""
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the caller, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// Middleware authenticates requests. A request with a valid key carries
// its principal in its context; one with a wrong key is answered 401; one
// with no key passes unauthenticated only when it is a websocket upgrade
// (its key comes in connection_init), and is answered 401 otherwise.
func (k *Keys) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := Token(r.Header.Get("Authorization"))
		if tok == "" {
			if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
				next.ServeHTTP(w, r)
				return
			}
			unauthorized(w, "missing Authorization: Bearer <key>")
			return
		}
		p, ok := k.LookupContext(r.Context(), tok)
		if !ok {
			unauthorized(w, "unknown or revoked key")
			return
		}
		ctx := WithPrincipal(r.Context(), p)
		if streaming(r) {
			// A revocation ends the request: that closes a websocket or
			// an SSE stream opened with this key. A plain query is over
			// before a revocation could matter, and is not watched.
			var stop func()
			ctx, stop = k.Watch(ctx, p.ID)
			defer stop()
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// streaming reports whether r opens a long-lived stream: a websocket
// upgrade or an SSE subscription.
func streaming(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") ||
		strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("WWW-Authenticate", `Bearer realm="stockgate"`)
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintf(w, `{"errors":[{"message":%q,"extensions":{"code":"UNAUTHENTICATED"}}]}`, msg)
}

// BootstrapFile is the name of the generated admin key in the data dir.
const BootstrapFile = "admin.key"

// Bootstrap returns the admin key kept in dataDir, creating it (mode 0600)
// when absent. created reports whether it was made now, so the caller
// prints it once.
func Bootstrap(dataDir string) (key string, created bool, err error) {
	path := filepath.Join(dataDir, BootstrapFile)
	raw, err := os.ReadFile(path)
	if err == nil {
		key = strings.TrimSpace(string(raw))
		if len(key) < 16 {
			return "", false, fmt.Errorf("auth: %s holds no usable key; delete it to make a new one", path)
		}
		return key, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("auth: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", false, fmt.Errorf("auth: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", false, fmt.Errorf("auth: %w", err)
	}
	key = "sgk_" + base64.RawURLEncoding.EncodeToString(b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", false, fmt.Errorf("auth: %w", err)
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		return "", false, fmt.Errorf("auth: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", false, fmt.Errorf("auth: %w", err)
	}
	return key, true, f.Close()
}
