package boltstore

import (
	"encoding/binary"

	"github.com/stockgate/stockgate/store"
)

// Bucket names.
var (
	bOutbox      = []byte("outbox")
	bDedup       = []byte("dedup")
	bDedupExp    = []byte("dedupexp")
	bApplied     = []byte("applied")
	bEntries     = []byte("entries") // schema 1's, read only to migrate
	bEntryLog    = []byte("entrylog")
	bEntryIdx    = []byte("entryidx")
	bProjections = []byte("projections")
	bDeadLetters = []byte("deadletters")
	bDeadIDs     = []byte("deadletterids")
	bAlerts      = []byte("alerts")
	bAlertIDs    = []byte("alertids")
	bMeta        = []byte("meta")
	bMappings    = []byte("mappings")
	bRecords     = []byte("records")
	bSKUs        = []byte("skus")

	allBuckets = [][]byte{bOutbox, bDedup, bDedupExp, bApplied, bEntryLog, bEntryIdx, bProjections,
		bDeadLetters, bDeadIDs, bAlerts, bAlertIDs, bMeta, bMappings, bRecords, bSKUs}
)

// schemaVersion is stored in meta under "version"; Open migrates a file
// of version 1 (migrate.go) and refuses any other.
const schemaVersion = "2"

// idxStride is how often a key's entries are indexed: entry seqs that are
// multiples of it have an entryidx record (see History).
const idxStride = 32

// appendString appends s prefixed by its length, so that no encoded string
// is a prefix of another's encoding followed by more data.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// skuPrefix prefixes the projection keys of every location of a SKU.
func skuPrefix(sku string) []byte {
	return appendString(make([]byte, 0, binary.MaxVarintLen64+len(sku)), sku)
}

// projectionKey is the projections key of k: the SKU length-prefixed, then
// the location as is, so that keys of one SKU sort by location.
func projectionKey(k store.Key) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(k.SKU)+len(k.Location))
	return append(appendString(b, k.SKU), k.Location...)
}

// entryPrefix prefixes the entries keys of k; entryKey appends the seq
// big-endian so that a key's entries sort by seq.
func entryPrefix(k store.Key, extra int) []byte {
	b := make([]byte, 0, 2*binary.MaxVarintLen64+len(k.SKU)+len(k.Location)+extra)
	return appendString(appendString(b, k.SKU), k.Location)
}

func entryKey(k store.Key, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(entryPrefix(k, 8), seq)
}

// decodeProjectionKey returns the key whose projectionKey is b.
func decodeProjectionKey(b []byte) (store.Key, bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return store.Key{}, false
	}
	return store.Key{SKU: string(b[w : w+int(n)]), Location: string(b[w+int(n):])}, true
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v) }

func getU64(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
