// Package redislease keeps the dispatcher's write leases (dispatch.Leases)
// in Redis, so that among replicas sharing one Redis exactly one writes
// each connector account.
//
// # Algorithm
//
// A lease is one string key per account, Options.Prefix followed by the
// account, whose value is the holder's name and whose Redis TTL is the
// lease's time to live. Acquire is one Lua script: the key is set (SET
// PX) when it is missing, or when it already names the holder, which
// renews it; otherwise nothing changes and the holder is told no. Release
// deletes the key only while it still names the holder. Renewal and
// release therefore compare the holder's token: a replica whose lease ran
// out and was taken by another can neither renew nor release the new
// holder's lease (fencing by token).
//
// Expiry is Redis's: a lease runs out ttl after its last renewal as Redis
// counts it. The dispatcher measures its ttl from before it asked, so it
// stops writing no later than Redis lets the lease lapse, whatever the
// replicas' clocks say. Scripts use EVALSHA (redis.NewScript), which the
// real server and miniredis both run; with a Cluster, each lease is one
// key, so any prefix works.
//
// # Errors
//
// A Redis failure is returned wrapped once with the operation and the
// account; the answer of that Acquire is then unknown (the dispatcher
// keeps writing until the lease it had would run out).
package redislease

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stockgate/stockgate/dispatch"
)

// DefaultPrefix is the key prefix when Options.Prefix is empty.
const DefaultPrefix = "stockgate:lease:"

// ErrInvalidOptions: New was given no client.
var ErrInvalidOptions = errors.New("redislease: invalid options")

// Options configure Leases; nil means defaults.
type Options struct {
	// Prefix goes before the account in the key. Zero: DefaultPrefix.
	Prefix string
}

// Leases are dispatch.Leases in Redis. Make them with New; they are safe
// for concurrent use, and any number of them, in any number of
// processes, may share a prefix.
type Leases struct {
	c      redis.Scripter
	prefix string
}

var _ dispatch.Leases = (*Leases)(nil)

// acquire takes or renews a lease.
//
//	KEYS: the lease
//	ARGV: holder, ttl in milliseconds
var acquire = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// release ends a lease if the holder has it.
//
//	KEYS: the lease
//	ARGV: holder
var release = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// New returns Leases on client. It does not talk to Redis.
func New(client redis.Scripter, opts *Options) (*Leases, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: client is nil", ErrInvalidOptions)
	}
	l := &Leases{c: client, prefix: DefaultPrefix}
	if opts != nil && opts.Prefix != "" {
		l.prefix = opts.Prefix
	}
	return l, nil
}

// Key returns the Redis key of account's lease.
func (l *Leases) Key(account string) string { return l.prefix + account }

// Acquire implements dispatch.Leases: one script call. A ttl below a
// millisecond is a millisecond.
func (l *Leases) Acquire(ctx context.Context, account, holder string, ttl time.Duration) (bool, error) {
	if holder == "" {
		return false, fmt.Errorf("%w: empty holder", ErrInvalidOptions)
	}
	ms := strconv.FormatInt(max(1, ttl.Milliseconds()), 10)
	n, err := acquire.Run(ctx, l.c, []string{l.Key(account)}, holder, ms).Int64()
	if err != nil {
		return false, fmt.Errorf("redislease: acquire %q: %w", account, err)
	}
	return n == 1, nil
}

// Release implements dispatch.Leases: one script call.
func (l *Leases) Release(ctx context.Context, account, holder string) error {
	if err := release.Run(ctx, l.c, []string{l.Key(account)}, holder).Err(); err != nil {
		return fmt.Errorf("redislease: release %q: %w", account, err)
	}
	return nil
}
