package listingsapi_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stockgate/stockgate/connectors/amazon/listingsapi"
)

// BenchmarkFeedDocument: building and encoding a JSON_LISTINGS_FEED of
// 10,000 quantity messages, the Writer's default batch.
func BenchmarkFeedDocument(b *testing.B) {
	const n = 10_000
	skus := make([]string, n)
	for i := range skus {
		skus[i] = fmt.Sprintf("AMZ-%05d", i)
	}
	b.ReportAllocs()
	for b.Loop() {
		f := listingsapi.ListingsFeed{Header: listingsapi.FeedHeader{SellerID: "A3STOCKGATEFAKE", Version: listingsapi.FeedVersion},
			Messages: make([]listingsapi.Message, 0, n)}
		for i, sku := range skus {
			f.Messages = append(f.Messages, listingsapi.QuantityMessage(i+1, sku, "PRODUCT", "DEFAULT", int64(i%50)))
		}
		body, err := json.Marshal(f)
		if err != nil || len(body) < n*100 || len(body) > listingsapi.MaxFeedBytes {
			b.Fatalf("%d bytes, %v", len(body), err)
		}
		b.ReportMetric(float64(len(body)), "bytes/feed")
	}
}

// BenchmarkProcessingReport: parsing the report of a 10,000-message feed
// with 100 refused messages and reading every message's result.
func BenchmarkProcessingReport(b *testing.B) {
	const n, bad = 10_000, 100
	rep := listingsapi.ProcessingReport{Header: listingsapi.ReportHeader{SellerID: "A3STOCKGATEFAKE", Version: "2.0", FeedID: "1"},
		Summary: listingsapi.ReportSummary{Errors: bad, MessagesProcessed: n, MessagesAccepted: n - bad, MessagesInvalid: bad}}
	for i := range bad {
		rep.Issues = append(rep.Issues, listingsapi.ReportIssue{MessageID: i*97 + 1, SKU: fmt.Sprintf("AMZ-%05d", i*97), Code: "90000900",
			Severity: "ERROR", Message: "The attributes are invalid.", AttributeName: "fulfillment_availability"})
	}
	raw, _ := json.Marshal(rep)
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i + 1
	}
	b.ReportAllocs()
	for b.Loop() {
		r, err := listingsapi.ParseProcessingReport(raw)
		if err != nil {
			b.Fatal(err)
		}
		invalid := 0
		for _, m := range r.Results(ids) {
			if m.Result == listingsapi.ResultInvalid {
				invalid++
			}
		}
		if invalid != bad {
			b.Fatalf("%d invalid, want %d", invalid, bad)
		}
	}
}
