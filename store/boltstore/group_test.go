package boltstore

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// openGroup opens a bbolt file for a group of its own, synced as the
// gateway runs it.
func openGroup(t *testing.T, delay time.Duration) *group {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "g.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &group{db: db, maxSize: 1000, maxDelay: delay}
}

// txID is a write call that reports which transaction ran it.
func txID(id *int) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error { *id = tx.ID(); return nil }
}

// waitQueued waits until n calls are queued behind the leader.
func waitQueued(t *testing.T, g *group, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		g.mu.Lock()
		q := len(g.queue)
		g.mu.Unlock()
		if q >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued, want %d", q, n)
		}
	}
}

// formGroup commits three calls, the last two in one transaction: the first
// holds the writer until the others have queued.
func formGroup(t *testing.T, g *group) {
	t.Helper()
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		g.write(func(*bolt.Tx) error { close(started); <-release; return nil }, nil)
	})
	<-started // the leader is in its transaction: the queue is empty
	var a, b int
	wg.Go(func() { g.write(txID(&a), nil) })
	wg.Go(func() { g.write(txID(&b), nil) })
	waitQueued(t, g, 2)
	close(release)
	wg.Wait()
	if a != b {
		t.Fatalf("queued calls ran in transactions %d and %d, want one", a, b)
	}
	if g.last != 2 {
		t.Fatalf("last group: %d calls, want 2", g.last)
	}
}

// TestGroupWaitsAfterAGroup: once writers arrive together (the last
// transaction held more than one call), a call that finds the writer idle
// waits maxDelay, and a call made meanwhile joins its transaction.
func TestGroupWaitsAfterAGroup(t *testing.T) {
	g := openGroup(t, 300*time.Millisecond)
	formGroup(t, g)

	var first, second int
	var wg sync.WaitGroup
	wg.Go(func() { g.write(txID(&first), nil) })
	// The first call leads and sleeps, still in the queue it will take.
	waitQueued(t, g, 1)
	wg.Go(func() { g.write(txID(&second), nil) })
	wg.Wait()
	if first == 0 || first != second {
		t.Errorf("calls ran in transactions %d and %d, want the same one", first, second)
	}
	if g.last != 2 {
		t.Errorf("last group: %d calls, want 2", g.last)
	}
}

// TestGroupLoneCallDoesNotWait: after a transaction of one call, the next
// call commits at once, however long maxDelay is; and a group that fell to
// one call stops the waiting.
func TestGroupLoneCallDoesNotWait(t *testing.T) {
	g := openGroup(t, time.Hour)
	commitsAtOnce(t, g, "a lone call")

	// After a group, one call waits; a short delay lets it through, and
	// the call after it, again alone, does not wait.
	g.maxDelay = 50 * time.Millisecond
	formGroup(t, g)
	var id int
	if err := g.write(txID(&id), nil); err != nil {
		t.Fatal(err)
	}
	if g.last != 1 {
		t.Fatalf("last group: %d calls, want 1", g.last)
	}
	g.maxDelay = time.Hour
	commitsAtOnce(t, g, "a call after a lone transaction")
}

// TestGroupHandoffWaits: a leader handed the lead by a transaction (its
// call queued behind one) starts its own no sooner than maxDelay after
// that one started, and a call made meanwhile joins it: a steady stream
// of writers is committed once per maxDelay, not once per fsync.
func TestGroupHandoffWaits(t *testing.T) {
	const delay = 400 * time.Millisecond
	g := openGroup(t, delay)
	started, release := make(chan struct{}), make(chan struct{})
	var firstAt, secondAt time.Time
	var second, third int
	var wg sync.WaitGroup
	wg.Go(func() {
		g.write(func(*bolt.Tx) error { firstAt = time.Now(); close(started); <-release; return nil }, nil)
	})
	<-started
	wg.Go(func() {
		g.write(func(tx *bolt.Tx) error { secondAt, second = time.Now(), tx.ID(); return nil }, nil)
	})
	waitQueued(t, g, 1)
	close(release) // the first commits and hands the lead to the second
	// The second waits for company: this call, made after the first
	// committed, joins its transaction.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		g.mu.Lock()
		handed := len(g.queue) == 1 && g.last == 1
		g.mu.Unlock()
		if handed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first transaction did not commit")
		}
	}
	wg.Go(func() { g.write(txID(&third), nil) })
	wg.Wait()
	if gap := secondAt.Sub(firstAt); gap < delay*9/10 {
		t.Errorf("the second transaction started %v after the first, want at least %v", gap, delay)
	}
	if second == 0 || second != third {
		t.Errorf("calls ran in transactions %d and %d, want the same one", second, third)
	}
}

// TestGroupNoWaitAfterAPause: after a group, a call that comes more than
// maxDelay after the last transaction started commits at once.
func TestGroupNoWaitAfterAPause(t *testing.T) {
	g := openGroup(t, 10*time.Millisecond)
	formGroup(t, g)
	g.mu.Lock()
	g.maxDelay = time.Hour
	g.started = time.Now().Add(-2 * time.Hour) // as if the writer had rested
	g.mu.Unlock()
	commitsAtOnce(t, g, "a call after a pause")
}

// TestGroupDelayOption: Open waits DefaultMaxBatchDelay when the option
// is zero, and a negative option, as max_batch_delay=0 in a URL gives,
// never waits, even after a group.
func TestGroupDelayOption(t *testing.T) {
	if got := open(t, nil).group.maxDelay; got != DefaultMaxBatchDelay {
		t.Errorf("default delay %v, want %v", got, DefaultMaxBatchDelay)
	}
	if got := open(t, &Options{MaxBatchDelay: 5 * time.Millisecond}).group.maxDelay; got != 5*time.Millisecond {
		t.Errorf("delay %v, want 5ms", got)
	}
	d := open(t, &Options{MaxBatchDelay: -1})
	if d.group.maxDelay > 0 {
		t.Fatalf("negative option: delay %v, want none", d.group.maxDelay)
	}
	formGroup(t, &d.group)
	commitsAtOnce(t, &d.group, "a call with no delay")
}

// commitsAtOnce fails unless a write call commits within seconds, where
// the tests' delays are an hour.
func commitsAtOnce(t *testing.T, g *group, what string) {
	t.Helper()
	var id int
	done := make(chan error, 1)
	go func() { done <- g.write(txID(&id), nil) }()
	select {
	case err := <-done:
		if err != nil || id == 0 {
			t.Fatalf("%s: transaction %d, %v", what, id, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s waited for company", what)
	}
}
