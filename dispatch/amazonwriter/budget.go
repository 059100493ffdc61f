package amazonwriter

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/stockgate/stockgate/connectors/amazon/listingsapi"
	"github.com/stockgate/stockgate/dispatch"
	"github.com/stockgate/stockgate/ratelimit"
)

// feedOps are the Feeds API operations a Writer calls, each with its own
// usage plan (listingsapi.Plans).
var feedOps = []listingsapi.Operation{
	listingsapi.OpCreateFeedDocument, listingsapi.OpCreateFeed,
	listingsapi.OpGetFeed, listingsapi.OpGetFeedDocument, listingsapi.OpCancelFeed,
}

// FeedBudget is the Feeds API rate budget of one selling partner: a
// ratelimit.Local per operation (createFeedDocument, createFeed, getFeed,
// getFeedDocument, cancelFeed) started full at its documented usage plan, and the
// sliding window of JSON_LISTINGS_FEED submissions (5 per 5 minutes,
// listingsapi.FeedSubmissions). Amazon's plans are per selling partner
// and application, and the feed window per region (ref §6.1, §5.2), so
// Writers of one seller (one per marketplace) must share one FeedBudget,
// as they share one Limiter for patchListingsItem. Each answer's
// x-amzn-RateLimit-Limit replaces an operation's rate, and a 429 empties
// its bucket. It is safe for concurrent use.
type FeedBudget struct {
	lims map[listingsapi.Operation]*ratelimit.Local

	mu     sync.Mutex
	window []time.Time // submissions in the last FeedSubmissions.Per, oldest first
}

// NewFeedBudget returns a budget at the documented plans, every bucket
// full and no submission in the window: the state of a seller whose feeds
// have been idle for five minutes. A process that restarts right after a
// burst of feeds may see one 429 on its first feed; the Writer then
// writes with patches until the budget refills.
func NewFeedBudget() *FeedBudget {
	b := &FeedBudget{lims: make(map[listingsapi.Operation]*ratelimit.Local, len(feedOps))}
	for _, op := range feedOps {
		p := listingsapi.Plans[op]
		l, err := ratelimit.NewLocal(p.Rate, float64(p.Burst))
		if err != nil {
			panic(err) // the plans are constants
		}
		b.lims[op] = l
	}
	return b
}

// Ready reports whether a feed can be submitted at now without waiting:
// createFeedDocument and createFeed each hold a call and the submission
// window has room.
func (b *FeedBudget) Ready(now time.Time) bool {
	for _, op := range []listingsapi.Operation{listingsapi.OpCreateFeedDocument, listingsapi.OpCreateFeed} {
		st, _ := b.lims[op].State(context.Background(), now)
		if st.Tokens < 1 || !st.HoldUntil.IsZero() {
			return false
		}
	}
	return !b.nextSubmission(now).After(now)
}

// State returns op's bucket at now.
func (b *FeedBudget) State(op listingsapi.Operation, now time.Time) ratelimit.Budget {
	st, _ := b.lims[op].State(context.Background(), now)
	return st
}

// take takes one call of op, sleeping on clock until it is granted, unless
// the grant would come after until: then it takes nothing and returns
// false and when the call would be granted.
func (b *FeedBudget) take(ctx context.Context, clock dispatch.Clock, op listingsapi.Operation, until time.Time) (bool, time.Time, error) {
	l := b.lims[op]
	now := clock.Now()
	delay, err := l.Reserve(ctx, now, 1)
	if err != nil {
		return false, now.Add(time.Second), err
	}
	if at := now.Add(delay); at.After(until) {
		_ = l.Observe(ctx, now, ratelimit.Observation{ReservedCost: 1}) // give it back
		return false, at, nil
	}
	if delay <= 0 {
		return true, now, nil
	}
	select {
	case <-clock.After(delay):
		return true, now.Add(delay), nil
	case <-ctx.Done():
		_ = l.Observe(context.WithoutCancel(ctx), clock.Now(), ratelimit.Observation{ReservedCost: 1})
		return false, now.Add(delay), ctx.Err()
	}
}

// observe adapts op's bucket to one answer: the rate Amazon reported, a
// throttle, and what the call cost (nothing when it was throttled).
func (b *FeedBudget) observe(now time.Time, op listingsapi.Operation, rateLimit float64, throttled bool) {
	o := ratelimit.Observation{Limit: rateLimit, Throttled: throttled}
	_ = b.lims[op].Observe(context.Background(), now, o)
}

// nextSubmission is the earliest time at or after now the window has
// room for a JSON_LISTINGS_FEED submission.
func (b *FeedBudget) nextSubmission(now time.Time) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.prune(now)
	if len(b.window) < listingsapi.FeedSubmissions.Count {
		return now
	}
	return b.window[len(b.window)-listingsapi.FeedSubmissions.Count].Add(listingsapi.FeedSubmissions.Per + windowMargin)
}

// windowMargin is added to the window: a submission is recorded when its
// answer arrives, after Amazon counted it, and clocks differ.
const windowMargin = time.Second

// submitted records a submission answered at now.
func (b *FeedBudget) submitted(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.prune(now)
	b.window = append(b.window, now)
}

// fill marks the window full as of now, after Amazon refused a
// submission for its rate: not knowing when Amazon's oldest submission
// leaves its window, the Writer sends no feed for a whole window.
func (b *FeedBudget) fill(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.window = b.window[:0]
	for range listingsapi.FeedSubmissions.Count {
		b.window = append(b.window, now)
	}
}

// prune drops submissions older than the window. Callers hold b.mu.
func (b *FeedBudget) prune(now time.Time) {
	cut := now.Add(-listingsapi.FeedSubmissions.Per - windowMargin)
	b.window = slices.DeleteFunc(b.window, func(t time.Time) bool { return !t.After(cut) })
}
