package amazonwriter

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/listingsapi"
	"github.com/stockgate/stockgate/connectors/amazon/spapi"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/errcode"
)

// pendingFeed is a JSON_LISTINGS_FEED submitted and not yet settled.
type pendingFeed struct {
	id        string
	submitted time.Time
	nextPoll  time.Time
	status    string // last processingStatus seen
	reportID  string // resultFeedDocumentId, once terminal
	msgs      []feedMsg
}

// feedMsg is one message of a pending feed; its messageId is its index
// plus one.
type feedMsg struct {
	sku, sellerSKU string
	qty            int64
}

// result is what a settled feed did to a SKU, kept until a Write reports
// it.
type result struct {
	qty int64
	out dispatch.Outcome
}

// submit sends the updates of idx as one JSON_LISTINGS_FEED: build the
// document (cut to MaxFeedBytes), createFeedDocument, upload, createFeed,
// each call taken from the FeedBudget. It returns the updates the feed
// carries (now pending); the others are left unset and go next time. A
// failure before createFeed answered is returned with nothing pending.
func (w *Writer) submit(ctx context.Context, b *batch, idx []int) ([]int, error) {
	doc := listingsapi.ListingsFeed{Header: listingsapi.FeedHeader{SellerID: w.seller, Version: listingsapi.FeedVersion},
		Messages: make([]listingsapi.Message, 0, len(idx))}
	msgs := make([]feedMsg, 0, len(idx))
	for _, i := range idx {
		u := b.ups[i]
		m := listingsapi.QuantityMessage(len(msgs)+1, w.sellerSKU[u.SKU], w.productType, w.channel, u.Quantity)
		doc.Messages = append(doc.Messages, m)
		msgs = append(msgs, feedMsg{sku: u.SKU, sellerSKU: m.SKU, qty: u.Quantity})
	}
	body, err := json.Marshal(doc)
	for err == nil && len(body) > listingsapi.MaxFeedBytes && len(msgs) > 1 {
		// Too large (long SKUs): keep what fits, with room to spare; the
		// rest goes next time.
		n := max(1, int(float64(len(msgs))*0.95*float64(listingsapi.MaxFeedBytes)/float64(len(body))))
		doc.Messages, msgs = doc.Messages[:n], msgs[:n]
		body, err = json.Marshal(doc)
	}
	if err != nil {
		return nil, &errcode.Error{Code: errcode.Unknown, Err: fmt.Errorf("encoding the feed: %w", err)}
	}
	until := w.deadline(ctx, w.clock.Now().Add(w.wait))

	if err := w.feedCall(ctx, listingsapi.OpCreateFeedDocument, until); err != nil {
		return nil, err
	}
	d, err := w.c.CreateFeedDocument(ctx, listingsapi.ContentTypeJSON)
	w.observeFeed(listingsapi.OpCreateFeedDocument, d.RateLimit, err)
	if err != nil {
		return nil, err
	}
	err = w.c.UploadFeedDocument(ctx, d, listingsapi.ContentTypeJSON, body)
	w.count(func(s *Stats) { s.FeedCalls++ })
	if err != nil {
		return nil, err
	}
	if err := w.feedCall(ctx, listingsapi.OpCreateFeed, until); err != nil {
		return nil, err
	}
	if at := w.budget.nextSubmission(w.clock.Now()); at.After(w.clock.Now()) {
		return nil, &errcode.Error{Code: errcode.ResourceExhausted, Err: fmt.Errorf("JSON_LISTINGS_FEED window full until %v", at)}
	}
	sentAt := w.clock.Now()
	cf, err := w.c.CreateFeed(ctx, listingsapi.CreateFeedRequest{FeedType: listingsapi.FeedTypeJSONListings,
		MarketplaceIDs: []string{w.marketplace}, InputFeedDocumentID: d.ID})
	w.observeFeed(listingsapi.OpCreateFeed, cf.RateLimit, err)
	switch code := spapi.ErrorCode(err); code {
	case errcode.OK:
		w.budget.submitted(w.clock.Now())
	case errcode.ResourceExhausted:
		w.budget.fill(w.clock.Now()) // the feed-type window, most likely (models #4414)
		return nil, err
	case errcode.Unavailable, errcode.Unknown:
		w.budget.submitted(w.clock.Now()) // it may have counted
		return nil, err
	default:
		return nil, err
	}
	f := &pendingFeed{id: cf.FeedID, submitted: sentAt, nextPoll: sentAt.Add(w.poll), status: listingsapi.StatusInQueue, msgs: msgs}
	w.pending = append(w.pending, f)
	for _, m := range msgs {
		w.inFeed[m.sku] = f
		if w.echoes != nil {
			// Recorded at submission: Amazon's MFN quantity notification
			// can come before the report is read. A refused message is
			// not applied, so it raises no notification to confuse.
			w.echoes.Record(m.sellerSKU, m.qty, sentAt)
		}
	}
	w.count(func(s *Stats) {
		s.Feeds++
		s.FeedMessages += uint64(len(msgs))
		s.PendingFeeds = len(w.pending)
	})
	return idx[:len(msgs)], nil
}

// deadline is the earlier of until and shortly before ctx's deadline.
func (w *Writer) deadline(ctx context.Context, until time.Time) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		if d := dl.Add(-deadlineMargin); d.Before(until) {
			return d
		}
	}
	return until
}

// feedCall takes one call of op from the FeedBudget, waiting until
// until at most.
func (w *Writer) feedCall(ctx context.Context, op listingsapi.Operation, until time.Time) error {
	ok, at, err := w.budget.take(ctx, w.clock, op, until)
	switch {
	case err != nil:
		return err
	case !ok:
		return &errcode.Error{Code: errcode.ResourceExhausted, RetryAfter: at.Sub(w.clock.Now()),
			Err: fmt.Errorf("%s budget empty until %v", op, at)}
	}
	return nil
}

// observeFeed reports a Feeds API answer to the FeedBudget.
func (w *Writer) observeFeed(op listingsapi.Operation, rateLimit float64, err error) {
	if rateLimit == 0 {
		rateLimit = spapi.RateLimit(err)
	}
	throttled := spapi.ErrorCode(err) == errcode.ResourceExhausted
	w.budget.observe(w.clock.Now(), op, rateLimit, throttled)
	w.count(func(s *Stats) {
		s.FeedCalls++
		if throttled {
			s.FeedThrottled++
		}
	})
}

// feedsOf lists the pending feeds that carry the updates of idx.
func (w *Writer) feedsOf(ups []dispatch.Update, idx []int) []*pendingFeed {
	seen := map[*pendingFeed]bool{}
	var out []*pendingFeed
	for _, i := range idx {
		if f := w.inFeed[ups[i].SKU]; f != nil && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// nextPoll is how long until the next pending feed is due for a poll.
func (w *Writer) nextPoll() time.Duration {
	now := w.clock.Now()
	var next time.Time
	for _, f := range w.pending {
		if next.IsZero() || f.nextPoll.Before(next) {
			next = f.nextPoll
		}
	}
	return max(next.Sub(now), time.Millisecond)
}

// await polls feeds until each is settled or the wait (FeedWait, and the
// Write's deadline) is over, sleeping between polls. progressed reports
// whether it asked Amazon anything or slept at all; err is the first
// failed call.
func (w *Writer) await(ctx context.Context, feeds []*pendingFeed) (progressed bool, err error) {
	until := w.deadline(ctx, w.clock.Now().Add(w.wait))
	for {
		now := w.clock.Now()
		var next time.Time
		for _, f := range feeds {
			if w.done(f) {
				continue
			}
			if now.Sub(f.submitted) > w.feedTimeout {
				w.abandon(ctx, f, until)
				progressed = true
				continue
			}
			if !now.Before(f.nextPoll) {
				asked, err := w.pollFeed(ctx, f, until)
				progressed = progressed || asked
				if err != nil {
					return progressed, err
				}
			}
			if !w.done(f) && (next.IsZero() || f.nextPoll.Before(next)) {
				next = f.nextPoll
			}
		}
		if next.IsZero() || ctx.Err() != nil || !now.Before(until) {
			return progressed, nil
		}
		if until.Before(next) {
			next = until
		}
		select {
		case <-w.clock.After(next.Sub(now)):
			progressed = true
		case <-ctx.Done():
			return progressed, nil
		}
	}
}

// done reports whether f is settled.
func (w *Writer) done(f *pendingFeed) bool {
	for _, p := range w.pending {
		if p == f {
			return false
		}
	}
	return true
}

// pollFeed asks Amazon about f once: getFeed until it is terminal, then
// the report (getFeedDocument and the download), which settles it. On a
// budget that cannot grant the call before until, it moves f's next poll
// to when it can. asked reports whether a call was sent.
func (w *Writer) pollFeed(ctx context.Context, f *pendingFeed, until time.Time) (asked bool, err error) {
	if f.reportID == "" {
		ok, at, err := w.budget.take(ctx, w.clock, listingsapi.OpGetFeed, until)
		if err != nil || !ok {
			f.nextPoll = at
			return false, nil
		}
		feed, err := w.c.GetFeed(ctx, f.id)
		w.observeFeed(listingsapi.OpGetFeed, feed.RateLimit, err)
		now := w.clock.Now()
		f.nextPoll = now.Add(w.poll)
		if err != nil {
			if spapi.ErrorCode(err) == errcode.NotFound {
				w.settleAll(f, dispatch.Outcome{Code: errcode.Unknown, Err: fmt.Errorf("feed %s: %w", f.id, err)})
				return true, nil
			}
			return true, err
		}
		w.count(func(s *Stats) { s.Polls++ })
		f.status = feed.ProcessingStatus
		switch feed.ProcessingStatus {
		case listingsapi.StatusInQueue, listingsapi.StatusInProgress:
			return true, nil
		case listingsapi.StatusCancelled:
			w.count(func(s *Stats) { s.FeedsCancelled++ })
			w.settleAll(f, dispatch.Outcome{Code: errcode.Aborted, Err: fmt.Errorf("feed %s was cancelled", f.id)})
			return true, nil
		}
		if feed.ResultFeedDocumentID == "" {
			w.count(func(s *Stats) { s.FeedsFatal++ })
			w.settleAll(f, dispatch.Outcome{Code: errcode.Unknown, Err: fmt.Errorf("feed %s is %s without a processing report", f.id, f.status)})
			return true, nil
		}
		f.reportID = feed.ResultFeedDocumentID
		f.nextPoll = now
	}
	ok, at, err := w.budget.take(ctx, w.clock, listingsapi.OpGetFeedDocument, until)
	if err != nil || !ok {
		f.nextPoll = at
		return asked, nil
	}
	d, err := w.c.GetFeedDocument(ctx, f.reportID)
	w.observeFeed(listingsapi.OpGetFeedDocument, d.RateLimit, err)
	if err != nil {
		f.nextPoll = w.clock.Now().Add(w.poll)
		return true, err
	}
	raw, err := w.c.DownloadFeedDocument(ctx, d)
	w.count(func(s *Stats) { s.FeedCalls++ })
	if err != nil {
		f.nextPoll = w.clock.Now().Add(w.poll)
		return true, err
	}
	rep, err := listingsapi.ParseProcessingReport(raw)
	if err != nil {
		w.settleAll(f, dispatch.Outcome{Code: errcode.Unknown, Err: fmt.Errorf("feed %s: %w", f.id, err)})
		return true, nil
	}
	w.settle(f, rep)
	return true, nil
}

// settle reads every message's result from f's report.
func (w *Writer) settle(f *pendingFeed, rep listingsapi.ProcessingReport) {
	ids := make([]int, len(f.msgs))
	for j := range ids {
		ids[j] = j + 1
	}
	fatal := f.status == listingsapi.StatusFatal
	var accepted, invalid, unknown uint64
	for j, r := range rep.Results(ids) {
		m := f.msgs[j]
		var out dispatch.Outcome
		switch {
		case r.Result == listingsapi.ResultInvalid:
			invalid++
			out = dispatch.Outcome{Code: errcode.InvalidArgument, Err: fmt.Errorf("feed %s message %d (%s): %s",
				f.id, r.MessageID, m.sellerSKU, listingsapi.DescribeReportIssues(r.Issues))}
		case r.Result == listingsapi.ResultAccepted && !fatal:
			accepted++
			out = dispatch.Outcome{Code: errcode.OK}
		default:
			unknown++
			out = dispatch.Outcome{Code: errcode.Unknown, Err: fmt.Errorf("feed %s (%s): the processing report does not account for message %d (%s)",
				f.id, f.status, r.MessageID, m.sellerSKU)}
		}
		w.results[m.sku] = result{qty: m.qty, out: out}
	}
	w.release(f)
	w.count(func(s *Stats) {
		s.ReportsRead++
		if fatal {
			s.FeedsFatal++
		} else {
			s.FeedsDone++
		}
		s.MessagesRead += uint64(len(f.msgs))
		s.MessagesAccepted += accepted
		s.MessagesInvalid += invalid
		s.MessagesUnknown += unknown
	})
}

// settleAll gives every message of f the same outcome.
func (w *Writer) settleAll(f *pendingFeed, out dispatch.Outcome) {
	for _, m := range f.msgs {
		w.results[m.sku] = result{qty: m.qty, out: out}
	}
	w.release(f)
}

// abandon gives up on a feed that did not finish within FeedTimeout (a
// feed stuck at Amazon blocks the seller's later feeds, ref §7 pitfall
// 1): it cancels the feed if it is still IN_QUEUE (only such a feed can
// be, ref §5.2), so it cannot overwrite newer quantities later; sends no
// feed for another FeedTimeout, since a new one would queue behind the
// stuck one; and reports its updates Unavailable, so the Dispatcher backs
// off and sends them again, as patches. A stuck feed that could not be
// cancelled and is applied later may leave older quantities until the
// next reconcile.
func (w *Writer) abandon(ctx context.Context, f *pendingFeed, until time.Time) {
	how := "not cancelled"
	if f.status == listingsapi.StatusInQueue {
		if ok, _, _ := w.budget.take(ctx, w.clock, listingsapi.OpCancelFeed, until); ok {
			err := w.c.CancelFeed(ctx, f.id)
			w.observeFeed(listingsapi.OpCancelFeed, spapi.RateLimit(err), err)
			how = "cancelled"
			if err != nil {
				how = "cancelling failed: " + err.Error()
			}
		}
	}
	w.noFeedsUntil = w.clock.Now().Add(w.feedTimeout)
	w.count(func(s *Stats) { s.FeedsAbandoned++ })
	w.settleAll(f, dispatch.Outcome{Code: errcode.Unavailable,
		Err: fmt.Errorf("feed %s still %s after %v; %s; writing by patch until %v", f.id, f.status, w.feedTimeout, how, w.noFeedsUntil.Format(time.RFC3339))})
}

// release removes f from the pending feeds and frees its SKUs.
func (w *Writer) release(f *pendingFeed) {
	for _, m := range f.msgs {
		if w.inFeed[m.sku] == f {
			delete(w.inFeed, m.sku)
		}
	}
	for i, p := range w.pending {
		if p == f {
			w.pending = append(w.pending[:i], w.pending[i+1:]...)
			break
		}
	}
	w.count(func(s *Stats) { s.PendingFeeds = len(w.pending) })
}
