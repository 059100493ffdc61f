// Package ingest is the webhook endpoint: POST /webhooks/{connectorID}.
// It verifies a delivery with its connector, normalizes it to canonical
// events and stores them in the outbox together with the delivery's dedup
// key, and only then answers 200.
//
// # Answers
//
//   - 200 {"status":"accepted"}: the events are durable and will reach the
//     ledger.
//   - 200 {"status":"duplicate"}: seen before; nothing stored again.
//   - 400 malformed body or headers, with the reason.
//   - 401 bad or missing signature.
//   - 404 unknown connector.
//   - 405 a method other than POST.
//   - 413 a body over the limit.
//   - 503 the store is unavailable: nothing was stored, the sender should
//     retry (every marketplace does).
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/stockgate/stockgate/connectors"
	"github.com/stockgate/stockgate/ledger"
	"github.com/stockgate/stockgate/store"
)

// Options configure a Handler. A nil *Options means the defaults.
type Options struct {
	// MaxBodyBytes caps a body; zero means 1 MiB.
	MaxBodyBytes int64
	// DedupTTL is how long delivery ids are remembered; zero means 7 days.
	DedupTTL time.Duration
	// Accepted, when set, is called after events were stored (the relay's
	// Notify).
	Accepted func()
	// Answered, when set, is called with how long each webhook took to
	// answer, from when the handler was called until its answer was
	// written (priority.Pacer.Observe).
	Answered func(time.Duration)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Handler serves webhooks for a set of connectors.
type Handler struct {
	st   *store.Store
	opts Options

	mu     sync.RWMutex
	conns  map[string]connectors.Inbound
	paused map[string]bool
}

// New returns a handler storing into st.
func New(st *store.Store, opts *Options) *Handler {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.DedupTTL == 0 {
		o.DedupTTL = 7 * 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Handler{st: st, opts: o, conns: map[string]connectors.Inbound{}, paused: map[string]bool{}}
}

// Register adds or replaces a connector.
func (h *Handler) Register(c connectors.Inbound) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.conns[c.ID()] = c
}

// Unregister removes a connector: its webhooks are answered 404.
func (h *Handler) Unregister(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, id)
	delete(h.paused, id)
}

// SetPaused pauses or resumes a connector. A paused connector's webhooks
// are answered 503 with Retry-After, so the marketplace delivers them
// again later: nothing is lost and nothing is processed.
func (h *Handler) SetPaused(id string, paused bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if paused {
		h.paused[id] = true
	} else {
		delete(h.paused, id)
	}
}

// Connector returns the connector with the given id.
func (h *Handler) Connector(id string) (connectors.Inbound, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	c, ok := h.conns[id]
	return c, ok
}

// Notify tells the outbox relay that something was stored.
func (h *Handler) Notify() {
	if h.opts.Accepted != nil {
		h.opts.Accepted()
	}
}

// Answer is the JSON body of every reply.
type Answer struct {
	// Status is accepted, duplicate, ignored (a kind of delivery the
	// connector does not map: nothing stored), stale (older than one
	// already seen: nothing applied) or error.
	Status string `json:"status"`
	// Events is how many canonical events were accepted.
	Events int `json:"events,omitempty"`
	// Unmapped is how many parts were kept as dead letters.
	Unmapped int `json:"unmapped,omitempty"`
	// Reason says why an ignored or stale delivery moved nothing.
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
}

// ServeHTTP handles POST /webhooks/{connectorID}.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.opts.Answered != nil {
		start := time.Now()
		defer func() { h.opts.Answered(time.Since(start)) }()
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, Answer{Status: "error", Error: "use POST"})
		return
	}
	id := r.PathValue("connectorID")
	h.mu.RLock()
	c, ok := h.conns[id]
	paused := h.paused[id]
	h.mu.RUnlock()
	if !ok {
		reply(w, http.StatusNotFound, Answer{Status: "error", Error: "unknown connector " + strconv.Quote(id)})
		return
	}
	if paused {
		w.Header().Set("Retry-After", "60")
		reply(w, http.StatusServiceUnavailable, Answer{Status: "error", Error: "connector " + strconv.Quote(id) + " is paused; deliver again later"})
		return
	}
	// The logger is built on the paths that log, not for every delivery.
	log := func() *slog.Logger { return h.opts.Logger.With("connector", id) }
	body, err := readBody(w, r, h.opts.MaxBodyBytes)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reply(w, http.StatusRequestEntityTooLarge, Answer{Status: "error",
				Error: "body exceeds " + strconv.FormatInt(h.opts.MaxBodyBytes, 10) + " bytes"})
			return
		}
		reply(w, http.StatusBadRequest, Answer{Status: "error", Error: "reading body: " + err.Error()})
		return
	}
	req := &connectors.Request{Header: r.Header, Body: body, URL: requestURL(r), ReceivedAt: h.opts.Now()}
	if err := c.Verify(req); err != nil {
		log().Warn("webhook rejected", "reason", "signature", "bytes", len(body), "err", err)
		reply(w, http.StatusUnauthorized, Answer{Status: "error", Error: "bad or missing signature"})
		return
	}
	res, err := c.Normalize(r.Context(), req)
	if err != nil {
		if errors.Is(err, connectors.ErrMalformed) {
			log().Warn("webhook rejected", "reason", "malformed", "err", err)
			reply(w, http.StatusBadRequest, Answer{Status: "error", Error: err.Error()})
			return
		}
		log().Error("webhook failed", "err", err)
		reply(w, http.StatusInternalServerError, Answer{Status: "error", Error: "internal error"})
		return
	}
	if ignored(res) {
		// A kind of delivery the connector does not map: nothing to store,
		// and a 200 so that the marketplace does not retry it; the log
		// line shows a subscription made by mistake.
		log().Info("webhook ignored", "topic", res.Topic, "reason", res.Ignored)
		reply(w, http.StatusOK, Answer{Status: "ignored", Reason: res.Ignored})
		return
	}
	// Keep the request with what could not be mapped, so that it can be
	// normalized again once the mapping exists.
	for i := range res.Unmapped {
		if res.Unmapped[i].Header == nil {
			res.Unmapped[i].Header = r.Header.Clone()
			res.Unmapped[i].URL = req.URL
		}
	}
	dup, err := h.Accept(r.Context(), res, req.ReceivedAt)
	switch {
	case errors.Is(err, errEncode):
		log().Error("encoding event", "err", err)
		reply(w, http.StatusInternalServerError, Answer{Status: "error", Error: "internal error"})
		return
	case err != nil:
		log().Error("store unavailable; webhook not accepted", "err", err)
		w.Header().Set("Retry-After", "5")
		reply(w, http.StatusServiceUnavailable, Answer{Status: "error", Error: "store unavailable, retry later"})
		return
	case dup:
		reply(w, http.StatusOK, Answer{Status: "duplicate"})
		return
	case res.Stale != "":
		log().Info("webhook stale", "topic", res.Topic, "reason", res.Stale)
		reply(w, http.StatusOK, Answer{Status: "stale", Reason: res.Stale})
		return
	}
	for _, u := range res.Unmapped {
		log().Warn("webhook part kept as dead letter", "topic", res.Topic, "reason", u.Reason)
	}
	reply(w, http.StatusOK, Answer{Status: "accepted", Events: len(res.Events), Unmapped: len(res.Unmapped)})
}

var errEncode = errors.New("ingest: encoding event")

// ignored reports whether res is a delivery its connector ignored, with
// nothing in it to keep.
func ignored(res *connectors.Result) bool {
	return res.Ignored != "" && len(res.Events) == 0 && len(res.Unmapped) == 0 && len(res.Alerts) == 0
}

// readBody reads r's body, at most limit bytes (a longer one fails with
// *http.MaxBytesError). A body with a Content-Length within the limit is
// read into one buffer of that size rather than grown as it arrives.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	rd := http.MaxBytesReader(w, r.Body, limit)
	if n := r.ContentLength; n > 0 && n <= limit {
		b := make([]byte, n)
		if _, err := io.ReadFull(rd, b); err != nil {
			return nil, err
		}
		return b, nil // net/http ends the body at its Content-Length
	}
	return io.ReadAll(rd)
}

// Accept stores a normalized delivery: its canonical events in the outbox
// and its dead letters, together with its dedup key, in one transaction.
// It reports a duplicate delivery, and returns an error when nothing was
// stored. Deliveries that do not come over HTTP (an SQS queue) use it too.
//
// A result the connector ignored (ignored: a kind of delivery it does not
// map) stores nothing; Accept logs it and reports no duplicate.
func (h *Handler) Accept(ctx context.Context, res *connectors.Result, receivedAt time.Time) (duplicate bool, err error) {
	if ignored(res) {
		h.opts.Logger.Info("delivery ignored", "topic", res.Topic, "reason", res.Ignored)
		return false, nil
	}
	a := store.Acceptance{DedupKey: res.DedupKey, DedupTTL: h.opts.DedupTTL, DeadLetters: res.Unmapped}
	for _, ev := range res.Events {
		b, err := ev.Marshal()
		if err != nil {
			return false, fmt.Errorf("%w: %v", errEncode, err)
		}
		a.Messages = append(a.Messages, store.Message{
			Topic: ledger.TopicInbound, EventID: ev.ID(), Body: b,
			Key: ev.Movement.SKU, CreatedAt: receivedAt,
		})
	}
	switch err := h.st.Accept(ctx, a); {
	case errors.Is(err, store.ErrDuplicate):
		return true, nil
	case err != nil:
		return false, err
	}
	if len(res.Alerts) > 0 {
		// Alerts ride on a commit of their own, keyed by the delivery, so a
		// crash between the two and the marketplace's retry records them
		// once. (The retry is a duplicate for the outbox but not for this.)
		err := h.st.Commit(ctx, store.Commit{EventID: "alerts:" + res.DedupKey, Alerts: res.Alerts})
		if err != nil && !errors.Is(err, store.ErrAlreadyApplied) {
			return false, err
		}
	}
	if len(a.Messages) > 0 && h.opts.Accepted != nil {
		h.opts.Accepted()
	}
	return false, nil
}

func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

func reply(w http.ResponseWriter, code int, a Answer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(a)
}
