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
//
// An event whose commit failed (a conflict after an earlier commit of the
// key failed) retries only once the key's previous event has finished, so
// that retries keep the order too.
type turns struct {
	mu   sync.Mutex
	last map[string]*turn // each key's latest turn that has not finished
}

// turn is one message's place in its key's order. A nil *turn is no
// place: its waits return at once and its pass and finish do nothing.
type turn struct {
	ts  *turns
	key string
	// prevPassed and prevFinished are the previous turn's passed and
	// finished; nil when there is none.
	prevPassed, prevFinished chan struct{}
	passed, finished         chan struct{}
	passOnce, finishOnce     sync.Once
}

// take returns the next turn on key, behind every turn taken on key
// before it that has not finished. An empty key has no order: nil.
func (ts *turns) take(key string) *turn {
	if key == "" {
		return nil
	}
	t := &turn{ts: ts, key: key, passed: make(chan struct{}), finished: make(chan struct{})}
	ts.mu.Lock()
	if ts.last == nil {
		ts.last = make(map[string]*turn)
	}
	if p := ts.last[key]; p != nil {
		t.prevPassed, t.prevFinished = p.passed, p.finished
	}
	ts.last[key] = t
	ts.mu.Unlock()
	return t
}

// wait returns once every earlier turn on t's key has passed: t's event
// may lock its key.
func (t *turn) wait() {
	if t != nil && t.prevPassed != nil {
		<-t.prevPassed
	}
}

// waitFinished returns once every earlier turn on t's key has finished:
// t's event may retry.
func (t *turn) waitFinished() {
	if t != nil && t.prevFinished != nil {
		<-t.prevFinished
	}
}

// pass lets the key's next turn lock the key, once every earlier turn has
// passed: a turn passed early (its event dead-lettered before locking
// anything) never lets a later one overtake an earlier one. Calls after
// the first do nothing.
func (t *turn) pass() {
	if t == nil {
		return
	}
	t.passOnce.Do(func() {
		t.wait()
		close(t.passed)
	})
}

// finish ends the turn: t's event is applied, kept or handed back. It
// passes the turn if that has not happened, and forgets the key when no
// later turn was taken.
func (t *turn) finish() {
	if t == nil {
		return
	}
	t.pass()
	t.finishOnce.Do(func() {
		t.waitFinished()
		close(t.finished)
		t.ts.mu.Lock()
		if t.ts.last[t.key] == t {
			delete(t.ts.last, t.key)
		}
		t.ts.mu.Unlock()
	})
}
