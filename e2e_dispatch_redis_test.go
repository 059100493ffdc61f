package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
)

// TestReplicasSyncThroughRedis: two gateways on one Redis store, each
// with the same Shopify sync connector. A POS sale reaches the shop
// through whichever replica holds the account's lease, and the lease, the
// shared breaker and the shop's shared rate budget live in Redis under the
// store's prefix (the dispatch wiring of server.go).
func TestReplicasSyncThroughRedis(t *testing.T) {
	rc := needRedis(t)
	prefix := fmt.Sprintf("{sge2e%d}:", time.Now().UnixNano())
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rc.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rc.Del(ctx, iter.Val())
		}
	})
	fake := shopifyfake.New(shopifyfake.Options{})
	srv := httptest.NewServer(fake.Handler())
	defer srv.Close()
	const posSecret = "pos-secret-0123456789"
	t.Setenv("E2E_POS_SECRET", posSecret)
	t.Setenv("E2E_SHOPIFY_TOKEN", shopifyfake.DefaultToken)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, `    items: {"808950810": REPL-SKU}
    api:
      baseURL: `+srv.URL+`
      token: env:E2E_SHOPIFY_TOKEN
    sync:
      locationId: 655441491
      rule: {locations: [berlin]}
  - id: till
    kind: pos
    secrets: [env:E2E_POS_SECRET]
dispatch: {window: 20ms, maxDelay: 100ms}
`)
	raw, _ := os.ReadFile(cfg)
	storeURL := "redis://127.0.0.1:6379/0?prefix=" + strings.NewReplacer("{", "%7B", "}", "%7D", ":", "%3A").Replace(prefix)
	os.WriteFile(cfg, append([]byte("store: "+storeURL+"\n"), raw...), 0o600)

	base := startGateway(t, "--config", cfg)
	startGateway(t, "--config", cfg, "--data-dir", t.TempDir())

	batch := []byte(`{"idempotencyKey":"repl-1","store":"berlin","register":"1","sentAt":"2026-11-20T11:58:30Z","movements":[` +
		`{"type":"receipt","sku":"REPL-SKU","quantity":10,"at":"2026-11-20T11:50:00Z"},` +
		`{"type":"sale","sku":"REPL-SKU","quantity":4,"at":"2026-11-20T11:57:02Z"}]}`)
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/till", strings.NewReader(string(batch)))
	req.Header.Set("Stockgate-Signature", posSign(posSecret, batch))
	if code, body := post(t, req); code != http.StatusOK {
		t.Fatalf("POS batch answered %d %s", code, body)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if q, ok := fake.Level(808950810, 655441491); ok && q == 6 {
			break
		}
		if time.Now().After(deadline) {
			q, ok := fake.Level(808950810, 655441491)
			t.Fatalf("Shopify shows %d (%v), want 6", q, ok)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx := context.Background()
	holder, err := rc.Get(ctx, prefix+"dispatch:lease:shop").Result()
	if err != nil || holder == "" {
		t.Errorf("no lease of the account in Redis: %v", err)
	}
	for _, k := range []string{prefix + "ratelimit:shopify:" + srv.URL, prefix + "dispatch:breaker:gobreaker:state:shop"} {
		if n, err := rc.Exists(ctx, k).Result(); err != nil || n != 1 {
			t.Errorf("no %s in Redis (%v): the replicas do not share it", k, err)
		}
	}
	if st := fake.Stats(); st.Throttled != 0 {
		t.Errorf("the fake throttled %d calls", st.Throttled)
	}
}
