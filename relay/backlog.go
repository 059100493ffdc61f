package relay

import (
	"context"
	"time"

	"github.com/stockgate/stockgate/store"
)

// Backlog is what waits in the outbox: every message stays there until it
// has done its work (an inbound event until the ledger has applied it,
// any other message until the bus has taken it), so the oldest message
// there measures how far behind the pipeline is.
type Backlog struct {
	// Oldest is when the oldest waiting message was written (its
	// CreatedAt); zero when nothing waits.
	Oldest time.Time
	// Topic is that message's topic: for the inbound topic, an event
	// accepted and acknowledged but not yet applied by the ledger; for
	// another, a message not yet published.
	Topic string
	// EventID is that message's canonical event id.
	EventID string
}

// Lag is how long the oldest message has waited at now; zero when nothing
// waits.
func (b Backlog) Lag(now time.Time) time.Duration {
	if b.Oldest.IsZero() || now.Before(b.Oldest) {
		return 0
	}
	return now.Sub(b.Oldest)
}

// ReadBacklog reads the oldest message of st's outbox. It costs one
// ordered read of one message, in every store.
func ReadBacklog(ctx context.Context, st *store.Store) (Backlog, error) {
	ms, err := st.Outbox(ctx, 0, 1)
	if err != nil || len(ms) == 0 {
		return Backlog{}, err
	}
	return Backlog{Oldest: ms[0].CreatedAt, Topic: ms[0].Topic, EventID: ms[0].EventID}, nil
}

// lagCheckEvery is how often Run reads the backlog; lagRepeat how often
// it repeats its warning while the pipeline stays behind.
const (
	lagCheckEvery = time.Second
	lagRepeat     = time.Minute
)

// checkLag reads the backlog and logs when the pipeline falls behind by
// Options.LagWarning or more, every lagRepeat while it stays behind, and
// once when it has caught up.
func (r *Relay) checkLag(ctx context.Context, now time.Time) {
	b, err := ReadBacklog(ctx, r.st)
	if err != nil {
		return // a failing store is logged by the pass
	}
	lag := b.Lag(now)
	switch {
	case lag >= r.opts.LagWarning:
		if r.behind && now.Sub(r.warnedAt) < lagRepeat {
			return
		}
		r.behind, r.warnedAt = true, now
		r.opts.Logger.Warn("the pipeline is behind: the oldest message in the outbox has waited past the warning threshold",
			"lag", lag.Round(time.Millisecond), "topic", b.Topic, "event", b.EventID,
			"waitingSince", b.Oldest, "threshold", r.opts.LagWarning)
	case r.behind:
		r.behind = false
		r.opts.Logger.Info("the pipeline has caught up", "lag", lag.Round(time.Millisecond), "threshold", r.opts.LagWarning)
	}
}
