-- stockgate ratelimit/redislimit: one connector account's token bucket,
-- with reservations, in one script so every replica's call is atomic.
--
-- The hash KEYS[1] holds:
--   limit   refill rate, units per second
--   burst   bucket size, units
--   tokens  units in the bucket at time last; negative when calls have
--           reserved more than it held (they wait for the refill)
--   last    time of tokens, microseconds since the Unix epoch; never goes
--           back, so a call with an earlier time is computed at last
--   hold    end of a Retry-After hold, microseconds; no grant before it
--
-- ARGV[1] op: "reserve", "observe" or "state"
-- ARGV[2] now in microseconds, or "" to read the server's TIME
-- ARGV[3] limit and ARGV[4] burst of a new bucket (it starts full)
-- ARGV[5] TTL in milliseconds after the bucket is full and the hold over
-- reserve: ARGV[6] cost
-- observe: ARGV[6] limit (0: unchanged), ARGV[7] burst (0: unchanged),
--          ARGV[8] units to give back (negative: to take), ARGV[9] level
--          to drain to ("" for none), ARGV[10] Retry-After in microseconds
--
-- Every reply is an array of strings, the first a status: numbers leave
-- Lua as strings because Redis truncates Lua numbers to integers.
local key, op = KEYS[1], ARGV[1]

local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[2])
end

local function f(x) return string.format('%.17g', x) end

local s = redis.call('HMGET', key, 'limit', 'burst', 'tokens', 'last', 'hold')
local limit, burst = tonumber(s[1]), tonumber(s[2])
local tokens, last = tonumber(s[3]), tonumber(s[4])
local hold = tonumber(s[5]) or 0
if not (limit and burst and tokens and last) then
  limit, burst = tonumber(ARGV[3]), tonumber(ARGV[4])
  tokens, last = burst, now
end

-- advance refills the bucket up to time t (not before last), capped at
-- the burst.
local function advance(t)
  if t > last then
    tokens = tokens + (t - last) * limit / 1e6
    last = t
  end
  if tokens > burst then tokens = burst end
end

local function save()
  redis.call('HSET', key, 'limit', f(limit), 'burst', f(burst), 'tokens', f(tokens),
    'last', f(last), 'hold', f(hold))
  local ms = tonumber(ARGV[5])
  local ahead = math.max(last, hold) - now
  if ahead > 0 then ms = ms + math.ceil(ahead / 1000) end
  if tokens < burst and limit > 0 then ms = ms + math.ceil((burst - tokens) / limit * 1000) end
  redis.call('PEXPIRE', key, f(math.min(ms, 1e13)))
end

if op == 'reserve' then
  local cost = tonumber(ARGV[6])
  if cost == 0 then return {'ok', f(math.max(0, hold - now))} end
  if cost > burst then return {'burst', f(burst)} end
  advance(math.max(now, last, hold))
  if tokens < cost and limit <= 0 then return {'norefill', f(tokens)} end
  tokens = tokens - cost
  local wait = 0
  if tokens < 0 then wait = -tokens * 1e6 / limit end
  local grant = last + wait
  save()
  return {'ok', f(grant - now)}
elseif op == 'observe' then
  advance(math.max(now, last))
  local nl, nb = tonumber(ARGV[6]), tonumber(ARGV[7])
  if nl > 0 then limit = nl end
  if nb > 0 then
    burst = nb
    if tokens > burst then tokens = burst end
  end
  local give = tonumber(ARGV[8])
  if give ~= 0 then tokens = math.min(tokens + give, burst) end
  if ARGV[9] ~= '' then tokens = math.min(tokens, tonumber(ARGV[9])) end
  local ra = tonumber(ARGV[10])
  if ra > 0 and now + ra > hold then hold = now + ra end
  save()
  return {'ok'}
elseif op == 'state' then
  advance(math.max(now, last))
  local h = 0
  if hold > now then h = hold end
  return {'ok', f(limit), f(burst), f(tokens), f(h)}
end
return redis.error_reply('redislimit: unknown op ' .. tostring(op))
