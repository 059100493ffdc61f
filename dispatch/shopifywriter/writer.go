package shopifywriter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stockgate/stockgate/connectors/shopify/admin"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/errcode"
)

// Recorder notes what stockgate wrote, so the inbound side recognises
// Shopify's inventory_levels/update for it as an echo.
// *shopify.MemoryEchoes implements it.
type Recorder interface {
	Record(itemID, locationID, qty int64, at time.Time)
}

// Defaults and bounds.
const (
	// DefaultReason is the reason of a zero Options.Reason (ref §4.2).
	DefaultReason = "correction"
	// initialWriteCost (plus a point per quantity) and initialReadCost
	// are reserved before Shopify has priced a call: generous, so the
	// first calls are not throttled for an underestimate. After that,
	// reads reserve what the last read's requestedQueryCost said and
	// writes what writeCost predicts.
	initialWriteCost = 50
	initialReadCost  = 10
	// initialLimit and initialBurst are the budget before the first answer
	// (InitialBudget): half the smallest documented restore rate and room
	// for one write, so that a restart against a drained bucket is not
	// throttled by a limiter that believes it is full.
	initialLimit = 50
	initialBurst = 2 * initialWriteCost
	// maxAmbiguous bounds the idempotency keys kept for retries.
	maxAmbiguous = 64
	maxQuantity  = 1_000_000_000
)

// Options configure a Writer.
type Options struct {
	// Account is the connector account id, the Writer's Key. Required.
	Account string
	// Client is the Admin API client of the shop. Required.
	Client *admin.Client
	// LocationID is the Shopify location the channel writes. Required.
	LocationID int64
	// Items maps Shopify inventory item ids to stockgate SKUs, as the
	// connector's config does; each SKU at most once. Required.
	Items map[int64]string
	// Echoes records every successful write. Nil: none.
	Echoes Recorder
	// Reason is the adjustment reason. Zero: DefaultReason.
	Reason string
	// ReferenceDocumentURI names stockgate in the merchant's inventory
	// history. Zero: gid://stockgate/ChannelSync/{Account}.
	ReferenceDocumentURI string
	// MaxBatch is the most quantities per call, up to 250. Zero: 250.
	MaxBatch int
	// Now stamps echo records. Nil: time.Now.
	Now func() time.Time
}

// Writer is the dispatch.Writer of one Shopify shop and location. It is
// safe for concurrent use; the Dispatcher calls Write one at a time.
type Writer struct {
	account string
	c       *admin.Client
	loc     int64
	itemOf  map[string]int64
	skus    []string
	echoes  Recorder
	reason  string
	refURI  string
	batch   int
	now     func() time.Time
	nonce   string

	mu        sync.Mutex
	known     map[int64]int64 // item → quantity the channel is believed to show
	writeCost writeCost
	readCost  float64
	seq       uint64
	ambiguous map[string]string // content hash → key of a call whose outcome is unknown
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
	if opts.LocationID <= 0 {
		errs = append(errs, fmt.Errorf("LocationID: %d: want a positive Shopify location id", opts.LocationID))
	}
	if len(opts.Items) == 0 {
		errs = append(errs, errors.New("Items: at least one inventory item is required"))
	}
	if opts.MaxBatch < 0 || opts.MaxBatch > admin.MaxQuantities {
		errs = append(errs, fmt.Errorf("MaxBatch: %d: want 1 to %d", opts.MaxBatch, admin.MaxQuantities))
	}
	w := &Writer{
		account: opts.Account, c: opts.Client, loc: opts.LocationID, echoes: opts.Echoes,
		reason: opts.Reason, refURI: opts.ReferenceDocumentURI, batch: opts.MaxBatch, now: opts.Now,
		itemOf: make(map[string]int64, len(opts.Items)), known: make(map[int64]int64),
		readCost: initialReadCost, ambiguous: make(map[string]string),
	}
	items := make([]int64, 0, len(opts.Items))
	for item := range opts.Items {
		items = append(items, item)
	}
	slices.Sort(items)
	for _, item := range items {
		sku := opts.Items[item]
		switch {
		case item <= 0:
			errs = append(errs, fmt.Errorf("Items[%d]: want a positive inventory item id", item))
		case strings.TrimSpace(sku) == "":
			errs = append(errs, fmt.Errorf("Items[%d]: empty SKU", item))
		case w.itemOf[sku] != 0:
			errs = append(errs, fmt.Errorf("Items[%d]: SKU %q is already inventory item %d", item, sku, w.itemOf[sku]))
		default:
			w.itemOf[sku] = item
			w.skus = append(w.skus, sku)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("shopifywriter: %w", errors.Join(errs...))
	}
	slices.Sort(w.skus)
	if w.reason == "" {
		w.reason = DefaultReason
	}
	if w.refURI == "" {
		w.refURI = "gid://stockgate/ChannelSync/" + url.PathEscape(w.account)
	}
	if w.batch == 0 {
		w.batch = admin.MaxQuantities
	}
	if w.now == nil {
		w.now = time.Now
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	w.nonce = hex.EncodeToString(b[:])
	return w, nil
}

// Key implements dispatch.Writer: the account id.
func (w *Writer) Key() string { return w.account }

// MaxBatch implements dispatch.Writer.
func (w *Writer) MaxBatch() int { return w.batch }

// SKUs implements dispatch.Writer: every mapped SKU, sorted.
func (w *Writer) SKUs() []string { return slices.Clone(w.skus) }

// Syncs implements dispatch.Writer.
func (w *Writer) Syncs(sku string) bool { _, ok := w.itemOf[sku]; return ok }

// InitialBudget implements dispatch.InitialBudgeter.
func (w *Writer) InitialBudget() (limit, burst float64) { return initialLimit, initialBurst }

// Cost implements dispatch.Writer: the requested cost predicted for a
// write of n quantities from what Shopify priced earlier writes (see
// writeCost).
func (w *Writer) Cost(n int) float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writeCost.at(n)
}

// SetKnown tells the Writer what the channel shows for an inventory item
// at its location (from an inventory_levels/update webhook, say), to use
// as the next write's changeFromQuantity. A wrong value costs one stale
// write and a re-read, never a wrong quantity.
func (w *Writer) SetKnown(itemID, qty int64) {
	w.mu.Lock()
	w.known[itemID] = qty
	w.mu.Unlock()
}

// Known returns what the Writer believes the channel shows for an item.
func (w *Writer) Known(itemID int64) (int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	q, ok := w.known[itemID]
	return q, ok
}

// ErrorCode implements dispatch.Writer.
func (w *Writer) ErrorCode(err error) errcode.Code {
	return errcode.Of(err, admin.ErrorCode)
}

// RetryAfter implements dispatch.Writer.
func (w *Writer) RetryAfter(err error) time.Duration { return admin.RetryAfter(err) }

// Write implements dispatch.Writer with one inventorySetQuantities call,
// and one level read per item Shopify found stale.
func (w *Writer) Write(ctx context.Context, p dispatch.Pacer, ups []dispatch.Update) ([]dispatch.Outcome, error) {
	outs := make([]dispatch.Outcome, len(ups))
	req := admin.SetRequest{Reason: w.reason, ReferenceDocumentURI: w.refURI, Quantities: make([]admin.Quantity, 0, len(ups))}
	at := make([]int, 0, len(ups)) // request position → update index
	w.mu.Lock()
	for i, u := range ups {
		item, ok := w.itemOf[u.SKU]
		switch {
		case !ok:
			outs[i] = dispatch.Outcome{Code: errcode.InvalidArgument, Err: fmt.Errorf("SKU %q has no Shopify inventory item", u.SKU)}
			continue
		case u.Quantity < 0 || u.Quantity > maxQuantity:
			outs[i] = dispatch.Outcome{Code: errcode.InvalidArgument, Err: fmt.Errorf("quantity %d is outside 0..1,000,000,000", u.Quantity)}
			continue
		}
		q := admin.Quantity{InventoryItemID: item, LocationID: w.loc, Quantity: u.Quantity}
		if from, ok := w.known[item]; ok {
			q.ChangeFrom = &from
		}
		req.Quantities = append(req.Quantities, q)
		at = append(at, i)
	}
	if len(req.Quantities) == 0 {
		w.mu.Unlock()
		return outs, nil
	}
	h := contentHash(w.account, req.Quantities, ups, at)
	req.IdempotencyKey = w.keyFor(h)
	cost := w.writeCost.at(len(req.Quantities))
	w.mu.Unlock()

	if err := p.Wait(ctx, cost); err != nil {
		return nil, err
	}
	res, err := w.c.SetQuantities(ctx, req)
	p.Observe(admin.Observation(res.Cost, cost, err))
	code := admin.ErrorCode(err)
	w.mu.Lock()
	if res.Cost.Requested > 0 {
		w.writeCost.learn(len(req.Quantities), max(res.Cost.Requested, res.Cost.Actual))
	}
	if ambiguous(code) {
		w.ambiguous[h] = req.IdempotencyKey // a retry of the same content reuses the key
	} else {
		delete(w.ambiguous, h)
	}
	if err == nil {
		stamp := w.now()
		for _, q := range req.Quantities {
			w.known[q.InventoryItemID] = q.Quantity
		}
		w.mu.Unlock()
		for j, q := range req.Quantities {
			outs[at[j]] = dispatch.Outcome{Code: errcode.OK}
			if w.echoes != nil {
				w.echoes.Record(q.InventoryItemID, q.LocationID, q.Quantity, stamp)
			}
		}
		return outs, nil
	}
	w.mu.Unlock()
	return w.failed(ctx, p, req, at, outs, res.UserErrors, err)
}
