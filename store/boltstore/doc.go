// Package boltstore is the embedded, durable store driver: one bbolt file
// (go.etcd.io/bbolt) in the gateway's data dir, no server to run.
//
// # URLs
//
// [OpenURL] opens "bolt://" URLs whose host and path together are the file
// path, created when missing (its directory must exist):
//
//	bolt:///var/lib/stockgate/stockgate.db   absolute path
//	bolt://./stockgate.db                    relative to the working dir
//
// Query parameters set [Options]; any other parameter is an error:
//
//	nosync=true                 Options.NoSync (tests only)
//	max_batch_size=500          Options.MaxBatchSize
//	max_batch_delay=5ms         Options.MaxBatchDelay (0: never wait)
//	dedup_sweep_interval=5m     Options.DedupSweepInterval
//	lock_timeout=10s            Options.LockTimeout
//
// # Durability
//
// Accept, Commit, DeleteOutbox and the queue's writes (Enqueue, Dequeue,
// SeedQueue) return only after their transaction is
// fsynced, unless Options.NoSync is set, so the gateway acknowledges a
// webhook only once it is on disk. Concurrent write calls share one
// transaction and one fsync (group commit): the calls that arrive while a
// commit syncs are committed together in the next. While writers keep
// arriving, a transaction starts no sooner than Options.MaxBatchDelay
// (2ms) after the previous one started, and the calls made meanwhile join
// it; a call after a lone one, or after a pause, commits at once. Every
// item is checked and written in one transaction, so an item's outcome is
// all or nothing; a call that fails is taken out of its group and the
// rest committed without it.
//
// bbolt takes an exclusive lock on the file: one process at a time. Open
// waits Options.LockTimeout for it.
//
// # Layout
//
// Values are JSON, except outbox messages, which are binary (codec.go;
// JSON ones from earlier files are still read). Buckets: outbox (seq →
// message), dedup (key → expiry),
// dedupexp (expiry, key → nothing; the sweep's index), applied (event id →
// time applied), entrylog (position → position of the key's previous
// entry, entry: every key's entries in one log, so that a commit's entries
// share its last pages), entryidx (sku, location, seq → position, for
// every 32nd entry of a key), projections (sku, location → seq, position
// of the last entry, projection), deadletters and alerts (seq → value,
// with deadletterids and alertids mapping id → seq) and meta (schema
// version 2; Open migrates a file of version 1, whose entries bucket was
// keyed by sku, location and seq, in resumable steps, logging its progress
// to Options.Logger);
// the dispatcher's queues are in a bucket of their own, made by their
// first write (see queue.go).
// Strings in keys are length-prefixed (uvarint), so SKU "A" never reads as
// a prefix of SKU "AB", whatever characters the names contain. Sequence
// numbers are bucket sequences and are never reused.
//
// # Semantics
//
// The projection of a key with no entries is store.Projection{Key: k}.
// A dedup key stops deduplicating at acceptance time + DedupTTL, checked on
// every lookup; expired keys are deleted by a background sweep. Dead
// letters and alerts without an ID get "dl-" or "al-" and their sequence
// number in hex; paging after an unknown ID fails with store.ErrNotFound.
package boltstore
