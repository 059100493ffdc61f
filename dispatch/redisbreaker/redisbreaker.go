// Package redisbreaker keeps the dispatcher's circuit breakers in Redis: a
// gobreaker.SharedDataStore for gobreaker v2's DistributedCircuitBreaker
// (dispatch.Options.BreakerStore), so that every replica sees each
// connector account's one breaker. A breaker one replica opened is open
// for all: the replica that takes the account's lease over does not
// hammer a marketplace that is down.
//
// # Keys
//
// gobreaker names two keys per breaker, "gobreaker:state:<name>" (its
// state as JSON: closed, open or half-open, the counts, when an open
// breaker may probe) and "gobreaker:mutex:<name>" (its lock); the store
// puts Options.Prefix before each. State keys do not expire; they are
// small, one per account.
//
// # Lock
//
// gobreaker locks the state around every Execute, for the whole call.
// Lock is SET NX PX with a random token and Options.LockTTL; while the
// lock is held, a goroutine extends it every LockTTL/3 (a Lua script
// that checks the token), so a long write keeps it, and a replica that
// dies holding it frees it within LockTTL. Unlock deletes the key only
// while it holds the token, and fails if the lock was lost meanwhile.
// Lock does not wait: gobreaker retries it every 500 ms for 5 s.
//
// # Errors
//
// Redis failures are returned wrapped once with the operation and the
// key. Every call is bounded by Options.Timeout, since gobreaker's store
// interface carries no context.
package redisbreaker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// DefaultPrefix is the key prefix when Options.Prefix is empty.
const DefaultPrefix = "stockgate:breaker:"

// Sentinel errors; match with errors.Is.
var (
	// ErrInvalidOptions: New was given no client or a negative duration.
	ErrInvalidOptions = errors.New("redisbreaker: invalid options")
	// ErrLocked: Lock found the lock held by someone else.
	ErrLocked = errors.New("redisbreaker: locked")
	// ErrNotLocked: Unlock of a lock this Store does not hold, or whose
	// key ran out meanwhile.
	ErrNotLocked = errors.New("redisbreaker: not locked")
)

// Options configure a Store; nil means defaults. Each field's zero value
// is the default named.
type Options struct {
	// Prefix goes before gobreaker's names in the keys. Zero:
	// DefaultPrefix.
	Prefix string
	// LockTTL is how long a held lock lasts unless extended. Zero: 10s.
	LockTTL time.Duration
	// Timeout bounds each Redis call. Zero: 5s.
	Timeout time.Duration
}

// Store is a gobreaker.SharedDataStore in Redis. Make it with New; it is
// safe for concurrent use, and any number of Stores, in any number of
// processes, may share a prefix.
type Store struct {
	c       redis.UniversalClient
	prefix  string
	lockTTL time.Duration
	timeout time.Duration

	mu    sync.Mutex
	locks map[string]*held
}

var _ gobreaker.SharedDataStore = (*Store)(nil)

// held is a lock this Store holds.
type held struct {
	token string
	stop  chan struct{}
	done  chan struct{}
}

// extend renews a held lock.
//
//	KEYS: the lock
//	ARGV: token, TTL in milliseconds
var extend = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

// unlock deletes a held lock.
//
//	KEYS: the lock
//	ARGV: token
var unlock = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// New returns a Store on client. It does not talk to Redis.
func New(client redis.UniversalClient, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	var errs []error
	if client == nil {
		errs = append(errs, fmt.Errorf("%w: client is nil", ErrInvalidOptions))
	}
	if o.LockTTL < 0 || o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("%w: negative LockTTL or Timeout", ErrInvalidOptions))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.LockTTL == 0 {
		o.LockTTL = 10 * time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	return &Store{c: client, prefix: o.Prefix, lockTTL: o.LockTTL, timeout: o.Timeout, locks: map[string]*held{}}, nil
}

// Key returns the Redis key of one of gobreaker's names.
func (s *Store) Key(name string) string { return s.prefix + name }

func (s *Store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

// Lock implements gobreaker.SharedDataStore: it takes the lock, or
// returns ErrLocked at once.
func (s *Store) Lock(name string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	token := rand.Text()
	ok, err := s.c.SetNX(ctx, s.Key(name), token, s.lockTTL).Result()
	if err != nil {
		return fmt.Errorf("redisbreaker: lock %s: %w", s.Key(name), err)
	}
	if !ok {
		return fmt.Errorf("%w: %s", ErrLocked, s.Key(name))
	}
	h := &held{token: token, stop: make(chan struct{}), done: make(chan struct{})}
	s.mu.Lock()
	s.locks[name] = h
	s.mu.Unlock()
	go s.keep(name, h)
	return nil
}

// keep extends a held lock every LockTTL/3 until it is unlocked.
func (s *Store) keep(name string, h *held) {
	defer close(h.done)
	t := time.NewTicker(s.lockTTL / 3)
	defer t.Stop()
	ms := strconv.FormatInt(max(1, s.lockTTL.Milliseconds()), 10)
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			ctx, cancel := s.ctx()
			_ = extend.Run(ctx, s.c, []string{s.Key(name)}, h.token, ms).Err() // a miss shows at Unlock
			cancel()
		}
	}
}

// Unlock implements gobreaker.SharedDataStore.
func (s *Store) Unlock(name string) error {
	s.mu.Lock()
	h := s.locks[name]
	delete(s.locks, name)
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("%w: %s", ErrNotLocked, s.Key(name))
	}
	close(h.stop)
	<-h.done
	ctx, cancel := s.ctx()
	defer cancel()
	n, err := unlock.Run(ctx, s.c, []string{s.Key(name)}, h.token).Int64()
	if err != nil {
		return fmt.Errorf("redisbreaker: unlock %s: %w", s.Key(name), err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s ran out while held", ErrNotLocked, s.Key(name))
	}
	return nil
}

// GetData implements gobreaker.SharedDataStore; a name never set has no
// data and no error.
func (s *Store) GetData(name string) ([]byte, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	b, err := s.c.Get(ctx, s.Key(name)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redisbreaker: get %s: %w", s.Key(name), err)
	}
	return b, nil
}

// SetData implements gobreaker.SharedDataStore.
func (s *Store) SetData(name string, data []byte) error {
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.c.Set(ctx, s.Key(name), data, 0).Err(); err != nil {
		return fmt.Errorf("redisbreaker: set %s: %w", s.Key(name), err)
	}
	return nil
}
