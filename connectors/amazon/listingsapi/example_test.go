package listingsapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/listingsapi"
	"github.com/stockgate/stockgate/connectors/amazon/listingsapi/listingsfake"
	"github.com/stockgate/stockgate/connectors/amazon/spapi"
)

// Set one listing's MFN quantity with a merge patch. A fake on a
// loopback port stands in for https://sellingpartnerapi-na.amazon.com.
func ExampleClient_PatchListingsItem() {
	fake := listingsfake.New(nil)
	fake.AddListings("LUGGAGE", "MUG-BLUE")
	srv := httptest.NewServer(fake)
	defer srv.Close()

	token := func(context.Context) (string, error) { return listingsfake.DefaultToken, nil } // an LWA token cache in production
	c, err := listingsapi.New(srv.URL, token, nil)
	if err != nil {
		panic(err)
	}
	for _, sku := range []string{"MUG-BLUE", "MUG-GONE"} {
		sub, err := c.PatchListingsItem(context.Background(), listingsapi.PatchRequest{
			SellerID: listingsfake.DefaultSellerID, SKU: sku, MarketplaceIDs: []string{"ATVPDKIKX0DER"},
			ProductType: listingsapi.ProductTypeProduct,
			Patches:     []listingsapi.PatchOperation{listingsapi.MergeQuantity(listingsapi.ChannelDefault, 7)},
		})
		fmt.Println(sku, sub.Status, spapi.ErrorCode(err), sub.RateLimit)
	}
	q, _ := fake.Quantity("MUG-BLUE")
	fmt.Println("Amazon shows", q)
	// Output:
	// MUG-BLUE ACCEPTED OK 5
	// MUG-GONE INVALID InvalidArgument 5
	// Amazon shows 7
}

// Write two listings with a JSON_LISTINGS_FEED and read each message's
// result from the processing report. A real caller paces each call on
// its usage plan (listingsapi.Plans) and polls for minutes.
func Example_feed() {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	fake := listingsfake.New(&listingsfake.Options{Now: func() time.Time { return now }})
	fake.AddListings("LUGGAGE", "MUG-BLUE", "MUG-RED")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	token := func(context.Context) (string, error) { return listingsfake.DefaultToken, nil }
	c, _ := listingsapi.New(srv.URL, token, nil)
	ctx := context.Background()

	doc, _ := json.Marshal(listingsapi.ListingsFeed{
		Header: listingsapi.FeedHeader{SellerID: listingsfake.DefaultSellerID, Version: listingsapi.FeedVersion},
		Messages: []listingsapi.Message{
			listingsapi.QuantityMessage(1, "MUG-BLUE", "PRODUCT", "DEFAULT", 12),
			listingsapi.QuantityMessage(2, "MUG-GREEN", "PRODUCT", "DEFAULT", 3),
		},
	})
	d, _ := c.CreateFeedDocument(ctx, listingsapi.ContentTypeJSON)
	_ = c.UploadFeedDocument(ctx, d, listingsapi.ContentTypeJSON, doc)
	cf, _ := c.CreateFeed(ctx, listingsapi.CreateFeedRequest{FeedType: listingsapi.FeedTypeJSONListings,
		MarketplaceIDs: []string{"ATVPDKIKX0DER"}, InputFeedDocumentID: d.ID})
	f, _ := c.GetFeed(ctx, cf.FeedID)
	fmt.Println(f.ProcessingStatus)

	now = now.Add(time.Minute) // the fake processes in 2 s
	f, _ = c.GetFeed(ctx, cf.FeedID)
	fmt.Println(f.ProcessingStatus)
	rd, _ := c.GetFeedDocument(ctx, f.ResultFeedDocumentID)
	raw, _ := c.DownloadFeedDocument(ctx, rd) // gunzipped
	rep, _ := listingsapi.ParseProcessingReport(raw)
	for _, r := range rep.Results([]int{1, 2}) {
		fmt.Println(r.MessageID, r.Result)
	}
	// Output:
	// IN_QUEUE
	// DONE
	// 1 ACCEPTED
	// 2 INVALID
}
