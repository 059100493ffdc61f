package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Sentinel errors; match with errors.Is.
var (
	// ErrDuplicate: Accept saw the dedup key already; nothing was stored.
	ErrDuplicate = errors.New("store: duplicate")
	// ErrAlreadyApplied: Commit saw the event already applied.
	ErrAlreadyApplied = errors.New("store: event already applied")
	// ErrConflict: Commit's expected sequence number is stale; re-read the
	// projection and try again.
	ErrConflict = errors.New("store: sequence conflict")
	// ErrNotFound: the item asked for does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
)

// Key names one ledger stream: a SKU at a location.
type Key struct {
	SKU      string `json:"sku"`
	Location string `json:"location"`
}

// String returns "sku@location".
func (k Key) String() string { return k.SKU + "@" + k.Location }

// Quantities are the stock states of one key.
type Quantities struct {
	OnHand    int64 `json:"onHand"`
	Committed int64 `json:"committed"`
	// SafetyStock is held back from Available.
	SafetyStock int64 `json:"safetyStock"`
	// Available is OnHand − Committed − SafetyStock (negative when oversold).
	Available int64 `json:"available"`
}

// Projection is the current state of one key, as of entry Seq.
type Projection struct {
	Key
	Quantities
	// Seq is the sequence number of the last entry; 0 for a key with no
	// entries.
	Seq uint64 `json:"seq"`
	// LastCountAt is the OccurredAt of the last applied on-hand count; a
	// count older than this is stale.
	LastCountAt time.Time `json:"lastCountAt"`
	// UpdatedAt is when the last entry was recorded.
	UpdatedAt time.Time `json:"updatedAt"`
}

// Outcomes of a ledger entry.
const (
	// OutcomeApplied: the event changed the quantities as it says.
	OutcomeApplied = "applied"
	// OutcomeOversold: applied, but a quantity went negative; an alert was
	// raised.
	OutcomeOversold = "oversold"
	// OutcomeStale: a count older than the last applied count; recorded,
	// quantities unchanged.
	OutcomeStale = "stale"
	// OutcomeObserved: a channel reported a quantity; recorded and compared,
	// quantities unchanged.
	OutcomeObserved = "observed"
)

// Entry is one immutable ledger record.
type Entry struct {
	Key
	// Seq numbers the key's entries from 1 without gaps.
	Seq           uint64 `json:"seq"`
	EventID       string `json:"eventId"`
	EventType     string `json:"eventType"`
	Connector     string `json:"connector"`
	SourceEventID string `json:"sourceEventId"`
	CorrelationID string `json:"correlationId"`
	Reason        string `json:"reason"`
	// Outcome is one of the Outcome constants.
	Outcome string `json:"outcome"`
	// Delta is the change per quantity state; Result the quantities after.
	Delta  Quantities `json:"delta"`
	Result Quantities `json:"result"`
	// Note explains an outcome other than applied, for people.
	Note       string    `json:"note,omitempty"`
	OccurredAt time.Time `json:"occurredAt"`
	RecordedAt time.Time `json:"recordedAt"`
}

// Message is one outbox message: a canonical event waiting to be
// published to a bus topic.
type Message struct {
	// Seq orders the outbox; assigned by the store on insert.
	Seq uint64 `json:"seq"`
	// Topic is the logical topic name ("inbound" or "availability").
	Topic string `json:"topic"`
	// EventID is the canonical event id.
	EventID string `json:"eventId"`
	// Body is the encoded CloudEvent.
	Body []byte `json:"body"`
	// Key orders delivery where the bus can (a partition or ordering key).
	Key       string    `json:"key"`
	CreatedAt time.Time `json:"createdAt"`
}

// Acceptance is one webhook's worth of canonical events to accept.
type Acceptance struct {
	// DedupKey identifies the delivery at its source; empty means no dedup.
	DedupKey string
	// DedupTTL is how long the dedup key is remembered (zero: forever).
	DedupTTL time.Duration
	// Messages are appended to the outbox.
	Messages []Message
	// DeadLetters are kept for what was received but cannot become a
	// canonical event (an unknown SKU, say); they are written with the
	// dedup key so a redelivery does not record them twice.
	DeadLetters []DeadLetter
}

// Commit is one ledger step. Entry and Projection are set for an event
// that touches a key; a commit with neither only marks the event consumed
// (with a dead letter, for instance).
type Commit struct {
	// EventID is marked applied; a second Commit with it fails with
	// ErrAlreadyApplied.
	EventID string
	// ExpectedSeq is the projection's Seq the caller read for Entry.Key.
	ExpectedSeq uint64
	// Entry is appended with Seq = ExpectedSeq+1; Projection replaces the
	// key's projection (its Seq must equal Entry.Seq).
	Entry      *Entry
	Projection *Projection
	// Extra are further entries and projections applied in the same step,
	// for an event that touches two keys (a transfer). Each carries its own
	// expected sequence.
	Extra []KeyedStep
	// Outbox messages are queued (the availability changes).
	Outbox []Message
	// Alerts are raised.
	Alerts []Alert
	// DeadLetter is recorded.
	DeadLetter *DeadLetter
	// DeleteOutbox names outbox messages (by Seq) removed in the same
	// transaction, when the commit is applied: the consumed event's own
	// message, so that consuming it costs no second write. Missing ones are
	// ignored; a commit that fails (ErrAlreadyApplied, ErrConflict) deletes
	// nothing.
	DeleteOutbox []uint64
	// Enqueue queues SKUs in the dispatcher's durable queues (Account,
	// SKU, Since; see QueueItem) in the same transaction, when the commit
	// is applied: the accounts whose channel quantity the step changes, so
	// that no crash can lose a change on its way to the marketplaces.
	Enqueue []QueueItem
}

// KeyedStep is an entry and the projection after it, guarded by the
// expected sequence number of its key.
type KeyedStep struct {
	ExpectedSeq uint64
	Entry       Entry
	Projection  Projection
}

// DeadLetter is something received that could not be applied, kept with
// its raw body so it can be inspected and replayed.
type DeadLetter struct {
	// ID is assigned by the store when empty.
	ID        string    `json:"id"`
	Connector string    `json:"connector"`
	EventID   string    `json:"eventId"`
	EventType string    `json:"eventType"`
	Reason    string    `json:"reason"`
	Body      []byte    `json:"body"`
	CreatedAt time.Time `json:"createdAt"`
	// Header and URL are the request's, for a dead letter kept from a
	// webhook, so that it can be normalized again once mapped.
	Header map[string][]string `json:"header,omitempty"`
	URL    string              `json:"url,omitempty"`
	// Resolution says how the dead letter was dealt with ("replayed",
	// "discarded", …); empty while it is pending.
	Resolution string    `json:"resolution,omitempty"`
	ResolvedAt time.Time `json:"resolvedAt,omitempty"`
}

// Mapping kinds.
const (
	// MapSKU maps a marketplace item id (Shopify inventory item, Square
	// catalog object, Amazon SellerSKU) to a SKU.
	MapSKU = "sku"
	// MapLocation maps a marketplace location id to a location.
	MapLocation = "location"
)

// Mapping ties one connector's id for something to stockgate's.
type Mapping struct {
	Connector string `json:"connector"`
	// Kind is MapSKU or MapLocation.
	Kind      string    `json:"kind"`
	External  string    `json:"external"`
	Internal  string    `json:"internal"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Alert kinds.
const (
	AlertOversold = "oversold"
	AlertDrift    = "drift"
)

// Alert is something an operator should look at.
type Alert struct {
	// ID is assigned by the store when empty.
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Key       Key       `json:"key"`
	EventID   string    `json:"eventId"`
	Message   string    `json:"message"`
	CreatedAt time.Time `json:"createdAt"`
}

// Driver is what a backend implements. Drivers return their own errors and
// the sentinels above; the portable Store wraps them.
type Driver interface {
	RecordDriver
	QueueDriver
	// Accept stores each acceptance atomically; it returns one error per
	// item (nil or ErrDuplicate) or a call error when nothing was stored.
	Accept(ctx context.Context, items []Acceptance) ([]error, error)
	// Commit applies each ledger step atomically; one error per item (nil,
	// ErrAlreadyApplied or ErrConflict), or a call error.
	Commit(ctx context.Context, items []Commit) ([]error, error)
	// Applied reports whether an event was applied.
	Applied(ctx context.Context, eventID string) (bool, error)
	// Projection returns a key's projection; a key with no entries has the
	// zero projection (Seq 0) and no error.
	Projection(ctx context.Context, k Key) (Projection, error)
	// Projections returns the projections of every location of a SKU,
	// ordered by location.
	Projections(ctx context.Context, sku string) ([]Projection, error)
	// History returns up to limit entries of a key with Seq > after, in
	// order.
	History(ctx context.Context, k Key, after uint64, limit int) ([]Entry, error)
	// Outbox returns up to limit messages with Seq > after, in order.
	Outbox(ctx context.Context, after uint64, limit int) ([]Message, error)
	// DeleteOutbox removes messages by sequence number; missing ones are
	// ignored.
	DeleteOutbox(ctx context.Context, seqs []uint64) error
	// DeadLetters returns up to limit dead letters, oldest first, after
	// the given id ("" from the start).
	DeadLetters(ctx context.Context, after string, limit int) ([]DeadLetter, error)
	// Alerts returns up to limit alerts, oldest first, after the given id.
	Alerts(ctx context.Context, after string, limit int) ([]Alert, error)
	// ResolveDeadLetter records how a dead letter was dealt with; the dead
	// letter stays listed with its resolution. ErrNotFound when there is
	// no such dead letter.
	ResolveDeadLetter(ctx context.Context, id, resolution string, at time.Time) error
	// PutMapping adds or replaces the mapping of (Connector, Kind,
	// External).
	PutMapping(ctx context.Context, m Mapping) error
	// Mappings returns a connector's mappings ("" for every connector),
	// ordered by connector, kind and external id.
	Mappings(ctx context.Context, connector string) ([]Mapping, error)
	// Ping reports whether the backend answers.
	Ping(ctx context.Context) error
	// Close releases the backend.
	Close() error
}

// Store is the portable store. It is safe for concurrent use.
type Store struct {
	d      Driver
	closed atomic.Bool
}

// New wraps a driver.
func New(d Driver) *Store { return &Store{d: d} }

// ExclusiveDriver is implemented by a driver whose backend one process
// opens alone (an embedded database), so that nothing but this process
// writes it.
type ExclusiveDriver interface {
	// Exclusive reports whether the backend is this process's alone.
	Exclusive() bool
}

// Exclusive reports whether this process is the store's only writer:
// what it last committed is what the store holds. A shared backend
// (Redis, which replicas share) returns false.
func (s *Store) Exclusive() bool {
	x, ok := s.d.(ExclusiveDriver)
	return ok && x.Exclusive()
}

func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// Accept stores one webhook's events and dedup key atomically. It returns
// ErrDuplicate when the dedup key was seen before.
func (s *Store) Accept(ctx context.Context, a Acceptance) error {
	errs, err := s.AcceptBatch(ctx, []Acceptance{a})
	if err != nil {
		return err
	}
	return errs[0]
}

// AcceptBatch stores many acceptances, each atomically.
func (s *Store) AcceptBatch(ctx context.Context, items []Acceptance) ([]error, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	for i := range items {
		for j := range items[i].Messages {
			if items[i].Messages[j].Topic == "" || items[i].Messages[j].EventID == "" {
				return nil, fmt.Errorf("store: accept: message %d of item %d needs a topic and an event id", j, i)
			}
		}
	}
	errs, err := s.d.Accept(ctx, items)
	return errs, wrap("accept", err)
}

// Commit applies one ledger step atomically; see Driver.Commit.
func (s *Store) Commit(ctx context.Context, c Commit) error {
	if err := s.checkCommit(ctx, c); err != nil {
		return err
	}
	errs, err := s.d.Commit(ctx, []Commit{c})
	if err != nil {
		return wrap("commit", err)
	}
	return errs[0]
}

func (s *Store) checkCommit(ctx context.Context, c Commit) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if c.EventID == "" {
		return errors.New("store: commit: event id is required")
	}
	if c.Entry != nil && (c.Projection == nil || c.Projection.Seq != c.ExpectedSeq+1 || c.Entry.Seq != c.ExpectedSeq+1) {
		return fmt.Errorf("store: commit: entry and projection must carry seq %d", c.ExpectedSeq+1)
	}
	if err := checkQueueItems(c.Enqueue, true); err != nil {
		return fmt.Errorf("store: commit: enqueue: %w", err)
	}
	return nil
}

// CommitQueuer is implemented by a driver that commits this process's
// calls in the order they are queued (a group commit): a commit queued
// after another that succeeds takes effect after it, and its expected
// sequence numbers are checked against what the other wrote. (A call
// that fails may be run again after later ones; they do not see it.)
type CommitQueuer interface {
	// CommitQueued is Commit that calls queued once the items have their
	// place in that order, usually before they are durable, or once the
	// call has failed without reaching the queue. It calls queued exactly
	// once, on the calling goroutine, before it returns.
	CommitQueued(ctx context.Context, items []Commit, queued func()) ([]error, error)
}

// CommitQueued is Commit that calls queued, once and before it returns,
// as soon as no commit made afterwards can take effect before this one
// (or once this one has failed). With a driver that queues commits
// (CommitQueuer: bbolt's group commit) that is before this one is
// durable, so a caller that serializes a key's commits can step the key's
// next event from this one's result while it is written, and both share
// a transaction; should this one fail, the next fails its
// expected-sequence check. A caller that does so must not read the key
// from the store while such a commit is in flight: the store does not
// have it yet (see package ledger). With other drivers queued is called
// once Commit has returned.
func (s *Store) CommitQueued(ctx context.Context, c Commit, queued func()) error {
	once := sync.OnceFunc(queued)
	defer once()
	if err := s.checkCommit(ctx, c); err != nil {
		return err
	}
	var (
		errs []error
		err  error
	)
	if q, ok := s.d.(CommitQueuer); ok {
		errs, err = q.CommitQueued(ctx, []Commit{c}, once)
	} else {
		errs, err = s.d.Commit(ctx, []Commit{c})
	}
	if err != nil {
		return wrap("commit", err)
	}
	return errs[0]
}

// Applied reports whether an event was applied.
func (s *Store) Applied(ctx context.Context, eventID string) (bool, error) {
	if err := s.check(ctx); err != nil {
		return false, err
	}
	ok, err := s.d.Applied(ctx, eventID)
	return ok, wrap("applied", err)
}

// Projection returns a key's current projection (Seq 0 when it has none).
func (s *Store) Projection(ctx context.Context, k Key) (Projection, error) {
	if err := s.check(ctx); err != nil {
		return Projection{}, err
	}
	p, err := s.d.Projection(ctx, k)
	return p, wrap("projection", err)
}

// Projections returns every location's projection of a SKU.
func (s *Store) Projections(ctx context.Context, sku string) ([]Projection, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	ps, err := s.d.Projections(ctx, sku)
	return ps, wrap("projections", err)
}

// History returns up to limit entries of a key after sequence number after.
func (s *Store) History(ctx context.Context, k Key, after uint64, limit int) ([]Entry, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	es, err := s.d.History(ctx, k, after, limit)
	return es, wrap("history", err)
}

// Outbox returns up to limit outbox messages after sequence number after.
func (s *Store) Outbox(ctx context.Context, after uint64, limit int) ([]Message, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	ms, err := s.d.Outbox(ctx, after, limit)
	return ms, wrap("outbox", err)
}

// DeleteOutbox removes published messages.
func (s *Store) DeleteOutbox(ctx context.Context, seqs []uint64) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if len(seqs) == 0 {
		return nil
	}
	return wrap("delete outbox", s.d.DeleteOutbox(ctx, seqs))
}

// DeadLetters lists dead letters, oldest first.
func (s *Store) DeadLetters(ctx context.Context, after string, limit int) ([]DeadLetter, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	ds, err := s.d.DeadLetters(ctx, after, limit)
	return ds, wrap("dead letters", err)
}

// Alerts lists alerts, oldest first.
func (s *Store) Alerts(ctx context.Context, after string, limit int) ([]Alert, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	as, err := s.d.Alerts(ctx, after, limit)
	return as, wrap("alerts", err)
}

// ResolveDeadLetter records how a dead letter was dealt with.
func (s *Store) ResolveDeadLetter(ctx context.Context, id, resolution string, at time.Time) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if id == "" || resolution == "" {
		return errors.New("store: resolve dead letter: id and resolution are required")
	}
	return wrap("resolve dead letter", s.d.ResolveDeadLetter(ctx, id, resolution, at))
}

// PutMapping adds or replaces a mapping.
func (s *Store) PutMapping(ctx context.Context, m Mapping) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if m.Connector == "" || m.External == "" || m.Internal == "" || (m.Kind != MapSKU && m.Kind != MapLocation) {
		return fmt.Errorf("store: put mapping: connector, external and internal ids are required and kind must be %q or %q", MapSKU, MapLocation)
	}
	return wrap("put mapping", s.d.PutMapping(ctx, m))
}

// Mappings returns a connector's mappings ("" for all).
func (s *Store) Mappings(ctx context.Context, connector string) ([]Mapping, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	ms, err := s.d.Mappings(ctx, connector)
	return ms, wrap("mappings", err)
}

// Ping reports whether the backend answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return wrap("ping", s.d.Ping(ctx))
}

// Close closes the backend. A second Close returns ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return ErrClosed
	}
	return s.d.Close()
}
