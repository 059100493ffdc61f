package listingsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/listingsapi"
	"github.com/stockgate/stockgate/connectors/amazon/listingsapi/listingsfake"
	"github.com/stockgate/stockgate/connectors/amazon/spapi"
	"github.com/stockgate/stockgate/errcode"
)

const us = listingsfake.DefaultMarketplaceID

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func token(context.Context) (string, error) { return listingsfake.DefaultToken, nil }

// newFake starts the fake on a loopback port (real HTTP) on a manual clock
// and returns a client of it.
func newFake(t *testing.T, opts listingsfake.Options) (*listingsfake.Server, *listingsapi.Client, *clock) {
	t.Helper()
	c := &clock{t: t0}
	opts.Now = c.Now
	fake := listingsfake.New(&opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cl, err := listingsapi.New(srv.URL, token, &listingsapi.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return fake, cl, c
}

func patchReq(sku string, qty int64) listingsapi.PatchRequest {
	return listingsapi.PatchRequest{SellerID: listingsfake.DefaultSellerID, SKU: sku, MarketplaceIDs: []string{us},
		ProductType: listingsapi.ProductTypeProduct, Patches: []listingsapi.PatchOperation{listingsapi.MergeQuantity(listingsapi.ChannelDefault, qty)}}
}

// TestPatchListingsItem: an accepted merge is applied; an INVALID answer
// is an InvalidArgument error that still carries the submission, its
// issues and the rate limit.
func TestPatchListingsItem(t *testing.T) {
	t.Parallel()
	fake, c, _ := newFake(t, listingsfake.Options{})
	fake.AddListings("LUGGAGE", "MUG/BLUE #2")
	ctx := context.Background()

	sub, err := c.PatchListingsItem(ctx, patchReq("MUG/BLUE #2", 12))
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != listingsapi.StatusAccepted || sub.SKU != "MUG/BLUE #2" || sub.SubmissionID == "" || sub.RateLimit != 5 {
		t.Errorf("submission %+v", sub)
	}
	if q, ok := fake.Quantity("MUG/BLUE #2"); !ok || q != 12 {
		t.Errorf("Amazon shows %d (%v)", q, ok)
	}

	sub, err = c.PatchListingsItem(ctx, patchReq("MUG-GONE", 3))
	if spapi.ErrorCode(err) != errcode.InvalidArgument || spapi.RateLimit(err) != 5 {
		t.Fatalf("err %v (%v), rate limit %v", err, spapi.ErrorCode(err), spapi.RateLimit(err))
	}
	if sub.Status != listingsapi.StatusInvalid || len(sub.ErrorIssues()) != 1 || sub.ErrorIssues()[0].Code != "NOT_FOUND" {
		t.Errorf("submission %+v", sub)
	}
	if !strings.Contains(err.Error(), "NOT_FOUND") {
		t.Errorf("error %q does not name the issue", err)
	}

	sub, err = c.PatchListingsItem(ctx, listingsapi.PatchRequest{SellerID: listingsfake.DefaultSellerID, SKU: "MUG/BLUE #2",
		MarketplaceIDs: []string{us}, ProductType: "PRODUCT", Patches: []listingsapi.PatchOperation{listingsapi.MergeQuantity("DEFAULT", 99)},
		ValidationPreview: true})
	if err != nil || sub.Status != listingsapi.StatusValid {
		t.Errorf("preview: %+v %v", sub, err)
	}
	if q, _ := fake.Quantity("MUG/BLUE #2"); q != 12 {
		t.Errorf("a preview was applied: %d", q)
	}

	before := fake.Stats().Requests
	_, err = c.PatchListingsItem(ctx, listingsapi.PatchRequest{})
	if spapi.ErrorCode(err) != errcode.InvalidArgument || fake.Stats().Requests != before {
		t.Errorf("an empty request: %v, %d requests sent", err, fake.Stats().Requests-before)
	}
	for _, field := range []string{"SellerID", "SKU", "MarketplaceIDs", "ProductType", "Patches"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
}

// TestErrorsClassified: each failure Amazon answers gets its code, and the
// rate limit when the answer carries one.
func TestErrorsClassified(t *testing.T) {
	t.Parallel()
	fake, c, _ := newFake(t, listingsfake.Options{})
	fake.AddListings("LUGGAGE", "A")
	ctx := context.Background()
	other, _ := listingsapi.New(strings.TrimSuffix(mustURL(t, c, fake), "/"), func(context.Context) (string, error) { return "Atza|revoked", nil }, nil)
	for _, tc := range []struct {
		name  string
		setup func()
		call  func() error
		code  errcode.Code
		limit float64
	}{
		{"throttled", func() { fake.Throttle(1) }, func() error { _, err := c.PatchListingsItem(ctx, patchReq("A", 1)); return err }, errcode.ResourceExhausted, 0},
		{"revoked token", nil, func() error { _, err := other.PatchListingsItem(ctx, patchReq("A", 1)); return err }, errcode.Unauthenticated, 0},
		{"bad marketplace", nil, func() error {
			r := patchReq("A", 1)
			r.MarketplaceIDs = []string{"A1F83G8C2ARO7P"}
			_, err := c.PatchListingsItem(ctx, r)
			return err
		}, errcode.InvalidArgument, 5},
		{"unknown feed", nil, func() error { _, err := c.GetFeed(ctx, "404"); return err }, errcode.NotFound, 2},
		{"outage", func() { fake.SetDown(503, t0.Add(time.Hour)) }, func() error {
			defer fake.SetDown(0, time.Time{})
			_, err := c.CreateFeedDocument(ctx, listingsapi.ContentTypeJSON)
			return err
		}, errcode.Unavailable, 0},
		{"server error", func() { fake.SetDown(500, t0.Add(time.Hour)) }, func() error {
			defer fake.SetDown(0, time.Time{})
			_, err := c.GetFeed(ctx, "1")
			return err
		}, errcode.Unavailable, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			err := tc.call()
			var e *spapi.Error
			if !errors.As(err, &e) || e.Code != tc.code || e.RateLimit != tc.limit || e.RequestID == "" || e.HTTPStatus == 0 {
				t.Fatalf("%v: %+v, want %v with rate limit %v", err, e, tc.code, tc.limit)
			}
			if spapi.IsRetryable(err) != (tc.code == errcode.ResourceExhausted || tc.code == errcode.Unavailable) {
				t.Errorf("IsRetryable %v", spapi.IsRetryable(err))
			}
		})
	}
}

// mustURL recovers the fake's base URL from a request the client makes.
func mustURL(t *testing.T, c *listingsapi.Client, fake *listingsfake.Server) string {
	t.Helper()
	d, err := c.CreateFeedDocument(context.Background(), listingsapi.ContentTypeJSON)
	if err != nil {
		t.Fatal(err)
	}
	return d.URL[:strings.Index(d.URL, "/fake-s3/")]
}

// TestFeedLifecycle: a JSON_LISTINGS_FEED through every step; the
// processing report gives every message's result.
func TestFeedLifecycle(t *testing.T) {
	t.Parallel()
	fake, c, clk := newFake(t, listingsfake.Options{QueueTime: 5 * time.Second})
	fake.AddListings("LUGGAGE", "A", "B")
	ctx := context.Background()

	feed := listingsapi.ListingsFeed{Header: listingsapi.FeedHeader{SellerID: listingsfake.DefaultSellerID, Version: listingsapi.FeedVersion}}
	feed.Messages = append(feed.Messages,
		listingsapi.QuantityMessage(1, "A", "PRODUCT", "DEFAULT", 4),
		listingsapi.QuantityMessage(2, "GONE", "PRODUCT", "DEFAULT", 4),
		listingsapi.Message{MessageID: 3, SKU: "B", OperationType: listingsapi.OperationPatch, ProductType: "PRODUCT",
			Patches: []listingsapi.PatchOperation{{Op: "merge", Path: listingsapi.AttributeFulfillmentAvailability,
				Value: []map[string]any{{"fulfillment_channel_code": "DEFAULT", "quantity": -2}}}}},
		listingsapi.QuantityMessage(4, "B", "PRODUCT", "DEFAULT", 6),
	)
	if err := feed.Validate(); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(feed)

	d, err := c.CreateFeedDocument(ctx, listingsapi.ContentTypeJSON)
	if err != nil || d.RateLimit != 0.5 {
		t.Fatalf("createFeedDocument: %+v %v", d, err)
	}
	if err := c.UploadFeedDocument(ctx, d, "text/plain", body); spapi.ErrorCode(err) != errcode.Aborted {
		t.Errorf("upload with another content type: %v", err)
	}
	if err := c.UploadFeedDocument(ctx, d, listingsapi.ContentTypeJSON, body); err != nil {
		t.Fatal(err)
	}
	cf, err := c.CreateFeed(ctx, listingsapi.CreateFeedRequest{FeedType: listingsapi.FeedTypeJSONListings, MarketplaceIDs: []string{us}, InputFeedDocumentID: d.ID})
	if err != nil || cf.FeedID == "" || cf.RateLimit != 0.0083 {
		t.Fatalf("createFeed: %+v %v", cf, err)
	}
	f, err := c.GetFeed(ctx, cf.FeedID)
	if err != nil || f.ProcessingStatus != listingsapi.StatusInQueue || f.Terminal() || !f.CreatedTime.Equal(t0) || f.RateLimit != 2 {
		t.Fatalf("getFeed: %+v %v", f, err)
	}
	clk.Advance(10 * time.Second)
	f, err = c.GetFeed(ctx, cf.FeedID)
	if err != nil || f.ProcessingStatus != listingsapi.StatusDone || f.ResultFeedDocumentID == "" || f.ProcessingEndTime == nil {
		t.Fatalf("getFeed: %+v %v", f, err)
	}
	rd, err := c.GetFeedDocument(ctx, f.ResultFeedDocumentID)
	if err != nil || rd.CompressionAlgorithm != listingsapi.CompressionGZIP || rd.RateLimit != 0.0222 {
		t.Fatalf("getFeedDocument: %+v %v", rd, err)
	}
	raw, err := c.DownloadFeedDocument(ctx, rd)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := listingsapi.ParseProcessingReport(raw)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Header.FeedID != cf.FeedID || rep.Summary.MessagesProcessed != 4 {
		t.Errorf("report %+v", rep)
	}
	got := rep.Results([]int{1, 2, 3, 4})
	want := []string{listingsapi.ResultAccepted, listingsapi.ResultInvalid, listingsapi.ResultInvalid, listingsapi.ResultAccepted}
	for i, r := range got {
		if r.MessageID != i+1 || r.Result != want[i] {
			t.Errorf("message %d: %+v, want %s", i+1, r, want[i])
		}
	}
	if q, _ := fake.Quantity("A"); q != 4 {
		t.Errorf("A shows %d", q)
	}
	if q, _ := fake.Quantity("B"); q != 6 {
		t.Errorf("B shows %d", q)
	}

	// The presigned URL expires after 5 minutes.
	clk.Advance(5*time.Minute + time.Second)
	if _, err := c.DownloadFeedDocument(ctx, rd); spapi.ErrorCode(err) != errcode.Aborted {
		t.Errorf("expired download: %v", err)
	}

	// Client-side checks send nothing.
	if _, err := c.CreateFeed(ctx, listingsapi.CreateFeedRequest{FeedType: listingsapi.FeedTypeJSONListings,
		MarketplaceIDs: []string{us, "A2EUQ1WTGCTBG2"}, InputFeedDocumentID: d.ID}); spapi.ErrorCode(err) != errcode.InvalidArgument {
		t.Errorf("two marketplaces: %v", err)
	}
}

// TestCancelFeed: a feed still IN_QUEUE can be cancelled.
func TestCancelFeed(t *testing.T) {
	t.Parallel()
	fake, c, _ := newFake(t, listingsfake.Options{})
	fake.AddListings("LUGGAGE", "A")
	ctx := context.Background()
	d, _ := c.CreateFeedDocument(ctx, listingsapi.ContentTypeJSON)
	body, _ := json.Marshal(listingsapi.ListingsFeed{Header: listingsapi.FeedHeader{SellerID: listingsfake.DefaultSellerID, Version: "2.0"},
		Messages: []listingsapi.Message{listingsapi.QuantityMessage(1, "A", "PRODUCT", "DEFAULT", 1)}})
	if err := c.UploadFeedDocument(ctx, d, listingsapi.ContentTypeJSON, body); err != nil {
		t.Fatal(err)
	}
	cf, err := c.CreateFeed(ctx, listingsapi.CreateFeedRequest{FeedType: listingsapi.FeedTypeJSONListings, MarketplaceIDs: []string{us}, InputFeedDocumentID: d.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CancelFeed(ctx, cf.FeedID); err != nil {
		t.Fatal(err)
	}
	if f, err := c.GetFeed(ctx, cf.FeedID); err != nil || f.ProcessingStatus != listingsapi.StatusCancelled || !f.Terminal() {
		t.Errorf("%+v %v", f, err)
	}
	if err := c.CancelFeed(ctx, cf.FeedID); spapi.ErrorCode(err) != errcode.InvalidArgument {
		t.Errorf("cancelling twice: %v", err)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestResults: a message is accepted only when the report accounts for
// it; warnings do not refuse it; issues of other messages are ignored.
func TestResults(t *testing.T) {
	t.Parallel()
	rep, err := listingsapi.ParseProcessingReport(readTestdata(t, "report_mixed.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := rep.Results([]int{1, 2, 3})
	if got[0].Result != listingsapi.ResultAccepted || got[1].Result != listingsapi.ResultInvalid || got[2].Result != listingsapi.ResultAccepted ||
		len(got[2].Issues) != 1 || got[2].Issues[0].Severity != listingsapi.SeverityWarning {
		t.Errorf("results %+v", got)
	}
	if d := listingsapi.DescribeReportIssues(got[1].Issues); d != "ERROR 90000900: The attributes are invalid. [fulfillment_availability]" {
		t.Errorf("describe: %q", d)
	}
	// A summary that does not add up: nothing is taken as written.
	rep.Summary.MessagesAccepted = 3
	for _, r := range rep.Results([]int{1, 2, 3}) {
		if r.Result == listingsapi.ResultAccepted {
			t.Errorf("message %d accepted though the summary does not add up", r.MessageID)
		}
	}
	rep, err = listingsapi.ParseProcessingReport(readTestdata(t, "report_feed_error.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results([]int{1, 2}) {
		if r.Result != listingsapi.ResultUnknown {
			t.Errorf("message %d is %s after an error of the whole feed", r.MessageID, r.Result)
		}
	}
	if _, err := listingsapi.ParseProcessingReport([]byte(`{"issues":[]}`)); err == nil {
		t.Error("a report without header and summary parsed")
	}
}

// TestInvalidAnswer: the project's own INVALID answer, served as Amazon
// does (HTTP 200), is an InvalidArgument error with its issues.
func TestInvalidAnswer(t *testing.T) {
	t.Parallel()
	body := readTestdata(t, "patch_invalid.json")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-RateLimit-Limit", "5.0")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	c, _ := listingsapi.New(srv.URL, token, nil)
	sub, err := c.PatchListingsItem(context.Background(), patchReq("MUG-RED", 1))
	if spapi.ErrorCode(err) != errcode.InvalidArgument || sub.Status != listingsapi.StatusInvalid || sub.Issues[0].AttributeNames[0] != "fulfillment_availability" {
		t.Errorf("%+v %v", sub, err)
	}
}

func TestFeedValidate(t *testing.T) {
	t.Parallel()
	f := listingsapi.ListingsFeed{Header: listingsapi.FeedHeader{Version: "1.0"}, Messages: []listingsapi.Message{
		{MessageID: 0, OperationType: "PATCH"}, {MessageID: 1, SKU: "A", OperationType: "UPSERT"}, {MessageID: 1, SKU: "B", OperationType: "DELETE"}}}
	err := f.Validate()
	for _, want := range []string{"sellerId", "version", "messages[0].messageId", "messages[0].sku", "messages[0]: PATCH", "messages[1].operationType", "messages[2].messageId: 1 used twice"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v does not report %s", err, want)
		}
	}
}
