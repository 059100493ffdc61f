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
	"strings"
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
	// Name is the key's name, for logs and the audit trail.
	Name string
	Role Role
}

// Can reports whether p may act with role r: admins may do everything.
func (p Principal) Can(r Role) bool { return p.Role == Admin || p.Role == r }

// Keys is a set of API keys. The zero value holds none.
type Keys struct {
	byHash map[[32]byte]Principal
}

// NewKeys returns an empty key set.
func NewKeys() *Keys { return &Keys{byHash: map[[32]byte]Principal{}} }

// Add adds a key.
func (k *Keys) Add(secret string, p Principal) error {
	if len(secret) < 16 {
		return errors.New("auth: a key must be at least 16 characters")
	}
	k.byHash[sha256.Sum256([]byte(secret))] = p
	return nil
}

// Len returns the number of keys.
func (k *Keys) Len() int { return len(k.byHash) }

// Lookup returns the principal of a key.
func (k *Keys) Lookup(secret string) (Principal, bool) {
	if k == nil || secret == "" {
		return Principal{}, false
	}
	p, ok := k.byHash[sha256.Sum256([]byte(secret))]
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
		p, ok := k.Lookup(tok)
		if !ok {
			unauthorized(w, "unknown or revoked key")
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
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
