package amazon

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/event"
)

// fixtureDir holds the shared Amazon fixtures: public samples from Amazon's
// and AWS's repositories (ref; sources in sources.json). The repo is
// /work/main and the fixtures sit beside it in shared/, three levels up
// from this package. They are not copied into the repo.
const fixtureDir = "../../../shared/fixtures/amazon"

// fixtureTopic is the TopicArn of the SNS samples.
const fixtureTopic = "arn:aws:sns:us-west-2:123456789012:MyTopic"

// fixtureCase is what a notification sample normalizes to under the
// fixture configuration, on every transport.
type fixtureCase struct {
	topic    string
	dedup    string // "" : the digest of the sample (no NotificationId)
	want     []line
	unmapped []string
}

func fixtureCases() map[string]fixtureCase {
	const (
		orderID = "903-8868176-2219830"
		noID    = "d0e9e693-c3ad-4373-979f-ed4ec98dd746"
		listing = "8e009934-da2c-4f9c-9bc7-93f23b7e1f60"
	)
	// A dedup key holds the notification's PublishTime ahead of its id.
	key := func(published, id string) string { return "amazon:" + published + ":" + id }
	none := func(topic, published, id string) fixtureCase {
		return fixtureCase{topic: topic, dedup: key(published, id)}
	}
	return map[string]fixtureCase{
		// An Unshipped MFN order with a buyer's cancel request: "a request,
		// not yet a cancellation" (ref §4), so the item stays committed, at
		// its supply source.
		"ORDER_CHANGE.sample.json": {topic: TypeOrderChange, dedup: key("2020-07-13T19:42:04.284000000Z", noID), want: []line{
			{event.OrderCommitted, "SellerSKUID1", "fx-mfn-supply", 10, "", "sale", orderID, "amazon:order:" + orderID,
				orderID + "/OIID34853450", at("2020-01-11T00:09:53.109Z")},
		}},
		// Assembled sample without NotificationMetadata (ref §4): counted per
		// marketplace, deduplicated on its content.
		"FBA_INVENTORY_AVAILABILITY_CHANGES.sample.json": {topic: TypeFBAInventoryAvailability, want: []line{
			{event.StockCounted, "SELLERSKU-1", "fx-fba-us", 50, "on_hand", "fba_snapshot", "", "", "/ATVPDKIKX0DER", at("2020-07-13T19:42:04.284Z")},
			{event.StockCounted, "SELLERSKU-1", "fx-fba-ca", 40, "on_hand", "fba_snapshot", "", "", "/A2EUQ1WTGCTBG2", at("2020-07-13T19:42:04.284Z")},
		}},
		"LISTINGS_ITEM_MFN_QUANTITY_CHANGE.sample.json": {topic: TypeMFNQuantityChange, dedup: key("2021-02-03T18:59:30.194000000Z", listing), want: []line{
			{event.StockCounted, "NLS-SHOES-03", "fx-mfn", 99, "available", "channel_report", "", "amazon:notification:" + listing, listing, at("2021-02-03T18:59:30.194Z")},
		}},
		"LISTINGS_ITEM_STATUS_CHANGE.sample.json":      none(TypeListingStatusChange, "2021-02-03T18:59:30.194000000Z", listing),
		"LISTINGS_ITEM_ISSUES_CHANGE.sample.json":      none("LISTINGS_ITEM_ISSUES_CHANGE", "2024-02-05T18:59:48.768000000Z", listing),
		"LISTINGS_ITEM_ISSUES_CHANGE.v1.0.sample.json": none("LISTINGS_ITEM_ISSUES_CHANGE", "2021-02-05T18:59:48.768000000Z", listing),
		"ANY_OFFER_CHANGED.sample.json":                none("ANY_OFFER_CHANGED", "2020-07-13T19:42:04.284000000Z", noID),
		"FBA_OUTBOUND_SHIPMENT_STATUS.sample.json":     none("FBA_OUTBOUND_SHIPMENT_STATUS", "2020-01-11T00:02:50.501000000Z", "requestId"),
		"FEED_PROCESSING_FINISHED.sample.json":         none("FEED_PROCESSING_FINISHED", "2020-07-13T19:42:04.284000000Z", noID),
		"REPORT_PROCESSING_FINISHED.sample.json":       none("REPORT_PROCESSING_FINISHED", "2020-07-13T19:42:04.284000000Z", noID),
		// Removed types (ref §4), kept as history: no events.
		"MFN_ORDER_STATUS_CHANGE.sample.json": none("MFN_ORDER_STATUS_CHANGE", "2020-07-13T19:42:04.284000000Z", noID),
		"ORDER_STATUS_CHANGE.sample.json":     none("ORDER_STATUS_CHANGE", "2020-07-13T19:42:04.284000000Z", noID),
	}
}

// notInbound are the samples that are not inbound deliveries: API requests
// and responses for the outbound side and for setting up notifications.
var notInbound = []string{"error_", "feeds_", "json_listings_", "listings_patch_", "lwa_", "notifications_"}

// fixtureConnector is the connector of the fixture walk. Its SNS client
// cannot reach the network: the samples' placeholder signatures must fail
// whatever the certificate, and re-signed samples use the fake's.
func fixtureConnector(t *testing.T, f *snsFake) *Connector {
	return newConnector(t, f, func(c *Config) {
		c.ID = fixtureID
		c.SellerID = ""
		c.SNS.AllowedTopicARNs = []string{fixtureTopic, testTopic}
		c.Locations = map[string]string{usMarket: "fx-fba-us", "A2EUQ1WTGCTBG2": "fx-fba-ca",
			"d7679e14-031b-4ab3-a81b-ec4fc7a460b3": "fx-mfn-supply"}
		c.DefaultLocation = "fx-mfn"
		c.SKUs = nil
	})
}

// TestSharedFixtures normalizes every notification sample in the shared
// fixture folder over each transport (an SNS message signed with the test
// key, an EventBridge event with the API key, the bare SQS body) and checks
// the SNS samples: their placeholder signatures fail, and re-signed they
// verify and behave by type. A new sample without an expectation fails
// the test.
func TestSharedFixtures(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(fixtureDir)
	if os.IsNotExist(err) {
		t.Skipf("shared fixtures not present at %s", fixtureDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	f := newSNSFake(t)
	c := fixtureConnector(t, f)
	cases := fixtureCases()
	seen := 0
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sample.json") {
			continue // schemas and sources.json
		}
		raw, err := os.ReadFile(filepath.Join(fixtureDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(name, "sns_") {
			seen++
			t.Run(name, func(t *testing.T) { checkSNSSample(t, name, raw) })
			continue
		}
		if hasAnyPrefix(name, notInbound) {
			continue
		}
		tc, ok := cases[name]
		if !ok {
			t.Errorf("fixture %s has no expectation in fixtureCases", name)
			continue
		}
		seen++
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkNotificationSample(t, c, f, name, raw, tc)
		})
	}
	if want := len(cases) + 3; seen != want {
		t.Errorf("ran %d of %d expected fixtures; some are missing from %s", seen, want, fixtureDir)
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func checkNotificationSample(t *testing.T, c *Connector, f *snsFake, name string, raw []byte, tc fixtureCase) {
	ctx := context.Background()
	dedup := tc.dedup
	if dedup == "" {
		dedup = "amazon:" + digestKey(raw)
	}
	want := append([]line{}, tc.want...)
	for i := range want {
		if strings.HasPrefix(want[i].SourceEventID, "/") { // keyed by the digest
			want[i].SourceEventID = strings.TrimPrefix(dedup, "amazon:") + want[i].SourceEventID
			want[i].CorrelationID = "amazon:notification:" + strings.TrimPrefix(dedup, "amazon:")
		}
	}
	var firstIDs []string
	for _, tr := range []struct {
		name     string
		r        *connectors.Request
		verified bool
	}{
		{"SNS", snsNotification(f.host(), "2", raw).request(), true},
		{"EventBridge", ebRequest(ebEnvelope(raw), testAPIKey), true},
		{"SQS", requestAt(nil, raw), false},
	} {
		if tr.verified {
			if err := c.Verify(tr.r); err != nil {
				t.Fatalf("%s: Verify: %v", tr.name, err)
			}
		}
		res, err := c.normalize(ctx, tr.r, tr.verified)
		if err != nil {
			t.Fatalf("%s: Normalize: %v", tr.name, err)
		}
		if res.Topic != tc.topic || res.DedupKey != dedup {
			t.Errorf("%s: topic %q, dedup %q; want %q, %q", tr.name, res.Topic, res.DedupKey, tc.topic, dedup)
		}
		if got := lines(t, res.Events); !reflect.DeepEqual(got, nonNil(want)) {
			t.Errorf("%s: events:\n got %+v\nwant %+v", tr.name, got, want)
		}
		if got := reasons(res); !reflect.DeepEqual(got, tc.unmapped) {
			t.Errorf("%s: dead letters %q, want %q", tr.name, got, tc.unmapped)
		}
		var ids []string
		for _, e := range res.Events {
			ids = append(ids, e.ID())
		}
		if firstIDs == nil {
			firstIDs = ids
		} else if !reflect.DeepEqual(ids, firstIDs) {
			t.Errorf("%s: event ids %v differ from the first transport's %v", tr.name, ids, firstIDs)
		}
	}
	if tc.topic == TypeListingStatusChange {
		ls, err := ParseListingStatus(raw)
		if err != nil || !ls.Buyable || !ls.Discoverable || ls.Deleted || ls.SellerSKU != "NLS-SHOES-03" || ls.MarketplaceID != usMarket {
			t.Errorf("ParseListingStatus = %+v, %v", ls, err)
		}
	}
}

// recordingTransport fails every request, recording its URL: nothing in
// the fixture walk reaches the network.
type recordingTransport struct {
	mu   sync.Mutex
	urls []string
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.urls = append(rt.urls, r.URL.String())
	rt.mu.Unlock()
	return nil, errors.New("no network in tests")
}

// checkSNSSample checks an SNS sample from the SNS developer guide: its
// placeholder signature (ref §2.4: "do not verify") fails; re-signed with
// the test key and certificate (the fake's host standing in for
// sns.us-west-2.amazonaws.com) it verifies, and then a Notification whose
// Message is plain text is refused as malformed (not an SP-API
// notification), a SubscriptionConfirmation is confirmed with its Token, and
// an UnsubscribeConfirmation is left alone.
func checkSNSSample(t *testing.T, name string, raw []byte) {
	t.Parallel()
	ctx := context.Background()
	var m snsMsg
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(HeaderSNSMessageType, m.Type)
	rt := &recordingTransport{}
	offline := newConnector(t, nil, func(c *Config) {
		c.SNS.AllowedTopicARNs = []string{fixtureTopic}
		c.SNS.HTTPClient = &http.Client{Transport: rt}
	})
	if err := offline.Verify(requestAt(h, raw)); !errors.Is(err, connectors.ErrUnauthorized) {
		t.Fatalf("placeholder signature: Verify = %v, want ErrUnauthorized", err)
	}
	if len(rt.urls) > 0 && rt.urls[0] != m.SigningCertURL {
		t.Errorf("fetched %v, want only the sample's SigningCertURL", rt.urls)
	}

	f := newSNSFake(t)
	c := fixtureConnector(t, f)
	m.SigningCertURL = "https://" + f.host() + certPath
	if m.SubscribeURL != "" {
		u, err := url.Parse(m.SubscribeURL)
		if err != nil {
			t.Fatal(err)
		}
		u.Host = f.host()
		m.SubscribeURL = u.String()
	}
	r := m.sign(goodSigner()).request()
	if err := c.Verify(r); err != nil {
		t.Fatalf("re-signed: Verify: %v", err)
	}
	res, err := c.Normalize(ctx, r)
	switch m.Type {
	case SNSNotification:
		if !errors.Is(err, connectors.ErrMalformed) {
			t.Errorf("Notification with Message %q: Normalize = %v, want ErrMalformed", m.Message, err)
		}
	case SNSSubscriptionConfirmation:
		got := f.confirmations()
		if err != nil || res.Topic != TopicSubscriptionConfirmation || len(got) != 1 || got[0].Get("Token") != m.Token {
			t.Errorf("SubscriptionConfirmation: %+v, %v; confirmations %v", res, err, got)
		}
	case SNSUnsubscribeConfirmation:
		if err != nil || res.Topic != TopicUnsubscribeConfirmation || len(f.confirmations()) != 0 {
			t.Errorf("UnsubscribeConfirmation: %+v, %v; confirmations %v", res, err, f.confirmations())
		}
	default:
		t.Errorf("%s: unknown type %q", name, m.Type)
	}
}
