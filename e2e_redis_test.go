package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stockgate/stockgate/internal/testsvc"
)

// needRedis fails (under CI) or skips when Redis is not there.
func needRedis(t *testing.T) *redis.Client {
	t.Helper()
	return testsvc.Redis(t, nil)
}

// TestRedisStoreEndToEnd runs the gateway on the Redis store, changing
// nothing but the store URL, and restarts it: what was acknowledged is
// still there, and a redelivery is still a duplicate.
func TestRedisStoreEndToEnd(t *testing.T) {
	rc := needRedis(t)
	prefix := fmt.Sprintf("{sge2e%d}:", time.Now().UnixNano())
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rc.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rc.Del(ctx, iter.Val())
		}
	})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "")
	raw, _ := os.ReadFile(cfg)
	storeURL := "redis://127.0.0.1:6379/0?prefix=" + strings.NewReplacer("{", "%7B", "}", "%7D", ":", "%3A").Replace(prefix)
	os.WriteFile(cfg, append([]byte("store: "+storeURL+"\n"), raw...), 0o600)

	base := startGateway(t, "--config", cfg)
	wh := newOrderWebhook(map[string]int{"REDIS-SKU": 2})
	if code, body := post(t, wh.request(t, base)); code != http.StatusOK || !strings.Contains(body, "accepted") {
		t.Fatalf("webhook answered %d %s", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(history(t, base, "REDIS-SKU", "web")) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the webhook never reached the ledger in Redis")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n, _ := rc.Exists(context.Background(), prefix+"applied").Result(); n != 1 {
		t.Fatalf("no %sapplied hash in Redis: the gateway did not use the Redis store", prefix)
	}

	// A second gateway on the same store (a restart, or another replica).
	base2 := startGateway(t, "--config", cfg, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	if code, body := post(t, wh.request(t, base2)); code != http.StatusOK || !strings.Contains(body, "duplicate") {
		t.Fatalf("redelivery to the second gateway answered %d %s; want duplicate", code, body)
	}
	var q struct {
		Availability level `json:"availability"`
	}
	gql(t, base2, testStoreKey, `{ availability(sku:"REDIS-SKU", location:"web"){ committed } }`, nil, &q)
	if q.Availability.Committed != 2 {
		t.Fatalf("second gateway reads committed %d, want 2", q.Availability.Committed)
	}
}
