package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/square"
	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
)

// TestReconcileOnDemand: Square reports counts the ledger never heard of
// (missed webhooks); the scheduled run at start and an on-demand run over
// GraphQL correct the ledger with reconciliation events, and a run after
// that finds nothing to do.
func TestReconcileOnDemand(t *testing.T) {
	fake := squarefake.New(nil)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	fake.SetCount(squarefake.Count{CatalogObjectID: "VAR-RECON-1", LocationID: "LOC-B", Quantity: "12", CalculatedAt: time.Now().Add(-time.Minute)})
	t.Setenv("E2E_SQUARE_KEY", "square-signature-key-0123")
	t.Setenv("E2E_SQUARE_TOKEN", squarefake.DefaultToken)
	dir := t.TempDir()
	base := startGateway(t, "--config", writeConfig(t, dir, `  - id: square
    kind: square
    secrets: [env:E2E_SQUARE_KEY]
    locations: {LOC-B: berlin}
    items: {VAR-RECON-1: RECON-SKU}
    api:
      baseURL: `+srv.URL+`
      token: env:E2E_SQUARE_TOKEN
`))
	type report struct {
		Read        int64 `json:"read"`
		Corrected   int64 `json:"corrected"`
		Corrections []struct {
			SKU            string `json:"sku"`
			SourceQuantity int64  `json:"sourceQuantity"`
			LedgerQuantity int64  `json:"ledgerQuantity"`
		} `json:"corrections"`
		Error *string `json:"error"`
	}
	onHand := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var q struct {
				Availability level `json:"availability"`
			}
			gql(t, base, testStoreKey, `{ availability(sku:"RECON-SKU", location:"berlin"){ onHand } }`, nil, &q)
			if q.Availability.OnHand == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("on hand %d, want %d", q.Availability.OnHand, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The scheduled run at start repairs the ledger.
	onHand(12)

	// A change the webhooks missed; an on-demand run repairs it.
	fake.SetCount(squarefake.Count{CatalogObjectID: "VAR-RECON-1", LocationID: "LOC-B", Quantity: "15", CalculatedAt: time.Now()})
	var r struct {
		Reconcile report `json:"reconcile"`
	}
	const m = `mutation{ reconcile(connector:"square", full:true){ read corrected corrections{ sku sourceQuantity ledgerQuantity } error } }`
	if errs := gql(t, base, testAdminKey, m, nil, &r); len(errs) > 0 {
		t.Fatal(errs)
	}
	if r.Reconcile.Error != nil || r.Reconcile.Corrected != 1 || r.Reconcile.Corrections[0].SourceQuantity != 15 || r.Reconcile.Corrections[0].LedgerQuantity != 12 {
		t.Fatalf("on-demand run = %+v; want one correction from 12 to 15", r.Reconcile)
	}
	onHand(15)
	if errs := gql(t, base, testAdminKey, m, nil, &r); len(errs) > 0 {
		t.Fatal(errs)
	}
	if r.Reconcile.Corrected != 0 || r.Reconcile.Read != 1 {
		t.Fatalf("second run = %+v; want nothing to correct", r.Reconcile)
	}
	if errs := gql(t, base, testStoreKey, m, nil, nil); len(errs) != 1 || errs[0].Extensions["code"] != "FORBIDDEN" {
		t.Fatalf("storefront key ran a reconciliation: %+v", errs)
	}
}

// TestSquareOrderFetchedAndApplied: Square's order webhooks carry no lines;
// with an API token the gateway fetches the order and commits its lines,
// and releases them when the order completes (the count webhook carries
// the deduction).
func TestSquareOrderFetchedAndApplied(t *testing.T) {
	fake := squarefake.New(nil)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	const (
		key = "square-signature-key-0123"
		url = "https://stockgate.example.com/webhooks/square"
	)
	t.Setenv("E2E_SQUARE_KEY", key)
	t.Setenv("E2E_SQUARE_TOKEN", squarefake.DefaultToken)
	dir := t.TempDir()
	base := startGateway(t, "--config", writeConfig(t, dir, `  - id: square
    kind: square
    secrets: [env:E2E_SQUARE_KEY]
    notificationURL: `+url+`
    locations: {L8YQ2W4K7ZB3D: berlin}
    items: {VAR-ORDER-1: ORDER-SKU}
    api:
      baseURL: `+srv.URL+`
      token: env:E2E_SQUARE_TOKEN
      reconcile: 1h
`))
	order := squarefake.Order{ID: "Qm8Xz3Rt6YpL2wKv9NcB4hFgJ7s", LocationID: "L8YQ2W4K7ZB3D", State: "OPEN", Version: 1,
		LineItems: []squarefake.LineItem{{UID: "line-1", CatalogObjectID: "VAR-ORDER-1", Quantity: "2"}}}
	fake.SetOrder(order)
	send := func(eventID, state string, version int) {
		t.Helper()
		body := fmt.Sprintf(`{"merchant_id":"MLN7Q2C5X9ZKB","type":"order.updated","event_id":%q,"created_at":"2026-11-20T10:13:58Z","data":{"type":"order_updated","id":"Qm8Xz3Rt6YpL2wKv9NcB4hFgJ7s","object":{"order_updated":{"created_at":"2026-11-20T10:13:58Z","updated_at":"2026-11-20T10:14:58Z","location_id":"L8YQ2W4K7ZB3D","order_id":"Qm8Xz3Rt6YpL2wKv9NcB4hFgJ7s","state":%q,"version":%d}}}}`, eventID, state, version)
		req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/square", strings.NewReader(body))
		req.Header.Set(square.HeaderSignature, square.Sign(key, url, []byte(body)))
		if code, resp := post(t, req); code != http.StatusOK {
			t.Fatalf("order webhook answered %d %s", code, resp)
		}
	}
	committed := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var q struct {
				Availability level `json:"availability"`
			}
			gql(t, base, testStoreKey, `{ availability(sku:"ORDER-SKU", location:"berlin"){ committed } }`, nil, &q)
			if q.Availability.Committed == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("committed %d, want %d", q.Availability.Committed, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	send("evt-order-1", "OPEN", 1)
	committed(2)
	send("evt-order-2", "OPEN", 2) // another update, same state: applied once
	order.State, order.Version = "COMPLETED", 3
	fake.SetOrder(order)
	send("evt-order-3", "COMPLETED", 3)
	committed(0)
	if ids := history(t, base, "ORDER-SKU", "berlin"); len(ids) != 2 {
		t.Fatalf("history = %v; want one commit and one release", ids)
	}
}

// TestReconcileLeavesTheSyncedLocationToTheDispatcher: a Square location
// that stockgate syncs shows what stockgate pushed (here berlin's stock
// less a buffer of 2), not a count of its own. Reconciliation reads the
// connector's other locations only, so the push never comes back as an
// on-hand correction that would lower berlin to the pushed quantity.
func TestReconcileLeavesTheSyncedLocationToTheDispatcher(t *testing.T) {
	const item = "VAR-SYNCED-1"
	fake := squarefake.New(nil)
	fake.SetCount(squarefake.Count{CatalogObjectID: item, LocationID: "LOC-C", Quantity: "4", CalculatedAt: time.Now().Add(-time.Minute)})
	base := startGateway(t, "--config", squareSyncConfig(t, fake, item, "SYNCED-SKU", "LOC-B: berlin, LOC-C: cologne"))
	waitOnHand(t, base, "SYNCED-SKU", "cologne", 4) // the run at start read the location nobody syncs
	pushBerlin(t, base, fake, item, "SYNCED-SKU")

	var r struct {
		Reconcile struct {
			Read      int64   `json:"read"`
			Corrected int64   `json:"corrected"`
			Error     *string `json:"error"`
		} `json:"reconcile"`
	}
	if errs := gql(t, base, testAdminKey, `mutation{ reconcile(connector:"square", full:true){ read corrected error } }`, nil, &r); len(errs) > 0 {
		t.Fatal(errs)
	}
	if r.Reconcile.Error != nil || r.Reconcile.Read != 1 || r.Reconcile.Corrected != 0 {
		t.Fatalf("reconcile = %+v; want LOC-C's one count read and nothing corrected", r.Reconcile)
	}
	waitOnHand(t, base, "SYNCED-SKU", "berlin", 10)
}
