package main

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/listingsapi/listingsfake"
	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
	"github.com/stockgate/stockgate/connectors/square/squareapi/squarefake"
)

// TestSaleReachesEveryMarketplace: one store sale reaches Shopify, Square
// and Amazon through the gateway's own wiring (config sync sections), each
// showing the quantity its rule computes.
func TestSaleReachesEveryMarketplace(t *testing.T) {
	shop := shopifyfake.New(shopifyfake.Options{})
	shopSrv := httptest.NewServer(shop.Handler())
	defer shopSrv.Close()
	sq := squarefake.New(nil)
	sq.SetCatalog("OBJ-MULTI")
	sqSrv := httptest.NewServer(sq)
	defer sqSrv.Close()
	az := listingsfake.New(nil)
	az.AddListings("PRODUCT", "SELLER-MULTI")
	azSrv := httptest.NewServer(az)
	defer azSrv.Close()

	t.Setenv("E2E_POS_SECRET", syncPOSSecret)
	t.Setenv("E2E_SHOPIFY_TOKEN", shopifyfake.DefaultToken)
	t.Setenv("E2E_SQ_SIG", "square-signature-key-0123456789")
	t.Setenv("E2E_SQ_TOKEN", squarefake.DefaultToken)
	t.Setenv("E2E_AZ_SECRET", "eventbridge-secret-0123456789")
	t.Setenv("E2E_AZ_TOKEN", listingsfake.DefaultToken)
	cfg := writeConfig(t, t.TempDir(), `    items: {"808950810": SYNC-SKU}
    api: {baseURL: `+shopSrv.URL+`, token: env:E2E_SHOPIFY_TOKEN}
    sync: {locationId: 655441491, rule: {locations: [berlin], bufferUnits: 1}}
  - id: till
    kind: pos
    secrets: [env:E2E_POS_SECRET]
  - id: sq
    kind: square
    secrets: [env:E2E_SQ_SIG]
    items: {"OBJ-MULTI": SYNC-SKU}
    locations: {"L8YQ2W4K7ZB3D": berlin}
    api: {baseURL: `+sqSrv.URL+`, token: env:E2E_SQ_TOKEN}
    sync: {location: L8YQ2W4K7ZB3D, rule: {locations: [berlin]}}
  - id: az
    kind: amazon
    secrets: [env:E2E_AZ_SECRET]
    amazon: {sellerID: `+listingsfake.DefaultSellerID+`}
    items: {"SELLER-MULTI": SYNC-SKU}
    api: {baseURL: `+azSrv.URL+`, token: env:E2E_AZ_TOKEN}
    sync: {marketplaceId: `+listingsfake.DefaultMarketplaceID+`, rule: {locations: [berlin], bufferUnits: 2}}
dispatch: {window: 20ms, maxDelay: 100ms}
`)
	base := startGateway(t, "--config", cfg)
	postSale(t, base) // berlin: 10 received, 3 sold

	want := map[string]int64{"shopify": 6, "square": 7, "amazon": 5}
	got := map[string]int64{}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if q, ok := shop.Level(808950810, 655441491); ok {
			got["shopify"] = q
		}
		if c, ok := sq.Count("OBJ-MULTI", "L8YQ2W4K7ZB3D", "IN_STOCK"); ok {
			var n int64
			for _, r := range c.Quantity {
				n = n*10 + int64(r-'0')
			}
			got["square"] = n
		}
		if q, ok := az.Quantity("SELLER-MULTI"); ok {
			got["amazon"] = q
		}
		if got["shopify"] == want["shopify"] && got["square"] == want["square"] && got["amazon"] == want["amazon"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("marketplaces show %v, want %v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := az.Stats(); st.Throttled != 0 {
		t.Errorf("Amazon fake throttled %d calls", st.Throttled)
	}
	if st := sq.Stats(); st.Throttled != 0 || st.Refused != 0 {
		t.Errorf("Square fake throttled or refused calls: %+v", st)
	}
}
