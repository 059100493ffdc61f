package squarefake

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultToken is the access token a Server accepts when Options.Token is
// empty.
const DefaultToken = "EAAAstockgatefake"

// Path is the endpoint of BatchRetrieveInventoryCounts.
const Path = "/v2/inventory/counts/batch-retrieve"

// OrdersPath prefixes RetrieveOrder's endpoint, GET /v2/orders/{order_id}.
const OrdersPath = "/v2/orders/"

// Options configure a Server; nil means the defaults.
type Options struct {
	// Token is the only bearer token accepted. Zero: DefaultToken.
	Token string
	// PageSize is the page size of a request without limit. Zero: 1000
	// (Square's default is not documented [U]).
	PageSize int
	// Now is the fake's clock: it stamps counts set without CalculatedAt
	// and counts written by BatchChangeInventory, checks occurred_at, and
	// refills the rate limit. Zero: time.Now.
	Now func() time.Time
	// RateLimit is how many requests per second the fake answers before it
	// throttles (429 RATE_LIMITED); Square publishes no limit (ref §4.3),
	// so this is the test's choice. Zero: DefaultRateLimit. Negative: no
	// limit.
	RateLimit float64
	// Burst is how many requests may come at once. Zero: DefaultBurst.
	Burst int
	// MerchantID is the merchant_id of the events CountUpdatedEvent
	// builds. Zero: DefaultMerchantID.
	MerchantID string
}

// Defaults of Options.
const (
	// DefaultRateLimit is 20 requests per second [U: Square's limit is not
	// published; a third-party page says 100 per second, ref §4.3].
	DefaultRateLimit = 20
	// DefaultBurst is 20 requests.
	DefaultBurst = 20
	// DefaultMerchantID is the merchant of the fake's events.
	DefaultMerchantID = "MLSTOCKGATEFAKE"
)

// Count is one row of the fake's table: an InventoryCount (ref §3).
type Count struct {
	CatalogObjectID string
	// CatalogObjectType zero: "ITEM_VARIATION".
	CatalogObjectType string
	// State zero: "IN_STOCK".
	State      string
	LocationID string
	// Quantity is the decimal string served as is.
	Quantity string
	// CalculatedAt zero: Options.Now() when set.
	CalculatedAt time.Time
}

// Recorded is a request as the fake received it.
type Recorded struct {
	Header http.Header
	// Body is the raw body.
	Body []byte
}

// Stats counts what a Server has done.
type Stats struct {
	Requests     int // HTTP requests received
	Cut          int // ended before their body did (client gone): not answered, nothing applied
	Failed       int // answered by Fail
	Down         int // answered by the outage SetDown set
	Throttled    int // answered 429 for the rate limit
	Unauthorized int // answered 401
	Pages        int // pages of counts served
	Orders       int // orders served (RetrieveOrder answered 200)
	// BatchChanges is how many BatchChangeInventory calls were applied
	// (answered 200, replays not included).
	BatchChanges int
	// Refused is how many BatchChangeInventory calls were answered 400.
	Refused int
	// Replays is how many BatchChangeInventory calls were answered from
	// the idempotency memory, applying nothing.
	Replays int
	// Applied is how many physical counts changed a count; Ignored how
	// many were ignored as unchanged (ignore_unchanged_counts) and
	// Superseded how many were older than the last physical count of
	// their count.
	Applied, Ignored, Superseded int
	// MaxChanges is the largest changes array a BatchChangeInventory call
	// carried, refused calls included.
	MaxChanges int
}

// Server is the fake API; see the package doc. It is safe for concurrent
// use.
type Server struct {
	token    string
	pageSize int
	now      func() time.Time
	merchant string

	mu         sync.Mutex
	counts     map[key]Count
	orders     map[string]Order
	fails      int
	failCode   int
	failWait   time.Duration
	downStatus int
	downUntil  time.Time
	limiter    *rate.Limiter // nil: no rate limit
	catalog    map[string]bool
	physical   map[key]time.Time // occurred_at of the last physical count applied
	idem       map[string]idemAnswer
	applied    []Applied
	events     int
	requests   []Recorded
	stats      Stats
}

type key struct{ object, location, state string }

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
		o.PageSize = 1000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RateLimit == 0 {
		o.RateLimit = DefaultRateLimit
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.MerchantID == "" {
		o.MerchantID = DefaultMerchantID
	}
	s := &Server{token: o.Token, pageSize: o.PageSize, now: o.Now, merchant: o.MerchantID,
		counts: map[key]Count{}, orders: map[string]Order{}, physical: map[key]time.Time{}, idem: map[string]idemAnswer{}}
	if o.RateLimit > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(o.RateLimit), o.Burst)
		s.limiter.AllowN(o.Now(), 0) // start the bucket full at the fake's time
	}
	return s
}

// SetDown answers every request until until (by Options.Now) with status
// and the documented error body for it (see Fail): an outage. A zero until
// ends one.
func (s *Server) SetDown(status int, until time.Time) {
	s.mu.Lock()
	s.downStatus, s.downUntil = status, until
	s.mu.Unlock()
}

// SetCount adds or replaces the count of (CatalogObjectID, LocationID,
// State), filling the zero fields as Count describes.
func (s *Server) SetCount(c Count) {
	if c.CatalogObjectType == "" {
		c.CatalogObjectType = "ITEM_VARIATION"
	}
	if c.State == "" {
		c.State = "IN_STOCK"
	}
	if c.CalculatedAt.IsZero() {
		c.CalculatedAt = s.now()
	}
	s.mu.Lock()
	s.counts[key{c.CatalogObjectID, c.LocationID, c.State}] = c
	s.mu.Unlock()
}

// Count returns the count of (object, location, state).
func (s *Server) Count(object, location, state string) (Count, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.counts[key{object, location, state}]
	return c, ok
}

// Fail answers the next n requests with status and the documented error
// body for it; with a positive retryAfter, a Retry-After header in whole
// seconds, rounded up.
func (s *Server) Fail(n, status int, retryAfter time.Duration) {
	s.mu.Lock()
	s.fails, s.failCode, s.failWait = n, status, retryAfter
	s.mu.Unlock()
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Recorded {
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

// apiError is the spec's Error object.
type apiError struct {
	Category string `json:"category"`
	Code     string `json:"code"`
	Detail   string `json:"detail,omitempty"`
	Field    string `json:"field,omitempty"`
}

func writeErrors(w http.ResponseWriter, status int, errs ...apiError) {
	writeJSON(w, status, map[string]any{"errors": errs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// notFound is the 404 body [U: detail text].
func notFound(detail string) apiError {
	return apiError{Category: "INVALID_REQUEST_ERROR", Code: "NOT_FOUND", Detail: detail}
}

func invalid(code, field, detail string) apiError {
	return apiError{Category: "INVALID_REQUEST_ERROR", Code: code, Field: field, Detail: detail}
}

// failBody is the documented body for an injected status.
func failBody(status int) apiError {
	switch status {
	case http.StatusTooManyRequests:
		return apiError{Category: "RATE_LIMIT_ERROR", Code: "RATE_LIMITED", Detail: "Too many requests."} // ref §4.3; detail [U]
	case http.StatusInternalServerError:
		return apiError{Category: "API_ERROR", Code: "INTERNAL_SERVER_ERROR", Detail: "An internal error has occurred."}
	case http.StatusServiceUnavailable:
		return apiError{Category: "API_ERROR", Code: "SERVICE_UNAVAILABLE", Detail: "Service unavailable."}
	case http.StatusUnauthorized:
		return apiError{Category: "AUTHENTICATION_ERROR", Code: "UNAUTHORIZED", Detail: "This request could not be authorized."}
	case http.StatusForbidden:
		return apiError{Category: "AUTHENTICATION_ERROR", Code: "INSUFFICIENT_SCOPES", Detail: "The merchant has not given your application sufficient permissions."}
	}
	return invalid("BAD_REQUEST", "", http.StatusText(status))
}

var versionRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// The InventoryState enum (ref §4.4), with the replaced IN_TRANSIT_TO.
var states = map[string]bool{
	"CUSTOM": true, "IN_STOCK": true, "SOLD": true, "RETURNED_BY_CUSTOMER": true,
	"RESERVED_FOR_SALE": true, "SOLD_ONLINE": true, "ORDERED_FROM_VENDOR": true,
	"RECEIVED_FROM_VENDOR": true, "IN_TRANSIT_TO": true, "NONE": true, "WASTE": true,
	"UNLINKED_RETURN": true, "COMPOSED": true, "DECOMPOSED": true,
	"SUPPORTED_BY_NEWER_VERSION": true, "IN_TRANSIT": true,
}

// untracked states are ignored in the states filter (ref §4.2).
var untracked = map[string]bool{"NONE": true, "SOLD": true, "UNLINKED_RETURN": true}

// request is the body (spec BatchRetrieveInventoryCountsRequest).
type request struct {
	CatalogObjectIDs []string `json:"catalog_object_ids"`
	LocationIDs      []string `json:"location_ids"`
	UpdatedAfter     *string  `json:"updated_after"`
	Cursor           string   `json:"cursor"`
	States           []string `json:"states"`
	Limit            *int     `json:"limit"`
}

type wireCount struct {
	CalculatedAt      string `json:"calculated_at"`
	CatalogObjectID   string `json:"catalog_object_id"`
	CatalogObjectType string `json:"catalog_object_type"`
	LocationID        string `json:"location_id"`
	Quantity          string `json:"quantity"`
	State             string `json:"state"`
}

type response struct {
	Counts []wireCount `json:"counts,omitempty"`
	Cursor string      `json:"cursor,omitempty"`
}

// ServeHTTP answers the endpoints the package doc lists.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	var tooBig *http.MaxBytesError
	if err != nil && !errors.As(err, &tooBig) {
		// The client went away mid-body (a canceled call). No server
		// parses half a request: nothing is answered or applied. An
		// oversized body is read up to the limit and refused below as
		// malformed JSON.
		s.mu.Lock()
		s.stats.Requests++
		s.stats.Cut++
		s.mu.Unlock()
		return
	}
	now := s.now()
	s.mu.Lock()
	s.stats.Requests++
	s.requests = append(s.requests, Recorded{Header: r.Header.Clone(), Body: body})
	failing := s.fails > 0
	status, wait := s.failCode, s.failWait
	if failing {
		s.fails--
		s.stats.Failed++
	} else if now.Before(s.downUntil) {
		failing, status, wait = true, s.downStatus, 0
		s.stats.Down++
	}
	s.mu.Unlock()

	if failing {
		if wait > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(wait.Seconds())), 10))
		}
		writeErrors(w, status, failBody(status))
		return
	}
	method := http.MethodPost
	orderID, isOrder := strings.CutPrefix(r.URL.Path, OrdersPath)
	switch {
	case isOrder && orderID != "" && !strings.Contains(orderID, "/"):
		method = http.MethodGet
	case r.URL.Path != Path && r.URL.Path != ChangesPath:
		writeErrors(w, http.StatusNotFound, notFound("Resource not found."))
		return
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
		writeErrors(w, http.StatusMethodNotAllowed, invalid("METHOD_NOT_ALLOWED", "", "Method not allowed."))
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		s.mu.Lock()
		s.stats.Unauthorized++
		s.mu.Unlock()
		writeErrors(w, http.StatusUnauthorized, failBody(http.StatusUnauthorized))
		return
	}
	if v := r.Header.Get("Square-Version"); v != "" && !versionRE.MatchString(v) {
		writeErrors(w, http.StatusBadRequest, invalid("INVALID_SQUARE_VERSION_FORMAT", "", "Invalid Square-Version format: "+v))
		return
	}
	// Throttled requests are answered 429 RATE_LIMITED in category
	// RATE_LIMIT_ERROR (ref §4.3; spec ErrorCategory.RATE_LIMIT_ERROR),
	// with no Retry-After: Square documents none [U].
	s.mu.Lock()
	throttled := s.limiter != nil && !s.limiter.AllowN(now, 1)
	if throttled {
		s.stats.Throttled++
	}
	s.mu.Unlock()
	if throttled {
		writeErrors(w, http.StatusTooManyRequests, failBody(http.StatusTooManyRequests))
		return
	}
	if isOrder {
		s.serveOrder(w, orderID)
		return
	}
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		writeErrors(w, http.StatusBadRequest, invalid("EXPECTED_JSON_BODY", "", "The request body is not a JSON object."))
		return
	}
	if r.URL.Path == ChangesPath {
		s.serveChanges(w, body, now)
		return
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		writeErrors(w, http.StatusBadRequest, invalid("BAD_REQUEST", "", err.Error()))
		return
	}
	status, resp, apiErr := s.query(&req)
	if apiErr != nil {
		writeErrors(w, status, *apiErr)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(http.MaxBytesReader(w, r.Body, 1<<20))
	return b.Bytes(), err
}

// query validates req and returns its page.
func (s *Server) query(req *request) (int, *response, *apiError) {
	bad := func(e apiError) (int, *response, *apiError) { return http.StatusBadRequest, nil, &e }
	var after time.Time
	if req.UpdatedAfter != nil {
		t, err := time.Parse(time.RFC3339Nano, *req.UpdatedAfter)
		if err != nil {
			return bad(invalid("INVALID_TIME", "updated_after", "Invalid RFC 3339 time: "+*req.UpdatedAfter))
		}
		after = t
	}
	limit := s.pageSize
	if req.Limit != nil {
		switch {
		case *req.Limit < 1:
			return bad(invalid("VALUE_TOO_LOW", "limit", fmt.Sprintf("Value %d is less than the minimum 1.", *req.Limit)))
		case *req.Limit > 1000:
			return bad(invalid("VALUE_TOO_HIGH", "limit", fmt.Sprintf("Value %d is greater than the maximum 1000.", *req.Limit)))
		}
		limit = *req.Limit
	}
	wantState := map[string]bool{}
	for i, st := range req.States {
		if !states[st] {
			return bad(invalid("INVALID_ENUM_VALUE", fmt.Sprintf("states[%d]", i), "Invalid InventoryState: "+st))
		}
		if !untracked[st] {
			wantState[st] = true
		}
	}
	objects := set(req.CatalogObjectIDs)
	locations := set(req.LocationIDs)
	fp := fingerprint(req)
	offset := 0
	if req.Cursor != "" {
		o, ok := decodeCursor(req.Cursor, fp)
		if !ok {
			return bad(invalid("INVALID_CURSOR", "cursor", "The pagination cursor is invalid."))
		}
		offset = o
	}

	s.mu.Lock()
	rows := make([]Count, 0, len(s.counts))
	for _, c := range s.counts {
		if (objects == nil || objects[c.CatalogObjectID]) &&
			(locations == nil || locations[c.LocationID]) &&
			(len(wantState) == 0 || wantState[c.State]) &&
			c.CalculatedAt.After(after) {
			rows = append(rows, c)
		}
	}
	s.stats.Pages++
	s.mu.Unlock()

	slices.SortFunc(rows, func(a, b Count) int {
		if c := b.CalculatedAt.Compare(a.CalculatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.CatalogObjectID+"\x00"+a.LocationID+"\x00"+a.State,
			b.CatalogObjectID+"\x00"+b.LocationID+"\x00"+b.State)
	})
	if offset > len(rows) {
		offset = len(rows)
	}
	end := min(offset+limit, len(rows))
	resp := &response{}
	for _, c := range rows[offset:end] {
		resp.Counts = append(resp.Counts, toWire(c))
	}
	if end < len(rows) {
		resp.Cursor = encodeCursor(end, fp)
	}
	return http.StatusOK, resp, nil
}

func set(ids []string) map[string]bool {
	if len(ids) == 0 {
		return nil
	}
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// fingerprint hashes the filters (not the cursor or the limit), so a
// cursor is only accepted for the query that made it.
func fingerprint(req *request) [8]byte {
	h := sha256.New()
	write := func(name string, vs []string) {
		vs = slices.Clone(vs)
		slices.Sort(vs)
		fmt.Fprintf(h, "%s=%q;", name, vs)
	}
	write("catalog_object_ids", req.CatalogObjectIDs)
	write("location_ids", req.LocationIDs)
	write("states", req.States)
	if req.UpdatedAfter != nil {
		fmt.Fprintf(h, "updated_after=%q;", *req.UpdatedAfter)
	}
	var fp [8]byte
	copy(fp[:], h.Sum(nil))
	return fp
}

func encodeCursor(offset int, fp [8]byte) string {
	b := binary.BigEndian.AppendUint64(fp[:], uint64(offset))
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c string, fp [8]byte) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) != 16 || !bytes.Equal(b[:8], fp[:]) {
		return 0, false
	}
	o := binary.BigEndian.Uint64(b[8:])
	if o > math.MaxInt32 {
		return 0, false
	}
	return int(o), true
}
