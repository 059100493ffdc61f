package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/stockgate/stockgate/store"
)

// schema1 is what a schema-1 file held for one key.
type schema1 struct {
	entries    []store.Entry
	projection store.Projection
}

// writeSchema1 writes a file in schema 1's layout, as the driver before
// schema 2 wrote it: entries under (sku, location, seq), projections as
// seq then JSON.
func writeSchema1(t *testing.T, path string, keys map[store.Key]int) map[store.Key]schema1 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	want := map[store.Key]schema1{}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bOutbox, bDedup, bDedupExp, bApplied, bEntries, bProjections,
			bDeadLetters, bDeadIDs, bAlerts, bAlertIDs, bMeta, bMappings, bRecords, bSKUs} {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bMeta).Put([]byte("version"), []byte("1")); err != nil {
			return err
		}
		for k, n := range keys {
			var s schema1
			for seq := uint64(1); seq <= uint64(n); seq++ {
				e := store.Entry{Key: k, Seq: seq, EventID: fmt.Sprintf("%v-%d", k, seq), EventType: "inventory.adjusted",
					Outcome: store.OutcomeApplied, Delta: store.Quantities{OnHand: 1, Available: 1},
					Result:     store.Quantities{OnHand: int64(seq), Available: int64(seq)},
					OccurredAt: at, RecordedAt: at.Add(time.Duration(seq) * time.Second)}
				v, err := json.Marshal(&e)
				if err != nil {
					return err
				}
				if err := tx.Bucket(bEntries).Put(entryKey(k, seq), v); err != nil {
					return err
				}
				if err := tx.Bucket(bApplied).Put([]byte(e.EventID), u64(1)); err != nil {
					return err
				}
				s.entries = append(s.entries, e)
			}
			s.projection = store.Projection{Key: k, Seq: uint64(n), Quantities: s.entries[n-1].Result, UpdatedAt: s.entries[n-1].RecordedAt}
			v, err := json.Marshal(&s.projection)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bProjections).Put(projectionKey(k), append(u64(uint64(n)), v...)); err != nil {
				return err
			}
			want[k] = s
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// checkMigrated checks that d answers for every key what the schema-1
// file held, and that the file is of the current schema.
func checkMigrated(t *testing.T, d *driver, want map[store.Key]schema1) {
	t.Helper()
	ctx := context.Background()
	for k, s := range want {
		p, err := d.Projection(ctx, k)
		if err != nil || !reflect.DeepEqual(p, s.projection) {
			t.Errorf("Projection(%v) = %+v, %v; want %+v", k, p, err, s.projection)
		}
		for _, limit := range []int{1, 7, 32, 1000} {
			var got []store.Entry
			for after := uint64(0); ; {
				es, err := d.History(ctx, k, after, limit)
				if err != nil {
					t.Fatalf("History(%v, %d, %d): %v", k, after, limit, err)
				}
				if len(es) == 0 {
					break
				}
				got = append(got, es...)
				after = es[len(es)-1].Seq
			}
			if !reflect.DeepEqual(got, s.entries) {
				t.Errorf("history of %v by %d: %d entries, want %d (or they differ)", k, limit, len(got), len(s.entries))
			}
		}
	}
	err := d.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bEntries) != nil {
			t.Errorf("the schema-1 entries bucket is still there")
		}
		meta := tx.Bucket(bMeta)
		if v := string(meta.Get(keyVersion)); v != schemaVersion {
			t.Errorf("version %q, want %q", v, schemaVersion)
		}
		if meta.Get(keyMigrated) != nil {
			t.Errorf("the migration's progress mark is still there")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// openMigrated opens the schema-1 file at path, checks it against want
// and returns the migration's log records.
func openMigrated(t *testing.T, path string, want map[store.Key]schema1) (*driver, []logRecord) {
	t.Helper()
	var buf bytes.Buffer
	drv, err := Open(path, &Options{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	d := drv.(*driver)
	t.Cleanup(func() { _ = d.Close() })
	checkMigrated(t, d, want)
	var recs []logRecord
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var r logRecord
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("log record: %v", err)
		}
		recs = append(recs, r)
	}
	return d, recs
}

// logRecord is what the tests read of a migration log line.
type logRecord struct {
	Msg     string `json:"msg"`
	File    string `json:"file"`
	Resumed bool   `json:"resumed"`
	Keys    int    `json:"keys"`
	Entries int    `json:"entries"`
}

// checkMigrationLog checks that the log says the migration of path
// started (resumed or not) and ended having moved keys and entries.
func checkMigrationLog(t *testing.T, recs []logRecord, path string, resumed bool, keys, entries int) {
	t.Helper()
	if len(recs) != 2 {
		t.Fatalf("%d log records, want a start and an end (no batch was full): %+v", len(recs), recs)
	}
	first, last := recs[0], recs[len(recs)-1]
	if !strings.Contains(first.Msg, "migrating the store file") || first.File != path || first.Resumed != resumed {
		t.Errorf("first record %+v, want the start of the migration of %s (resumed %v)", first, path, resumed)
	}
	if last.Msg != "boltstore: store file migrated" || last.Keys != keys || last.Entries != entries {
		t.Errorf("last record %+v, want the end, with %d keys and %d entries moved", last, keys, entries)
	}
}

func entriesOf(keys map[store.Key]int) int {
	n := 0
	for _, k := range keys {
		n += k
	}
	return n
}

var schema1Keys = map[store.Key]int{
	{SKU: "SOCK", Location: "berlin"}:   70, // more than two index strides
	{SKU: "SOCK", Location: "berlin-2"}: 3,
	{SKU: "SOCKS", Location: "berlin"}:  32,
	{SKU: "A", Location: "BC"}:          1,
	{SKU: "AB", Location: "C"}:          33,
}

// TestOpenMigratesSchema1: a file written by the driver before schema 2
// opens with every key's projection and history as they were, and new
// entries follow the old ones.
func TestOpenMigratesSchema1(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "old.db")
	want := writeSchema1(t, path, schema1Keys)
	d, log := openMigrated(t, path, want)
	checkMigrationLog(t, log, path, false, len(schema1Keys), entriesOf(schema1Keys))

	k := store.Key{SKU: "SOCK", Location: "berlin"}
	e := store.Entry{Key: k, EventID: "after-migration", Outcome: store.OutcomeApplied}
	errs, err := d.Commit(context.Background(), []store.Commit{{EventID: e.EventID, ExpectedSeq: 70, Entry: &e, Projection: &store.Projection{Key: k}}})
	if err != nil || errs[0] != nil {
		t.Fatalf("Commit after migration: %v %v", err, errs)
	}
	es, err := d.History(context.Background(), k, 68, 10)
	if err != nil || len(es) != 3 || es[0].Seq != 69 || es[2].EventID != "after-migration" || es[2].Seq != 71 {
		t.Errorf("History after a new entry: %+v, %v; want seqs 69 to 71, the last the new one", es, err)
	}
	applied, err := d.Applied(context.Background(), fmt.Sprintf("%v-%d", k, 5))
	if err != nil || !applied {
		t.Errorf("an event applied before the migration: Applied = %v, %v", applied, err)
	}
}

// TestMigrationResumes: a migration cut short after some of its
// transactions (a crash) finishes at the next Open, each key moved once.
func TestMigrationResumes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "old.db")
	want := writeSchema1(t, path, schema1Keys)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Batches of 30 entries: the first step moves A@BC and AB@C (34
	// entries), the second SOCK@berlin (70, a key is never split); Open
	// moves the other two.
	for i, want := range []struct{ keys, entries int }{{2, 34}, {1, 70}} {
		done, k, e, err := migrate1Step(db, 30)
		if err != nil || done {
			t.Fatalf("step %d: done %v, %v; want more to do", i, done, err)
		}
		if k != want.keys || e != want.entries {
			t.Errorf("step %d moved %d keys and %d entries, want %d and %d", i, k, e, want.keys, want.entries)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	d, log := openMigrated(t, path, want)
	total := entriesOf(schema1Keys)
	// Open moves what the two steps left: SOCK@berlin-2 and SOCKS@berlin.
	checkMigrationLog(t, log, path, true, 2, 3+32)
	if got := len(keys(t, d, bEntryLog)); got != total {
		t.Errorf("the log holds %d entries, want %d: a key was moved twice or not at all", got, total)
	}
}

// TestMigrationLogsProgress: a migration of several transactions logs
// each full one with the running totals, then the end.
func TestMigrationLogsProgress(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "old.db")
	writeSchema1(t, path, schema1Keys)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var buf bytes.Buffer
	// Batches of 30 entries: A@BC and AB@C (34), SOCK@berlin (70), then
	// the last two keys (35); a fourth step finds nothing left.
	if err := migrate1(db, 30, slog.New(slog.NewJSONHandler(&buf, nil)), path); err != nil {
		t.Fatal(err)
	}
	var got []string
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var r logRecord
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %d %d", r.Msg, r.Keys, r.Entries))
	}
	want := []string{
		"boltstore: migrating the store file to schema 2; the gateway starts when it is done 0 0",
		"boltstore: migrating 2 34",
		"boltstore: migrating 3 104",
		"boltstore: migrating 5 139",
		"boltstore: store file migrated 5 139",
	}
	if !slices.Equal(got, want) {
		t.Errorf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
