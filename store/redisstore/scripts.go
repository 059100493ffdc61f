package redisstore

import "github.com/redis/go-redis/v9"

// Script results.
const (
	resOK             = 0
	resDuplicate      = 1 // accept: the dedup key is remembered
	resAlreadyApplied = 1 // commit: the event is applied
	resConflict       = 2 // commit: an expected seq is stale
)

// luaLib is shared by the scripts. Sequence numbers travel as decimal
// strings and are compared as strings, never as Lua numbers (doubles).
const luaLib = `
-- before reports whether time a is before time b; both are 20-digit
-- decimal Unix nanoseconds, compared in two exact halves.
local function before(a, b)
  local ah, bh = tonumber(string.sub(a, 1, 10)), tonumber(string.sub(b, 1, 10))
  if ah ~= bh then return ah < bh end
  return tonumber(string.sub(a, 11)) < tonumber(string.sub(b, 11))
end

-- messages appends n outbox messages, argv[first+1 .. first+n], under the
-- next n outbox seqs.
local function messages(seqs, outbox, argv, first, n)
  if n == 0 then return end
  local last = redis.call('HINCRBY', seqs, 'outbox', n)
  for i = 1, n do
    local s = string.format('%d', last - n + i)
    redis.call('ZADD', outbox, s, s .. ':' .. argv[first + i])
  end
end

-- record appends one dead letter or alert under the next seq of counter
-- and indexes it by id; an empty id becomes idprefix and the seq in 16 hex
-- digits, as the reader derives it.
local function record(seqs, counter, zset, ids, idprefix, id, json)
  local seq = redis.call('HINCRBY', seqs, counter, 1)
  local s = string.format('%d', seq)
  if id == '' then id = idprefix .. string.format('%016x', seq) end
  redis.call('ZADD', zset, s, s .. ':' .. json)
  redis.call('HSET', ids, id, s)
end
`

// acceptScript stores one acceptance.
//
//	KEYS: seqs, outbox, deadletters, deadletters:ids[, dedup key]
//	ARGV: now, expiry ("0": never), PX milliseconds ("": no Redis TTL),
//	      message count, messages…, then id and JSON per dead letter
//
// It returns resDuplicate when the dedup key is remembered at now, having
// written nothing; otherwise it writes everything and returns resOK.
var acceptScript = redis.NewScript(luaLib + `
if KEYS[5] then
  local exp = redis.call('GET', KEYS[5])
  if exp and (exp == '0' or before(ARGV[1], exp)) then return 1 end
  if ARGV[3] == '' then
    redis.call('SET', KEYS[5], ARGV[2])
  else
    redis.call('SET', KEYS[5], ARGV[2], 'PX', ARGV[3])
  end
end
local n = tonumber(ARGV[4])
messages(KEYS[1], KEYS[2], ARGV, 4, n)
for i = 5 + n, #ARGV, 2 do
  record(KEYS[1], 'deadletter', KEYS[3], KEYS[4], 'dl-', ARGV[i], ARGV[i + 1])
end
return 0
`)

// commitScript applies one ledger step.
//
//	KEYS: applied, seqs, outbox, alerts, alerts:ids, deadletters,
//	      deadletters:ids, then per keyed step: the SKU's projections,
//	      the key's entries; then the skus index; then per queue item its
//	      account's queue tokens and since keys
//	ARGV: event id, now, step count, then per step: location, expected
//	      seq, new seq, entry JSON, projection JSON; then message count,
//	      messages…, alert count, id and JSON per alert, count and seqs of
//	      outbox messages to delete, count of queue items and SKU and
//	      since of each, and optionally the dead letter's id and JSON
//
// It checks the applied mark and every step's expected seq (a key's later
// step expects what its earlier step writes) before it writes anything,
// and returns resAlreadyApplied or resConflict having written nothing.
var commitScript = redis.NewScript(luaLib + queueLib + `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 1 end
local steps = tonumber(ARGV[3])
local written = {}
for i = 0, steps - 1 do
  local proj, a = KEYS[8 + 2 * i], 4 + 5 * i
  local loc = ARGV[a]
  local byloc = written[proj]
  if not byloc then
    byloc = {}
    written[proj] = byloc
  end
  local cur = byloc[loc]
  if not cur then
    local v = redis.call('HGET', proj, loc)
    if v then cur = string.sub(v, 1, string.find(v, ':', 1, true) - 1) else cur = '0' end
  end
  if cur ~= ARGV[a + 1] then return 2 end
  byloc[loc] = ARGV[a + 2]
end
local skus = KEYS[8 + 2 * steps]
for i = 0, steps - 1 do
  local a = 4 + 5 * i
  redis.call('RPUSH', KEYS[9 + 2 * i], ARGV[a + 3])
  redis.call('HSET', KEYS[8 + 2 * i], ARGV[a], ARGV[a + 2] .. ':' .. ARGV[a + 4])
  if ARGV[a + 2] == '1' and #KEYS[8 + 2 * i] > #skus + 1 then
    -- A key's first entry: index its SKU. The projections key is
    -- prefix .. 'proj:' .. sku and the index prefix .. 'skus'.
    redis.call('ZADD', skus, 0, string.sub(KEYS[8 + 2 * i], #skus + 2))
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local a = 4 + 5 * steps
local n = tonumber(ARGV[a])
messages(KEYS[2], KEYS[3], ARGV, a, n)
a = a + n + 1
n = tonumber(ARGV[a])
for i = 1, n do
  record(KEYS[2], 'alert', KEYS[4], KEYS[5], 'al-', ARGV[a + 2 * i - 1], ARGV[a + 2 * i])
end
a = a + 2 * n + 1
n = tonumber(ARGV[a])
for i = 1, n do
  redis.call('ZREMRANGEBYSCORE', KEYS[3], ARGV[a + i], ARGV[a + i])
end
a = a + n + 1
n = tonumber(ARGV[a])
if n > 0 then
  -- Queue items: KEYS from 9 + 2 * steps, two per item (tokens, since).
  local last = redis.call('HINCRBY', KEYS[2], 'queue', n)
  for i = 1, n do
    local k = 7 + 2 * steps + 2 * i
    enqueue(KEYS[2], KEYS[k], KEYS[k + 1], ARGV[a + 2 * i - 1], ARGV[a + 2 * i], last - n + i)
  end
end
a = a + 2 * n + 1
if ARGV[a] then
  record(KEYS[2], 'deadletter', KEYS[6], KEYS[7], 'dl-', ARGV[a], ARGV[a + 1])
end
return 0
`)
