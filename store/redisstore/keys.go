package redisstore

import (
	"strconv"
	"strings"

	"github.com/stockgate/stockgate/store"
)

// DefaultPrefix is the key prefix when Options.Prefix is empty. The braces
// are a Redis Cluster hash tag: every key of the store hashes to one slot,
// as scripts that touch several keys require.
const DefaultPrefix = "{stockgate}:"

// keys names the store's Redis keys. Every name is the prefix, a tag and,
// for the families, the rest of the name; no tag is a prefix of another,
// so no two names collide whatever the SKUs, locations and dedup keys
// contain.
type keys struct {
	prefix string

	seqs          string // HASH counter → last seq: "outbox", "deadletter", "alert"
	outbox        string // ZSET score seq, member "<seq>:<message JSON>"
	deadLetters   string // ZSET score seq, member "<seq>:<dead letter JSON>"
	deadLetterIDs string // HASH id → seq
	alerts        string // ZSET score seq, member "<seq>:<alert JSON>"
	alertIDs      string // HASH id → seq
	applied       string // HASH event id → when applied (Unix ns)
	resolved      string // HASH dead letter id → resolution JSON
	mappings      string // HASH length-prefixed connector, kind, external → mapping JSON
	skus          string // ZSET score 0, member SKU: every SKU with entries
}

func newKeys(prefix string) keys {
	return keys{
		prefix:        prefix,
		seqs:          prefix + "seqs",
		outbox:        prefix + "outbox",
		deadLetters:   prefix + "deadletters",
		deadLetterIDs: prefix + "deadletters:ids",
		alerts:        prefix + "alerts",
		alertIDs:      prefix + "alerts:ids",
		applied:       prefix + "applied",
		resolved:      prefix + "deadletters:resolved",
		mappings:      prefix + "mappings",
		skus:          prefix + "skus",
	}
}

// dedup is a dedup key's STRING: its expiry as 20 decimal digits of Unix
// nanoseconds, or "0" for never.
func (k keys) dedup(dedupKey string) string { return k.prefix + "dedup:" + dedupKey }

// projections is a SKU's HASH location → "<seq>:<projection JSON>". The SKU
// is the rest of the name and the location a field, so neither needs
// escaping.
func (k keys) projections(sku string) string { return k.prefix + "proj:" + sku }

// entries is a key's LIST of entry JSON; entry seq n is at index n−1. The
// SKU is length-prefixed so that ("A", "Bc") and ("AB", "c") differ.
func (k keys) entries(key store.Key) string {
	var b strings.Builder
	b.Grow(len(k.prefix) + 12 + len(key.SKU) + len(key.Location))
	b.WriteString(k.prefix)
	b.WriteString("entries:")
	b.WriteString(strconv.Itoa(len(key.SKU)))
	b.WriteByte(':')
	b.WriteString(key.SKU)
	b.WriteString(key.Location)
	return b.String()
}

// hasHashTag reports whether every key that starts with prefix hashes by a
// tag inside prefix: Redis Cluster hashes the part between the first "{"
// and the next "}" when that part is not empty.
func hasHashTag(prefix string) bool {
	i := strings.IndexByte(prefix, '{')
	if i < 0 {
		return false
	}
	j := strings.IndexByte(prefix[i+1:], '}')
	return j > 0
}

// records is one record kind's HASH id → record JSON; recordIDs is its
// ZSET (score 0, member id) that lists the ids in order.
func (k keys) records(kind string) string   { return k.prefix + "rec:" + kind }
func (k keys) recordIDs(kind string) string { return k.prefix + "recids:" + kind }
