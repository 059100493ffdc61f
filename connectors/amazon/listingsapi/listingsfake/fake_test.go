package listingsfake_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/listingsapi/listingsfake"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// clock is a manual clock for the fake.
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

// fake is a Server on a loopback httptest server, on a manual clock.
type fake struct {
	*listingsfake.Server
	url   string
	clock *clock
}

func newFake(t *testing.T, opts listingsfake.Options) *fake {
	t.Helper()
	c := &clock{t: t0}
	opts.Now = c.Now
	s := listingsfake.New(&opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &fake{Server: s, url: srv.URL, clock: c}
}

// answer is a decoded response.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (a answer) errCode() string {
	errs, _ := a.body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	return errs[0].(map[string]any)["code"].(string)
}

func (a answer) issueCodes() []string {
	var out []string
	is, _ := a.body["issues"].([]any)
	for _, i := range is {
		out = append(out, i.(map[string]any)["code"].(string))
	}
	return out
}

// do sends a request with the default token unless header says otherwise.
func do(t *testing.T, method, url string, body any, header map[string]string) answer {
	t.Helper()
	var r io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			r = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("x-amz-access-token", listingsfake.DefaultToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

const itemsPath = "/listings/2021-08-01/items/" + listingsfake.DefaultSellerID + "/"

func mergeBody(entries ...map[string]any) map[string]any {
	return map[string]any{"productType": "LUGGAGE", "patches": []any{
		map[string]any{"op": "merge", "path": "/attributes/fulfillment_availability", "value": entries}}}
}

func qty(code string, q any) map[string]any {
	return map[string]any{"fulfillment_channel_code": code, "quantity": q}
}

func (f *fake) patch(t *testing.T, sku string, body any) answer {
	t.Helper()
	return do(t, http.MethodPatch, f.url+itemsPath+sku+"?marketplaceIds="+listingsfake.DefaultMarketplaceID, body, nil)
}

// TestPatchRules: what patchListingsItem answers, per the package doc.
func TestPatchRules(t *testing.T) {
	t.Parallel()
	f := newFake(t, listingsfake.Options{Plans: map[string]listingsfake.Plan{listingsfake.OpPatchListingsItem: {Rate: 5, Burst: 100}}})
	f.AddListings("LUGGAGE", "A", "B/1#x")
	for _, tc := range []struct {
		name, sku string
		body      any
		query     string
		header    map[string]string
		status    int
		code      string   // errors[0].code
		submitted string   // status of a 200
		issues    []string // issue codes of a 200
	}{
		{name: "accepted", sku: "A", body: mergeBody(qty("DEFAULT", 7)), status: 200, submitted: "ACCEPTED"},
		{name: "escaped sku", sku: "B%2F1%23x", body: mergeBody(qty("DEFAULT", 1)), status: 200, submitted: "ACCEPTED"},
		{name: "unknown sku", sku: "NOPE", body: mergeBody(qty("DEFAULT", 1)), status: 200, submitted: "INVALID", issues: []string{"NOT_FOUND"}},
		{name: "camel-case path", sku: "A", body: map[string]any{"productType": "LUGGAGE", "patches": []any{
			map[string]any{"op": "merge", "path": "/attributes/fulfillmentAvailability", "value": []any{qty("DEFAULT", 1)}}}},
			status: 200, submitted: "INVALID", issues: []string{"90000900"}},
		{name: "no channel code", sku: "A", body: mergeBody(map[string]any{"quantity": 1}), status: 200, submitted: "INVALID", issues: []string{"99022"}},
		{name: "negative quantity", sku: "A", body: mergeBody(qty("DEFAULT", -1)), status: 200, submitted: "INVALID", issues: []string{"90000900"}},
		{name: "fractional quantity", sku: "A", body: mergeBody(qty("DEFAULT", 1.5)), status: 200, submitted: "INVALID", issues: []string{"90000900"}},
		{name: "preview", sku: "A", query: "&mode=VALIDATION_PREVIEW", body: mergeBody(qty("DEFAULT", 99)), status: 200, submitted: "VALID"},
		{name: "no value", sku: "A", body: map[string]any{"productType": "LUGGAGE", "patches": []any{
			map[string]any{"op": "merge", "path": "/attributes/fulfillment_availability"}}}, status: 400, code: "InvalidInput"},
		{name: "no product type", sku: "A", body: map[string]any{"patches": []any{}}, status: 400, code: "InvalidInput"},
		{name: "not JSON", sku: "A", body: "{", status: 400, code: "InvalidInput"},
		{name: "content type", sku: "A", body: mergeBody(qty("DEFAULT", 1)), header: map[string]string{"Content-Type": "text/plain"}, status: 415, code: "InvalidInput"},
		{name: "token", sku: "A", body: mergeBody(qty("DEFAULT", 1)), header: map[string]string{"x-amz-access-token": "Atza|other"}, status: 403, code: "Unauthorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, http.MethodPatch, f.url+itemsPath+tc.sku+"?marketplaceIds="+listingsfake.DefaultMarketplaceID+tc.query, tc.body, tc.header)
			if a.status != tc.status || a.errCode() != tc.code {
				t.Fatalf("%d %s, want %d %s", a.status, a.raw, tc.status, tc.code)
			}
			if a.header.Get("x-amzn-RequestId") == "" {
				t.Error("no x-amzn-RequestId")
			}
			if limit := a.header.Get("x-amzn-RateLimit-Limit"); (a.status == 200 || a.status == 400) != (limit == "5.0") {
				t.Errorf("x-amzn-RateLimit-Limit %q on a %d", limit, a.status)
			}
			if a.status == 200 {
				if a.body["status"] != tc.submitted || strings.Join(a.issueCodes(), ",") != strings.Join(tc.issues, ",") || a.body["submissionId"] == "" {
					t.Errorf("answer %s, want %s with issues %v", a.raw, tc.submitted, tc.issues)
				}
			}
		})
	}
	if q, ok := f.Quantity("A"); !ok || q != 7 {
		t.Errorf("A shows %d (%v), want 7: only the accepted patch applies", q, ok)
	}
	if q, ok := f.Quantity("B/1#x"); !ok || q != 1 {
		t.Errorf("B/1#x shows %d (%v)", q, ok)
	}
	if _, ok := f.Quantity("NOPE"); ok {
		t.Error("an INVALID patch created a listing")
	}
	if a := do(t, http.MethodPatch, f.url+"/listings/2021-08-01/items/OTHERSELLER/A?marketplaceIds="+listingsfake.DefaultMarketplaceID, mergeBody(qty("DEFAULT", 1)), nil); a.status != 403 {
		t.Errorf("another seller: %d", a.status)
	}
	if a := do(t, http.MethodPatch, f.url+itemsPath+"A?marketplaceIds=A1F83G8C2ARO7P", mergeBody(qty("DEFAULT", 1)), nil); a.status != 400 {
		t.Errorf("another marketplace: %d", a.status)
	}
}

// TestMergeKeepsOtherFields: merge updates the quantity of its channel and
// keeps lead time and the other channels; replace drops the fields it
// does not resend.
func TestMergeKeepsOtherFields(t *testing.T) {
	t.Parallel()
	f := newFake(t, listingsfake.Options{})
	f.AddListings("LUGGAGE", "A")
	f.patch(t, "A", mergeBody(map[string]any{"fulfillment_channel_code": "DEFAULT", "quantity": 5, "lead_time_to_ship_max_days": 3},
		qty("AMAZON_NA", 0)))
	f.patch(t, "A", mergeBody(qty("DEFAULT", 9)))
	e := f.Listing("A")
	if len(e) != 2 || e[0]["quantity"] != json.Number("9") || e[0]["lead_time_to_ship_max_days"] != json.Number("3") || e[1]["fulfillment_channel_code"] != "AMAZON_NA" {
		t.Fatalf("after merge: %v", e)
	}
	a := f.patch(t, "A", map[string]any{"productType": "LUGGAGE", "patches": []any{
		map[string]any{"op": "replace", "path": "/attributes/fulfillment_availability", "value": []any{qty("DEFAULT", 4)}}}})
	if a.body["status"] != "ACCEPTED" {
		t.Fatal(string(a.raw))
	}
	e = f.Listing("A")
	if len(e) != 2 || e[0]["quantity"] != json.Number("4") || e[0]["lead_time_to_ship_max_days"] != nil || e[1]["fulfillment_channel_code"] != "AMAZON_NA" {
		t.Fatalf("after replace: %v", e)
	}
}

// TestRateLimits: each operation has its own bucket; a request beyond it
// is 429 QuotaExceeded without x-amzn-RateLimit-Limit or Retry-After, and
// the bucket refills at its rate.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	f := newFake(t, listingsfake.Options{})
	f.AddListings("LUGGAGE", "A")
	for i := range 5 {
		if a := f.patch(t, "A", mergeBody(qty("DEFAULT", i))); a.status != 200 {
			t.Fatalf("patch %d: %d", i, a.status)
		}
	}
	a := f.patch(t, "A", mergeBody(qty("DEFAULT", 9)))
	if a.status != 429 || a.errCode() != "QuotaExceeded" || a.header.Get("x-amzn-RateLimit-Limit") != "" || a.header.Get("Retry-After") != "" {
		t.Fatalf("sixth patch: %d %v %s", a.status, a.header, a.raw)
	}
	if !strings.Contains(string(a.raw), `{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource.","details":""}`) {
		t.Errorf("429 body %s", a.raw)
	}
	// Other operations have their own buckets.
	if a := do(t, http.MethodPost, f.url+"/feeds/2021-06-30/documents", map[string]string{"contentType": "application/json"}, nil); a.status != 201 || a.header.Get("x-amzn-RateLimit-Limit") != "0.5" {
		t.Errorf("createFeedDocument: %d %v", a.status, a.header)
	}
	f.clock.Advance(200 * time.Millisecond) // one patch at 5/s
	if a := f.patch(t, "A", mergeBody(qty("DEFAULT", 9))); a.status != 200 {
		t.Errorf("after 200ms: %d", a.status)
	}
	if a := f.patch(t, "A", mergeBody(qty("DEFAULT", 9))); a.status != 429 {
		t.Errorf("again at once: %d", a.status)
	}
	st := f.Stats()
	if st.Throttled != 2 || st.ThrottledOps[listingsfake.OpPatchListingsItem] != 2 || st.PatchesAccepted != 6 {
		t.Errorf("stats %+v", st)
	}
	f.Throttle(1)
	if a := do(t, http.MethodGet, f.url+"/feeds/2021-06-30/feeds/1", nil, nil); a.status != 429 {
		t.Errorf("Throttle(1): %d", a.status)
	}
}

// uploadFeed runs createFeedDocument, the upload and createFeed, and
// returns the feed id (empty, with the answer, when a step fails).
func (f *fake) uploadFeed(t *testing.T, doc string) (string, answer) {
	t.Helper()
	a := do(t, http.MethodPost, f.url+"/feeds/2021-06-30/documents", map[string]string{"contentType": "application/json"}, nil)
	if a.status != 201 {
		t.Fatalf("createFeedDocument: %d %s", a.status, a.raw)
	}
	up := do(t, http.MethodPut, a.body["url"].(string), doc, map[string]string{"x-amz-access-token": ""})
	if up.status != 200 {
		t.Fatalf("upload: %d %s", up.status, up.raw)
	}
	cf := do(t, http.MethodPost, f.url+"/feeds/2021-06-30/feeds", map[string]any{"feedType": "JSON_LISTINGS_FEED",
		"marketplaceIds": []string{listingsfake.DefaultMarketplaceID}, "inputFeedDocumentId": a.body["feedDocumentId"]}, nil)
	if cf.status != 202 {
		return "", cf
	}
	return cf.body["feedId"].(string), cf
}

func feedDoc(msgs ...string) string {
	return `{"header":{"sellerId":"` + listingsfake.DefaultSellerID + `","version":"2.0"},"messages":[` + strings.Join(msgs, ",") + `]}`
}

func patchMsg(id, sku, value string) string {
	return `{"messageId":` + id + `,"sku":"` + sku + `","operationType":"PATCH","productType":"PRODUCT","patches":[{"op":"merge","path":"/attributes/fulfillment_availability","value":[` + value + `]}]}`
}

// TestFeedLifecycle: IN_QUEUE for QueueTime, IN_PROGRESS for the
// messages at ProcessRate, DONE with a gzipped report that lists each
// refused message's issues; feeds run one after the other.
func TestFeedLifecycle(t *testing.T) {
	t.Parallel()
	f := newFake(t, listingsfake.Options{QueueTime: 10 * time.Second, ProcessRate: 1})
	f.AddListings("LUGGAGE", "A", "B")
	id, _ := f.uploadFeed(t, feedDoc(
		patchMsg("1", "A", `{"fulfillment_channel_code":"DEFAULT","quantity":3}`),
		patchMsg("2", "NOPE", `{"fulfillment_channel_code":"DEFAULT","quantity":3}`),
		patchMsg("3", "B", `{"quantity":3}`),
		`{"messageId":4,"sku":"B","operationType":"PATCH","productType":"PRODUCT"}`,
	))
	id2, _ := f.uploadFeed(t, feedDoc(patchMsg("1", "A", `{"fulfillment_channel_code":"DEFAULT","quantity":8}`)))
	status := func(id string) answer { return do(t, http.MethodGet, f.url+"/feeds/2021-06-30/feeds/"+id, nil, nil) }
	for _, step := range []struct {
		after       time.Duration
		st1, st2    string
		quantityOfA int64 // -1: not set
	}{
		{0, "IN_QUEUE", "IN_QUEUE", -1},
		{10 * time.Second, "IN_PROGRESS", "IN_QUEUE", -1},
		{4 * time.Second, "DONE", "IN_PROGRESS", 3}, // 4 messages at 1/s; the second starts at once
	} {
		f.clock.Advance(step.after)
		a1, a2 := status(id), status(id2)
		if a1.body["processingStatus"] != step.st1 || a2.body["processingStatus"] != step.st2 {
			t.Fatalf("after %v: %s / %s, want %s / %s", step.after, a1.raw, a2.raw, step.st1, step.st2)
		}
		q, ok := f.Quantity("A")
		if (step.quantityOfA < 0 && ok) || (step.quantityOfA >= 0 && q != step.quantityOfA) {
			t.Errorf("after %v: A shows %d (%v)", step.after, q, ok)
		}
	}
	// The second feed started when the first ended (its queue time had
	// passed), and takes one second.
	f.clock.Advance(time.Second)
	if a := status(id2); a.body["processingStatus"] != "DONE" {
		t.Fatalf("second feed: %s", a.raw)
	}
	if q, _ := f.Quantity("A"); q != 8 {
		t.Errorf("A shows %d after the second feed", q)
	}

	a := status(id)
	if a.header.Get("x-amzn-RateLimit-Limit") != "2.0" || a.body["processingStartTime"] == nil || a.body["processingEndTime"] == nil {
		t.Errorf("getFeed: %v %s", a.header, a.raw)
	}
	d := do(t, http.MethodGet, f.url+"/feeds/2021-06-30/documents/"+a.body["resultFeedDocumentId"].(string), nil, nil)
	if d.status != 200 || d.body["compressionAlgorithm"] != "GZIP" {
		t.Fatalf("getFeedDocument: %d %s", d.status, d.raw)
	}
	dl := do(t, http.MethodGet, d.body["url"].(string), nil, map[string]string{"x-amz-access-token": ""})
	zr, err := gzip.NewReader(bytes.NewReader(dl.raw))
	if err != nil {
		t.Fatalf("report is not gzip: %v", err)
	}
	raw, _ := io.ReadAll(zr)
	var rep struct {
		Header map[string]string `json:"header"`
		Issues []struct {
			MessageID int    `json:"messageId"`
			SKU       string `json:"sku"`
			Code      string `json:"code"`
			Severity  string `json:"severity"`
		} `json:"issues"`
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("report: %s", raw)
	if rep.Header["feedId"] != id || rep.Header["version"] != "2.0" || rep.Header["sellerId"] != listingsfake.DefaultSellerID {
		t.Errorf("header %v", rep.Header)
	}
	got := map[int]string{}
	for _, is := range rep.Issues {
		got[is.MessageID] += is.Code
	}
	if len(got) != 3 || got[2] != "NOT_FOUND" || got[3] != "99022" || got[4] != "BAD_REQUEST" {
		t.Errorf("issues %v", got)
	}
	want := map[string]int{"errors": 3, "warnings": 0, "messagesProcessed": 4, "messagesAccepted": 1, "messagesInvalid": 3}
	for k, v := range want {
		if rep.Summary[k] != v {
			t.Errorf("summary %v, want %v", rep.Summary, want)
			break
		}
	}
	st := f.Stats()
	if st.FeedsCreated != 2 || st.FeedsDone != 2 || st.MessagesProcessed != 5 || st.MessagesAccepted != 2 || st.MessagesInvalid != 3 || st.ReportsDownloaded != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestFeedRules: the window of 5 JSON_LISTINGS_FEED per 5 minutes, one
// marketplace per feed, uploads that must match their content type and
// expire, FATAL documents, cancelling.
func TestFeedRules(t *testing.T) {
	t.Parallel()
	f := newFake(t, listingsfake.Options{})
	f.AddListings("LUGGAGE", "A")
	doc := feedDoc(patchMsg("1", "A", `{"fulfillment_channel_code":"DEFAULT","quantity":1}`))
	var ids []string
	for range 5 {
		id, a := f.uploadFeed(t, doc)
		if id == "" {
			t.Fatalf("createFeed: %d %s", a.status, a.raw)
		}
		ids = append(ids, id)
	}
	if id, a := f.uploadFeed(t, doc); id != "" || a.status != 429 || a.errCode() != "QuotaExceeded" {
		t.Fatalf("sixth feed in 5 minutes: %d %s", a.status, a.raw)
	}
	f.clock.Advance(5 * time.Minute)
	if id, a := f.uploadFeed(t, doc); id == "" {
		t.Fatalf("after 5 minutes: %d %s", a.status, a.raw)
	}

	// Cancel: only IN_QUEUE.
	late, _ := f.uploadFeed(t, doc)
	if a := do(t, http.MethodDelete, f.url+"/feeds/2021-06-30/feeds/"+late, nil, nil); a.status != 200 {
		t.Errorf("cancel IN_QUEUE: %d %s", a.status, a.raw)
	}
	if a := do(t, http.MethodGet, f.url+"/feeds/2021-06-30/feeds/"+late, nil, nil); a.body["processingStatus"] != "CANCELLED" {
		t.Errorf("cancelled feed: %s", a.raw)
	}
	if a := do(t, http.MethodDelete, f.url+"/feeds/2021-06-30/feeds/"+ids[0], nil, nil); a.status != 400 {
		t.Errorf("cancel DONE: %d", a.status)
	}
	if a := do(t, http.MethodGet, f.url+"/feeds/2021-06-30/feeds/999", nil, nil); a.status != 404 || a.header.Get("x-amzn-RateLimit-Limit") == "" {
		t.Errorf("unknown feed: %d %v", a.status, a.header)
	}

	// Two marketplaces.
	cd := do(t, http.MethodPost, f.url+"/feeds/2021-06-30/documents", map[string]string{"contentType": "application/json"}, nil)
	do(t, http.MethodPut, cd.body["url"].(string), doc, nil)
	a := do(t, http.MethodPost, f.url+"/feeds/2021-06-30/feeds", map[string]any{"feedType": "JSON_LISTINGS_FEED",
		"marketplaceIds": []string{listingsfake.DefaultMarketplaceID, "A2EUQ1WTGCTBG2"}, "inputFeedDocumentId": cd.body["feedDocumentId"]}, nil)
	if a.status != 400 || !strings.Contains(string(a.raw), "Expected a maximum of 1") {
		t.Errorf("two marketplaces: %d %s", a.status, a.raw)
	}

	// Uploads.
	cd = do(t, http.MethodPost, f.url+"/feeds/2021-06-30/documents", map[string]string{"contentType": "application/json"}, nil)
	if up := do(t, http.MethodPut, cd.body["url"].(string), doc, map[string]string{"Content-Type": "text/plain"}); up.status != 403 || !strings.Contains(string(up.raw), "SignatureDoesNotMatch") {
		t.Errorf("content type mismatch: %d %s", up.status, up.raw)
	}
	f.clock.Advance(5*time.Minute + time.Second)
	if up := do(t, http.MethodPut, cd.body["url"].(string), doc, nil); up.status != 403 || !strings.Contains(string(up.raw), "Request has expired") {
		t.Errorf("expired URL: %d %s", up.status, up.raw)
	}

	// A document of another version is FATAL, with a report.
	f.clock.Advance(5 * time.Minute)
	bad, _ := f.uploadFeed(t, strings.Replace(doc, `"2.0"`, `"1.0"`, 1))
	f.clock.Advance(time.Minute)
	if a := do(t, http.MethodGet, f.url+"/feeds/2021-06-30/feeds/"+bad, nil, nil); a.body["processingStatus"] != "FATAL" || a.body["resultFeedDocumentId"] == nil {
		t.Errorf("bad version: %s", a.raw)
	}
}

// TestDown: an outage answers every request, presigned URLs included,
// without rate-limit headers, and ends on time.
func TestDown(t *testing.T) {
	t.Parallel()
	f := newFake(t, listingsfake.Options{})
	f.AddListings("LUGGAGE", "A")
	cd := do(t, http.MethodPost, f.url+"/feeds/2021-06-30/documents", map[string]string{"contentType": "application/json"}, nil)
	f.SetDown(503, t0.Add(time.Minute))
	if a := f.patch(t, "A", mergeBody(qty("DEFAULT", 1))); a.status != 503 || a.errCode() != "ServiceUnavailable" || a.header.Get("x-amzn-RateLimit-Limit") != "" {
		t.Errorf("patch: %d %v %s", a.status, a.header, a.raw)
	}
	if up := do(t, http.MethodPut, cd.body["url"].(string), "{}", nil); up.status != 503 {
		t.Errorf("upload: %d", up.status)
	}
	f.clock.Advance(time.Minute)
	if a := f.patch(t, "A", mergeBody(qty("DEFAULT", 1))); a.status != 200 {
		t.Errorf("after the outage: %d", a.status)
	}
	if st := f.Stats(); st.Down != 2 || st.Requests != 4 {
		t.Errorf("stats %+v", st)
	}
}
