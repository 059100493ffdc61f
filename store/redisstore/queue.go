package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stockgate/stockgate/store"
)

// The dispatcher's queues (store.QueueDriver), under the prefix P:
//
//	P queue:tokens:<account>  ZSET  score token, member SKU
//	P queue:since:<account>   HASH  SKU → since (20-digit Unix ns)
//	P queue:seeded            HASH  account → when seeded (20-digit Unix ns)
//
// Tokens come from the "queue" counter of P seqs. Each operation is one
// script, so it is atomic against every other replica's.

func (k keys) queueTokens(account string) string { return k.prefix + "queue:tokens:" + account }
func (k keys) queueSince(account string) string  { return k.prefix + "queue:since:" + account }
func (k keys) queueSeeded() string               { return k.prefix + "queue:seeded" }

// queueLib queues ARGV[first+1 .. first+n] of one account under the next n
// tokens, keeping an earlier since. Tokens are below 2^53, exact as Lua
// numbers.
const queueLib = `
local function enqueue(seqs, tokens, since, sku, at, token)
  redis.call('ZADD', tokens, token, sku)
  local cur = redis.call('HGET', since, sku)
  if (not cur) or before(at, cur) then redis.call('HSET', since, sku, at) end
end
`

// enqueueScript queues items of any accounts.
//
//	KEYS: seqs, then per item: its account's tokens and since keys
//	ARGV: per item: SKU, since
//
// It returns the token of each item.
var enqueueScript = redis.NewScript(luaLib + queueLib + `
local n = #ARGV / 2
local last = redis.call('HINCRBY', KEYS[1], 'queue', n)
local out = {}
for i = 1, n do
  local token = last - n + i
  enqueue(KEYS[1], KEYS[2 * i], KEYS[2 * i + 1], ARGV[2 * i - 1], ARGV[2 * i], token)
  out[i] = token
end
return out
`)

// pendingScript lists one account's items after a token.
//
//	KEYS: tokens, since
//	ARGV: after, limit
//
// It returns SKU, token and since of each item, flat.
var pendingScript = redis.NewScript(`
local r = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, ARGV[2])
local out = {}
for i = 1, #r, 2 do
  out[#out + 1] = r[i]
  out[#out + 1] = r[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], r[i]) or '0'
end
return out
`)

// dequeueScript removes items whose token is still the one given.
//
//	KEYS: per item: its account's tokens and since keys
//	ARGV: per item: SKU, token
var dequeueScript = redis.NewScript(`
for i = 1, #ARGV / 2 do
  local tokens, sku = KEYS[2 * i - 1], ARGV[2 * i - 1]
  local cur = redis.call('ZSCORE', tokens, sku)
  if cur and tonumber(cur) == tonumber(ARGV[2 * i]) then
    redis.call('ZREM', tokens, sku)
    redis.call('HDEL', KEYS[2 * i], sku)
  end
end
return 0
`)

// seedScript seeds one account's queue once.
//
//	KEYS: seqs, seeded, tokens, since
//	ARGV: account, at, SKUs…
//
// It returns 1 when it seeded, 0 when the account was seeded before.
var seedScript = redis.NewScript(luaLib + queueLib + `
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
local n = #ARGV - 2
if n > 0 then
  local last = redis.call('HINCRBY', KEYS[1], 'queue', n)
  for i = 1, n do
    enqueue(KEYS[1], KEYS[3], KEYS[4], ARGV[i + 2], ARGV[2], last - n + i)
  end
end
return 1
`)

// Enqueue implements store.Driver: one script call.
func (d *driver) Enqueue(ctx context.Context, items []store.QueueItem) ([]uint64, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, nil
	}
	ks := make([]string, 0, 1+2*len(items))
	args := make([]any, 0, 2*len(items))
	ks = append(ks, d.k.seqs)
	for _, it := range items {
		ks = append(ks, d.k.queueTokens(it.Account), d.k.queueSince(it.Account))
		args = append(args, it.SKU, unixNano20(it.Since))
	}
	vs, err := enqueueScript.Run(ctx, d.c, ks, args...).Int64Slice()
	if err == nil && len(vs) != len(items) {
		err = fmt.Errorf("%d tokens for %d items", len(vs), len(items))
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: enqueue: %w", err)
	}
	tokens := make([]uint64, len(vs))
	for i, v := range vs {
		tokens[i] = uint64(v)
	}
	return tokens, nil
}

// Pending implements store.Driver: one script call.
func (d *driver) Pending(ctx context.Context, account string, after uint64, limit int) ([]store.QueueItem, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	r, err := pendingScript.Run(ctx, d.c, []string{d.k.queueTokens(account), d.k.queueSince(account)},
		strconv.FormatUint(after, 10), limit).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redisstore: pending: %w", err)
	}
	if len(r)%3 != 0 {
		return nil, errors.New("redisstore: pending: malformed script reply")
	}
	out := make([]store.QueueItem, 0, len(r)/3)
	for i := 0; i < len(r); i += 3 {
		token, err := strconv.ParseFloat(r[i+1], 64)
		if err != nil {
			return nil, fmt.Errorf("redisstore: pending: token of %q: %w", r[i], err)
		}
		ns, err := strconv.ParseInt(r[i+2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("redisstore: pending: since of %q: %w", r[i], err)
		}
		out = append(out, store.QueueItem{Account: account, SKU: r[i], Token: uint64(token), Since: time.Unix(0, ns)})
	}
	return out, nil
}

// Dequeue implements store.Driver: one script call.
func (d *driver) Dequeue(ctx context.Context, items []store.QueueItem) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	if len(items) == 0 {
		return nil
	}
	ks := make([]string, 0, 2*len(items))
	args := make([]any, 0, 2*len(items))
	for _, it := range items {
		ks = append(ks, d.k.queueTokens(it.Account), d.k.queueSince(it.Account))
		args = append(args, it.SKU, strconv.FormatUint(it.Token, 10))
	}
	if err := dequeueScript.Run(ctx, d.c, ks, args...).Err(); err != nil {
		return fmt.Errorf("redisstore: dequeue: %w", err)
	}
	return nil
}

// SeedQueue implements store.Driver: one script call.
func (d *driver) SeedQueue(ctx context.Context, account string, skus []string, at time.Time) (bool, error) {
	if err := d.check(ctx); err != nil {
		return false, err
	}
	args := make([]any, 0, 2+len(skus))
	args = append(args, account, unixNano20(at))
	for _, s := range skus {
		args = append(args, s)
	}
	ks := []string{d.k.seqs, d.k.queueSeeded(), d.k.queueTokens(account), d.k.queueSince(account)}
	n, err := seedScript.Run(ctx, d.c, ks, args...).Int64()
	if err != nil {
		return false, fmt.Errorf("redisstore: seed queue: %w", err)
	}
	return n == 1, nil
}
