package ledger

import "sync"

// turns keeps the events of one key (the SKU the bus orders by,
// store.MetaKey) in the order the bus delivered them while several
// workers apply them. Run's one receive loop takes a turn for each
// message as it arrives; the worker applying it waits for the key's
// previous turn to pass before it locks the key, and passes its own once
// it holds the lock. A count followed by a sale of the same SKU is then
// applied count first, as sent, though the sale may reach a free worker
// first; events of different SKUs still run side by side, and a hot key's
// events still share group commits (the next one locks the key as soon as
// the previous one's commit is queued).
type turns struct {
	mu   sync.Mutex
	last map[string]*turn // each key's latest turn that has not passed
}

// turn is one message's place in its key's order. A nil *turn is no
// place: its wait returns at once and its pass does nothing.
type turn struct {
	ts   *turns
	key  string
	prev chan struct{} // closed when the previous turn on key passed; nil: none
	done chan struct{} // closed by pass
	once sync.Once
}

// take returns the next turn on key, behind every turn taken on key
// before it that has not passed. An empty key has no order: nil.
func (ts *turns) take(key string) *turn {
	if key == "" {
		return nil
	}
	t := &turn{ts: ts, key: key, done: make(chan struct{})}
	ts.mu.Lock()
	if ts.last == nil {
		ts.last = make(map[string]*turn)
	}
	if p := ts.last[key]; p != nil {
		t.prev = p.done
	}
	ts.last[key] = t
	ts.mu.Unlock()
	return t
}

// wait returns once every earlier turn on t's key has passed.
func (t *turn) wait() {
	if t != nil && t.prev != nil {
		<-t.prev
	}
}

// pass lets the key's next turn go; calls after the first do nothing.
func (t *turn) pass() {
	if t == nil {
		return
	}
	t.once.Do(func() {
		close(t.done)
		t.ts.mu.Lock()
		if t.ts.last[t.key] == t {
			delete(t.ts.last, t.key)
		}
		t.ts.mu.Unlock()
	})
}
