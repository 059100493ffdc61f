package amazonwriter

import (
	"context"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/listingsapi"
	"github.com/stockgate/stockgate/connectors/amazon/spapi"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/errcode"
	"github.com/stockgate/stockgate/ratelimit"
)

// patch sends one patchListingsItem per update of idx, in order, each
// paced through p. An INVALID answer (or a 400) settles its update as
// InvalidArgument; any other failure stops the loop and is returned, the
// update it hit and the rest left unset (the caller sends them again).
// When p's context ends the loop stops without an error.
func (w *Writer) patch(ctx context.Context, p dispatch.Pacer, b *batch, idx []int) error {
	for _, i := range idx {
		u := b.ups[i]
		ssku := w.sellerSKU[u.SKU]
		if err := p.Wait(ctx, 1); err != nil {
			return nil // the Write's time is up: the rest go next time
		}
		sentAt := w.clock.Now()
		sub, err := w.c.PatchListingsItem(ctx, listingsapi.PatchRequest{
			SellerID: w.seller, SKU: ssku, MarketplaceIDs: []string{w.marketplace}, ProductType: w.productType,
			Patches: []listingsapi.PatchOperation{listingsapi.MergeQuantity(w.channel, u.Quantity)},
		})
		code := spapi.ErrorCode(err)
		rl := sub.RateLimit
		if rl == 0 {
			rl = spapi.RateLimit(err)
		}
		p.Observe(patchObservation(code, rl))
		w.count(func(s *Stats) {
			s.Patches++
			switch code {
			case errcode.OK:
				s.PatchesAccepted++
			case errcode.InvalidArgument:
				s.PatchesInvalid++
			case errcode.ResourceExhausted:
				s.PatchesThrottled++
			}
		})
		if rl > 0 {
			w.mu.Lock()
			w.rate = rl
			w.mu.Unlock()
		}
		switch code {
		case errcode.OK:
			b.set(i, dispatch.Outcome{Code: errcode.OK}, settled)
			if w.echoes != nil {
				w.echoes.Record(ssku, u.Quantity, sentAt)
			}
			continue
		case errcode.InvalidArgument:
			// INVALID, or a 400 for this SKU's request: Amazon refused
			// the item; dead-lettered by the Dispatcher.
			b.set(i, dispatch.Outcome{Code: errcode.InvalidArgument, Err: err}, settled)
			continue
		case errcode.ResourceExhausted:
			return &errcode.Error{Code: code, RetryAfter: w.oneCall(), Err: err}
		}
		return err
	}
	return nil
}

// oneCall is how long the patch bucket needs to refill one call.
func (w *Writer) oneCall() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.rate <= 0 {
		return time.Second
	}
	return time.Duration(float64(time.Second) / w.rate)
}

// patchObservation is what one patch answer says about the account's
// budget (ratelimit package doc: Amazon x-amzn-RateLimit-Limit → Limit,
// 429 QuotaExceeded → Throttled). Every call reserved 1; a throttled one
// cost nothing, any other (a 5xx or a transport failure included: Amazon
// may have counted it) cost 1.
func patchObservation(code errcode.Code, rateLimit float64) ratelimit.Observation {
	o := ratelimit.Observation{Limit: rateLimit * Margin, ReservedCost: 1, ActualCost: 1}
	if code == errcode.ResourceExhausted {
		o.Throttled, o.ActualCost = true, 0
	}
	return o
}
