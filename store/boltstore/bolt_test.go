package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/stockgate/stockgate/store"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func open(t *testing.T, opts *Options) *driver {
	t.Helper()
	d, err := Open(filepath.Join(t.TempDir(), "test.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d.(*driver)
}

// keys lists a bucket's keys.
func keys(t *testing.T, d *driver, bucket []byte) []string {
	t.Helper()
	var out []string
	err := d.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSweep(t *testing.T) {
	clock := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	d := open(t, &Options{Now: clock.Now, DedupSweepInterval: -1})
	ctx := context.Background()
	accept := func(k string, ttl time.Duration) {
		t.Helper()
		errs, err := d.Accept(ctx, []store.Acceptance{{DedupKey: k, DedupTTL: ttl}})
		if err != nil || errs[0] != nil {
			t.Fatalf("Accept(%s): %v %v", k, err, errs)
		}
	}
	sweep := func(want int) {
		t.Helper()
		n, err := d.sweep(clock.Now())
		if err != nil || n != want {
			t.Fatalf("sweep: deleted %d (%v), want %d", n, err, want)
		}
	}
	accept("a", time.Minute)
	accept("b", 2*time.Minute)
	accept("c", 0)
	accept("e", time.Minute)
	sweep(0)
	clock.Advance(time.Minute)
	accept("e", 10*time.Minute) // expired, so accepted again with a new expiry
	sweep(1)                    // a; e's old index entry goes, e stays
	if got := strings.Join(keys(t, d, bDedup), ","); got != "b,c,e" {
		t.Errorf("dedup keys after first sweep: %s, want b,c,e", got)
	}
	if got := len(keys(t, d, bDedupExp)); got != 2 {
		t.Errorf("index has %d entries, want 2 (b, e)", got)
	}
	clock.Advance(time.Hour)
	sweep(2)
	if got := strings.Join(keys(t, d, bDedup), ","); got != "c" {
		t.Errorf("dedup keys after second sweep: %s, want c", got)
	}
	if got := len(keys(t, d, bDedupExp)); got != 0 {
		t.Errorf("index has %d entries, want 0", got)
	}
}

func TestSweeperRuns(t *testing.T) {
	clock := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	d := open(t, &Options{Now: clock.Now, DedupSweepInterval: 5 * time.Millisecond})
	if _, err := d.Accept(context.Background(), []store.Acceptance{{DedupKey: "k", DedupTTL: time.Second}}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	for deadline := time.Now().Add(5 * time.Second); len(keys(t, d, bDedup)) > 0; {
		if time.Now().After(deadline) {
			t.Fatal("sweeper did not delete the expired key")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBatchRerun: when a call in a group commit fails, the group rolls the
// transaction back and runs the other calls again without it, then the
// failed one alone. The others must succeed exactly once, with sequence
// numbers from the run that committed, and the failed ones leave no trace.
// Each pair of calls shares a dedup key that the bad call (a dead letter
// ID too long for a bbolt key) claims first in the runs rolled back.
func TestBatchRerun(t *testing.T) {
	const pairs = 16
	d := open(t, &Options{DedupSweepInterval: -1})
	ctx := context.Background()

	// Hold the writer lock until every call has queued: the first bad
	// call leads and waits in DB.Update, the rest queue, bad ones first.
	tx, err := d.db.Begin(true)
	if err != nil {
		t.Fatal(err)
	}
	waitQueued := func(n int) {
		for {
			d.group.mu.Lock()
			q := len(d.group.queue)
			d.group.mu.Unlock()
			if q >= n {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	var wg sync.WaitGroup
	for i := range pairs {
		k := fmt.Sprintf("key-%d", i)
		wg.Go(func() {
			bad := store.DeadLetter{ID: strings.Repeat("x", bolt.MaxKeySize+1)}
			errs, err := d.Accept(ctx, []store.Acceptance{{DedupKey: k, Messages: []store.Message{{Topic: "t", EventID: "bad-" + k}}, DeadLetters: []store.DeadLetter{bad}}})
			if err == nil && !errors.Is(errs[0], store.ErrDuplicate) {
				t.Errorf("%s: bad call succeeded", k)
			}
		})
	}
	waitQueued(pairs - 1)
	for i := range pairs {
		k := fmt.Sprintf("key-%d", i)
		wg.Go(func() {
			errs, err := d.Accept(ctx, []store.Acceptance{{DedupKey: k, Messages: []store.Message{{Topic: "t", EventID: "good-" + k}}}})
			if err != nil || errs[0] != nil {
				t.Errorf("%s: good call: %v %v", k, err, errs)
			}
		})
	}
	waitQueued(2*pairs - 1)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	ms, err := d.Outbox(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != pairs {
		t.Errorf("outbox has %d messages, want %d", len(ms), pairs)
	}
	for i, m := range ms {
		if !strings.HasPrefix(m.EventID, "good-") || m.Seq != uint64(i+1) {
			t.Errorf("message %d: %s at seq %d", i, m.EventID, m.Seq)
		}
	}
	if ds, err := d.DeadLetters(ctx, "", 10); err != nil || len(ds) != 0 {
		t.Errorf("dead letters: %d, %v; want none", len(ds), err)
	}
}

func TestKeyEncoding(t *testing.T) {
	ks := []store.Key{
		{SKU: "A", Location: "B"}, {SKU: "AB", Location: ""}, {SKU: "A", Location: "BC"},
		{SKU: "a@b", Location: "c"}, {SKU: "a", Location: "b@c"}, {SKU: "", Location: "A"},
		{SKU: "A\x01", Location: "B"}, {SKU: "A", Location: "\x01B"}, {SKU: strings.Repeat("s", 300), Location: "x"},
	}
	for _, x := range ks {
		for _, y := range ks {
			if got := bytes.HasPrefix(projectionKey(x), skuPrefix(y.SKU)); got != (x.SKU == y.SKU) {
				t.Errorf("projection key of %q has SKU prefix of %q: %v", x, y, got)
			}
			if got := bytes.HasPrefix(entryKey(x, 7), entryPrefix(y, 0)); got != (x == y) {
				t.Errorf("entry key of %q has prefix of %q: %v", x, y, got)
			}
		}
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	d, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := Open(path, &Options{LockTimeout: 20 * time.Millisecond}); !errors.Is(err, bolt.ErrTimeout) {
		t.Errorf("second Open: got %v, want a timeout", err)
	}
	// Locked to one process, so that process may trust what it wrote.
	if !store.New(d).Exclusive() {
		t.Error("a bbolt store does not report itself exclusive")
	}
}

func TestOpenSchemaVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bMeta)
		if err != nil {
			return err
		}
		return b.Put([]byte("version"), []byte("0"))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(path, nil); err == nil || !strings.Contains(err.Error(), "schema version") {
		t.Errorf("Open: got %v, want a schema version error", err)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		path string
		opts Options
		err  string
	}{
		{url: "bolt:///var/lib/stockgate/s.db", path: "/var/lib/stockgate/s.db"},
		{url: "bolt://./s.db", path: "./s.db"},
		{url: "bolt://s.db", path: "s.db"},
		{url: "bolt:///a%20b/s.db", path: "/a b/s.db"},
		{
			url:  "bolt:///s.db?nosync=true&max_batch_size=50&max_batch_delay=2ms&dedup_sweep_interval=1h&lock_timeout=1s",
			path: "/s.db",
			opts: Options{NoSync: true, MaxBatchSize: 50, MaxBatchDelay: 2 * time.Millisecond, DedupSweepInterval: time.Hour, LockTimeout: time.Second},
		},
		{url: "bolt:///s.db?max_batch_delay=0", path: "/s.db", opts: Options{MaxBatchDelay: -1}},
		{url: "mem:///s.db", err: `scheme must be "bolt"`},
		{url: "bolt://", err: "no file path"},
		{url: "bolt:s.db", err: "bolt:///absolute/path"},
		{url: "bolt://user:secret@/s.db", err: "user info"},
		{url: "bolt:///s.db?sync=false", err: `unknown query parameter "sync"`},
		{url: "bolt:///s.db?nosync=maybe", err: `"nosync": want true or false`},
		{url: "bolt:///s.db?max_batch_size=-1", err: `"max_batch_size": want a count`},
		{url: "bolt:///s.db?max_batch_delay=soon", err: `"max_batch_delay": want a duration`},
		{url: "bolt:///s.db?nosync=true&nosync=false", err: `"nosync" given 2 times`},
		{url: "bolt:///s.db?a=1&b=2", err: `unknown query parameter "a"` + "\n" + `unknown query parameter "b"`},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		opts, path, err := parseURL(u)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: got error %v, want %q", tc.url, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("%s: error shows the password: %v", tc.url, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if path != tc.path || fmt.Sprintf("%+v", *opts) != fmt.Sprintf("%+v", tc.opts) {
			t.Errorf("%s: got %q %+v, want %q %+v", tc.url, path, *opts, tc.path, tc.opts)
		}
	}
}

func TestGroupPanic(t *testing.T) {
	d := open(t, nil)
	err := d.write(func(*bolt.Tx) error { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("write that panics: got %v, want an error with the panic", err)
	}
	if err := d.write(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put([]byte("k"), []byte("v")) }); err != nil {
		t.Errorf("write after a panic: %v", err)
	}
}

// TestReaderDoesNotStallGrowth: while a read transaction stays open (a long
// history page, a backup), writes that grow the file well past its first
// mapping still commit. bbolt remaps a file that outgrows its mapping, and a
// remap waits for every open reader, so without the reserve mapped at Open
// the write would wait for the reader to end.
func TestReaderDoesNotStallGrowth(t *testing.T) {
	d := open(t, &Options{NoSync: true, DedupSweepInterval: -1})
	ctx := context.Background()
	rtx, err := d.db.Begin(false)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rtx.Rollback() }()

	const calls, size = 64, 128 << 10 // 8 MiB in all
	done := make(chan error, 1)
	go func() {
		body := bytes.Repeat([]byte("x"), size)
		for i := range calls {
			id := fmt.Sprintf("ev-%d", i)
			errs, err := d.Accept(ctx, []store.Acceptance{{DedupKey: id, Messages: []store.Message{{Topic: "t", EventID: id, Body: body}}}})
			if err == nil {
				err = errs[0]
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("writes that grow the file waited on an open read transaction")
	}
	fi, err := os.Stat(d.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() < calls*size {
		t.Errorf("file size %d, want the writes to have grown it past %d bytes", fi.Size(), calls*size)
	}
	if ms, err := d.Outbox(ctx, 0, calls+1); err != nil || len(ms) != calls {
		t.Fatalf("outbox holds %d messages (%v), want %d", len(ms), err, calls)
	}
}
