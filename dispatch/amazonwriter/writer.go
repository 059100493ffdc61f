package amazonwriter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/listingsapi"
	"github.com/stockgate/stockgate/connectors/amazon/spapi"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/errcode"
)

// Recorder notes what stockgate wrote, so the inbound side recognises
// Amazon's LISTINGS_ITEM_MFN_QUANTITY_CHANGE for it as an echo.
// *amazon.MemoryEchoes implements it (and amazon.Echoes reads it back).
type Recorder interface {
	Record(sellerSKU string, qty int64, at time.Time)
}

// Defaults of a zero Options field.
const (
	DefaultFeedThreshold = 250
	DefaultMaxBatch      = 10_000
	DefaultPollInterval  = 15 * time.Second
	DefaultFeedWait      = 5 * time.Second
	DefaultFeedTimeout   = 2 * time.Hour
)

// deadlineMargin is left of the Write's deadline when it stops waiting
// for a feed, to return its outcomes in time.
const deadlineMargin = time.Second

// Options configure a Writer. Each field's zero value is the default
// named.
type Options struct {
	// Account is the connector account id, the Writer's Key. Required.
	Account string
	// Client is the SP-API client of the seller's region. Required.
	Client *listingsapi.Client
	// SellerID is the selling partner id (merchant token). Required.
	SellerID string
	// MarketplaceID is the one marketplace written ("ATVPDKIKX0DER"); a
	// JSON_LISTINGS_FEED takes one marketplace (ref §5.2). Required.
	MarketplaceID string
	// Items maps every stockgate SKU the account syncs to its Amazon
	// SellerSKU; an empty SellerSKU means the same as the SKU. Each
	// SellerSKU at most once. Required (at least one).
	Items map[string]string
	// ProductType is sent with every patch. Zero: "PRODUCT", which works
	// for offer-only updates (ref §5.1).
	ProductType string
	// FulfillmentChannelCode selects the fulfillment_availability entry
	// written. Zero: "DEFAULT", merchant-fulfilled stock (ref §5.1); FBA
	// stock is Amazon's and never written.
	FulfillmentChannelCode string
	// Echoes records every quantity written. Nil: none.
	Echoes Recorder
	// FeedThreshold is the number of updates in one batch above which the
	// Writer sends a JSON_LISTINGS_FEED instead of patches; it is also the
	// most patches one Write sends when a feed cannot be sent yet. Zero:
	// DefaultFeedThreshold (250: 50 seconds of patches). Negative: never
	// use feeds.
	FeedThreshold int
	// MaxBatch is the most updates per Write, and so per feed; at most
	// listingsapi.MaxFeedMessages. Zero: DefaultMaxBatch (10,000).
	MaxBatch int
	// PollInterval is how often a pending feed is polled with getFeed.
	// Zero: DefaultPollInterval.
	PollInterval time.Duration
	// FeedWait is how long one Write waits for the pending feeds of its
	// batch (polling every PollInterval) before it returns their updates
	// Aborted, to be sent again, and waited for again, in the next Write.
	// The account writes nothing else meanwhile, so it bounds how long a
	// pending feed delays changes of other SKUs. Zero: DefaultFeedWait.
	FeedWait time.Duration
	// FeedTimeout is how long a feed may stay unfinished before the
	// Writer gives up on it (ref §7 pitfall 1: feeds stuck for days): it
	// cancels it if still IN_QUEUE, reports its updates Unavailable, and
	// writes by patch for another FeedTimeout. Zero: DefaultFeedTimeout.
	FeedTimeout time.Duration
	// FeedBudget paces the Feeds API calls; Writers of one seller must
	// share one. Nil: a new one.
	FeedBudget *FeedBudget
	// PatchRate and PatchBurst are InitialBudget, the patchListingsItem
	// plan before Amazon reports one. Zero: 5 and 5 (ref §6.1).
	PatchRate, PatchBurst float64
	// Clock is the Writer's time: feed polls and budget waits sleep on
	// it, echoes are stamped with it. Nil: the system clock.
	Clock dispatch.Clock
}

// Stats counts what a Writer has done.
type Stats struct {
	Patches          uint64 // patchListingsItem calls sent
	PatchesAccepted  uint64 // answered ACCEPTED
	PatchesInvalid   uint64 // answered INVALID or 400
	PatchesThrottled uint64 // answered 429

	Feeds          uint64 // JSON_LISTINGS_FEED submitted (createFeed answered)
	FeedMessages   uint64 // messages in them
	FeedsDone      uint64 // feeds DONE
	FeedsFatal     uint64 // feeds FATAL
	FeedsCancelled uint64 // feeds CANCELLED
	FeedsAbandoned uint64 // feeds given up after FeedTimeout
	FeedCalls      uint64 // Feeds API and presigned-URL calls
	FeedThrottled  uint64 // of which answered 429
	Polls          uint64 // getFeed answers
	ReportsRead    uint64 // processing reports read

	MessagesRead     uint64 // message results read from reports
	MessagesAccepted uint64 // of which ACCEPTED
	MessagesInvalid  uint64 // of which INVALID
	MessagesUnknown  uint64 // of which not accounted for

	PendingFeeds int // feeds submitted and not settled
}

// Writer is the dispatch.Writer of one Amazon seller and marketplace; see
// the package doc. Its methods are safe for concurrent use; the
// Dispatcher calls Write one at a time.
type Writer struct {
	account     string
	c           *listingsapi.Client
	seller      string
	marketplace string
	productType string
	channel     string
	sellerSKU   map[string]string
	skus        []string
	echoes      Recorder
	threshold   int
	batch       int
	poll        time.Duration
	wait        time.Duration
	feedTimeout time.Duration
	budget      *FeedBudget
	patchRate   float64
	patchBurst  float64
	clock       dispatch.Clock

	mu    sync.Mutex
	rate  float64 // patchListingsItem rate last reported
	stats Stats

	// Owned by Write, which the Dispatcher calls one at a time.
	inFeed  map[string]*pendingFeed // SKU → the pending feed that carries it
	pending []*pendingFeed          // submitted, not settled, oldest first
	results map[string]result       // SKU → what a settled feed did, until a Write reports it
	// noFeedsUntil: after a feed was abandoned, batches go as patches.
	noFeedsUntil time.Time
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
	if strings.TrimSpace(opts.SellerID) == "" || strings.ContainsAny(opts.SellerID, " /") {
		errs = append(errs, fmt.Errorf("SellerID: %q: want a selling partner id (such as A3TH9S8BH6GOGM)", opts.SellerID))
	}
	if strings.TrimSpace(opts.MarketplaceID) == "" || strings.Contains(opts.MarketplaceID, ",") {
		errs = append(errs, fmt.Errorf("MarketplaceID: %q: want one marketplace id (such as ATVPDKIKX0DER)", opts.MarketplaceID))
	}
	if len(opts.Items) == 0 {
		errs = append(errs, errors.New("Items: at least one SKU is required"))
	}
	if opts.MaxBatch < 0 || opts.MaxBatch > listingsapi.MaxFeedMessages {
		errs = append(errs, fmt.Errorf("MaxBatch: %d: want 1 to %d", opts.MaxBatch, listingsapi.MaxFeedMessages))
	}
	if opts.PollInterval < 0 || opts.FeedWait < 0 || opts.FeedTimeout < 0 {
		errs = append(errs, errors.New("PollInterval, FeedWait, FeedTimeout: must not be negative"))
	}
	if opts.PatchRate < 0 || opts.PatchBurst < 0 {
		errs = append(errs, errors.New("PatchRate, PatchBurst: must not be negative"))
	}
	w := &Writer{
		account: opts.Account, c: opts.Client, seller: opts.SellerID, marketplace: opts.MarketplaceID,
		productType: opts.ProductType, channel: opts.FulfillmentChannelCode, echoes: opts.Echoes,
		threshold: opts.FeedThreshold, batch: opts.MaxBatch, poll: opts.PollInterval, wait: opts.FeedWait,
		feedTimeout: opts.FeedTimeout, budget: opts.FeedBudget, patchRate: opts.PatchRate, patchBurst: opts.PatchBurst,
		clock:     opts.Clock,
		sellerSKU: make(map[string]string, len(opts.Items)),
		inFeed:    map[string]*pendingFeed{}, results: map[string]result{},
	}
	skus := make([]string, 0, len(opts.Items))
	for sku := range opts.Items {
		skus = append(skus, sku)
	}
	slices.Sort(skus)
	owner := make(map[string]string, len(opts.Items))
	for _, sku := range skus {
		ssku := opts.Items[sku]
		if ssku == "" {
			ssku = sku
		}
		switch {
		case strings.TrimSpace(sku) == "":
			errs = append(errs, errors.New("Items: empty SKU"))
		case owner[ssku] != "":
			errs = append(errs, fmt.Errorf("Items[%q]: SellerSKU %q is already SKU %q", sku, ssku, owner[ssku]))
		default:
			owner[ssku] = sku
			w.sellerSKU[sku] = ssku
			w.skus = append(w.skus, sku)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("amazonwriter: %w", errors.Join(errs...))
	}
	if w.productType == "" {
		w.productType = listingsapi.ProductTypeProduct
	}
	if w.channel == "" {
		w.channel = listingsapi.ChannelDefault
	}
	if w.threshold == 0 {
		w.threshold = DefaultFeedThreshold
	}
	if w.batch == 0 {
		w.batch = DefaultMaxBatch
	}
	if w.poll == 0 {
		w.poll = DefaultPollInterval
	}
	if w.wait == 0 {
		w.wait = DefaultFeedWait
	}
	if w.feedTimeout == 0 {
		w.feedTimeout = DefaultFeedTimeout
	}
	if w.budget == nil {
		w.budget = NewFeedBudget()
	}
	plan := listingsapi.Plans[listingsapi.OpPatchListingsItem]
	if w.patchRate == 0 {
		w.patchRate = plan.Rate
	}
	if w.patchBurst == 0 {
		w.patchBurst = float64(plan.Burst)
	}
	if w.clock == nil {
		w.clock = systemClock{}
	}
	w.rate = w.patchRate
	return w, nil
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Key implements dispatch.Writer: the account id.
func (w *Writer) Key() string { return w.account }

// MaxBatch implements dispatch.Writer.
func (w *Writer) MaxBatch() int { return w.batch }

// SKUs implements dispatch.Writer: every synced SKU, sorted.
func (w *Writer) SKUs() []string { return slices.Clone(w.skus) }

// Syncs implements dispatch.Writer.
func (w *Writer) Syncs(sku string) bool { _, ok := w.sellerSKU[sku]; return ok }

// SellerSKU returns the Amazon SellerSKU of a synced SKU.
func (w *Writer) SellerSKU(sku string) (string, bool) { s, ok := w.sellerSKU[sku]; return s, ok }

// InitialBudget implements dispatch.InitialBudgeter: the
// patchListingsItem plan (Options.PatchRate, PatchBurst).
func (w *Writer) InitialBudget() (limit, burst float64) {
	return w.patchRate * Margin, max(1, w.patchBurst-1)
}

// Margin is the share of Amazon's documented patch rate the Writer
// spends. Amazon's bucket and the Writer's drift apart by network jitter:
// at exactly the documented rate two calls a few milliseconds closer
// together than 1/rate arrive at an empty bucket and get 429 (seen on
// loopback against the fake). Spending 90% of the rate, with one token of
// the burst held back, leaves room for that jitter.
const Margin = 0.9

// Cost implements dispatch.Writer in patchListingsItem calls, the unit of
// the account's budget: n for a batch that goes as patches, 0 for one
// above FeedThreshold, which goes as a feed (whose calls have their own
// buckets, in the FeedBudget) or, when no feed can be sent yet, as
// patches that Write paces one by one through the Pacer.
func (w *Writer) Cost(n int) float64 {
	if w.threshold >= 0 && n > w.threshold {
		return 0
	}
	return float64(n)
}

// Stats returns the counters.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

func (w *Writer) count(f func(s *Stats)) {
	w.mu.Lock()
	f(&w.stats)
	w.mu.Unlock()
}

// ErrorCode implements dispatch.Writer: the client's code, or the
// Writer's own.
func (w *Writer) ErrorCode(err error) errcode.Code {
	return errcode.Of(err, spapi.ErrorCode)
}

// RetryAfter implements dispatch.Writer: a Retry-After Amazon sent (it
// documents none, ref §6.1), else after a throttled patch the time the
// bucket needs for one call at the rate Amazon last reported.
func (w *Writer) RetryAfter(err error) time.Duration {
	var e *errcode.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter
	}
	return spapi.RetryAfter(err)
}

// Write implements dispatch.Writer. Updates whose SKU is in a pending
// feed wait for it; the others go as one feed when there are more than
// FeedThreshold and a feed can be sent now, else as patches. Then it
// waits (up to FeedWait) for the feeds that carry the batch's SKUs and
// reads their reports. See the package doc.
func (w *Writer) Write(ctx context.Context, p dispatch.Pacer, ups []dispatch.Update) ([]dispatch.Outcome, error) {
	b := &batch{ups: ups, outs: make([]dispatch.Outcome, len(ups)), state: make([]state, len(ups))}
	var toWrite, waiting []int
	for i, u := range ups {
		if _, ok := w.sellerSKU[u.SKU]; !ok {
			b.set(i, dispatch.Outcome{Code: errcode.InvalidArgument, Err: fmt.Errorf("SKU %q is not synced by account %s", u.SKU, w.account)}, local)
			continue
		}
		if u.Quantity < 0 || u.Quantity > listingsapi.MaxQuantity {
			b.set(i, dispatch.Outcome{Code: errcode.InvalidArgument, Err: fmt.Errorf("quantity %d is outside 0..%d", u.Quantity, listingsapi.MaxQuantity)}, local)
			continue
		}
		if w.inFeed[u.SKU] != nil {
			waiting = append(waiting, i)
			continue
		}
		if r, ok := w.results[u.SKU]; ok {
			delete(w.results, u.SKU)
			if r.qty == u.Quantity {
				b.set(i, r.out, settled)
				continue
			}
		}
		toWrite = append(toWrite, i)
	}

	var callErr error
	if len(toWrite) > 0 {
		now := w.clock.Now()
		if w.threshold >= 0 && len(toWrite) > w.threshold && !now.Before(w.noFeedsUntil) && w.budget.Ready(now) {
			var sent []int
			sent, callErr = w.submit(ctx, b, toWrite)
			waiting = append(waiting, sent...)
		} else {
			n := len(toWrite)
			if w.threshold > 0 {
				n = min(n, w.threshold)
			}
			callErr = w.patch(ctx, p, b, toWrite[:n])
		}
	}
	progressed := false
	if len(waiting) > 0 && callErr == nil {
		progressed, callErr = w.await(ctx, w.feedsOf(ups, waiting))
	}
	for _, i := range waiting {
		u := ups[i]
		if f := w.inFeed[u.SKU]; f != nil {
			b.set(i, dispatch.Outcome{Code: errcode.Aborted, Err: fmt.Errorf("waiting for feed %s (%s)", f.id, f.status)}, waited)
			continue
		}
		if r, ok := w.results[u.SKU]; ok {
			delete(w.results, u.SKU)
			if r.qty == u.Quantity {
				b.set(i, r.out, settled)
			} else {
				b.set(i, dispatch.Outcome{Code: errcode.Aborted, Err: fmt.Errorf("the feed wrote %d, the ledger now says %d", r.qty, u.Quantity)}, settled)
			}
		}
	}
	if callErr != nil && !b.any(settled) {
		return nil, callErr
	}
	if !progressed && callErr == nil && b.only(waited) {
		// Nothing to do but wait for a feed, and the wait could not even
		// start (a deadline shorter than deadlineMargin): come back at the
		// next poll instead of spinning through empty turns.
		return nil, &errcode.Error{Code: errcode.ResourceExhausted, RetryAfter: w.nextPoll(),
			Err: fmt.Errorf("waiting for %d pending feed(s); next poll in %v", len(w.pending), w.nextPoll())}
	}
	for i := range b.outs {
		if b.state[i] == unset {
			why := errors.New("not sent in this write")
			if callErr != nil {
				why = fmt.Errorf("not sent: %w", callErr)
			}
			b.outs[i] = dispatch.Outcome{Code: errcode.Aborted, Err: why}
		}
	}
	return b.outs, nil
}

// state is how an update's outcome was decided.
type state uint8

const (
	unset   state = iota
	local         // refused without a call
	settled       // by Amazon's answer, now or in an earlier feed
	waited        // still in a pending feed
)

// batch is one Write's updates and their outcomes.
type batch struct {
	ups   []dispatch.Update
	outs  []dispatch.Outcome
	state []state
}

func (b *batch) set(i int, o dispatch.Outcome, s state) { b.outs[i], b.state[i] = o, s }

func (b *batch) any(s state) bool { return slices.Contains(b.state, s) }

// only reports whether every update that is not refused locally is in s.
func (b *batch) only(s state) bool {
	seen := false
	for _, x := range b.state {
		switch x {
		case s:
			seen = true
		case local:
		default:
			return false
		}
	}
	return seen
}
