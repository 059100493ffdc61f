package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stockgate/stockgate/store"
)

// Errors of the key admin calls.
var (
	// ErrKeyNotFound: no admin-made key has that id.
	ErrKeyNotFound = errors.New("auth: no such key")
	// ErrNoStore: keys cannot be made or revoked without a store.
	ErrNoStore = errors.New("auth: keys need a store")
)

const (
	// missTTL is how long an unknown key is answered from memory before
	// the store is asked again.
	missTTL = 2 * time.Second
	// maxMisses bounds the memory of unknown keys.
	maxMisses = 10_000
)

// RecordStore is what Keys needs of the store (a *store.Store).
type RecordStore interface {
	CreateRecord(ctx context.Context, r store.Record) error
	PutRecord(ctx context.Context, r store.Record) error
	GetRecord(ctx context.Context, kind, id string) (store.Record, error)
	AllRecords(ctx context.Context, kind string) ([]store.Record, error)
}

// ManagedKey is a key made by an admin, as the store keeps it: its secret
// only as a SHA-256 hash.
type ManagedKey struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      Role       `json:"role"`
	Channels  []string   `json:"channels,omitempty"`
	Hash      string     `json:"hash"` // hex SHA-256 of the secret
	CreatedAt time.Time  `json:"createdAt"`
	CreatedBy string     `json:"createdBy"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	RevokedBy string     `json:"revokedBy,omitempty"`
}

// Principal returns the caller the key identifies.
func (m ManagedKey) Principal() Principal {
	return Principal{ID: m.ID, Name: m.Name, Role: m.Role, Channels: m.Channels}
}

// keyID is the record id of a secret's hash: the id is public (listed,
// audited), the hash prefix reveals nothing of a 256-bit random secret,
// and a lookup needs one store read.
func keyID(h [32]byte) string { return "key_" + hex.EncodeToString(h[:10]) }

// SetStore makes k keep admin-made keys in st. Call it before serving.
func (k *Keys) SetStore(st RecordStore) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.st = st
}

// load reads the key of hash h from the store; a revoked or unknown key
// is not found.
func (k *Keys) load(ctx context.Context, h [32]byte) (Principal, bool) {
	r, err := k.st.GetRecord(ctx, store.RecordAPIKey, keyID(h))
	if err != nil {
		return Principal{}, false
	}
	var m ManagedKey
	if json.Unmarshal(r.Data, &m) != nil || m.RevokedAt != nil {
		return Principal{}, false
	}
	want, err := hex.DecodeString(m.Hash)
	if err != nil || subtle.ConstantTimeCompare(want, h[:]) != 1 {
		return Principal{}, false
	}
	p := m.Principal()
	k.mu.Lock()
	k.managed[h] = p
	k.mu.Unlock()
	return p, true
}

// Create makes a key and returns its secret, which is shown once and kept
// nowhere. by names who made it.
func (k *Keys) Create(ctx context.Context, name string, role Role, channels []string, by string) (string, ManagedKey, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return "", ManagedKey{}, err
	}
	if name == "" {
		return "", ManagedKey{}, errors.New("auth: a key needs a name")
	}
	if role == Admin && len(channels) > 0 {
		return "", ManagedKey{}, errors.New("auth: only storefront keys can be limited to channels")
	}
	k.mu.RLock()
	st := k.st
	k.mu.RUnlock()
	if st == nil {
		return "", ManagedKey{}, ErrNoStore
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", ManagedKey{}, fmt.Errorf("auth: %w", err)
	}
	secret := "sgk_" + base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(secret))
	m := ManagedKey{
		ID: keyID(h), Name: name, Role: role, Channels: channels,
		Hash: hex.EncodeToString(h[:]), CreatedAt: k.now().UTC(), CreatedBy: by,
	}
	data, err := json.Marshal(m)
	if err != nil {
		return "", ManagedKey{}, err
	}
	if err := st.CreateRecord(ctx, store.Record{Kind: store.RecordAPIKey, ID: m.ID, Data: data, UpdatedAt: m.CreatedAt}); err != nil {
		return "", ManagedKey{}, fmt.Errorf("auth: create key: %w", err)
	}
	k.mu.Lock()
	k.managed[h] = m.Principal()
	delete(k.unknown, h)
	k.mu.Unlock()
	return secret, m, nil
}

// List returns every admin-made key, revoked ones included, by id.
func (k *Keys) List(ctx context.Context) ([]ManagedKey, error) {
	k.mu.RLock()
	st := k.st
	k.mu.RUnlock()
	if st == nil {
		return nil, nil
	}
	rs, err := st.AllRecords(ctx, store.RecordAPIKey)
	if err != nil {
		return nil, err
	}
	out := make([]ManagedKey, 0, len(rs))
	for _, r := range rs {
		var m ManagedKey
		if err := json.Unmarshal(r.Data, &m); err != nil {
			return nil, fmt.Errorf("auth: key %s: %w", r.ID, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// Revoke revokes a key: it is refused from now on, on this replica at
// once (its open websockets and streams are closed) and on the others at
// their next Refresh. Revoking a revoked key changes nothing.
func (k *Keys) Revoke(ctx context.Context, id, by string) (ManagedKey, error) {
	k.mu.RLock()
	st := k.st
	k.mu.RUnlock()
	if st == nil {
		return ManagedKey{}, ErrNoStore
	}
	r, err := st.GetRecord(ctx, store.RecordAPIKey, id)
	if errors.Is(err, store.ErrNotFound) {
		return ManagedKey{}, ErrKeyNotFound
	}
	if err != nil {
		return ManagedKey{}, err
	}
	var m ManagedKey
	if err := json.Unmarshal(r.Data, &m); err != nil {
		return ManagedKey{}, fmt.Errorf("auth: key %s: %w", id, err)
	}
	if m.RevokedAt == nil {
		at := k.now().UTC()
		m.RevokedAt, m.RevokedBy = &at, by
		data, err := json.Marshal(m)
		if err != nil {
			return ManagedKey{}, err
		}
		if err := st.PutRecord(ctx, store.Record{Kind: store.RecordAPIKey, ID: m.ID, Data: data, UpdatedAt: at}); err != nil {
			return ManagedKey{}, fmt.Errorf("auth: revoke key: %w", err)
		}
	}
	k.forget(m)
	return m, nil
}

// forget drops a revoked key from memory and closes what it opened.
func (k *Keys) forget(m ManagedKey) {
	h, err := hex.DecodeString(m.Hash)
	k.mu.Lock()
	if err == nil && len(h) == 32 {
		delete(k.managed, [32]byte(h))
	}
	ws := k.watches[m.ID]
	delete(k.watches, m.ID)
	k.mu.Unlock()
	for w := range ws {
		if w.fn != nil {
			go w.fn() // a connection's close may wait for its client
		} else {
			w.cancel(errRevoked)
		}
	}
}

// Refresh reloads the admin-made keys from the store, so that keys
// revoked on another replica stop working here and their connections
// close.
func (k *Keys) Refresh(ctx context.Context) error {
	ms, err := k.List(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.RevokedAt != nil {
			k.forget(m)
		}
	}
	return nil
}

// Run refreshes every interval until ctx ends.
func (k *Keys) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_ = k.Refresh(ctx) // a store outage keeps the keys known until it ends
		}
	}
}

// errRevoked is the cause of a context ended by a revocation.
var errRevoked = errors.New("auth: key revoked")

// IsRevoked reports whether ctx ended because its key was revoked.
func IsRevoked(ctx context.Context) bool { return errors.Is(context.Cause(ctx), errRevoked) }

// watch is one open connection of a key: the cancel of its context
// (Watch), or the function to call (OnRevoke).
type watch struct {
	cancel context.CancelCauseFunc
	fn     func()
}

// Watch returns a context that ends when key id is revoked, and a func
// that stops watching (call it when the connection ends).
func (k *Keys) Watch(ctx context.Context, id string) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := k.watch(id, &watch{cancel: cancel})
	return ctx, func() {
		stop()
		cancel(context.Canceled)
	}
}

// OnRevoke calls fn, on a goroutine of its own, if key id is revoked
// before stop is called: Watch for a connection that closes itself, with
// no context to end.
func (k *Keys) OnRevoke(id string, fn func()) (stop func()) {
	return k.watch(id, &watch{fn: fn})
}

// watch adds w to the watches of key id and returns the func that removes
// it.
func (k *Keys) watch(id string, w *watch) func() {
	k.mu.Lock()
	set := k.watches[id]
	if set == nil {
		set = map[*watch]struct{}{}
		k.watches[id] = set
	}
	set[w] = struct{}{}
	k.mu.Unlock()
	return func() {
		k.mu.Lock()
		delete(k.watches[id], w)
		if len(k.watches[id]) == 0 {
			delete(k.watches, id)
		}
		k.mu.Unlock()
	}
}
