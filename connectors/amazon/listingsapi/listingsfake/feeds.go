package listingsfake

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Presigned document URLs (S3 at Amazon) live under these paths.
const (
	s3Uploads = "/fake-s3/documents/"
	s3Reports = "/fake-s3/reports/"
)

const jsonListingsFeed = "JSON_LISTINGS_FEED"

// document is a feed document: an upload, or a processing report.
type document struct {
	id          string
	contentType string // of an upload
	body        []byte // the upload, or the report (gzipped when gz)
	uploaded    bool
	gz          bool
	sig         string    // of the current presigned URL
	expires     time.Time // of the current presigned URL
}

// feed is a submitted feed.
type feed struct {
	id           string
	feedType     string
	marketplaces []string
	created      time.Time
	status       string
	start, end   time.Time
	messages     []feedMessage
	fatal        string // why the document cannot be processed
	result       string // report document id
}

// feedMessage is one message of a JSON_LISTINGS_FEED document.
type feedMessage struct {
	MessageID     *int64                     `json:"messageId"`
	SKU           string                     `json:"sku"`
	OperationType string                     `json:"operationType"`
	ProductType   string                     `json:"productType"`
	Patches       []patchOp                  `json:"patches"`
	Attributes    map[string]json.RawMessage `json:"attributes"`
}

// FeedInfo is what Feeds reports of a feed.
type FeedInfo struct {
	ID       string
	FeedType string
	Status   string
	Messages int
	Created  time.Time
	Started  time.Time // zero while IN_QUEUE
	Ended    time.Time // zero until terminal
}

// Feeds lists the feeds in submission order, as of now.
func (s *Server) Feeds() []FeedInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.opts.Now())
	out := make([]FeedInfo, 0, len(s.feeds))
	for _, f := range s.feeds {
		out = append(out, FeedInfo{ID: f.id, FeedType: f.feedType, Status: f.status, Messages: len(f.messages),
			Created: f.created, Started: f.start, Ended: f.end})
	}
	return out
}

// presign gives d a new presigned URL valid until now+URLExpiry. Callers
// hold s.mu.
func (s *Server) presign(r *http.Request, d *document, prefix string, now time.Time) string {
	s.seq++
	d.sig = fmt.Sprintf("%016x", uint64(s.seq)*0x9e3779b97f4a7c15)
	d.expires = now.Add(s.opts.URLExpiry)
	return fmt.Sprintf("%s%s%s?X-Amz-Expires=%d&X-Amz-Signature=%s", baseURL(r), prefix, d.id, int(s.opts.URLExpiry/time.Second), d.sig)
}

// createFeedDocument answers POST /feeds/2021-06-30/documents.
func (s *Server) createFeedDocument(w http.ResponseWriter, r *http.Request, now time.Time) {
	const op = OpCreateFeedDocument
	var body struct {
		ContentType string `json:"contentType"`
	}
	if !s.readJSON(w, r, op, &body) {
		return
	}
	if body.ContentType == "" {
		s.fail(w, op, http.StatusBadRequest, apiError{Code: "InvalidInput", Message: "Missing required contentType."})
		return
	}
	s.mu.Lock()
	s.seq++
	d := &document{id: fmt.Sprintf("amzn1.tortuga.4.fake.%08d", s.seq), contentType: body.ContentType}
	s.docs[d.id] = d
	u := s.presign(r, d, s3Uploads, now)
	s.mu.Unlock()
	s.reply(w, op, http.StatusCreated, map[string]string{"feedDocumentId": d.id, "url": u})
}

// s3Error writes S3's XML error answer [U].
func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>", code, msg)
}

// presigned finds the document of a presigned URL and checks its
// signature and expiry, writing the 403 when they fail.
func (s *Server) presigned(w http.ResponseWriter, r *http.Request, id string, now time.Time) *document {
	s.mu.Lock()
	d := s.docs[id]
	code, msg := "", ""
	switch {
	case d == nil:
		code = "NoSuchKey"
	case r.URL.Query().Get("X-Amz-Signature") != d.sig:
		code, msg = "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
	case now.After(d.expires):
		code, msg = "AccessDenied", "Request has expired"
	}
	s.mu.Unlock()
	switch code {
	case "":
		return d
	case "NoSuchKey":
		s3Error(w, http.StatusNotFound, code, "The specified key does not exist.")
	default:
		s3Error(w, http.StatusForbidden, code, msg)
	}
	return nil
}

// upload answers the PUT of a feed document.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, id string, now time.Time) {
	d := s.presigned(w, r, id, now)
	if d == nil {
		return
	}
	s.mu.Lock()
	ct := d.contentType
	s.mu.Unlock()
	if r.Header.Get("Content-Type") != ct {
		s3Error(w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		s3Error(w, http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		return
	}
	s.mu.Lock()
	d.body, d.uploaded = body, true
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// download answers the GET of a document.
func (s *Server) download(w http.ResponseWriter, r *http.Request, id string, now time.Time) {
	d := s.presigned(w, r, id, now)
	if d == nil {
		return
	}
	s.mu.Lock()
	body := d.body
	if d.result() {
		s.stats.ReportsDownloaded++
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (d *document) result() bool { return d.contentType == "" }

// createFeed answers POST /feeds/2021-06-30/feeds.
func (s *Server) createFeed(w http.ResponseWriter, r *http.Request, now time.Time) {
	const op = OpCreateFeed
	var body struct {
		FeedType            string            `json:"feedType"`
		MarketplaceIDs      []string          `json:"marketplaceIds"`
		InputFeedDocumentID string            `json:"inputFeedDocumentId"`
		FeedOptions         map[string]string `json:"feedOptions"`
	}
	if !s.readJSON(w, r, op, &body) {
		return
	}
	bad := func(msg string) { s.fail(w, op, http.StatusBadRequest, apiError{Code: "InvalidInput", Message: msg}) }
	switch {
	case body.FeedType == "" || body.InputFeedDocumentID == "" || len(body.MarketplaceIDs) == 0:
		bad("Missing required feedType, marketplaceIds or inputFeedDocumentId.")
		return
	case len(body.MarketplaceIDs) > 25:
		bad("Too many 'marketplaceIds' values provided. Expected a maximum of 25.")
		return
	case body.FeedType == jsonListingsFeed && len(body.MarketplaceIDs) > 1:
		bad("Too many 'marketplaceIds' values provided. Expected a maximum of 1.")
		return
	case !slices.Contains(body.MarketplaceIDs, s.opts.MarketplaceID):
		bad(fmt.Sprintf("Invalid marketplaceIds %q: this seller sells in %s.", strings.Join(body.MarketplaceIDs, ","), s.opts.MarketplaceID))
		return
	}
	s.mu.Lock()
	d := s.docs[body.InputFeedDocumentID]
	if d == nil || d.result() || !d.uploaded {
		s.mu.Unlock()
		bad(fmt.Sprintf("Feed document %q does not exist or has no content.", body.InputFeedDocumentID))
		return
	}
	if body.FeedType == jsonListingsFeed && !s.opts.NoFeedWindow {
		cut := now.Add(-feedWindow)
		s.submissions = slices.DeleteFunc(s.submissions, func(t time.Time) bool { return !t.After(cut) })
		if len(s.submissions) >= feedWindowCount {
			s.stats.Throttled++
			s.stats.ThrottledOps[op]++
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": []apiError{quotaExceeded}})
			return
		}
		s.submissions = append(s.submissions, now)
	}
	s.seq++
	f := &feed{id: fmt.Sprintf("5%010d", s.seq), feedType: body.FeedType, marketplaces: body.MarketplaceIDs,
		created: now, status: "IN_QUEUE"}
	f.messages, f.fatal = parseFeed(body.FeedType, d.body, s.opts.SellerID)
	s.feeds = append(s.feeds, f)
	s.feedByID[f.id] = f
	s.stats.FeedsCreated++
	s.mu.Unlock()
	s.reply(w, op, http.StatusAccepted, map[string]string{"feedId": f.id})
}

// parseFeed reads a JSON_LISTINGS_FEED document and checks it against the
// schema's requirements; fatal says why it cannot be processed.
func parseFeed(feedType string, body []byte, sellerID string) (msgs []feedMessage, fatal string) {
	if feedType != jsonListingsFeed {
		return nil, fmt.Sprintf("Feed type %s is not supported: the Feeds API no longer supports legacy XML and flat file listing feeds.", feedType)
	}
	var doc struct {
		Header *struct {
			SellerID string `json:"sellerId"`
			Version  string `json:"version"`
		} `json:"header"`
		Messages []feedMessage `json:"messages"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, "The feed document is not valid JSON: " + err.Error()
	}
	switch {
	case doc.Header == nil:
		return nil, "The feed document has no header."
	case doc.Header.Version != "2.0":
		return nil, fmt.Sprintf("Unsupported feed version %q: expected 2.0.", doc.Header.Version)
	case doc.Header.SellerID != sellerID:
		return nil, fmt.Sprintf("The feed's sellerId %q does not match the seller %q.", doc.Header.SellerID, sellerID)
	case len(doc.Messages) == 0 || len(doc.Messages) > 25_000:
		return nil, fmt.Sprintf("The feed has %d messages: expected 1 to 25000.", len(doc.Messages))
	}
	seen := make(map[int64]bool, len(doc.Messages))
	for i, m := range doc.Messages {
		switch {
		case m.MessageID == nil || *m.MessageID < 1 || *m.MessageID > 2147483647:
			return nil, fmt.Sprintf("messages[%d]: messageId must be an integer from 1 to 2147483647.", i)
		case seen[*m.MessageID]:
			return nil, fmt.Sprintf("messages[%d]: messageId %d is not unique.", i, *m.MessageID)
		case m.SKU == "" || m.OperationType == "":
			return nil, fmt.Sprintf("messages[%d]: sku and operationType are required.", i)
		}
		seen[*m.MessageID] = true
	}
	return doc.Messages, ""
}

// getFeed answers GET /feeds/2021-06-30/feeds/{feedId}.
func (s *Server) getFeed(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	f := s.feedByID[id]
	if f == nil {
		s.mu.Unlock()
		s.fail(w, OpGetFeed, http.StatusNotFound, apiError{Code: "NotFound", Message: fmt.Sprintf("Feed %s not found.", id)})
		return
	}
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	v := map[string]any{"feedId": f.id, "feedType": f.feedType, "marketplaceIds": f.marketplaces,
		"createdTime": ts(f.created), "processingStatus": f.status}
	if !f.start.IsZero() {
		v["processingStartTime"] = ts(f.start)
	}
	if !f.end.IsZero() {
		v["processingEndTime"] = ts(f.end)
	}
	if f.result != "" {
		v["resultFeedDocumentId"] = f.result
	}
	s.mu.Unlock()
	s.reply(w, OpGetFeed, http.StatusOK, v)
}

// cancelFeed answers DELETE /feeds/2021-06-30/feeds/{feedId}.
func (s *Server) cancelFeed(w http.ResponseWriter, id string, now time.Time) {
	s.mu.Lock()
	f := s.feedByID[id]
	switch {
	case f == nil:
		s.mu.Unlock()
		s.fail(w, OpCancelFeed, http.StatusNotFound, apiError{Code: "NotFound", Message: fmt.Sprintf("Feed %s not found.", id)})
		return
	case f.status != "IN_QUEUE":
		st := f.status
		s.mu.Unlock()
		s.fail(w, OpCancelFeed, http.StatusBadRequest, apiError{Code: "InvalidInput", Message: fmt.Sprintf("Feed %s is %s: only IN_QUEUE feeds can be cancelled.", id, st)})
		return
	}
	f.status, f.end = "CANCELLED", now
	s.stats.FeedsCancelled++
	s.mu.Unlock()
	if p, ok := s.plans[OpCancelFeed]; ok {
		w.Header().Set("x-amzn-RateLimit-Limit", formatRate(p.Rate))
	}
	w.WriteHeader(http.StatusOK)
}

// getFeedDocument answers GET /feeds/2021-06-30/documents/{id}.
func (s *Server) getFeedDocument(w http.ResponseWriter, r *http.Request, id string, now time.Time) {
	s.mu.Lock()
	d := s.docs[id]
	if d == nil || !d.result() {
		s.mu.Unlock()
		s.fail(w, OpGetFeedDocument, http.StatusNotFound, apiError{Code: "NotFound", Message: fmt.Sprintf("Feed document %s not found.", id)})
		return
	}
	v := map[string]string{"feedDocumentId": d.id, "url": s.presign(r, d, s3Reports, now)}
	if d.gz {
		v["compressionAlgorithm"] = "GZIP"
	}
	s.mu.Unlock()
	s.reply(w, OpGetFeedDocument, http.StatusOK, v)
}

// advance runs the feed processor up to now: feeds are processed one at a
// time, in submission order. Every entry point calls it first, so a feed
// that finished before a patch arrived is applied before it. Callers hold
// s.mu.
func (s *Server) advance(now time.Time) {
	var prevEnd time.Time
	for _, f := range s.feeds {
		if f.status == "DONE" || f.status == "FATAL" || f.status == "CANCELLED" {
			if f.end.After(prevEnd) {
				prevEnd = f.end
			}
			continue
		}
		start := f.created.Add(s.opts.QueueTime)
		if prevEnd.After(start) {
			start = prevEnd
		}
		if now.Before(start) {
			return
		}
		f.status, f.start = "IN_PROGRESS", start
		end := start.Add(time.Duration(float64(len(f.messages)) / s.opts.ProcessRate * float64(time.Second)))
		if now.Before(end) {
			return
		}
		s.process(f, end)
		prevEnd = end
	}
}

// reportIssue is an issue of a processing report.
type reportIssue struct {
	MessageID     int64  `json:"messageId,omitempty"`
	SKU           string `json:"sku,omitempty"`
	Code          string `json:"code,omitempty"`
	Severity      string `json:"severity"`
	Message       string `json:"message"`
	AttributeName string `json:"attributeName,omitempty"`
}

// process applies a feed's messages at time at and writes its report.
// Callers hold s.mu.
func (s *Server) process(f *feed, at time.Time) {
	var issues []reportIssue
	var processed, accepted, invalid, errs, warns int
	if f.fatal != "" {
		issues = append(issues, reportIssue{Code: "FATAL", Severity: "ERROR", Message: f.fatal})
		errs = 1
	}
	for _, m := range f.messages {
		processed++
		mi := s.message(m)
		bad := false
		for _, is := range mi {
			ri := reportIssue{MessageID: *m.MessageID, SKU: m.SKU, Code: is.Code, Severity: is.Severity, Message: is.Message}
			if len(is.AttributeNames) > 0 {
				ri.AttributeName = is.AttributeNames[0]
			}
			issues = append(issues, ri)
			switch is.Severity {
			case "ERROR":
				bad = true
				errs++
			case "WARNING":
				warns++
			}
		}
		if bad {
			invalid++
		} else {
			accepted++
		}
	}
	if issues == nil {
		issues = []reportIssue{}
	}
	report := map[string]any{
		"header":  map[string]string{"sellerId": s.opts.SellerID, "version": "2.0", "feedId": f.id},
		"issues":  issues,
		"summary": map[string]int{"errors": errs, "warnings": warns, "messagesProcessed": processed, "messagesAccepted": accepted, "messagesInvalid": invalid},
	}
	body, _ := json.Marshal(report)
	s.seq++
	d := &document{id: fmt.Sprintf("amzn1.tortuga.4.fake.%08d", s.seq), body: body}
	if !s.opts.PlainReports {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(body)
		_ = zw.Close()
		d.body, d.gz = b.Bytes(), true
	}
	s.docs[d.id] = d
	f.result, f.end = d.id, at
	if f.fatal != "" {
		f.status = "FATAL"
		s.stats.FeedsFatal++
	} else {
		f.status = "DONE"
		s.stats.FeedsDone++
	}
	s.stats.MessagesProcessed += int64(processed)
	s.stats.MessagesAccepted += int64(accepted)
	s.stats.MessagesInvalid += int64(invalid)
}

// message validates and, when it has no ERROR, applies one feed message.
// Callers hold s.mu.
func (s *Server) message(m feedMessage) []issue {
	badRequest := []issue{{Code: "BAD_REQUEST", Severity: "ERROR", Message: "Invalid parameters provided.", Categories: []string{}}}
	var ops []patchOp
	switch m.OperationType {
	case "PATCH":
		if m.ProductType == "" || len(m.Patches) == 0 {
			return badRequest
		}
		for _, p := range m.Patches {
			if p.Op != "delete" && !p.hasValue() {
				return badRequest
			}
		}
		ops = m.Patches
	case "PARTIAL_UPDATE":
		if m.ProductType == "" || len(m.Attributes) == 0 {
			return badRequest
		}
		for name, v := range m.Attributes {
			if name != attrName {
				return []issue{invalidAttribute(name)}
			}
			ops = append(ops, patchOp{Op: "replace", Path: attrPath, Value: v})
		}
	default:
		return []issue{{Code: "UNSUPPORTED", Severity: "ERROR", Categories: []string{},
			Message: fmt.Sprintf("operationType %s is not modelled by the fake.", m.OperationType)}}
	}
	vals, issues := s.check(m.SKU, ops)
	if len(issues) > 0 {
		return issues
	}
	s.applyChecked(m.SKU, m.ProductType, ops, vals)
	return nil
}
