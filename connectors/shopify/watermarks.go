package shopify

import (
	"container/list"
	"sync"
	"time"
)

// Watermarks keeps, per key, the newest time a delivery about that key was
// triggered, so that an older delivery arriving late is recognised as
// stale. Shopify does not guarantee ordering and a retry re-sends the
// payload from trigger time (ref §2.4, §6 pitfall 4), so a late
// inventory_levels/update would otherwise overwrite a newer observation.
//
// Keys are "<connector id>/level/<inventory item id>@<location id>" and
// "<connector id>/order/<order id>", so one implementation may serve many
// connectors. Implementations must be safe for concurrent use.
type Watermarks interface {
	// Observe records that a delivery about key was triggered at at and
	// reports whether it is stale: strictly older than the newest time
	// observed for key. An equal time is not stale, so a redelivery of
	// the same event (same X-Shopify-Event-Id, same trigger time) never
	// counts against itself.
	Observe(key string, at time.Time) (stale bool)
}

// DefaultWatermarkKeys is how many keys a MemoryWatermarks remembers when
// no other bound is given.
const DefaultWatermarkKeys = 100_000

// MemoryWatermarks is an in-memory Watermarks bounded to a number of keys,
// evicting the least recently observed key first. An evicted key starts
// again from nothing, so a stale delivery for it is let through: the bound
// fails open, to what the connector did without stale detection. Keys are
// not persisted; after a restart the first delivery per key sets its mark.
//
// The zero value remembers DefaultWatermarkKeys keys. A MemoryWatermarks is
// safe for concurrent use and must not be copied after first use.
type MemoryWatermarks struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *mark, most recently observed first
	keys  map[string]*list.Element
}

type mark struct {
	key string
	at  time.Time
}

var _ Watermarks = (*MemoryWatermarks)(nil)

// NewMemoryWatermarks returns a MemoryWatermarks that remembers up to
// maxKeys keys; 0 or less means DefaultWatermarkKeys.
func NewMemoryWatermarks(maxKeys int) *MemoryWatermarks {
	return &MemoryWatermarks{max: maxKeys}
}

// Observe implements Watermarks.
func (w *MemoryWatermarks) Observe(key string, at time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.keys == nil {
		if w.max <= 0 {
			w.max = DefaultWatermarkKeys
		}
		w.order = list.New()
		w.keys = make(map[string]*list.Element)
	}
	if e, ok := w.keys[key]; ok {
		w.order.MoveToFront(e)
		m := e.Value.(*mark)
		if at.Before(m.at) {
			return true
		}
		m.at = at
		return false
	}
	w.keys[key] = w.order.PushFront(&mark{key: key, at: at})
	for w.order.Len() > w.max {
		oldest := w.order.Back()
		w.order.Remove(oldest)
		delete(w.keys, oldest.Value.(*mark).key)
	}
	return false
}

// Len returns how many keys are remembered.
func (w *MemoryWatermarks) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.keys)
}

// WatermarksByConnector keeps one MemoryWatermarks per connector id, so
// that a connector rebuilt at runtime (a mapping added, its secrets
// rotated) keeps the marks of the one it replaces: a delivery that was
// stale before the rebuild is stale after it. The zero value is ready to
// use and safe for concurrent use.
type WatermarksByConnector struct {
	mu    sync.Mutex
	marks map[string]*MemoryWatermarks
}

// For returns connector id's watermarks, the same on every call.
func (w *WatermarksByConnector) For(id string) Watermarks {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.marks == nil {
		w.marks = make(map[string]*MemoryWatermarks)
	}
	m := w.marks[id]
	if m == nil {
		m = NewMemoryWatermarks(DefaultWatermarkKeys)
		w.marks[id] = m
	}
	return m
}
