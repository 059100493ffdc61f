package boltstore

import (
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// group commits concurrent write calls together: one transaction and one
// fsync for every call that arrived while the previous transaction was
// being written (leader/follower group commit). The first caller with no
// commit in progress leads: it takes the queue, runs every call in one
// transaction, hands the lead to the oldest caller that queued meanwhile,
// and returns. Under load each fsync serves everyone who waited for it.
//
// While writers arrive together (a leader was handed the lead, or the
// previous group held more than one call), a leader starts its
// transaction no sooner than maxDelay after the previous one started,
// and calls made meanwhile join it, as PostgreSQL's commit_delay does
// when commit_siblings are active. So a steady stream of writers is
// committed at most once per maxDelay: fewer, larger transactions, so
// less of each webhook goes into the pages, meta page and fsyncs that
// every transaction writes whatever its size (BENCHMARKS.md §1 and §8).
// When a transaction takes longer than maxDelay, as under heavy load,
// nobody waits. A caller that finds the writer idle after a lone call
// commits at once, and so does one that comes more than maxDelay after
// the last transaction started: one writer at a time never waits.
//
// bbolt's DB.Batch waits MaxBatchDelay (10ms by default) on every group
// unless MaxBatchSize callers arrive first, which caps throughput at
// MaxBatchSize per MaxBatchDelay and costs a lone caller the whole delay.
//
// As with DB.Batch, a call's function may run more than once: when one
// call fails, the transaction is rolled back and run again without it, and
// the failed call then runs alone. Functions must start from scratch on
// every run.
type group struct {
	db       *bolt.DB
	maxSize  int
	maxDelay time.Duration // zero or less: never wait

	mu      sync.Mutex
	queue   []*groupCall
	leading bool      // a caller is running a transaction for the queue
	last    int       // calls in the last group committed
	started time.Time // when the last group's transaction started
}

type groupCall struct {
	fn   func(*bolt.Tx) error
	done chan error // the call's result, or errLead
}

// errLead tells a queued caller to lead the next group.
var errLead = errors.New("boltstore: lead the next group")

// write runs fn in a group's transaction and returns its result. When
// queued is set, it is called (on the caller's goroutine) as soon as the
// call is in the queue: every call queued later runs after it, in the
// same transaction or a later one, unless this one fails (run then
// retries it alone, after the others).
func (g *group) write(fn func(*bolt.Tx) error, queued func()) error {
	c := &groupCall{fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	var wait time.Duration
	if g.leading {
		g.mu.Unlock()
		if queued != nil {
			queued()
		}
		if err := <-c.done; err != errLead {
			return err
		}
		// Handed the lead: this call queued behind a transaction.
		g.mu.Lock()
		wait = g.delay(true)
		g.mu.Unlock()
	} else {
		g.leading = true
		wait = g.delay(g.last > 1)
		g.mu.Unlock()
		if queued != nil {
			queued()
		}
	}
	if wait > 0 {
		time.Sleep(wait)
	}
	// Leading: c is first in the queue.
	g.mu.Lock()
	n := min(len(g.queue), g.maxSize)
	calls := g.queue[:n:n]
	g.queue = append([]*groupCall(nil), g.queue[n:]...)
	g.started = time.Now()
	g.mu.Unlock()

	g.run(calls)

	g.mu.Lock()
	g.last = n
	if len(g.queue) > 0 {
		g.queue[0].done <- errLead
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	return <-c.done
}

// delay is how long a new leader waits for company before it takes the
// queue: none unless writers are arriving together, else until maxDelay
// after the last transaction started. g.mu must be held.
func (g *group) delay(together bool) time.Duration {
	if !together || g.maxDelay <= 0 {
		return 0
	}
	return time.Until(g.started.Add(g.maxDelay))
}

// run commits calls in one transaction and sends each its result. A call
// that fails is taken out and the rest run again; the failed ones then run
// alone, each in its own transaction.
func (g *group) run(calls []*groupCall) {
	var alone []*groupCall
	for len(calls) > 0 {
		failed := -1
		err := g.db.Update(func(tx *bolt.Tx) error {
			for i, c := range calls {
				if err := safely(c.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, c := range calls {
				c.done <- err
			}
			break
		}
		alone = append(alone, calls[failed])
		calls = append(calls[:failed:failed], calls[failed+1:]...)
	}
	for _, c := range alone {
		c.done <- g.db.Update(func(tx *bolt.Tx) error { return safely(c.fn, tx) })
	}
}

// safely runs fn, turning a panic into an error so that one bad call does
// not take down the caller leading the group.
func safely(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("boltstore: panic in write: %v", p)
		}
	}()
	return fn(tx)
}
