package listingsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stockgate/stockgate/connectors/amazon/listingsapi"
	"github.com/stockgate/stockgate/connectors/amazon/spapi"
	"github.com/stockgate/stockgate/errcode"
)

// fixtureDir holds the shared Amazon fixtures (public samples from
// Amazon's repositories; sources in sources.json). They sit beside the
// repo, three levels up from this package, and are not copied into it.
const fixtureDir = "../../../../shared/fixtures/amazon"

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return b
}

// serve answers every request with status and body, as Amazon would.
func serve(t *testing.T, status int, body []byte) *listingsapi.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status/100 == 2 || status == 400 {
			w.Header().Set("x-amzn-RateLimit-Limit", "5.0")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c, err := listingsapi.New(srv.URL, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSharedFixtures runs every listings and feeds fixture of
// shared/fixtures/amazon through the client: the answers decode and
// classify as documented, the request samples are what the client
// sends, and the sample processing report yields per-message results.
func TestSharedFixtures(t *testing.T) {
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skipf("shared fixtures not present at %s", fixtureDir)
	}
	ctx := context.Background()
	req := listingsapi.PatchRequest{SellerID: "A1", SKU: "GM-ZDPI-9B4E", MarketplaceIDs: []string{us}, ProductType: "LUGGAGE",
		Patches: []listingsapi.PatchOperation{listingsapi.MergeQuantity("DEFAULT", 10)}}

	t.Run("listings_patch_merge_request", func(t *testing.T) {
		// The body the client sends for a merge is the sample's.
		want := map[string]any{}
		_ = json.Unmarshal(fixture(t, "listings_patch_merge_request.sample.json"), &want)
		got := map[string]any{}
		b, _ := json.Marshal(map[string]any{"productType": req.ProductType, "patches": req.Patches})
		_ = json.Unmarshal(b, &got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("body %s\nwant %v", b, want)
		}
	})
	t.Run("listings_patch_response", func(t *testing.T) {
		sub, err := serve(t, 200, fixture(t, "listings_patch_response.sample.json")).PatchListingsItem(ctx, req)
		if err != nil || sub.Status != listingsapi.StatusAccepted || sub.SubmissionID != "f1dc2914-75dd-11ea-bc55-0242ac130003" || sub.RateLimit != 5 {
			t.Errorf("%+v %v", sub, err)
		}
	})
	t.Run("listings_patch_response_invalid", func(t *testing.T) {
		sub, err := serve(t, 200, fixture(t, "listings_patch_response_invalid.sample.json")).PatchListingsItem(ctx, req)
		if spapi.ErrorCode(err) != errcode.InvalidArgument || sub.Status != listingsapi.StatusInvalid || len(sub.ErrorIssues()) != 1 || sub.ErrorIssues()[0].Code != "90000900" {
			t.Errorf("%+v %v", sub, err)
		}
	})
	t.Run("listings_patch_response_400", func(t *testing.T) {
		_, err := serve(t, 400, fixture(t, "listings_patch_response_400.sample.json")).PatchListingsItem(ctx, req)
		var e *spapi.Error
		if spapi.ErrorCode(err) != errcode.InvalidArgument || !errors.As(err, &e) || e.Errors[0].Code != "BAD_REQUEST" || e.RateLimit != 5 {
			t.Errorf("%v", err)
		}
	})
	t.Run("error_429_quota_exceeded", func(t *testing.T) {
		_, err := serve(t, 429, fixture(t, "error_429_quota_exceeded.sample.json")).PatchListingsItem(ctx, req)
		var e *spapi.Error
		if spapi.ErrorCode(err) != errcode.ResourceExhausted || !errors.As(err, &e) || e.Errors[0].Code != "QuotaExceeded" || e.RateLimit != 0 {
			t.Errorf("%v", err)
		}
	})
	t.Run("feeds_create_feed_document_response", func(t *testing.T) {
		d, err := serve(t, 201, fixture(t, "feeds_create_feed_document_response.sample.json")).CreateFeedDocument(ctx, listingsapi.ContentTypeJSON)
		if err != nil || d.ID != "3d4e42b5-1d6e-44e8-a89c-2abfca0625bb" || d.URL == "" {
			t.Errorf("%+v %v", d, err)
		}
	})
	t.Run("feeds_create_feed_request", func(t *testing.T) {
		// Shape only (the sample names a removed feed type and two
		// marketplaces, ref §5.2): the field names are the client's.
		var r listingsapi.CreateFeedRequest
		if err := json.Unmarshal(fixture(t, "feeds_create_feed_request.sample.json"), &r); err != nil || r.FeedType == "" || len(r.MarketplaceIDs) != 2 || r.InputFeedDocumentID == "" {
			t.Errorf("%+v %v", r, err)
		}
	})
	t.Run("feeds_create_feed_response", func(t *testing.T) {
		f, err := serve(t, 202, fixture(t, "feeds_create_feed_response.sample.json")).CreateFeed(ctx, listingsapi.CreateFeedRequest{
			FeedType: listingsapi.FeedTypeJSONListings, MarketplaceIDs: []string{us}, InputFeedDocumentID: "d"})
		if err != nil || f.FeedID != "3485934" {
			t.Errorf("%+v %v", f, err)
		}
	})
	t.Run("feeds_get_feed_response", func(t *testing.T) {
		f, err := serve(t, 200, fixture(t, "feeds_get_feed_response.sample.json")).GetFeed(ctx, "FeedId1")
		if err != nil || f.ProcessingStatus != listingsapi.StatusCancelled || !f.Terminal() || f.CreatedTime.IsZero() || f.ProcessingEndTime == nil {
			t.Errorf("%+v %v", f, err)
		}
	})
	t.Run("json_listings_feed", func(t *testing.T) {
		var f listingsapi.ListingsFeed
		if err := json.Unmarshal(fixture(t, "json_listings_feed.sample.json"), &f); err != nil {
			t.Fatal(err)
		}
		if err := f.Validate(); err != nil {
			t.Errorf("the sample feed does not validate: %v", err)
		}
		// Message 5 is the stock-only merge stockgate sends (ref §5.2).
		got, _ := json.Marshal(listingsapi.QuantityMessage(5, "My-SKU-E", "LUGGAGE", "DEFAULT", 10))
		want, _ := json.Marshal(f.Messages[4])
		if string(got) != string(want) {
			t.Errorf("QuantityMessage %s\nsample %s", got, want)
		}
	})
	t.Run("json_listings_feed_processing_report", func(t *testing.T) {
		rep, err := listingsapi.ParseProcessingReport(fixture(t, "json_listings_feed_processing_report.sample.json"))
		if err != nil {
			t.Fatal(err)
		}
		// Four messages processed, issues on 4 and 5, two accepted.
		res := rep.Results([]int{2, 3, 4, 5})
		want := []string{listingsapi.ResultAccepted, listingsapi.ResultAccepted, listingsapi.ResultInvalid, listingsapi.ResultInvalid}
		for i, r := range res {
			if r.Result != want[i] {
				t.Errorf("message %d: %s, want %s", r.MessageID, r.Result, want[i])
			}
		}
		if len(res[2].Issues) != 2 {
			t.Errorf("message 4 has %d issues, want 2", len(res[2].Issues))
		}
	})
}
