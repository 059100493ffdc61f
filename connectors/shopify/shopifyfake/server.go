package shopifyfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultToken is the access token a Server accepts when Options.Token is
// empty.
const DefaultToken = "shpat_stockgate_fake"

// Options configure a Server. The zero value is a Standard-plan shop with
// the defaults below.
type Options struct {
	// Token is the only value accepted in X-Shopify-Access-Token.
	// Zero: DefaultToken.
	Token string
	// Plan sets the restore rate. Zero: Standard (100 points/s).
	Plan Plan
	// RestoreRate overrides the plan's restore rate, in points/s.
	// Zero: Plan.RestoreRate().
	RestoreRate float64
	// MaximumAvailable is the bucket size in points. Zero:
	// DefaultMaximumAvailable (2000, observed, not documented [U]).
	MaximumAvailable float64
	// Cost prices requests; see the package doc. Zero fields: defaults.
	Cost CostModel
	// ThrottleHTTPStatus is the HTTP status of a THROTTLED answer.
	// Zero: 200, as the GraphQL Admin API answers (ref §5.1). Set
	// http.StatusTooManyRequests to answer 429 with the same body and a
	// Retry-After header in whole seconds.
	ThrottleHTTPStatus int
	// RequireStocked makes the shop know only the levels set with SetLevel
	// or created by an earlier successful write: other items answer
	// INVALID_INVENTORY_ITEM / ITEM_NOT_STOCKED_AT_LOCATION and read as
	// null. Zero: every item is stocked everywhere, at 0 until set.
	RequireStocked bool
	// IdempotencyWindow is how long an idempotency key is remembered.
	// Zero: 24h (Shopify's retention window is not published [U]).
	IdempotencyWindow time.Duration
	// Now is the clock for the bucket, outages, timestamps and key
	// retention. Zero: time.Now. See ManualClock.
	Now func() time.Time
	// Addr is where Start listens. Zero: "127.0.0.1:0" (a free port).
	Addr string
}

// Stats counts what a Server has done.
type Stats struct {
	Requests     int64 // HTTP requests received
	Down         int64 // answered with the SetDown status
	Unauthorized int64 // answered 401
	Throttled    int64 // answered THROTTLED
	Mutations    int64 // inventorySetQuantities fields run, replays included
	Replays      int64 // idempotent replays (nothing applied)
	UserErrors   int64 // mutations answered with userErrors (nothing applied)
	Applied      int64 // quantities applied
}

// Server is a fake shop's GraphQL Admin API; see the package doc. It is
// safe for concurrent use. One Server is one shop (one app+store bucket).
type Server struct {
	opts  Options
	now   func() time.Time
	cost  CostModel
	cache docCache

	mu          sync.Mutex
	bucket      *Bucket
	levels      map[pair]*level
	items       map[int64]struct{}
	idem        map[string]idemRecord
	idemInserts int
	groupSeq    int64
	downStatus  int
	downUntil   time.Time
	stats       Stats
	reqSeq      int64

	lifecycle sync.Mutex
	srv       *http.Server
	url       string
	closed    bool
}

// New returns a Server; Start serves it on a local port, or mount
// Handler in a test server. It panics on negative sizes or rates, an
// unknown plan, or a ThrottleHTTPStatus that is not 200 or 429.
func New(opts Options) *Server {
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.RestoreRate == 0 {
		opts.RestoreRate = opts.Plan.RestoreRate()
	}
	if opts.MaximumAvailable == 0 {
		opts.MaximumAvailable = DefaultMaximumAvailable
	}
	if opts.ThrottleHTTPStatus == 0 {
		opts.ThrottleHTTPStatus = http.StatusOK
	}
	if opts.ThrottleHTTPStatus != http.StatusOK && opts.ThrottleHTTPStatus != http.StatusTooManyRequests {
		panic(fmt.Sprintf("shopifyfake: ThrottleHTTPStatus %d: want 200 or 429", opts.ThrottleHTTPStatus))
	}
	if opts.IdempotencyWindow == 0 {
		opts.IdempotencyWindow = 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Cost.Mutation < 0 || opts.Cost.Object < 0 || opts.Cost.PerInputItem < 0 {
		panic("shopifyfake: negative cost")
	}
	return &Server{
		opts:   opts,
		now:    opts.Now,
		cost:   opts.Cost.withDefaults(),
		bucket: NewBucket(opts.MaximumAvailable, opts.RestoreRate, opts.Now()),
		levels: make(map[pair]*level),
		items:  make(map[int64]struct{}),
		idem:   make(map[string]idemRecord),
	}
}

// Handler returns the Server as an http.Handler.
func (s *Server) Handler() http.Handler { return s }

// Start serves on Options.Addr until Close.
func (s *Server) Start() error {
	s.lifecycle.Lock()
	defer s.lifecycle.Unlock()
	if s.closed {
		return errors.New("shopifyfake: server closed")
	}
	if s.srv != nil {
		return errors.New("shopifyfake: already started")
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("shopifyfake: listen: %w", err)
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.url = "http://" + ln.Addr().String()
	go s.srv.Serve(ln) //nolint:errcheck // ErrServerClosed after Close
	return nil
}

// URL is the base URL after Start ("http://127.0.0.1:port"), the value to
// give a client as its shop; empty before.
func (s *Server) URL() string {
	s.lifecycle.Lock()
	defer s.lifecycle.Unlock()
	return s.url
}

// Close stops serving; it is idempotent.
func (s *Server) Close() error {
	s.lifecycle.Lock()
	defer s.lifecycle.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.srv != nil {
		return s.srv.Close()
	}
	return nil
}

// SetDown answers every request with status (503, say) until the clock
// reaches until, with Retry-After for 429 and 503. A zero status or a past
// until ends an outage.
func (s *Server) SetDown(status int, until time.Time) {
	s.mu.Lock()
	s.downStatus, s.downUntil = status, until
	s.mu.Unlock()
}

// SetLevel sets the available quantity of item at location (which becomes
// stocked).
func (s *Server) SetLevel(item, location int64, available int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lv := s.levels[pair{item, location}]
	if lv == nil {
		lv = &level{}
		s.levels[pair{item, location}] = lv
	}
	lv.available, lv.updatedAt = available, s.now()
	s.items[item] = struct{}{}
}

// Level reports the available quantity of item at location, and whether
// that level exists.
func (s *Server) Level(item, location int64) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lv, ok := s.levels[pair{item, location}]
	if !ok {
		return 0, false
	}
	return lv.available, true
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// ThrottleStatus is the bucket as the next response would report it.
func (s *Server) ThrottleStatus() ThrottleStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bucket.StatusAt(s.now())
}

// RequestedCost is the requested cost the fake computes for a request to
// API version (e.g. "2026-07"), or the first request error.
func (s *Server) RequestedCost(version, query string, variables map[string]any) (float64, error) {
	v, ok := parseVersion(version)
	if !ok {
		return 0, fmt.Errorf("shopifyfake: unknown API version %q", version)
	}
	o, errs := prepare(&s.cache, v, s.cost, query, "", variables)
	if len(errs) > 0 {
		return 0, errors.New(errs[0].Message)
	}
	return o.requested(), nil
}

// costExt is extensions.cost (ref §5.1).
type costExt struct {
	RequestedQueryCost float64        `json:"requestedQueryCost"`
	ActualQueryCost    *float64       `json:"actualQueryCost"`
	ThrottleStatus     ThrottleStatus `json:"throttleStatus"`
}

type response struct {
	Errors     []gqlError `json:"errors,omitempty"`
	Data       *object    `json:"data,omitempty"`
	Extensions struct {
		Cost costExt `json:"cost"`
	} `json:"extensions"`
}

const graphqlPathPrefix = "/admin/api/"

// ServeHTTP answers POST /admin/api/{version}/graphql.json.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests++
	s.reqSeq++
	w.Header().Set("X-Request-Id", fmt.Sprintf("fake-%d", s.reqSeq))
	now := s.now()
	down, until := s.downStatus, s.downUntil
	if down != 0 && now.Before(until) {
		s.stats.Down++
	}
	s.mu.Unlock()

	if down != 0 && now.Before(until) {
		if down == http.StatusTooManyRequests || down == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(until.Sub(now).Seconds())), 10))
		}
		writeJSON(w, down, map[string]string{"errors": http.StatusText(down)})
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, graphqlPathPrefix)
	vs, ok2 := strings.CutSuffix(rest, "/graphql.json")
	version, ok3 := parseVersion(vs)
	if !ok || !ok2 || !ok3 {
		writeJSON(w, http.StatusNotFound, map[string]string{"errors": "Not Found"})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"errors": "Method Not Allowed"})
		return
	}
	if r.Header.Get("X-Shopify-Access-Token") != s.opts.Token {
		s.mu.Lock()
		s.stats.Unauthorized++
		s.mu.Unlock()
		// The body Shopify sends for a missing or wrong token [S].
		writeJSON(w, http.StatusUnauthorized, map[string]string{
			"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
		return
	}
	var req struct {
		Query         string         `json:"query"`
		Variables     map[string]any `json:"variables"`
		OperationName string         `json:"operationName"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<20))
	dec.UseNumber() // keep 64-bit ids and quantities exact
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []gqlError{{Message: "Invalid JSON in request body: " + err.Error()}}})
		return
	}
	s.graphql(w, version, req.Query, req.OperationName, req.Variables)
}

func (s *Server) graphql(w http.ResponseWriter, version apiVersion, query, opName string, vars map[string]any) {
	var resp response
	o, errs := prepare(&s.cache, version, s.cost, query, opName, vars)
	var requested float64
	if o != nil {
		requested = o.requested()
	}
	if len(errs) == 0 && requested > SingleQueryMaxCost {
		errs = []gqlError{{
			Message: fmt.Sprintf("Query cost is %s, which exceeds the single query max cost limit (%d).",
				strconv.FormatFloat(requested, 'f', -1, 64), SingleQueryMaxCost),
			Extensions: map[string]any{"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": SingleQueryMaxCost,
				"documentation": "https://shopify.dev/api/usage/rate-limits"},
		}}
	}
	resp.Extensions.Cost.RequestedQueryCost = requested

	s.mu.Lock()
	now := s.now()
	if len(errs) > 0 { // request errors: nothing runs, nothing is charged
		resp.Errors = errs
		resp.Extensions.Cost.ThrottleStatus = s.bucket.StatusAt(now)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, &resp)
		return
	}
	if !s.bucket.TakeAt(now, requested) {
		s.stats.Throttled++
		wait := s.bucket.WaitAt(now, requested)
		resp.Extensions.Cost.ThrottleStatus = s.bucket.StatusAt(now)
		s.mu.Unlock()
		resp.Errors = []gqlError{{Message: "Throttled", Extensions: map[string]any{
			"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}}
		if s.opts.ThrottleHTTPStatus == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.FormatInt(max(1, int64(math.Ceil(wait.Seconds()))), 10))
		}
		writeJSON(w, s.opts.ThrottleHTTPStatus, &resp)
		return
	}
	data, runErrs, actual := s.execute(o, now)
	s.bucket.RefundAt(now, requested-actual)
	resp.Extensions.Cost.ThrottleStatus = s.bucket.StatusAt(now)
	s.mu.Unlock()
	resp.Errors, resp.Data = runErrs, data
	resp.Extensions.Cost.ActualQueryCost = &actual
	writeJSON(w, http.StatusOK, &resp)
}

// execute runs the root fields in order. Called with s.mu held.
func (s *Server) execute(o *operation, now time.Time) (*object, []gqlError, float64) {
	data := &object{}
	var errs []gqlError
	var total float64
	for _, f := range o.fields {
		if f.Name == "__typename" {
			data.set(f.Alias, o.root)
			continue
		}
		def := schema[o.root][f.Name]
		var v map[string]any
		switch f.Name {
		case "inventoryItem":
			v, _ = s.inventoryItem(o.args[f]).(map[string]any)
		case "inventorySetQuantities":
			var e *gqlError
			if v, e = s.inventorySetQuantities(o, f, now); e != nil {
				errs = append(errs, *e)
			}
		}
		if v == nil {
			data.set(f.Alias, nil)
			continue
		}
		obj, c := o.project(def.typ, f.SelectionSet, v)
		data.set(f.Alias, obj)
		total += o.rootCost(f) + c
	}
	return data, errs, total
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		http.Error(w, `{"errors":"Internal Server Error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes()) //nolint:errcheck // the client went away
}
