package shopifyfake_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/stockgate/stockgate/connectors/shopify/shopifyfake"
)

// A Standard-plan shop on a manual clock, answering a level read and then
// THROTTLED once its (small) bucket is empty.
func Example() {
	clock := shopifyfake.NewManualClock(time.Date(2026, 8, 7, 12, 0, 0, 0, time.UTC))
	shop := shopifyfake.New(shopifyfake.Options{MaximumAvailable: 5, Now: clock.Now})
	if err := shop.Start(); err != nil {
		panic(err)
	}
	defer shop.Close()
	shop.SetLevel(808950810, 655441491, 42)

	body := `{"query":"{ inventoryItem(id: \"gid://shopify/InventoryItem/808950810\") { inventoryLevel(locationId: \"gid://shopify/Location/655441491\") { quantities(names: [\"available\"]) { name quantity } } } }"}`
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, shop.URL()+"/admin/api/2026-07/graphql.json", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Shopify-Access-Token", shopifyfake.DefaultToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(resp.StatusCode, " ", string(b))
	}
	fmt.Println(shop.Stats().Throttled)
	// Output:
	// 200 {"data":{"inventoryItem":{"inventoryLevel":{"quantities":[{"name":"available","quantity":42}]}}},"extensions":{"cost":{"requestedQueryCost":3,"actualQueryCost":3,"throttleStatus":{"maximumAvailable":5,"currentlyAvailable":2,"restoreRate":100}}}}
	// 200 {"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],"extensions":{"cost":{"requestedQueryCost":3,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":5,"currentlyAvailable":2,"restoreRate":100}}}}
	// 1
}
