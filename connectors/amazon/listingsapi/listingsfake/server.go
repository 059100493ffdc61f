package listingsfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of a zero Options.
const (
	DefaultToken         = "Atza|stockgate-fake"
	DefaultSellerID      = "A3STOCKGATEFAKE"
	DefaultMarketplaceID = "ATVPDKIKX0DER"
)

// Operation names, as Stats counts them: the models' operationIds, and
// "uploadFeedDocument" and "downloadFeedDocument" for the presigned URLs.
const (
	OpPatchListingsItem    = "patchListingsItem"
	OpCreateFeedDocument   = "createFeedDocument"
	OpCreateFeed           = "createFeed"
	OpGetFeed              = "getFeed"
	OpCancelFeed           = "cancelFeed"
	OpGetFeedDocument      = "getFeedDocument"
	OpUploadFeedDocument   = "uploadFeedDocument"
	OpDownloadFeedDocument = "downloadFeedDocument"
)

// Plan is a usage plan: Rate requests per second, bucket of Burst.
type Plan struct {
	Rate  float64
	Burst int
}

// DefaultPlans are the usage plans of ref §6.1 (listings model and
// dev-docs listings-items-api-rate-limits; feeds model and dev-docs
// feeds-api-rate-limits).
var DefaultPlans = map[string]Plan{
	OpPatchListingsItem:  {Rate: 5, Burst: 5},
	OpCreateFeedDocument: {Rate: 0.5, Burst: 15},
	OpCreateFeed:         {Rate: 0.0083, Burst: 15},
	OpGetFeed:            {Rate: 2, Burst: 15},
	OpCancelFeed:         {Rate: 2, Burst: 15},
	OpGetFeedDocument:    {Rate: 0.0222, Burst: 10},
}

// The JSON_LISTINGS_FEED submission window (ref §5.2).
const (
	feedWindowCount = 5
	feedWindow      = 5 * time.Minute
)

// Options configure a Server; nil means the defaults.
type Options struct {
	// Token is the only x-amz-access-token accepted. Zero: DefaultToken.
	Token string
	// SellerID is the one seller served. Zero: DefaultSellerID.
	SellerID string
	// MarketplaceID is the one marketplace served. Zero:
	// DefaultMarketplaceID.
	MarketplaceID string
	// Plans override DefaultPlans per operation. Zero: DefaultPlans.
	Plans map[string]Plan
	// NoFeedWindow turns the 5-per-5-minutes JSON_LISTINGS_FEED window
	// off. Zero: enforced.
	NoFeedWindow bool
	// QueueTime is how long a feed stays IN_QUEUE after it was created
	// (or after the previous feed finished). Zero: 2s [U].
	QueueTime time.Duration
	// ProcessRate is how many messages per second a feed IN_PROGRESS
	// processes. Zero: 1,000 [U].
	ProcessRate float64
	// AcceptUnknownSKUs makes a patch of a SKU the catalogue lacks create
	// the listing. Zero: INVALID (see the package doc).
	AcceptUnknownSKUs bool
	// PlainReports serves processing reports uncompressed. Zero: gzipped,
	// with compressionAlgorithm GZIP.
	PlainReports bool
	// URLExpiry is how long a presigned document URL is valid. Zero: 5
	// minutes (feeds model).
	URLExpiry time.Duration
	// Now is the clock of buckets, feed processing and URL expiry. Zero:
	// time.Now (the bubble's clock inside testing/synctest).
	Now func() time.Time
}

// Stats counts what a Server has done.
type Stats struct {
	Requests     int64            // HTTP requests received
	Calls        map[string]int64 // per operation, answered or not
	Throttled    int64            // answered 429
	ThrottledOps map[string]int64 // 429s per operation
	Down         int64            // answered with the SetDown status
	Unauthorized int64            // answered 403 for the token or seller
	BadRequests  int64            // answered 400, 404, 405 or 415

	PatchesAccepted int64 // patches answered ACCEPTED (applied)
	PatchesInvalid  int64 // patches answered INVALID

	FeedsCreated      int64 // createFeed answered 202
	FeedsDone         int64 // feeds DONE
	FeedsFatal        int64 // feeds FATAL
	FeedsCancelled    int64 // feeds CANCELLED
	MessagesProcessed int64 // feed messages processed
	MessagesAccepted  int64 // of which accepted (applied)
	MessagesInvalid   int64 // of which invalid
	ReportsDownloaded int64 // processing reports downloaded
}

// Server is the fake API of one seller and marketplace; see the package
// doc. It is safe for concurrent use.
type Server struct {
	opts  Options
	plans map[string]Plan

	mu          sync.Mutex
	buckets     map[string]*rate.Limiter
	submissions []time.Time // JSON_LISTINGS_FEED submissions, oldest first
	listings    map[string]*listing
	docs        map[string]*document
	feeds       []*feed
	feedByID    map[string]*feed
	downStatus  int
	downUntil   time.Time
	throttle    int
	stats       Stats
	seq         int64
}

// New returns a Server with an empty catalogue.
func New(opts *Options) *Server {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Token == "" {
		o.Token = DefaultToken
	}
	if o.SellerID == "" {
		o.SellerID = DefaultSellerID
	}
	if o.MarketplaceID == "" {
		o.MarketplaceID = DefaultMarketplaceID
	}
	if o.QueueTime <= 0 {
		o.QueueTime = 2 * time.Second
	}
	if o.ProcessRate <= 0 {
		o.ProcessRate = 1000
	}
	if o.URLExpiry <= 0 {
		o.URLExpiry = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{
		opts: o, plans: maps.Clone(DefaultPlans),
		buckets: map[string]*rate.Limiter{}, listings: map[string]*listing{},
		docs: map[string]*document{}, feedByID: map[string]*feed{},
		stats: Stats{Calls: map[string]int64{}, ThrottledOps: map[string]int64{}},
	}
	maps.Copy(s.plans, o.Plans)
	now := o.Now()
	for op, p := range s.plans {
		b := rate.NewLimiter(rate.Limit(p.Rate), p.Burst)
		b.AllowN(now, 0) // full at the fake's now
		s.buckets[op] = b
	}
	return s
}

// Plan returns the usage plan the Server enforces for op.
func (s *Server) Plan(op string) Plan { return s.plans[op] }

// SetDown answers every request with status (503, say) until the clock
// reaches until. A zero status or a past until ends an outage.
func (s *Server) SetDown(status int, until time.Time) {
	s.mu.Lock()
	s.downStatus, s.downUntil = status, until
	s.mu.Unlock()
}

// Throttle answers the next n SP-API requests 429 QuotaExceeded.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	s.throttle = n
	s.mu.Unlock()
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.opts.Now())
	st := s.stats
	st.Calls = maps.Clone(s.stats.Calls)
	st.ThrottledOps = maps.Clone(s.stats.ThrottledOps)
	return st
}

// Client returns an *http.Client whose transport hands every request to
// the Server in process, whatever its host: no sockets, so it works in a
// testing/synctest bubble. Presigned URLs point at the request's host and
// are served the same way.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: roundTripper{s}}
}

type roundTripper struct{ s *Server }

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	if r.Host == "" {
		r.Host = req.URL.Host
	}
	r.RequestURI = req.URL.RequestURI()
	rec := httptest.NewRecorder()
	rt.s.ServeHTTP(rec, r)
	if req.Body != nil {
		req.Body.Close()
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// apiError is one entry of an SP-API "errors" list.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details string `json:"details"`
}

// The error bodies (see the package doc for their sources).
var (
	quotaExceeded = apiError{Code: "QuotaExceeded", Message: "You exceeded your quota for the requested resource.", Details: ""}
	unauthorized  = apiError{Code: "Unauthorized", Message: "Access to requested resource is denied.",
		Details: "The access token you provided is revoked, malformed or invalid."}
	unparsable = apiError{Code: "InvalidInput", Message: "Request has missing or invalid parameters and cannot be parsed."}
)

func failBody(status int) apiError {
	switch status {
	case http.StatusTooManyRequests:
		return quotaExceeded
	case http.StatusForbidden:
		return unauthorized
	case http.StatusInternalServerError:
		return apiError{Code: "InternalFailure", Message: "We encountered an internal error. Please try again."}
	case http.StatusServiceUnavailable:
		return apiError{Code: "ServiceUnavailable", Message: "Service temporarily unavailable. Please try again."}
	}
	return apiError{Code: "InvalidInput", Message: http.StatusText(status)}
}

// formatRate writes a rate as Amazon does ("5.0", "0.0083").
func formatRate(r float64) string {
	v := strconv.FormatFloat(r, 'f', -1, 64)
	if !strings.Contains(v, ".") {
		v += ".0"
	}
	return v
}

// reply writes a JSON answer of op with the headers of ref §6.1.
func (s *Server) reply(w http.ResponseWriter, op string, status int, v any) {
	if status/100 == 2 || status == http.StatusBadRequest || status == http.StatusNotFound {
		if p, ok := s.plans[op]; ok {
			w.Header().Set("x-amzn-RateLimit-Limit", formatRate(p.Rate))
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fail writes an SP-API error answer and counts it.
func (s *Server) fail(w http.ResponseWriter, op string, status int, e apiError) {
	s.mu.Lock()
	switch status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType:
		s.stats.BadRequests++
	case http.StatusForbidden:
		s.stats.Unauthorized++
	}
	s.mu.Unlock()
	s.reply(w, op, status, map[string]any{"errors": []apiError{e}})
}

// route names the operation of a request, and its path parameters.
func route(r *http.Request) (op string, params []string, ok bool) {
	p := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(p, "/listings/2021-08-01/items/"):
		rest := strings.Split(strings.TrimPrefix(p, "/listings/2021-08-01/items/"), "/")
		if len(rest) != 2 || r.Method != http.MethodPatch {
			return OpPatchListingsItem, nil, false
		}
		return OpPatchListingsItem, unescape(rest), true
	case p == "/feeds/2021-06-30/documents":
		return OpCreateFeedDocument, nil, r.Method == http.MethodPost
	case strings.HasPrefix(p, "/feeds/2021-06-30/documents/"):
		return OpGetFeedDocument, unescape([]string{strings.TrimPrefix(p, "/feeds/2021-06-30/documents/")}), r.Method == http.MethodGet
	case p == "/feeds/2021-06-30/feeds":
		return OpCreateFeed, nil, r.Method == http.MethodPost
	case strings.HasPrefix(p, "/feeds/2021-06-30/feeds/"):
		id := unescape([]string{strings.TrimPrefix(p, "/feeds/2021-06-30/feeds/")})
		switch r.Method {
		case http.MethodGet:
			return OpGetFeed, id, true
		case http.MethodDelete:
			return OpCancelFeed, id, true
		}
		return OpGetFeed, id, false
	case strings.HasPrefix(p, s3Uploads):
		return OpUploadFeedDocument, []string{strings.TrimPrefix(p, s3Uploads)}, r.Method == http.MethodPut
	case strings.HasPrefix(p, s3Reports):
		return OpDownloadFeedDocument, []string{strings.TrimPrefix(p, s3Reports)}, r.Method == http.MethodGet
	}
	return "", nil, false
}

func unescape(parts []string) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		if u, err := pathUnescape(p); err == nil {
			out[i] = u
		} else {
			out[i] = p
		}
	}
	return out
}

// ServeHTTP answers the Listings Items and Feeds API requests of the
// package doc, and the presigned document URLs.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	op, params, ok := route(r)
	s.mu.Lock()
	s.stats.Requests++
	s.seq++
	w.Header().Set("x-amzn-RequestId", fmt.Sprintf("fake-%08d", s.seq))
	if op != "" {
		s.stats.Calls[op]++
	}
	s.advance(now)
	status := 0
	switch {
	case s.downStatus != 0 && now.Before(s.downUntil):
		s.stats.Down++
		status = s.downStatus
	case op == "" || !ok:
	case op == OpUploadFeedDocument || op == OpDownloadFeedDocument:
	case r.Header.Get("x-amz-access-token") != s.opts.Token:
	case s.throttle > 0:
		s.throttle--
		status = http.StatusTooManyRequests
	case !s.buckets[op].AllowN(now, 1):
		status = http.StatusTooManyRequests
	}
	if status == http.StatusTooManyRequests {
		s.stats.Throttled++
		s.stats.ThrottledOps[op]++
	}
	s.mu.Unlock()
	if status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"errors": []apiError{failBody(status)}})
		return
	}
	if op == "" {
		s.fail(w, op, http.StatusNotFound, apiError{Code: "NotFound", Message: "Resource not found."})
		return
	}
	if !ok {
		s.fail(w, op, http.StatusMethodNotAllowed, apiError{Code: "InvalidInput", Message: "Method not allowed."})
		return
	}
	switch op {
	case OpUploadFeedDocument:
		s.upload(w, r, params[0], now)
		return
	case OpDownloadFeedDocument:
		s.download(w, r, params[0], now)
		return
	}
	if r.Header.Get("x-amz-access-token") != s.opts.Token {
		s.fail(w, op, http.StatusForbidden, unauthorized)
		return
	}
	if r.ContentLength != 0 && r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodDelete {
		if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
			s.fail(w, op, http.StatusUnsupportedMediaType, apiError{Code: "InvalidInput", Message: "Unsupported Content-Type " + ct + "."})
			return
		}
	}
	switch op {
	case OpPatchListingsItem:
		s.patch(w, r, params[0], params[1], now)
	case OpCreateFeedDocument:
		s.createFeedDocument(w, r, now)
	case OpCreateFeed:
		s.createFeed(w, r, now)
	case OpGetFeed:
		s.getFeed(w, r, params[0])
	case OpCancelFeed:
		s.cancelFeed(w, params[0], now)
	case OpGetFeedDocument:
		s.getFeedDocument(w, r, params[0], now)
	}
}

// readJSON decodes a request body into v; false (and a 400 written) when
// it is not JSON of that shape.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, op string, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		s.fail(w, op, http.StatusBadRequest, unparsable)
		return false
	}
	return true
}

// baseURL is the scheme and host the request reached, for presigned URLs.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
