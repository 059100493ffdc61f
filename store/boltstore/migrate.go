package boltstore

import (
	"bytes"
	"fmt"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Schema 1 kept a key's entries in the entries bucket under (sku,
// location, seq), so that every commit wrote a page of its key's: about
// 1.7 pages per webhook at 2,000 busy SKUs (BENCHMARKS.md §1). Schema 2
// appends every entry to one log (entrylog: position → position of the
// key's previous entry, then the entry's JSON), so that a commit's
// entries share the log's last pages; the projection names the key's last
// entry's position, and entryidx (sku, location, seq → position) every
// idxStride-th entry's, so that History reads a page without walking the
// whole chain.

var (
	keyVersion  = []byte("version")
	keyMigrated = []byte("migrated") // schema 1 → 2: the last projection moved
)

// migrateBatch is about the most entries one migration transaction moves.
const migrateBatch = 50_000

// migrate1 moves a schema-1 file's entries into the log, key by key in
// transactions of about batch entries (a key's entries always in
// one). Each transaction records the last key it moved, so a migration
// cut short by a crash resumes where it stopped. The last one drops the
// entries bucket and sets the version. It logs when it starts, after each
// full transaction and when it is done, so that a long one is not taken
// for a hang.
func migrate1(db *bolt.DB, batch int, log *slog.Logger, path string) error {
	began := time.Now()
	var resumed bool
	_ = db.View(func(tx *bolt.Tx) error {
		resumed = tx.Bucket(bMeta).Get(keyMigrated) != nil
		return nil
	})
	log.Info("boltstore: migrating the store file to schema "+schemaVersion+"; the gateway starts when it is done",
		"file", path, "resumed", resumed)
	var keys, entries int
	for {
		done, k, e, err := migrate1Step(db, batch)
		if err != nil {
			return fmt.Errorf("migrate schema 1 to %s: %w", schemaVersion, err)
		}
		keys, entries = keys+k, entries+e
		if done {
			log.Info("boltstore: store file migrated", "file", path, "keys", keys, "entries", entries,
				"took", time.Since(began).Round(time.Millisecond))
			return nil
		}
		if e >= batch {
			// A step stops short of batch entries only when it took the
			// last keys: the next one just finishes.
			log.Info("boltstore: migrating", "file", path, "keys", keys, "entries", entries)
		}
	}
}

// migrate1Step moves the keys after the last one moved, about batch
// entries' worth, and returns how many keys and entries it moved; done is
// true once the file is of schemaVersion.
func migrate1Step(db *bolt.DB, batch int) (done bool, nkeys, nentries int, err error) {
	err = db.Update(func(tx *bolt.Tx) error {
		meta, old, projections := tx.Bucket(bMeta), tx.Bucket(bEntries), tx.Bucket(bProjections)
		if old == nil {
			return fmt.Errorf("no %s bucket", bEntries)
		}
		// The keys to move, read before any is rewritten: a bucket's cursor
		// is not to be trusted across writes to it.
		var keys [][]byte
		c := projections.Cursor()
		k, _ := c.First()
		if from := meta.Get(keyMigrated); from != nil {
			if k, _ = c.Seek(from); k != nil && bytes.Equal(k, from) {
				k, _ = c.Next()
			}
		}
		for ; k != nil && len(keys) < batch; k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}

		for _, name := range [][]byte{bEntryLog, bEntryIdx} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		entryLog, idx := appendOnly(tx, bEntryLog), appendOnly(tx, bEntryIdx)
		moved := 0
		for i, pk := range keys {
			if moved >= batch {
				keys = keys[:i]
				break
			}
			key, ok := decodeProjectionKey(pk)
			pv := projections.Get(pk)
			if !ok || len(pv) < 8 {
				return fmt.Errorf("corrupt projection %x", pk)
			}
			prefix := entryPrefix(key, 0)
			var at uint64
			ec := old.Cursor()
			for ek, ev := ec.Seek(prefix); ek != nil && bytes.HasPrefix(ek, prefix) && len(ek) == len(prefix)+8; ek, ev = ec.Next() {
				pos, err := entryLog.NextSequence()
				if err != nil {
					return err
				}
				v := append(u64(at), ev...)
				if err := entryLog.Put(u64(pos), v); err != nil {
					return err
				}
				if getU64(ek[len(prefix):])%idxStride == 0 {
					if err := idx.Put(bytes.Clone(ek), u64(pos)); err != nil {
						return err
					}
				}
				at = pos
				moved++
			}
			nv := append(append(u64(getU64(pv)), u64(at)...), pv[8:]...)
			if err := projections.Put(pk, nv); err != nil {
				return err
			}
		}
		nkeys, nentries = len(keys), moved
		if len(keys) > 0 {
			// More keys may follow these: the next step will tell.
			return meta.Put(keyMigrated, keys[len(keys)-1])
		}
		// Every key moved.
		if err := tx.DeleteBucket(bEntries); err != nil {
			return err
		}
		if err := meta.Delete(keyMigrated); err != nil {
			return err
		}
		done = true
		return meta.Put(keyVersion, []byte(schemaVersion))
	})
	if err != nil {
		return false, 0, 0, err
	}
	return done, nkeys, nentries, nil
}
