package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
)

// TestKill9WhileDrainingConverges: the built gateway is killed with
// SIGKILL while it drains a backlog to a shop; restarted on the same data
// dir, it writes what was still pending, and the shop ends showing the
// ledger's channel quantity of every SKU, never throttled. (The shop's
// one mapped location is the synced one, which reconciliation leaves to
// the dispatcher: no reconciliation reads here.) The periodic reconcile
// pass (5 minutes) does not come into it: every change
// was queued durably in the ledger's own commit.
func TestKill9WhileDrainingConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary; skipped with -short")
	}
	// A Standard-plan shop takes about 1,900 quantities a second after its
	// first bucketful: 5,000 SKUs drain for a few seconds.
	const skus = 5000
	fake := shopifyfake.New(shopifyfake.Options{Plan: shopifyfake.Standard})
	srv := httptest.NewServer(fake.Handler())
	defer srv.Close()
	t.Setenv("E2E_POS_SECRET", syncPOSSecret)
	t.Setenv("E2E_SHOPIFY_TOKEN", shopifyfake.DefaultToken)
	var items []string
	for i := range skus {
		items = append(items, fmt.Sprintf(`"%d": K-%d`, 1000+i, i))
	}
	cfg := writeConfig(t, t.TempDir(), `    items: {`+strings.Join(items, ", ")+`}
    api: {baseURL: `+srv.URL+`, token: env:E2E_SHOPIFY_TOKEN}
    sync: {locationId: 655441491, rule: {locations: [berlin], bufferUnits: 1}}
  - id: till
    kind: pos
    secrets: [env:E2E_POS_SECRET]
dispatch: {window: 20ms, maxDelay: 100ms}
`)
	bin := buildGateway(t)
	gw := startProcess(t, bin, cfg)

	// Stock every SKU at berlin: K-i gets i%40+5 units, in batches of 100.
	want := func(i int) int64 { return int64(i%40+5) - 1 } // less the buffer
	for b := 0; b < skus; b += 100 {
		var mv []string
		for i := b; i < b+100; i++ {
			mv = append(mv, fmt.Sprintf(`{"type":"receipt","sku":"K-%d","quantity":%d,"at":"2026-11-20T11:50:00Z"}`, i, i%40+5))
		}
		body := []byte(fmt.Sprintf(`{"idempotencyKey":"kill-%d","store":"berlin","register":"1","sentAt":"2026-11-20T11:58:30Z","movements":[%s]}`, b, strings.Join(mv, ",")))
		req, _ := http.NewRequest(http.MethodPost, gw.base+"/webhooks/till", strings.NewReader(string(body)))
		req.Header.Set("Stockgate-Signature", posSign(syncPOSSecret, body))
		if code, resp := post(t, req); code != http.StatusOK {
			t.Fatalf("POS batch answered %d %s", code, resp)
		}
	}
	shown := func() int {
		n := 0
		for i := range skus {
			if q, ok := fake.Level(int64(1000+i), 655441491); ok && q == want(i) {
				n++
			}
		}
		return n
	}
	// Kill it mid-drain: once some, not all, SKUs are written.
	deadline := time.Now().Add(30 * time.Second)
	for shown() == 0 {
		if time.Now().After(deadline) {
			logs, _ := os.ReadFile(gw.log)
			t.Fatalf("nothing reached the shop in 30 s; gateway log:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := gw.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = gw.cmd.Wait()
	before := shown()
	if before == skus {
		t.Fatalf("all %d SKUs were written before the kill: the test did not kill mid-drain", skus)
	}
	t.Logf("killed with %d of %d SKUs written", before, skus)

	gw2 := startProcess(t, bin, cfg)
	deadline = time.Now().Add(60 * time.Second)
	for shown() != skus {
		if time.Now().After(deadline) {
			logs, _ := os.ReadFile(gw2.log)
			if len(logs) > 4000 {
				logs = logs[len(logs)-4000:]
			}
			t.Fatalf("after the restart the shop shows %d of %d SKUs right; %+v; gateway log:\n%s", shown(), skus, fake.Stats(), logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := fake.Stats(); st.Throttled != 0 {
		t.Errorf("the shop answered THROTTLED %d times", st.Throttled)
	}
}
