package listingsfake_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/stockgate/stockgate/connectors/amazon/listingsapi/listingsfake"
)

// Serve the fake in process: Client needs no port, and works inside a
// testing/synctest bubble.
func Example() {
	fake := listingsfake.New(nil)
	fake.AddListings("LUGGAGE", "MUG-BLUE")
	body := `{"productType":"PRODUCT","patches":[{"op":"merge","path":"/attributes/fulfillment_availability",` +
		`"value":[{"fulfillment_channel_code":"DEFAULT","quantity":4}]}]}`
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPatch,
		"https://sellingpartnerapi-na.amazon.com/listings/2021-08-01/items/"+listingsfake.DefaultSellerID+"/MUG-BLUE?marketplaceIds=ATVPDKIKX0DER",
		strings.NewReader(body))
	req.Header.Set("x-amz-access-token", listingsfake.DefaultToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := fake.Client().Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	q, _ := fake.Quantity("MUG-BLUE")
	fmt.Println(resp.StatusCode, resp.Header.Get("x-amzn-RateLimit-Limit"), q, fake.Stats().PatchesAccepted)
	// Output: 200 5.0 4 1
}
