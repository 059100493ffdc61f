package main

import (
	"net/http/httptest"
	"testing"
	"time"

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
