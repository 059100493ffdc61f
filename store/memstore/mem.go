// Package memstore is an in-memory store driver for tests and for running
// the gateway with no data dir. It keeps everything in maps behind one
// mutex and implements every semantic of [store.Driver], as the conformance
// suite in store/storetest checks.
//
// It is not durable: everything is lost on Close or when the process
// exits, so "accepted" means nothing after a crash. Use boltstore in
// production.
//
// # URLs
//
// [OpenURL] opens "mem://" (no host, path or query parameters). Every call
// opens a new, empty store.
//
// # Semantics
//
// The projection of a key with no entries is store.Projection{Key: k}.
// Dead letters and alerts without an ID get one that is unique within the
// store; paging after an ID the store does not know fails with
// store.ErrNotFound. Outbox sequence numbers start at 1 and are never
// reused. The driver copies what it is given and what it returns.
package memstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/stockgate/stockgate/store"
)

// Scheme is the URL scheme memstore opens.
const Scheme = "mem"

// Options configure the driver New returns; nil means defaults.
type Options struct {
	// Now reads the clock for dedup expiry. Nil: time.Now.
	Now func() time.Time
}

// driver is the in-memory store driver; it is safe for concurrent use.
type driver struct {
	now func() time.Time

	mu          sync.Mutex
	closed      bool
	outbox      []outboxItem // ordered by Seq
	outboxDead  int          // deleted items still in outbox
	outboxSeq   uint64
	dedup       map[string]time.Time // zero: remembered forever
	nextSweep   int
	applied     map[string]struct{}
	projections map[store.Key]store.Projection
	entries     map[store.Key][]store.Entry // entries[k][i].Seq == i+1
	deadLetters []store.DeadLetter
	deadIndex   map[string]int
	alerts      []store.Alert
	alertIndex  map[string]int
	mappings    map[[3]string]store.Mapping
	records     map[string]map[string]store.Record // kind → id → record
	queues      queues                             // the dispatcher's queues (queue.go)
}

var _ store.Driver = (*driver)(nil)

// outboxItem is an outbox message, or the place of one deleted since the
// outbox was last compacted.
type outboxItem struct {
	store.Message
	deleted bool
}

// errClosed is what a closed driver returns.
var errClosed = errors.New("memstore: closed")

// New returns an empty in-memory driver, safe for concurrent use.
func New(opts *Options) store.Driver {
	d := &driver{
		now:         time.Now,
		dedup:       map[string]time.Time{},
		nextSweep:   1024,
		applied:     map[string]struct{}{},
		projections: map[store.Key]store.Projection{},
		entries:     map[store.Key][]store.Entry{},
		deadIndex:   map[string]int{},
		alertIndex:  map[string]int{},
	}
	if opts != nil && opts.Now != nil {
		d.now = opts.Now
	}
	return d
}

// OpenURL opens "mem://"; it rejects a host, a path and query parameters.
func OpenURL(u *url.URL) (store.Driver, error) {
	if u.Scheme != Scheme {
		return nil, fmt.Errorf("memstore: open %s: scheme must be %q", u.Redacted(), Scheme)
	}
	if u.Host != "" || (u.Path != "" && u.Path != "/") || u.Opaque != "" {
		return nil, fmt.Errorf("memstore: open %s: want mem:// with no host or path", u.Redacted())
	}
	for p := range u.Query() {
		return nil, fmt.Errorf("memstore: open %s: unknown query parameter %q", u.Redacted(), p)
	}
	return New(nil), nil
}

// lock takes the mutex unless the driver is closed or ctx is done.
func (d *driver) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return errClosed
	}
	return nil
}

// Accept implements store.Driver.
func (d *driver) Accept(ctx context.Context, items []store.Acceptance) ([]error, error) {
	if err := d.lock(ctx); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	now := d.now()
	d.sweep(now)
	errs := make([]error, len(items))
	for i := range items {
		a := &items[i]
		if a.DedupKey != "" {
			if exp, ok := d.dedup[a.DedupKey]; ok && (exp.IsZero() || now.Before(exp)) {
				errs[i] = store.ErrDuplicate
				continue
			}
			var exp time.Time
			if a.DedupTTL > 0 {
				exp = now.Add(a.DedupTTL)
			}
			d.dedup[a.DedupKey] = exp
		}
		d.appendOutbox(a.Messages)
		for _, dl := range a.DeadLetters {
			d.addDeadLetter(dl)
		}
	}
	return errs, nil
}

// sweep forgets expired dedup keys once the map has doubled since the last
// sweep, which keeps the cost per Accept constant.
func (d *driver) sweep(now time.Time) {
	if len(d.dedup) < d.nextSweep {
		return
	}
	for k, exp := range d.dedup {
		if !exp.IsZero() && !now.Before(exp) {
			delete(d.dedup, k)
		}
	}
	d.nextSweep = max(2*len(d.dedup), 1024)
}

func (d *driver) appendOutbox(ms []store.Message) {
	for _, m := range ms {
		d.outboxSeq++
		m.Seq = d.outboxSeq
		m.Body = clone(m.Body)
		d.outbox = append(d.outbox, outboxItem{Message: m})
	}
}

func (d *driver) addDeadLetter(dl store.DeadLetter) {
	if dl.ID == "" {
		dl.ID = fmt.Sprintf("dl-%016x", len(d.deadLetters)+1)
	}
	dl.Body = clone(dl.Body)
	d.deadIndex[dl.ID] = len(d.deadLetters)
	d.deadLetters = append(d.deadLetters, dl)
}

func (d *driver) addAlert(a store.Alert) {
	if a.ID == "" {
		a.ID = fmt.Sprintf("al-%016x", len(d.alerts)+1)
	}
	d.alertIndex[a.ID] = len(d.alerts)
	d.alerts = append(d.alerts, a)
}

// Commit implements store.Driver.
func (d *driver) Commit(ctx context.Context, items []store.Commit) ([]error, error) {
	if err := validate(items); err != nil {
		return nil, err
	}
	if err := d.lock(ctx); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	errs := make([]error, len(items))
	for i := range items {
		errs[i] = d.commit(&items[i])
	}
	return errs, nil
}

// validate rejects items no backend could store, before anything is
// written.
func validate(items []store.Commit) error {
	for i := range items {
		if items[i].EventID == "" {
			return fmt.Errorf("memstore: commit item %d: event id is required", i)
		}
		if items[i].Entry != nil && items[i].Projection == nil {
			return fmt.Errorf("memstore: commit item %d: entry without projection", i)
		}
	}
	return nil
}

// steps lists a commit's keyed steps, the main one first.
func steps(c *store.Commit) []store.KeyedStep {
	out := make([]store.KeyedStep, 0, 1+len(c.Extra))
	if c.Entry != nil {
		out = append(out, store.KeyedStep{ExpectedSeq: c.ExpectedSeq, Entry: *c.Entry, Projection: *c.Projection})
	}
	return append(out, c.Extra...)
}

func (d *driver) commit(c *store.Commit) error {
	if _, ok := d.applied[c.EventID]; ok {
		return store.ErrAlreadyApplied
	}
	ss := steps(c)
	// Check every step before writing any; a key may appear twice.
	seqs := map[store.Key]uint64{}
	for _, s := range ss {
		k := s.Entry.Key
		cur, ok := seqs[k]
		if !ok {
			cur = d.projections[k].Seq
		}
		if cur != s.ExpectedSeq {
			return store.ErrConflict
		}
		seqs[k] = cur + 1
	}
	for _, s := range ss {
		k, seq := s.Entry.Key, s.ExpectedSeq+1
		e, p := s.Entry, s.Projection
		e.Seq, p.Seq, p.Key = seq, seq, k
		d.entries[k] = append(d.entries[k], e)
		d.projections[k] = p
	}
	d.applied[c.EventID] = struct{}{}
	d.appendOutbox(c.Outbox)
	for _, a := range c.Alerts {
		d.addAlert(a)
	}
	if c.DeadLetter != nil {
		d.addDeadLetter(*c.DeadLetter)
	}
	d.deleteOutbox(c.DeleteOutbox)
	for _, it := range c.Enqueue {
		d.queues.add(it.Account, it.SKU, it.Since)
	}
	return nil
}

// Applied implements store.Driver.
func (d *driver) Applied(ctx context.Context, eventID string) (bool, error) {
	if err := d.lock(ctx); err != nil {
		return false, err
	}
	defer d.mu.Unlock()
	_, ok := d.applied[eventID]
	return ok, nil
}

// Projection implements store.Driver; a key with no entries has
// store.Projection{Key: k}.
func (d *driver) Projection(ctx context.Context, k store.Key) (store.Projection, error) {
	if err := d.lock(ctx); err != nil {
		return store.Projection{}, err
	}
	defer d.mu.Unlock()
	p, ok := d.projections[k]
	if !ok {
		return store.Projection{Key: k}, nil
	}
	return p, nil
}

// Projections implements store.Driver.
func (d *driver) Projections(ctx context.Context, sku string) ([]store.Projection, error) {
	if err := d.lock(ctx); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	var out []store.Projection
	for k, p := range d.projections {
		if k.SKU == sku {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Location < out[j].Location })
	return out, nil
}

// History implements store.Driver.
func (d *driver) History(ctx context.Context, k store.Key, after uint64, limit int) ([]store.Entry, error) {
	if err := d.lock(ctx); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	es := d.entries[k]
	if limit <= 0 || after >= uint64(len(es)) {
		return nil, nil
	}
	es = es[after:]
	return append([]store.Entry(nil), es[:min(limit, len(es))]...), nil
}

// Outbox implements store.Driver.
func (d *driver) Outbox(ctx context.Context, after uint64, limit int) ([]store.Message, error) {
	if err := d.lock(ctx); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	if limit <= 0 {
		return nil, nil
	}
	i := sort.Search(len(d.outbox), func(i int) bool { return d.outbox[i].Seq > after })
	out := make([]store.Message, 0, min(limit, len(d.outbox)-i))
	for _, it := range d.outbox[i:] {
		if len(out) == limit {
			break
		}
		if it.deleted {
			continue
		}
		m := it.Message
		m.Body = clone(m.Body)
		out = append(out, m)
	}
	return out, nil
}

// DeleteOutbox implements store.Driver.
func (d *driver) DeleteOutbox(ctx context.Context, seqs []uint64) error {
	if err := d.lock(ctx); err != nil {
		return err
	}
	defer d.mu.Unlock()
	d.deleteOutbox(seqs)
	return nil
}

// deleteOutbox removes messages by seq. It marks each one deleted where it
// stands (a binary search: the outbox is in seq order) and compacts the
// outbox once deleted messages are half of it, so that a deletion costs
// O(log n) however long the outbox has grown: moving the tail for each
// one, under a backlog of retained inbound events, had made every ledger
// commit O(n) (BENCHMARKS.md §3).
func (d *driver) deleteOutbox(seqs []uint64) {
	for _, s := range seqs {
		i := sort.Search(len(d.outbox), func(i int) bool { return d.outbox[i].Seq >= s })
		if i < len(d.outbox) && d.outbox[i].Seq == s && !d.outbox[i].deleted {
			d.outbox[i] = outboxItem{Message: store.Message{Seq: s}, deleted: true}
			d.outboxDead++
		}
	}
	if d.outboxDead < 64 || 2*d.outboxDead < len(d.outbox) {
		return
	}
	kept := d.outbox[:0]
	for _, it := range d.outbox {
		if !it.deleted {
			kept = append(kept, it)
		}
	}
	clear(d.outbox[len(kept):])
	d.outbox, d.outboxDead = kept, 0
}

// DeadLetters implements store.Driver.
func (d *driver) DeadLetters(ctx context.Context, after string, limit int) ([]store.DeadLetter, error) {
	if err := d.lock(ctx); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	from, err := position(d.deadIndex, after)
	if err != nil || limit <= 0 || from >= len(d.deadLetters) {
		return nil, err
	}
	ds := d.deadLetters[from:min(from+limit, len(d.deadLetters))]
	out := make([]store.DeadLetter, len(ds))
	for i, dl := range ds {
		dl.Body = clone(dl.Body)
		out[i] = dl
	}
	return out, nil
}

// ResolveDeadLetter implements store.Driver.
func (d *driver) ResolveDeadLetter(ctx context.Context, id, resolution string, at time.Time) error {
	if err := d.lock(ctx); err != nil {
		return err
	}
	defer d.mu.Unlock()
	i, ok := d.deadIndex[id]
	if !ok {
		return fmt.Errorf("memstore: dead letter %q: %w", id, store.ErrNotFound)
	}
	d.deadLetters[i].Resolution, d.deadLetters[i].ResolvedAt = resolution, at
	return nil
}

// PutMapping implements store.Driver.
func (d *driver) PutMapping(ctx context.Context, m store.Mapping) error {
	if err := d.lock(ctx); err != nil {
		return err
	}
	defer d.mu.Unlock()
	if d.mappings == nil {
		d.mappings = map[[3]string]store.Mapping{}
	}
	d.mappings[[3]string{m.Connector, m.Kind, m.External}] = m
	return nil
}

// Mappings implements store.Driver.
func (d *driver) Mappings(ctx context.Context, connector string) ([]store.Mapping, error) {
	if err := d.lock(ctx); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	var out []store.Mapping
	for k, m := range d.mappings {
		if connector == "" || k[0] == connector {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Connector != b.Connector {
			return a.Connector < b.Connector
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.External < b.External
	})
	return out, nil
}

// Alerts implements store.Driver.
func (d *driver) Alerts(ctx context.Context, after string, limit int) ([]store.Alert, error) {
	if err := d.lock(ctx); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	from, err := position(d.alertIndex, after)
	if err != nil || limit <= 0 || from >= len(d.alerts) {
		return nil, err
	}
	return append([]store.Alert(nil), d.alerts[from:min(from+limit, len(d.alerts))]...), nil
}

// position is the index after the item with ID after ("" is the start).
func position(index map[string]int, after string) (int, error) {
	if after == "" {
		return 0, nil
	}
	i, ok := index[after]
	if !ok {
		return 0, fmt.Errorf("memstore: no item with id %q: %w", after, store.ErrNotFound)
	}
	return i + 1, nil
}

// Ping implements store.Driver.
// Exclusive implements store.ExclusiveDriver: the data lives in this process.
func (d *driver) Exclusive() bool { return true }

func (d *driver) Ping(ctx context.Context) error {
	if err := d.lock(ctx); err != nil {
		return err
	}
	d.mu.Unlock()
	return nil
}

// Close drops everything; later calls fail.
func (d *driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errClosed
	}
	d.closed = true
	d.outbox, d.dedup, d.applied, d.projections, d.entries = nil, nil, nil, nil, nil
	d.deadLetters, d.deadIndex, d.alerts, d.alertIndex = nil, nil, nil, nil
	return nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
