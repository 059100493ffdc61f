package registry

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/channel"
	"github.com/stockgate/stockgate/config"
	"github.com/stockgate/stockgate/seal"
	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

// target records what a Registry applied.
type target struct {
	mu     sync.Mutex
	conns  map[string]config.Connector
	paused map[string]bool
}

func newTarget() *target {
	return &target{conns: map[string]config.Connector{}, paused: map[string]bool{}}
}

func (t *target) Apply(_ context.Context, c config.Connector) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.conns[c.ID] = c
	return nil
}

func (t *target) Unregister(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.conns, id)
}

func (t *target) SetPaused(id string, p bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.paused[id] = p
}

func (t *target) get(id string) (config.Connector, bool, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.conns[id]
	return c, ok, t.paused[id]
}

func newRegistry(t *testing.T, st *store.Store, key *seal.Key) (*Registry, *target) {
	t.Helper()
	tg := newTarget()
	cfg := &config.Config{Locations: []config.Location{{ID: "web"}, {ID: "berlin"}}}
	r, err := New(Options{Store: st, Config: cfg, Key: key, Target: tg})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r, tg
}

// TestReplicasFollowChanges: a connector made, paused, rotated and
// deleted on one replica reaches another at its next refresh, secrets
// opened there with the shared key.
func TestReplicasFollowChanges(t *testing.T) {
	ctx := context.Background()
	key, _ := seal.ParseKey("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	st := store.New(memstore.New(nil))
	a, ta := newRegistry(t, st, key)
	b, tb := newRegistry(t, st, key)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go b.Run(runCtx, 10*time.Millisecond)

	in := Input{ID: "pos-1", Kind: "pos", Stores: map[string]string{"s1": "berlin"}}
	if _, err := a.Create(ctx, in, Secrets{Webhook: []string{"pos-secret-0123456789"}}, "k1"); err != nil {
		t.Fatal(err)
	}
	if c, ok, _ := ta.get("pos-1"); !ok || c.SecretValues[0] != "pos-secret-0123456789" {
		t.Fatalf("replica a: %+v %v", c, ok)
	}
	eventually(t, "b serves the connector", func() bool {
		c, ok, _ := tb.get("pos-1")
		return ok && len(c.SecretValues) == 1 && c.SecretValues[0] == "pos-secret-0123456789" && c.Stores["s1"] == "berlin"
	})
	if _, err := a.RotateSecrets(ctx, "pos-1", Secrets{Webhook: []string{"pos-secret-new-0123456"}}, true, "k1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b has both secrets, new first", func() bool {
		c, _, _ := tb.get("pos-1")
		return len(c.SecretValues) == 2 && c.SecretValues[0] == "pos-secret-new-0123456" && c.SecretValues[1] == "pos-secret-0123456789"
	})
	if _, err := a.SetPaused(ctx, "pos-1", true, "k1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b pauses it", func() bool { _, _, p := tb.get("pos-1"); return p })
	if err := a.Delete(ctx, "pos-1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b stops serving it", func() bool { _, ok, _ := tb.get("pos-1"); return !ok })
	if _, err := a.Get(ctx, "pos-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after delete: %v", err)
	}
}

// TestSecretsNeedTheKey: without a key, a connector with secrets is
// refused, and a store holding sealed secrets refuses to load.
func TestSecretsNeedTheKey(t *testing.T) {
	ctx := context.Background()
	st := store.New(memstore.New(nil))
	noKey, _ := newRegistry(t, st, nil)
	in := Input{ID: "pos-1", Kind: "pos"}
	if _, err := noKey.Create(ctx, in, Secrets{Webhook: []string{"pos-secret-0123456789"}}, "k"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("create with secrets and no key: %v", err)
	}
	key, _ := seal.ParseKey("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	withKey, _ := newRegistry(t, st, key)
	if _, err := withKey.Create(ctx, in, Secrets{Webhook: []string{"pos-secret-0123456789"}}, "k"); err != nil {
		t.Fatal(err)
	}
	rec, err := st.GetRecord(ctx, store.RecordConnector, "pos-1")
	if err != nil || containsBytes(rec.Data, "pos-secret-0123456789") {
		t.Fatalf("record %s, %v: the secret is in clear", rec.Data, err)
	}
	r, err := New(Options{Store: st, Config: &config.Config{}, Target: newTarget()})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Load(ctx); !errors.Is(err, seal.ErrNoKey) {
		t.Fatalf("Load without the key: %v, want seal.ErrNoKey", err)
	}
	if _, err := withKey.Create(ctx, Input{ID: "x", Kind: "pos", Stores: map[string]string{"s": "nowhere"}}, Secrets{Webhook: []string{"pos-secret-0123456789"}}, "k"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a store mapped to an undeclared location: %v", err)
	}
}

func containsBytes(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rules records the rules a Registry applied.
type rules struct {
	mu sync.Mutex
	m  map[string]channel.Rule
}

func (r *rules) Rule(account string) (channel.Rule, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rule, ok := r.m[account]
	if !ok {
		return rule, errors.New("unknown account")
	}
	return rule, nil
}

func (r *rules) SetRule(account string, rule channel.Rule) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[account] = rule
	return nil
}

func (r *rules) get(account string) channel.Rule {
	rule, _ := r.Rule(account)
	return rule
}

// TestChannelRulesReachReplicasAndRestarts: a rule set on one replica is
// applied on another at its refresh, and by a registry started later.
func TestChannelRulesReachReplicasAndRestarts(t *testing.T) {
	ctx := context.Background()
	st := store.New(memstore.New(nil))
	open := func() (*Registry, *rules) {
		rs := &rules{m: map[string]channel.Rule{"shop": {Channel: "shop", Locations: []string{"web"}}}}
		r, err := New(Options{Store: st, Config: &config.Config{}, Target: newTarget(), Rules: rs})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Load(ctx); err != nil {
			t.Fatal(err)
		}
		return r, rs
	}
	a, ra := open()
	b, rb := open()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go b.Run(runCtx, 10*time.Millisecond)

	want := channel.Rule{Channel: "shop", Locations: []string{"web", "berlin"}, BufferUnits: 2}
	if _, err := a.SetRule(ctx, "shop", channel.Rule{Locations: want.Locations, BufferUnits: 2}, "k"); err != nil {
		t.Fatal(err)
	}
	if got := ra.get("shop"); got.BufferUnits != 2 || len(got.Locations) != 2 || got.Channel != "shop" {
		t.Fatalf("replica a: %+v", got)
	}
	eventually(t, "b applies the rule", func() bool { return rb.get("shop").BufferUnits == 2 })
	_, rc := open()
	if got := rc.get("shop"); got.BufferUnits != 2 {
		t.Fatalf("a registry started later has %+v", got)
	}
	if _, err := a.SetRule(ctx, "nope", want, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
	if _, err := a.SetRule(ctx, "shop", channel.Rule{}, "k"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a rule with no location: %v", err)
	}
}
