package connectors

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/stockgate/stockgate/store"
)

// Echoes: a channel reports stockgate's own writes back in its webhooks
// (Shopify's inventory_levels/update, Square's inventory.count.updated,
// Amazon's LISTINGS_ITEM_MFN_QUANTITY_CHANGE) and names no writer in
// them, so each connector compares a reported quantity with what its
// writer last wrote there: the same quantity, reported no earlier than
// the write (give or take EchoSkew), is the echo of that write, a
// confirmation rather than a change from elsewhere. EchoLog is the memory
// of those writes that every connector's MemoryEchoes keeps, keyed by
// what the channel counts (an item at a location, a SellerSKU).

// EchoSkew is how far a report's time (the channel's clock) may lie
// before the write's time (stockgate's clock) and still be the echo of
// that write. A report stamped earlier than that shows the state before
// the write, which only happens to equal it.
const EchoSkew = time.Minute

// EchoLog remembers the quantity stockgate last wrote per key, and when.
// It keeps one entry per key ever written, so it grows with the
// catalogue, not with traffic. The zero value is ready to use; it is safe
// for concurrent use and must not be copied after first use.
type EchoLog[K comparable] struct {
	mu     sync.RWMutex
	pushed map[K]echo
}

type echo struct {
	qty int64
	at  time.Time
}

// Record notes that stockgate wrote qty at k at at. A record older than
// the one kept is ignored, so concurrent writers may record in any order.
func (l *EchoLog[K]) Record(k K, qty int64, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p, ok := l.pushed[k]; ok && at.Before(p.at) {
		return
	}
	if l.pushed == nil {
		l.pushed = make(map[K]echo)
	}
	l.pushed[k] = echo{qty, at}
}

// Pushed returns the quantity last written at k and when; ok is false
// when none was.
func (l *EchoLog[K]) Pushed(k K) (qty int64, at time.Time, ok bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	p, ok := l.pushed[k]
	return p.qty, p.at, ok
}

// IsEcho reports whether a report of qty made at at is the echo of a write
// of pushed at pushedAt (ok: there was one; a zero pushedAt matches any
// report time).
func IsEcho(qty int64, at time.Time, pushed int64, pushedAt time.Time, ok bool) bool {
	return ok && pushed == qty && (pushedAt.IsZero() || !at.Before(pushedAt.Add(-EchoSkew)))
}

// EchoRecords is where a SharedEchoLog keeps writes: *store.Store.
type EchoRecords interface {
	PutRecord(ctx context.Context, r store.Record) error
	GetRecord(ctx context.Context, kind, id string) (store.Record, error)
}

// echoTimeout bounds each store call of a SharedEchoLog.
const echoTimeout = 2 * time.Second

// SharedEchoLog is an EchoLog kept in the store's records as well
// (kind store.RecordEcho), so that a replica that did not make a write,
// or the gateway after a restart, still recognizes the channel's webhook
// reporting it back. With replicas only one of them writes an account at
// a time (its lease), but the channel's webhook reaches any of them; an
// EchoLog in memory alone would leave the others to take the echo for a
// change made elsewhere.
//
// Pushed asks the store, which holds the latest write of every replica,
// and this process's memory when the store has none or cannot answer, or
// holds an older one. A write the store refuses is logged and kept in
// memory: what the log recognizes then is what an EchoLog would. It is
// safe for concurrent use.
type SharedEchoLog struct {
	records EchoRecords
	prefix  string
	log     *slog.Logger
	mem     EchoLog[string]
}

// NewSharedEchoLog returns a log of channel's writes (its records are
// "<channel>/<key>") over records; a nil logger means slog.Default().
func NewSharedEchoLog(records EchoRecords, channel string, logger *slog.Logger) *SharedEchoLog {
	return &SharedEchoLog{records: records, prefix: channel + "/", log: cmp.Or(logger, slog.Default())}
}

// echoRecord is the Data of a store.RecordEcho record.
type echoRecord struct {
	Qty int64     `json:"qty"`
	At  time.Time `json:"at"`
}

// Record notes that stockgate wrote qty at key at at, in memory and in
// the store. It returns once the store has it (or refused it).
func (l *SharedEchoLog) Record(key string, qty int64, at time.Time) {
	l.mem.Record(key, qty, at)
	data, err := json.Marshal(echoRecord{Qty: qty, At: at})
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), echoTimeout)
		err = l.records.PutRecord(ctx, store.Record{Kind: store.RecordEcho, ID: l.prefix + key, Data: data, UpdatedAt: at})
		cancel()
	}
	if err != nil {
		l.log.Warn("echoes: the store did not keep a write; only this process will recognize its echo",
			"record", l.prefix+key, "err", err)
	}
}

// Pushed returns the quantity last written at key and when; ok is false
// when neither the store nor this process knows of one.
func (l *SharedEchoLog) Pushed(key string) (qty int64, at time.Time, ok bool) {
	qty, at, ok = l.mem.Pushed(key)
	ctx, cancel := context.WithTimeout(context.Background(), echoTimeout)
	defer cancel()
	r, err := l.records.GetRecord(ctx, store.RecordEcho, l.prefix+key)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			l.log.Warn("echoes: cannot read the store; using this process's memory", "record", l.prefix+key, "err", err)
		}
		return qty, at, ok
	}
	var e echoRecord
	if err := json.Unmarshal(r.Data, &e); err != nil {
		l.log.Warn("echoes: unreadable record; using this process's memory", "record", l.prefix+key, "err", err)
		return qty, at, ok
	}
	if ok && at.After(e.At) {
		return qty, at, ok
	}
	return e.Qty, e.At, true
}
