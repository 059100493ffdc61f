package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/store"
	"github.com/stockgate/stockgate/store/memstore"
)

func TestManagedKeys(t *testing.T) {
	ctx := context.Background()
	st := store.New(memstore.New(nil))
	a, b := NewKeys(), NewKeys() // two replicas sharing a store
	a.SetStore(st)
	b.SetStore(st)

	secret, m, err := a.Create(ctx, "shop-front", Storefront, []string{"shopify-eu"}, "config:ops")
	if err != nil {
		t.Fatal(err)
	}
	if m.Hash == secret || len(m.Hash) != 64 {
		t.Fatalf("stored hash %q", m.Hash)
	}
	rec, err := st.GetRecord(ctx, store.RecordAPIKey, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(rec.Data) == "" || strings.Contains(string(rec.Data), secret) {
		t.Fatalf("the record holds the secret: %s", rec.Data)
	}
	// b never saw the key made: it reads it from the store.
	p, ok := b.Lookup(secret)
	if !ok || p.ID != m.ID || p.Role != Storefront || !p.Limited() || !p.CanSeeChannel("shopify-eu") || p.CanSeeChannel("amazon-de") {
		t.Fatalf("replica b: %+v %v", p, ok)
	}
	if _, ok := b.Lookup(secret + "x"); ok {
		t.Fatal("a wrong secret was accepted")
	}

	// An open connection on each replica.
	ctxA, stopA := a.Watch(ctx, m.ID)
	defer stopA()
	ctxB, stopB := b.Watch(ctx, m.ID)
	defer stopB()

	if _, err := a.Revoke(ctx, m.ID, "config:ops"); err != nil {
		t.Fatal(err)
	}
	if ctxA.Err() == nil || !IsRevoked(ctxA) {
		t.Fatal("revoking did not end the connection on the replica that revoked")
	}
	if _, ok := a.Lookup(secret); ok {
		t.Fatal("revoked key still accepted on a")
	}
	if ctxB.Err() != nil {
		t.Fatal("b closed before it refreshed")
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if !IsRevoked(ctxB) {
		t.Fatal("refresh did not end b's connection")
	}
	if _, ok := b.Lookup(secret); ok {
		t.Fatal("revoked key still accepted on b")
	}
	keys, err := a.List(ctx)
	if err != nil || len(keys) != 1 || keys[0].RevokedAt == nil || keys[0].RevokedBy != "config:ops" {
		t.Fatalf("List = %+v, %v", keys, err)
	}
	if _, err := a.Revoke(ctx, "key_nope", "x"); err != ErrKeyNotFound {
		t.Fatalf("revoke unknown: %v", err)
	}
	if _, _, err := a.Create(ctx, "x", Admin, []string{"c"}, "x"); err == nil {
		t.Fatal("an admin key limited to channels was made")
	}
}

// TestOnRevoke: the function of a watch is called when its key is revoked,
// on this replica or (at its refresh) on another, and not once the watch
// was stopped; stopped watches are forgotten.
func TestOnRevoke(t *testing.T) {
	ctx := context.Background()
	st := store.New(memstore.New(nil))
	a, b := NewKeys(), NewKeys()
	a.SetStore(st)
	b.SetStore(st)
	_, m, err := a.Create(ctx, "tab", Storefront, nil, "config:ops")
	if err != nil {
		t.Fatal(err)
	}
	calls := make(chan string, 3)
	on := func(k *Keys, name string) func() {
		return k.OnRevoke(m.ID, func() { calls <- name })
	}
	stopA := on(a, "a")
	defer stopA()
	on(a, "stopped")()
	stopB := on(b, "b")
	defer stopB()
	if _, err := a.Revoke(ctx, m.ID, "config:ops"); err != nil {
		t.Fatal(err)
	}
	if got := <-calls; got != "a" {
		t.Fatalf("revoking on a called %q first, want a", got)
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := <-calls; got != "b" {
		t.Fatalf("b's refresh called %q, want b", got)
	}
	select {
	case got := <-calls:
		t.Fatalf("%q called as well", got)
	case <-time.After(50 * time.Millisecond):
	}
	a.mu.Lock()
	n := len(a.watches)
	a.mu.Unlock()
	if n != 0 {
		t.Fatalf("a still holds the watches of %d keys", n)
	}

	// Stopping forgets the watch: nothing is left for the key.
	_, m2, err := a.Create(ctx, "tab2", Storefront, nil, "config:ops")
	if err != nil {
		t.Fatal(err)
	}
	a.OnRevoke(m2.ID, func() { calls <- "x" })()
	a.mu.Lock()
	n = len(a.watches)
	a.mu.Unlock()
	if n != 0 {
		t.Fatalf("a stopped watch is still held (%d keys watched)", n)
	}
}
