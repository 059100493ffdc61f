package fbaapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/fbaapi"
	"github.com/stockgate/stockgate/connectors/amazon/fbaapi/fbafake"
)

// Read the FBA summaries of the US marketplace that changed in the last
// day, following nextToken.
func Example() {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	fake := fbafake.New(&fbafake.Options{PageSize: 1, Now: func() time.Time { return now }})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	fake.SetSummary(fbafake.Summary{MarketplaceID: "ATVPDKIKX0DER", SellerSKU: "MUG-BLUE", Fulfillable: 66, InboundWorking: 21, LastUpdated: now.Add(-time.Hour)})
	fake.SetSummary(fbafake.Summary{MarketplaceID: "ATVPDKIKX0DER", SellerSKU: "MUG-RED", Fulfillable: 4, Reserved: 1, LastUpdated: now.Add(-2 * time.Hour)})
	fake.SetSummary(fbafake.Summary{MarketplaceID: "ATVPDKIKX0DER", SellerSKU: "MUG-OLD", Fulfillable: 9, LastUpdated: now.AddDate(0, 0, -3)})

	token := func(context.Context) (string, error) { return fbafake.DefaultToken, nil } // an LWA token cache in production
	c, err := fbaapi.New(srv.URL, token, &fbaapi.Options{Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	sums, err := fbaapi.AllSummaries(context.Background(), c, fbaapi.Request{MarketplaceID: "ATVPDKIKX0DER", StartDateTime: now.AddDate(0, 0, -1)})
	if err != nil {
		panic(err)
	}
	for _, s := range sums {
		fmt.Println(s.SellerSKU, s.InventoryDetails.FulfillableQuantity, s.TotalQuantity, s.LastUpdatedTime.Format(time.RFC3339))
	}
	// Output:
	// MUG-BLUE 66 87 2026-08-01T11:00:00Z
	// MUG-RED 4 5 2026-08-01T10:00:00Z
}
