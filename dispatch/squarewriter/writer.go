package squarewriter

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stockgate/stockgate/connectors/square/squareapi"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/ratelimit"
)

// Changer sends BatchChangeInventory. *squareapi.Client implements it.
type Changer interface {
	BatchChangeInventory(ctx context.Context, req squareapi.ChangeRequest) (squareapi.ChangeResponse, error)
}

var _ Changer = (*squareapi.Client)(nil)

// Recorder notes what stockgate writes (just before each call), so the
// inbound side recognises Square's inventory.count.updated for it as an
// echo. *square.MemoryEchoes and *square.SharedEchoes implement it. It
// must be safe for concurrent use: the counts of one call are recorded at
// once.
type Recorder interface {
	Record(catalogObjectID, locationID string, qty int64, at time.Time)
}

// Defaults and bounds.
const (
	// DefaultRequestsPerSecond is the rate of a zero
	// Options.RequestsPerSecond. Square publishes no limit (ref §4.3); a
	// third-party page says 100 requests per second per merchant [U], and
	// this stays well below it: 10 calls of 100 changes are 1,000 channel
	// quantities a second.
	DefaultRequestsPerSecond = 10
	// minRate is as low as a run of 429s takes the rate.
	minRate = 0.5
	// stampMaxAge is how long an occurred_at is reused for retries of the
	// same (SKU, version): Square refuses one older than 24 hours (ref
	// §4.1), and this leaves an hour for clock skew.
	stampMaxAge = 23 * time.Hour
)

// Options configure a Writer.
type Options struct {
	// Account is the connector account id, the Writer's Key. Required.
	Account string
	// Client sends the writes: the account's *squareapi.Client. Required.
	Client Changer
	// LocationID is the Square location whose IN_STOCK counts the channel
	// writes ("L8YQ2W4K7ZB3D"). Required.
	LocationID string
	// Items maps each synced stockgate SKU to its Square catalog object
	// (item variation) id; each catalog object at most once. (The
	// connector's config maps the other way, catalog object → SKU.)
	// Required.
	Items map[string]string
	// Echoes records every count Square accepted. Nil: none.
	Echoes Recorder
	// MaxBatch is the most changes per call, 1 to 100 (ref §4.1). Zero:
	// 100.
	MaxBatch int
	// RequestsPerSecond is the most calls per second, the budget the
	// Writer starts the account's limiter at and returns to after a 429.
	// Zero: DefaultRequestsPerSecond.
	RequestsPerSecond float64
	// Now stamps occurred_at and echo records. Nil: time.Now.
	Now func() time.Time
}

// Writer is the dispatch.Writer of one Square location. It is safe for
// concurrent use; the Dispatcher calls Write one at a time.
type Writer struct {
	account  string
	c        Changer
	loc      string
	objectOf map[string]string // SKU → catalog object id
	skus     []string
	echoes   Recorder
	batch    int
	maxRate  float64
	now      func() time.Time

	mu      sync.Mutex
	stamps  map[string]stamp // SKU → occurred_at of its unconfirmed write
	stamped uint64           // stamps made so far
	rate    float64          // the call rate the limiter was last given
}

// stamp is the occurred_at a version of a SKU's quantity is sent with
// until Square confirms or refuses the write.
type stamp struct {
	version uint64
	at      time.Time
	// n numbers the stamps this writer made, so that two operations
	// stamped in the same millisecond (a reconcile right after the write
	// it repeats) still differ in their idempotency keys.
	n uint64
}

var (
	_ dispatch.Writer          = (*Writer)(nil)
	_ dispatch.InitialBudgeter = (*Writer)(nil)
)

// New checks opts, reporting every problem at once, and returns a Writer.
func New(opts Options) (*Writer, error) {
	var errs []error
	if strings.TrimSpace(opts.Account) == "" {
		errs = append(errs, errors.New("Account: required"))
	}
	if opts.Client == nil {
		errs = append(errs, errors.New("Client: required"))
	}
	if strings.TrimSpace(opts.LocationID) == "" {
		errs = append(errs, errors.New("LocationID: required (a Square location id)"))
	}
	if len(opts.Items) == 0 {
		errs = append(errs, errors.New("Items: at least one SKU is required"))
	}
	if opts.MaxBatch < 0 || opts.MaxBatch > squareapi.MaxChanges {
		errs = append(errs, fmt.Errorf("MaxBatch: %d: want 1 to %d", opts.MaxBatch, squareapi.MaxChanges))
	}
	if opts.RequestsPerSecond < 0 {
		errs = append(errs, fmt.Errorf("RequestsPerSecond: %g: want a positive rate, or 0 for %d", opts.RequestsPerSecond, DefaultRequestsPerSecond))
	}
	w := &Writer{
		account: opts.Account, c: opts.Client, loc: opts.LocationID, echoes: opts.Echoes,
		batch: opts.MaxBatch, maxRate: opts.RequestsPerSecond, now: opts.Now,
		objectOf: make(map[string]string, len(opts.Items)), stamps: make(map[string]stamp),
	}
	skus := make([]string, 0, len(opts.Items))
	for sku := range opts.Items {
		skus = append(skus, sku)
	}
	slices.Sort(skus)
	skuOf := make(map[string]string, len(skus))
	for _, sku := range skus {
		obj := opts.Items[sku]
		switch {
		case strings.TrimSpace(sku) == "":
			errs = append(errs, errors.New("Items: empty SKU"))
		case strings.TrimSpace(obj) == "":
			errs = append(errs, fmt.Errorf("Items[%q]: empty catalog object id", sku))
		case skuOf[obj] != "":
			errs = append(errs, fmt.Errorf("Items[%q]: catalog object %s is already SKU %q", sku, obj, skuOf[obj]))
		default:
			skuOf[obj] = sku
			w.objectOf[sku] = obj
			w.skus = append(w.skus, sku)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("squarewriter: %w", errors.Join(errs...))
	}
	if w.batch == 0 {
		w.batch = squareapi.MaxChanges
	}
	if w.maxRate == 0 {
		w.maxRate = DefaultRequestsPerSecond
	}
	w.rate = w.maxRate
	if w.now == nil {
		w.now = time.Now
	}
	return w, nil
}

// Key implements dispatch.Writer: the account id.
func (w *Writer) Key() string { return w.account }

// MaxBatch implements dispatch.Writer.
func (w *Writer) MaxBatch() int { return w.batch }

// SKUs implements dispatch.Writer: every mapped SKU, sorted.
func (w *Writer) SKUs() []string { return slices.Clone(w.skus) }

// Syncs implements dispatch.Writer.
func (w *Writer) Syncs(sku string) bool { _, ok := w.objectOf[sku]; return ok }

// Cost implements dispatch.Writer: one call, whatever its size (the budget
// is in requests, ref §4.3 and the ratelimit package doc).
func (w *Writer) Cost(int) float64 { return 1 }

// InitialBudget implements dispatch.InitialBudgeter: RequestsPerSecond,
// with a burst of one second's worth.
func (w *Writer) InitialBudget() (limit, burst float64) { return w.maxRate, max(1, w.maxRate) }

// ErrorCode implements dispatch.Writer.
func (w *Writer) ErrorCode(err error) errcode.Code {
	return errcode.Of(err, squareapi.ErrorCode)
}

// RetryAfter implements dispatch.Writer: the answer's Retry-After, which
// Square does not document (ref §4.3), else zero.
func (w *Writer) RetryAfter(err error) time.Duration { return squareapi.RetryAfter(err) }

// Write implements dispatch.Writer with one BatchChangeInventory call of
// PHYSICAL_COUNT changes (see the package doc).
func (w *Writer) Write(ctx context.Context, p dispatch.Pacer, ups []dispatch.Update) ([]dispatch.Outcome, error) {
	outs := make([]dispatch.Outcome, len(ups))
	at := make([]int, 0, len(ups)) // request position → update index
	for i, u := range ups {
		switch _, ok := w.objectOf[u.SKU]; {
		case !ok:
			outs[i] = dispatch.Outcome{Code: errcode.InvalidArgument, Err: fmt.Errorf("SKU %q has no Square catalog object", u.SKU)}
		case u.Quantity < 0:
			outs[i] = dispatch.Outcome{Code: errcode.InvalidArgument, Err: fmt.Errorf("quantity %d is negative", u.Quantity)}
		default:
			at = append(at, i)
		}
	}
	if len(at) == 0 {
		return outs, nil
	}
	// The same set of updates is always the same request: changes in
	// catalog object order, each with the occurred_at of its version.
	slices.SortFunc(at, func(a, b int) int { return strings.Compare(w.objectOf[ups[a].SKU], w.objectOf[ups[b].SKU]) })
	req := w.request(ups, at)

	if err := p.Wait(ctx, 1); err != nil {
		return nil, err
	}
	w.recordEchoes(req)
	_, err := w.c.BatchChangeInventory(ctx, req)
	p.Observe(w.observe(err))
	if err != nil {
		return w.failed(req, ups, at, outs, err)
	}
	// Applied: the next write of these SKUs is a new operation, with a new
	// occurred_at and so a new key.
	w.forget(ups, at)
	for j := range req.Counts {
		outs[at[j]] = dispatch.Outcome{Code: errcode.OK}
	}
	return outs, nil
}

// recordEchoes notes the counts of req with the Recorder before they are
// sent. Square may apply a call whose answer never arrives (the gateway
// stopped or crashed while it was on its way), and its
// inventory.count.updated for them must still read as an echo; a count
// noted for a call that then failed matches only a report of that very
// quantity. The counts are noted at once: a Recorder that keeps them in
// a store takes a round trip each.
func (w *Writer) recordEchoes(req squareapi.ChangeRequest) {
	if w.echoes == nil {
		return
	}
	stamp := w.now()
	var recorded sync.WaitGroup
	for _, pc := range req.Counts {
		recorded.Go(func() { w.echoes.Record(pc.CatalogObjectID, pc.LocationID, pc.Quantity, stamp) })
	}
	recorded.Wait()
}

// request builds the call for ups[at…] and its idempotency key.
func (w *Writer) request(ups []dispatch.Update, at []int) squareapi.ChangeRequest {
	now := w.now().UTC().Truncate(time.Millisecond)
	unchanged := true // see the package doc, Writes
	req := squareapi.ChangeRequest{Counts: make([]squareapi.PhysicalCount, 0, len(at)), IgnoreUnchangedCounts: &unchanged}
	h := sha256.New()
	h.Write([]byte(w.account + "\x00" + w.loc + "\x00"))
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, i := range at {
		u := ups[i]
		st, ok := w.stamps[u.SKU]
		if !ok || st.version != u.Version || now.Sub(st.at) > stampMaxAge || st.at.After(now) {
			w.stamped++
			st = stamp{version: u.Version, at: now, n: w.stamped}
			w.stamps[u.SKU] = st
		}
		pc := squareapi.PhysicalCount{
			CatalogObjectID: w.objectOf[u.SKU], LocationID: w.loc, State: squareapi.StateInStock,
			Quantity: u.Quantity, OccurredAt: st.at, ReferenceID: reference(w.account, u.Version),
		}
		req.Counts = append(req.Counts, pc)
		var b [32]byte
		binary.BigEndian.PutUint64(b[0:], u.Version)
		binary.BigEndian.PutUint64(b[8:], uint64(u.Quantity))
		binary.BigEndian.PutUint64(b[16:], uint64(st.at.UnixMilli()))
		binary.BigEndian.PutUint64(b[24:], st.n)
		h.Write([]byte(pc.CatalogObjectID + "\x00"))
		h.Write(b[:])
	}
	req.IdempotencyKey = event.DeterministicID("stockgate-squarewriter", w.account, hex.EncodeToString(h.Sum(nil)))
	return req
}

// reference is the physical count's reference_id: the writer and the
// ledger version, so the merchant's inventory history names stockgate.
func reference(account string, version uint64) string {
	r := "stockgate:" + account + ":" + strconv.FormatUint(version, 10)
	if len(r) > squareapi.MaxReferenceIDLen {
		r = r[len(r)-squareapi.MaxReferenceIDLen:]
	}
	return r
}

// failed sorts out a call that failed. A call whose outcome is unknown
// (5xx, transport, timeout) or that was throttled keeps its stamps, so
// the Dispatcher's retry of the same updates is the same request under the
// same key, and Square answers it without applying it twice.
func (w *Writer) failed(req squareapi.ChangeRequest, ups []dispatch.Update, at []int, outs []dispatch.Outcome, err error) ([]dispatch.Outcome, error) {
	var se *squareapi.Error
	if !errors.As(err, &se) || se.Code != errcode.InvalidArgument || se.HTTPStatus == 0 {
		return nil, err
	}
	// Refused: nothing was applied. The stamps go, so what is sent next
	// is a new request with a new key.
	w.forget(ups, at)
	per := make(map[int][]squareapi.APIError)
	for _, e := range se.Errors {
		if e.Code == "IDEMPOTENCY_KEY_REUSED" {
			// The key was used for other content (occurred_at stamps lost
			// in a restart, say): with new stamps the key is new.
			return nil, &errcode.Error{Code: errcode.Aborted, Err: err}
		}
		j, ok := squareapi.ChangeIndex(e)
		if !ok || j >= len(req.Counts) {
			return nil, err // the request as a whole
		}
		per[j] = append(per[j], e)
	}
	for j := range req.Counts {
		i := at[j]
		es, ok := per[j]
		if !ok {
			outs[i] = dispatch.Outcome{Code: errcode.Aborted, Err: fmt.Errorf("not applied: another change of the call was refused: %w", err)}
			continue
		}
		code := errcode.InvalidArgument
		if slices.ContainsFunc(es, func(e squareapi.APIError) bool { return strings.HasSuffix(e.Field, ".occurred_at") }) {
			code = errcode.Unknown // the Writer's own stamp (clock skew): retried, restamped
		}
		outs[i] = dispatch.Outcome{Code: code, Err: fmt.Errorf("square refused the count of %s at %s: %s",
			req.Counts[j].CatalogObjectID, w.loc, describe(es))}
	}
	return outs, nil
}

// forget drops the stamps of ups[at…].
func (w *Writer) forget(ups []dispatch.Update, at []int) {
	w.mu.Lock()
	for _, i := range at {
		delete(w.stamps, ups[i].SKU)
	}
	w.mu.Unlock()
}

func describe(es []squareapi.APIError) string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Code + " at " + e.Field
		if e.Detail != "" {
			msgs[i] += ": " + e.Detail
		}
	}
	return strings.Join(msgs, "; ")
}

// observe settles a call with the account's limiter (one unit per call)
// and adapts the rate: a 429 halves it (down to minRate), each answered
// call gives back a hundredth of RequestsPerSecond, up to it; the burst
// follows, one second's worth. Square
// publishes no limit and advises backing off on 429 RATE_LIMITED (ref
// §4.3), so the 429s drive the rate.
func (w *Writer) observe(err error) ratelimit.Observation {
	o := ratelimit.Observation{ReservedCost: 1, ActualCost: 1}
	w.mu.Lock()
	defer w.mu.Unlock()
	before := w.rate
	switch squareapi.ErrorCode(err) {
	case errcode.ResourceExhausted:
		o.Throttled, o.ActualCost, o.RetryAfter = true, 0, squareapi.RetryAfter(err)
		w.rate = max(minRate, w.rate/2)
	case errcode.Canceled, errcode.DeadlineExceeded:
	default:
		w.rate = min(w.maxRate, w.rate+w.maxRate/100)
	}
	if w.rate != before {
		o.Limit, o.Burst = w.rate, max(1, w.rate)
	}
	return o
}

// Rate is the call rate the Writer last gave the account's limiter.
func (w *Writer) Rate() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rate
}
