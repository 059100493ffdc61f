package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stockgate/stockgate/event"
	"github.com/stockgate/stockgate/store"
)

// Topic names used in outbox messages; the relay maps them to bus topics.
const (
	// TopicInbound carries canonical stock-moving events to the ledger.
	TopicInbound = "inbound"
	// TopicAvailability carries availability changes out of the ledger.
	TopicAvailability = "availability"
)

// Catalog says which SKUs and locations exist and the safety stock of each
// SKU at each location.
type Catalog interface {
	// Known reports whether a SKU and a location are both known. An
	// unknown one sends the event to the dead letters.
	Known(sku, location string) error
	// SafetyStock returns the units held back from available.
	SafetyStock(sku, location string) int64
}

// OpenCatalog accepts every SKU and location with no safety stock.
type OpenCatalog struct{}

// Known always returns nil.
func (OpenCatalog) Known(string, string) error { return nil }

// SafetyStock always returns 0.
func (OpenCatalog) SafetyStock(string, string) int64 { return 0 }

// Options configure a Ledger. A nil *Options means the defaults.
type Options struct {
	// Catalog checks SKUs and locations; nil accepts everything.
	Catalog Catalog
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives warnings; nil means slog.Default().
	Logger *slog.Logger
	// Committed, when set, is called after each commit that queued
	// outbox messages (the relay's Notify).
	Committed func()
	// MaxRetries bounds conflict retries per event; zero means 50.
	MaxRetries int
	// Route, when set, names the connector accounts whose channel
	// quantity a change of sku at location moves (the dispatcher's
	// Route): each commit queues the SKU for them in the store's durable
	// queues, in the same transaction, so no crash can lose a change on
	// its way to the marketplaces.
	Route func(sku, location string) []string
	// CacheProjections keeps each key's projection in memory as soon as
	// the commit that writes it is queued in the store, so that the key's
	// next event is stepped without reading the store, and (with a store
	// that queues commits: bbolt) while that commit is still being
	// written, sharing its group commit. Set it only when this ledger is
	// the store's one writer (store.Store.Exclusive). Within the process
	// it is exact: the store is read only once the key's queued commits
	// have finished, and an event stepped from a commit that then fails
	// fails its expected-sequence check and steps again from the store.
	// Another writer's commit could take the sequence number of a commit
	// of this ledger that then fails, and an event stepped from the
	// cached projection would pass the check.
	CacheProjections bool
}

// Ledger applies canonical events to a store.
type Ledger struct {
	st      *store.Store
	opts    Options
	failing streak // applies failed in a row, to back off redeliveries

	// projections caches the projections of queued commits by key, when
	// Options.CacheProjections: read and stored under the key's lock,
	// forgotten by a commit that failed, after it.
	projections sync.Map // store.Key → store.Projection
	cached      atomic.Int64

	// locks serialise this ledger's work on each key; see keyLock.
	locks [lockStripes]keyLock
}

// maxCachedProjections bounds the projection cache; keys past it are read
// from the store each time.
const maxCachedProjections = 1 << 20

// New returns a ledger over st.
func New(st *store.Store, opts *Options) *Ledger {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Catalog == nil {
		o.Catalog = OpenCatalog{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 50
	}
	return &Ledger{st: st, opts: o}
}

// cachedProjection returns k's cached projection on an event's first
// attempt; a retry after a conflict reads the store.
func (l *Ledger) cachedProjection(k store.Key, attempt int) (store.Projection, bool) {
	if !l.opts.CacheProjections || attempt > 0 {
		return store.Projection{}, false
	}
	v, ok := l.projections.Load(k)
	if !ok {
		return store.Projection{}, false
	}
	return v.(store.Projection), true
}

// rememberProjections caches what a commit is writing, once it is queued
// in the store, or forgets the keys when it wrote nothing (a conflict, a
// duplicate, a failure), so that the next event reads them from the store.
// Forgetting is always safe: the key's next event then reads the store,
// once the key's queued commits have finished (apply). A cached
// projection that is never written only costs the events stepped from it
// a conflict and a retry.
func (l *Ledger) rememberProjections(keys []store.Key, changes []Change, err error) {
	if !l.opts.CacheProjections {
		return
	}
	for i, k := range keys {
		if err != nil || i >= len(changes) {
			if _, had := l.projections.LoadAndDelete(k); had {
				l.cached.Add(-1)
			}
			continue
		}
		if _, had := l.projections.Swap(k, changes[i].Projection); !had {
			if l.cached.Add(1) > maxCachedProjections {
				l.projections.Delete(k)
				l.cached.Add(-1)
			}
		}
	}
}

// Result says what applying an event did.
type Result struct {
	// Duplicate: the event had been applied before; nothing changed.
	Duplicate bool
	// DeadLetter: the event could not be applied and was kept as a dead
	// letter with this reason.
	DeadLetter string
	// Changes are the entries written, one per key.
	Changes []Change
}

// lockStripes is how many key locks a ledger has. They serialise its
// workers' work on one key so that they rarely meet a sequence conflict;
// the store's expected sequence check keeps it correct across ledgers and
// processes. Each ledger has its own: its projection cache and in-flight
// commits are its own, and a ledger stalled on one key must not hold up
// another ledger in the same process.
const lockStripes = 256

// keyLock is one stripe of a ledger's locks. inflight counts the commits
// queued under it (stepped from the projection cache) that have not
// returned: their projections are in the cache but maybe not in the
// store. Add and Wait are called with the lock held, Done at any time.
type keyLock struct {
	sync.Mutex
	inflight sync.WaitGroup
}

func lockIndex(k store.Key) int {
	h := uint32(2166136261)
	for i := 0; i < len(k.SKU); i++ {
		h = (h ^ uint32(k.SKU[i])) * 16777619
	}
	h = (h ^ 0xff) * 16777619
	for i := 0; i < len(k.Location); i++ {
		h = (h ^ uint32(k.Location[i])) * 16777619
	}
	return int(h % lockStripes)
}

// Apply applies one parsed event. raw is its encoded form, kept with a
// dead letter.
func (l *Ledger) Apply(ctx context.Context, ev *event.Event, raw []byte) (Result, error) {
	return l.apply(ctx, ev, raw, nil, nil)
}

// apply is Apply that also deletes the outbox messages consumed (the
// event's own, by seq) in the commit that applies the event or keeps it as
// a dead letter. A duplicate deletes nothing: the caller deletes it.
// order, when set, is the event's turn among its SKU's events (see turns).
func (l *Ledger) apply(ctx context.Context, ev *event.Event, raw []byte, consumed []uint64, order *turn) (Result, error) {
	deadLetter := func(id, typ, connector, reason string) (Result, error) {
		return l.deadLetter(ctx, id, typ, connector, reason, raw, consumed)
	}
	if ev.Movement == nil {
		return deadLetter(ev.ID(), string(ev.Type), ev.Envelope.Source(), "not a stock movement: "+string(ev.Type))
	}
	m := ev.Movement
	keys := []store.Key{{SKU: m.SKU, Location: m.Location}}
	if ev.Type == event.StockTransferred {
		keys = append(keys, store.Key{SKU: m.SKU, Location: m.ToLocation})
	}
	for _, k := range keys {
		if err := l.opts.Catalog.Known(k.SKU, k.Location); err != nil {
			return deadLetter(ev.ID(), string(ev.Type), m.Connector, err.Error())
		}
	}
	// Lock in index order so that two transfers cannot deadlock.
	idx := []int{lockIndex(keys[0])}
	if len(keys) == 2 {
		switch b := lockIndex(keys[1]); {
		case b < idx[0]:
			idx = []int{b, idx[0]}
		case b > idx[0]:
			idx = append(idx, b)
		}
	}
	// The keys stay locked from reading their projections until the
	// commit is queued in the store; with the projection cache, the
	// key's next event is stepped from this one's projection while this
	// one is written (store.Store.CommitQueued), so that a hot key's
	// events share group commits instead of taking one each.
	// order, when set, is this event's turn on its SKU (Run): the keys
	// are locked only after the SKU's earlier events have locked theirs.
	locked := false
	lock := func() {
		order.wait()
		for _, i := range idx {
			l.locks[i].Lock()
		}
		locked = true
		order.pass()
	}
	unlock := func() {
		if locked {
			for _, i := range idx {
				l.locks[i].Unlock()
			}
			locked = false
		}
	}
	defer unlock()

	for attempt := 0; ; attempt++ {
		if !locked {
			if attempt > 0 {
				// A retry after the keys were unlocked at queue time (a
				// commit queued before this one failed): go after the
				// SKU's earlier events, which may be retrying too. Never
				// waited for with the keys locked, which an earlier
				// event's retry needs.
				order.waitFinished()
			}
			lock()
		}
		before := make([]store.Projection, len(keys))
		safety := make([]int64, len(keys))
		cached := make([]bool, len(keys))
		missing := false
		for i, k := range keys {
			before[i], cached[i] = l.cachedProjection(k, attempt)
			missing = missing || !cached[i]
		}
		if attempt > 0 || (l.opts.CacheProjections && missing) {
			// The store may be behind the commits queued on these
			// stripes: let them finish before reading it. A projection
			// read from the store while one of them is in flight would
			// carry the sequence number that commit is about to write,
			// and an event stepped from it (cached at queue time) could
			// then pass the check against that commit's result with
			// quantities it never had. After a conflict (a commit queued
			// before this one failed, or another process wrote the key)
			// the event steps from the store and commits with the keys
			// locked: no commit of this process comes between.
			for _, i := range idx {
				l.locks[i].inflight.Wait()
			}
		}
		for i, k := range keys {
			if !cached[i] {
				var err error
				if before[i], err = l.st.Projection(ctx, k); err != nil {
					return Result{}, err
				}
			}
			before[i].Key = k
			safety[i] = l.opts.Catalog.SafetyStock(k.SKU, k.Location)
		}
		changes, err := Step(ev, before, safety, l.opts.Now().UTC())
		if err != nil {
			return deadLetter(ev.ID(), string(ev.Type), m.Connector, err.Error())
		}
		c := store.Commit{EventID: ev.ID(), ExpectedSeq: before[0].Seq, DeleteOutbox: consumed}
		c.Entry = &changes[0].Entry
		c.Projection = &changes[0].Projection
		for i := 1; i < len(changes); i++ {
			c.Extra = append(c.Extra, store.KeyedStep{ExpectedSeq: before[i].Seq, Entry: changes[i].Entry, Projection: changes[i].Projection})
		}
		for _, ch := range changes {
			if ch.Alert != nil {
				c.Alerts = append(c.Alerts, *ch.Alert)
			}
			if !ch.Moved() {
				continue
			}
			msg, err := availabilityMessage(ch, m)
			if err != nil {
				return Result{}, err
			}
			c.Outbox = append(c.Outbox, msg)
			if l.opts.Route != nil {
				p := ch.Projection
				for _, account := range l.opts.Route(p.SKU, p.Location) {
					c.Enqueue = append(c.Enqueue, store.QueueItem{Account: account, SKU: p.SKU, Since: ch.Entry.RecordedAt})
				}
			}
		}
		if l.opts.CacheProjections && attempt == 0 {
			for _, i := range idx {
				l.locks[i].inflight.Add(1)
			}
			err = l.st.CommitQueued(ctx, c, func() {
				l.rememberProjections(keys, changes, nil)
				unlock()
			})
			if err != nil {
				// Before Done: whoever waits for the stripe to drain must
				// not find this projection cached.
				l.rememberProjections(keys, nil, err)
			}
			for _, i := range idx {
				l.locks[i].inflight.Done()
			}
		} else {
			err = l.st.Commit(ctx, c)
			l.rememberProjections(keys, changes, err)
		}
		switch {
		case err == nil:
			if len(c.Outbox) > 0 && l.opts.Committed != nil {
				l.opts.Committed()
			}
			return Result{Changes: changes}, nil
		case errors.Is(err, store.ErrAlreadyApplied):
			return Result{Duplicate: true}, nil
		case errors.Is(err, store.ErrConflict) && attempt < l.opts.MaxRetries:
			continue
		default:
			return Result{}, fmt.Errorf("ledger: apply %s: %w", ev.ID(), err)
		}
	}
}

func availabilityMessage(ch Change, m *event.Movement) (store.Message, error) {
	p := ch.Projection
	av, err := event.NewAvailability(event.Availability{
		SKU: p.SKU, Location: p.Location,
		OnHand: p.OnHand, Committed: p.Committed, SafetyStock: p.SafetyStock, Available: p.Available,
		Seq:          p.Seq,
		CauseEventID: ch.Entry.EventID, CauseType: ch.Entry.EventType,
		OccurredAt: m.OccurredAt, RecordedAt: ch.Entry.RecordedAt,
		CorrelationID: m.CorrelationID,
	})
	if err != nil {
		return store.Message{}, err
	}
	body, err := av.Marshal()
	if err != nil {
		return store.Message{}, err
	}
	return store.Message{Topic: TopicAvailability, EventID: av.ID(), Body: body, Key: p.SKU, CreatedAt: ch.Entry.RecordedAt}, nil
}

// deadLetter consumes an event that cannot be applied, keeping it. The
// applied mark is the dead letter's, not the event's: a redelivery of the
// same outbox message (consumed) for the same reason is a duplicate, while
// the event itself stays unapplied, so a replay after the cause is fixed
// (a SKU declared) applies it, and a replay that fails again (a new outbox
// message) is a dead letter of its own, never silently dropped.
func (l *Ledger) deadLetter(ctx context.Context, id, typ, connector, reason string, raw []byte, consumed []uint64) (Result, error) {
	if id == "" {
		id = event.DeterministicID("dead-letter", string(raw))
	}
	mark := []string{id, reason}
	for _, seq := range consumed {
		mark = append(mark, strconv.FormatUint(seq, 10))
	}
	err := l.st.Commit(ctx, store.Commit{
		EventID: "dead-letter:" + event.DeterministicID(mark...),
		DeadLetter: &store.DeadLetter{
			Connector: connector, EventID: id, EventType: typ,
			Reason: reason, Body: raw, CreatedAt: l.opts.Now().UTC(),
		},
		DeleteOutbox: consumed,
	})
	switch {
	case err == nil:
		l.opts.Logger.Warn("event kept as dead letter", "event_id", id, "type", typ, "reason", reason)
		return Result{DeadLetter: reason}, nil
	case errors.Is(err, store.ErrAlreadyApplied):
		return Result{Duplicate: true}, nil
	}
	return Result{}, fmt.Errorf("ledger: dead letter %s: %w", id, err)
}
