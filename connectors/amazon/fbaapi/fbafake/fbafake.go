package fbafake

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultToken is the access token a Server accepts when Options.Token is
// empty.
const DefaultToken = "Atza|stockgate-fake"

// Path is the one endpoint the fake serves.
const Path = "/fba/inventory/v1/summaries"

// Options configure a Server; nil means the defaults.
type Options struct {
	// Token is the only x-amz-access-token accepted. Zero: DefaultToken.
	Token string
	// PageSize is how many summaries a page holds. Zero: 50 [U].
	PageSize int
	// NextTokenTTL is how long a nextToken stays valid. Zero: 30s (ref
	// §5.3).
	NextTokenTTL time.Duration
	// Rate, when positive, limits requests to Rate per second with a
	// bucket of Burst (the model's plan: 2 and 2). Zero: no limit.
	Rate float64
	// Burst is the bucket size with Rate. Zero: 2.
	Burst int
	// Now is the clock for the bucket, nextToken expiry, the 18-month
	// startDateTime bound and summaries set without LastUpdated. Zero:
	// time.Now.
	Now func() time.Time
}

// Summary is one row of the fake's table: an InventorySummary of a SKU in
// a marketplace.
type Summary struct {
	MarketplaceID string
	SellerSKU     string
	// FNSKU, ASIN zero: SellerSKU-derived placeholders.
	FNSKU, ASIN string
	// Condition zero: "NewItem".
	Condition   string
	ProductName string
	// The quantities of inventoryDetails.
	Fulfillable, InboundWorking, InboundShipped, InboundReceiving int64
	Reserved, Researching, Unfulfillable                          int64
	// Total is totalQuantity. Zero: the sum of the quantities above [U].
	Total int64
	// LastUpdated is lastUpdatedTime. Zero: Now() when set.
	LastUpdated time.Time
}

// Stats counts what a Server has done.
type Stats struct {
	Requests     int // HTTP requests received
	Throttled    int // answered 429
	Failed       int // answered by Fail
	Unauthorized int // answered 403
	Pages        int // pages of summaries served
}

// Server is the fake API; see the package doc. It is safe for concurrent
// use.
type Server struct {
	opts Options

	mu        sync.Mutex
	bucket    *rate.Limiter
	summaries map[key]Summary
	throttle  int
	fails     int
	failCode  int
	requests  []*http.Request
	stats     Stats
	reqSeq    int
}

type key struct{ marketplace, sku string }

// New returns a Server.
func New(opts *Options) *Server {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Token == "" {
		o.Token = DefaultToken
	}
	if o.PageSize <= 0 {
		o.PageSize = 50
	}
	if o.NextTokenTTL <= 0 {
		o.NextTokenTTL = 30 * time.Second
	}
	if o.Burst <= 0 {
		o.Burst = 2
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{opts: o, summaries: map[key]Summary{}}
	if o.Rate > 0 {
		s.bucket = rate.NewLimiter(rate.Limit(o.Rate), o.Burst)
		s.bucket.AllowN(o.Now(), 0) // start the bucket full at the fake's now
	}
	return s
}

// SetSummary adds or replaces the summary of (MarketplaceID, SellerSKU),
// filling the zero fields as Summary describes.
func (s *Server) SetSummary(sm Summary) {
	if sm.FNSKU == "" {
		sm.FNSKU = "X00" + strings.ToUpper(sm.SellerSKU)
	}
	if sm.ASIN == "" {
		sm.ASIN = "B0" + strings.ToUpper(sm.SellerSKU)
	}
	if sm.Condition == "" {
		sm.Condition = "NewItem"
	}
	if sm.Total == 0 {
		sm.Total = sm.Fulfillable + sm.InboundWorking + sm.InboundShipped + sm.InboundReceiving +
			sm.Reserved + sm.Researching + sm.Unfulfillable
	}
	if sm.LastUpdated.IsZero() {
		sm.LastUpdated = s.opts.Now()
	}
	s.mu.Lock()
	s.summaries[key{sm.MarketplaceID, sm.SellerSKU}] = sm
	s.mu.Unlock()
}

// Summary returns the summary of sku in marketplace.
func (s *Server) Summary(marketplace, sku string) (Summary, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sm, ok := s.summaries[key{marketplace, sku}]
	return sm, ok
}

// Throttle answers the next n requests 429 QuotaExceeded.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	s.throttle = n
	s.mu.Unlock()
}

// Fail answers the next n requests with status (after any Throttle).
func (s *Server) Fail(n, status int) {
	s.mu.Lock()
	s.fails, s.failCode = n, status
	s.mu.Unlock()
}

// Requests returns the requests received so far (their URL and Header
// are set), oldest first.
func (s *Server) Requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details string `json:"details"`
}

// quotaExceeded is the 429 body (ref §6.1,
// shared/fixtures/amazon/error_429_quota_exceeded.sample.json).
var quotaExceeded = apiError{Code: "QuotaExceeded", Message: "You exceeded your quota for the requested resource.", Details: ""}

func failBody(status int) apiError {
	switch status {
	case http.StatusTooManyRequests:
		return quotaExceeded
	case http.StatusInternalServerError:
		return apiError{Code: "InternalFailure", Message: "We encountered an internal error. Please try again."} // model sandbox 500
	case http.StatusServiceUnavailable:
		return apiError{Code: "ServiceUnavailable", Message: "Service temporarily unavailable. Please try again."}
	case http.StatusForbidden:
		return apiError{Code: "Unauthorized", Message: "Access to requested resource is denied.",
			Details: "The access token you provided is revoked, malformed or invalid."}
	}
	return apiError{Code: "InvalidInput", Message: http.StatusText(status)}
}

func (s *Server) write(w http.ResponseWriter, status int, withLimit bool, v any) {
	if withLimit {
		r := s.opts.Rate
		if r <= 0 {
			r = 2 // the model's default plan
		}
		w.Header().Set("x-amzn-RateLimit-Limit", strconv.FormatFloat(r, 'f', -1, 64))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) writeErr(w http.ResponseWriter, status int, e apiError) {
	s.write(w, status, status == http.StatusBadRequest, map[string]any{"errors": []apiError{e}})
}

// ServeHTTP answers GET /fba/inventory/v1/summaries.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	s.mu.Lock()
	s.stats.Requests++
	s.reqSeq++
	s.requests = append(s.requests, r.Clone(r.Context()))
	w.Header().Set("x-amzn-RequestId", fmt.Sprintf("fake-%08d", s.reqSeq))
	status := 0
	switch {
	case s.throttle > 0:
		s.throttle--
		s.stats.Throttled++
		status = http.StatusTooManyRequests
	case s.fails > 0:
		s.fails--
		s.stats.Failed++
		status = s.failCode
	case s.bucket != nil && !s.bucket.AllowN(now, 1):
		s.stats.Throttled++
		status = http.StatusTooManyRequests
	}
	s.mu.Unlock()
	if status != 0 {
		s.writeErr(w, status, failBody(status))
		return
	}
	if r.URL.Path != Path {
		s.writeErr(w, http.StatusNotFound, apiError{Code: "NotFound", Message: "Resource not found."})
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		s.writeErr(w, http.StatusMethodNotAllowed, apiError{Code: "InvalidInput", Message: "Method not allowed."})
		return
	}
	if r.Header.Get("x-amz-access-token") != s.opts.Token {
		s.mu.Lock()
		s.stats.Unauthorized++
		s.mu.Unlock()
		s.writeErr(w, http.StatusForbidden, failBody(http.StatusForbidden))
		return
	}
	resp, msg := s.query(r.URL.Query(), now)
	if msg != "" {
		s.writeErr(w, http.StatusBadRequest, apiError{Code: "InvalidInput", Message: msg})
		return
	}
	s.write(w, http.StatusOK, true, resp)
}

type wireDetails struct {
	FulfillableQuantity      int64 `json:"fulfillableQuantity"`
	InboundWorkingQuantity   int64 `json:"inboundWorkingQuantity"`
	InboundShippedQuantity   int64 `json:"inboundShippedQuantity"`
	InboundReceivingQuantity int64 `json:"inboundReceivingQuantity"`
	ReservedQuantity         struct {
		TotalReservedQuantity        int64 `json:"totalReservedQuantity"`
		PendingCustomerOrderQuantity int64 `json:"pendingCustomerOrderQuantity"`
		PendingTransshipmentQuantity int64 `json:"pendingTransshipmentQuantity"`
		FCProcessingQuantity         int64 `json:"fcProcessingQuantity"`
	} `json:"reservedQuantity"`
	ResearchingQuantity struct {
		TotalResearchingQuantity     int64 `json:"totalResearchingQuantity"`
		ResearchingQuantityBreakdown []any `json:"researchingQuantityBreakdown"`
	} `json:"researchingQuantity"`
	UnfulfillableQuantity struct {
		TotalUnfulfillableQuantity int64 `json:"totalUnfulfillableQuantity"`
	} `json:"unfulfillableQuantity"`
}

type wireSummary struct {
	ASIN             string       `json:"asin"`
	FNSKU            string       `json:"fnSku"`
	SellerSKU        string       `json:"sellerSku"`
	Condition        string       `json:"condition"`
	InventoryDetails *wireDetails `json:"inventoryDetails,omitempty"`
	LastUpdatedTime  string       `json:"lastUpdatedTime"`
	ProductName      string       `json:"productName"`
	TotalQuantity    int64        `json:"totalQuantity"`
}

type granularity struct {
	GranularityType string `json:"granularityType"`
	GranularityID   string `json:"granularityId"`
}

type response struct {
	Pagination *struct {
		NextToken string `json:"nextToken"`
	} `json:"pagination,omitempty"`
	Payload struct {
		Granularity        granularity   `json:"granularity"`
		InventorySummaries []wireSummary `json:"inventorySummaries"`
	} `json:"payload"`
}

// query validates the parameters and returns the page, or a message for
// a 400.
func (s *Server) query(q url.Values, now time.Time) (*response, string) {
	if gt := q.Get("granularityType"); gt != "Marketplace" {
		return nil, fmt.Sprintf("Invalid granularityType %q: want Marketplace.", gt)
	}
	mp := q.Get("granularityId")
	if mp == "" {
		return nil, "Missing required parameter granularityId."
	}
	var ids []string
	for _, v := range q["marketplaceIds"] {
		for id := range strings.SplitSeq(v, ",") {
			if id != "" {
				ids = append(ids, id)
			}
		}
	}
	switch {
	case len(ids) == 0:
		return nil, "Missing required parameter marketplaceIds."
	case len(ids) > 1:
		return nil, "marketplaceIds accepts at most 1 value."
	}
	details := false
	if v := q.Get("details"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Sprintf("Invalid details %q: want true or false.", v)
		}
		details = b
	}
	var start time.Time
	if v := q.Get("startDateTime"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, fmt.Sprintf("Invalid startDateTime %q: want ISO 8601.", v)
		}
		if t.Before(now.AddDate(0, -18, 0)) {
			return nil, "startDateTime must be no earlier than 18 months before now."
		}
		start = t
	}
	var skus map[string]bool
	if v := q.Get("sellerSkus"); v != "" && start.IsZero() {
		list := strings.Split(v, ",")
		if len(list) > 50 {
			return nil, "sellerSkus accepts at most 50 values."
		}
		skus = map[string]bool{}
		for _, sku := range list {
			skus[sku] = true
		}
	}
	fp := fingerprint(q)
	offset := 0
	if tok := q.Get("nextToken"); tok != "" {
		o, issued, ok := decodeToken(tok, fp)
		if !ok {
			return nil, "Invalid nextToken: it does not belong to this query (send the same startDateTime)."
		}
		if now.Sub(issued) > s.opts.NextTokenTTL {
			return nil, "The nextToken has expired."
		}
		offset = o
	}

	s.mu.Lock()
	var rows []Summary
	for k, sm := range s.summaries {
		if k.marketplace == mp && (skus == nil || skus[k.sku]) && !sm.LastUpdated.Before(start) {
			rows = append(rows, sm)
		}
	}
	s.stats.Pages++
	s.mu.Unlock()
	slices.SortFunc(rows, func(a, b Summary) int { return strings.Compare(a.SellerSKU, b.SellerSKU) })

	offset = min(offset, len(rows))
	end := min(offset+s.opts.PageSize, len(rows))
	resp := &response{}
	resp.Payload.Granularity = granularity{GranularityType: "Marketplace", GranularityID: mp}
	resp.Payload.InventorySummaries = []wireSummary{}
	for _, sm := range rows[offset:end] {
		ws := wireSummary{
			ASIN: sm.ASIN, FNSKU: sm.FNSKU, SellerSKU: sm.SellerSKU, Condition: sm.Condition,
			LastUpdatedTime: sm.LastUpdated.UTC().Format(time.RFC3339), ProductName: sm.ProductName, TotalQuantity: sm.Total,
		}
		if details {
			d := &wireDetails{
				FulfillableQuantity: sm.Fulfillable, InboundWorkingQuantity: sm.InboundWorking,
				InboundShippedQuantity: sm.InboundShipped, InboundReceivingQuantity: sm.InboundReceiving,
			}
			d.ReservedQuantity.TotalReservedQuantity = sm.Reserved
			d.ReservedQuantity.PendingCustomerOrderQuantity = sm.Reserved
			d.ResearchingQuantity.TotalResearchingQuantity = sm.Researching
			d.ResearchingQuantity.ResearchingQuantityBreakdown = []any{}
			d.UnfulfillableQuantity.TotalUnfulfillableQuantity = sm.Unfulfillable
			ws.InventoryDetails = d
		}
		resp.Payload.InventorySummaries = append(resp.Payload.InventorySummaries, ws)
	}
	if end < len(rows) {
		resp.Pagination = &struct {
			NextToken string `json:"nextToken"`
		}{NextToken: encodeToken(end, fp, now)}
	}
	return resp, ""
}

// fingerprint hashes the query without nextToken.
func fingerprint(q url.Values) [8]byte {
	c := url.Values{}
	for k, v := range q {
		if k != "nextToken" {
			c[k] = v
		}
	}
	sum := sha256.Sum256([]byte(c.Encode())) // Encode sorts by key
	var fp [8]byte
	copy(fp[:], sum[:])
	return fp
}

func encodeToken(offset int, fp [8]byte, issued time.Time) string {
	b := binary.BigEndian.AppendUint32(fp[:], uint32(offset))
	b = binary.BigEndian.AppendUint64(b, uint64(issued.UnixNano()))
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(tok string, fp [8]byte) (int, time.Time, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 20 || !bytes.Equal(b[:8], fp[:]) {
		return 0, time.Time{}, false
	}
	return int(binary.BigEndian.Uint32(b[8:12])), time.Unix(0, int64(binary.BigEndian.Uint64(b[12:]))), true
}
