import { RUN_KEY_COUNT } from './key-space.js';

/**
 * The Lua scripts behind every write. A script runs atomically on the server, so each check-then-write
 * (fencing, compare-and-set, insert-if-absent, seq assignment, consumption, garbage collection) is one
 * indivisible step that other clients cannot interleave with. ioredis caches them: EVALSHA, falling back to
 * EVAL once per connection.
 *
 * Convention: KEYS[1..R] are always the run's keys (lease, headers, seq, blobs, events, inputs, consumed; see
 * `runKeyList`), so `touch` can refresh the TTL of everything the run owns; the keys after them start at
 * KEYS[R + 1]. Numbers come back as integer replies; status replies as `{ code, detail }`.
 */

// Shared helpers, prepended to every write script.
const PRELUDE = `
local R = ${RUN_KEY_COUNT}

local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function headIsPending()
  local top = redis.call('ZRANGE', KEYS[3], 0, 0, 'REV')
  if #top == 0 then return false end
  local json = redis.call('HGET', KEYS[2], top[1])
  return json ~= false and cjson.decode(json).pendingInput == true
end

-- A run whose head waits for human input never expires: the human may answer after any delay.
local function touch(ttlMs)
  if ttlMs <= 0 then return end
  local keep = headIsPending()
  for i = 1, R do
    if keep then redis.call('PERSIST', KEYS[i]) else redis.call('PEXPIRE', KEYS[i], ttlMs) end
  end
end
`;

/**
 * The header commit, shared by PUT_HEADER and COMMIT_CHECKPOINT: a function that checks fencing, compare-and-set
 * and the id before it writes anything, and returns the refusal (`{ code, detail }`) or nil once the header, the
 * head and the indexes are written. The caller refreshes the TTL.
 * KEYS: 1-R run, R+1 ids, R+2 all, R+3 flow, R+4 tenant, R+5 pending (see `headerKeys`).
 * ARGV: 1 id, 2 runId, 3 seq, 4 header JSON, 5 pendingInput ('1'|'0'), 6 has a tenant ('1'|'0'),
 * 7 compare-and-set ('' = none, else '=' .. expected head id, '=' alone = the run must be empty),
 * 8 lease owner ('' = no lease), 9 lease token, 10 ttl ms (0 = none), 11 blobs were written ahead of the script
 * ('1'|'0').
 * Every call a script makes costs: the pending and tenant indexes are written only for headers they list.
 */
const HEADER_COMMIT = `${PRELUDE}
local function commitHeader()
  local lease = redis.call('HMGET', KEYS[1], 'owner', 'token', 'expiresAt')
  local live = lease[3] ~= false and tonumber(lease[3]) > nowMs()
  if ARGV[8] ~= '' then
    if not live or lease[1] ~= ARGV[8] or lease[2] ~= ARGV[9] then return {'LEASE_LOST', lease[1] or ''} end
  elseif live then
    return {'RUN_LOCKED', lease[1]}
  end
  if ARGV[7] ~= '' then
    local head = redis.call('ZRANGE', KEYS[3], 0, 0, 'REV')[1] or ''
    if '=' .. head ~= ARGV[7] then return {'HEAD_MOVED', head} end
  end
  if redis.call('HSETNX', KEYS[R + 1], ARGV[1], ARGV[2]) == 0 then return {'DUPLICATE', redis.call('HGET', KEYS[R + 1], ARGV[1])} end
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
  local member = ARGV[1] .. ' ' .. ARGV[2]
  redis.call('ZADD', KEYS[R + 2], 0, member)
  redis.call('ZADD', KEYS[R + 3], 0, member)
  if ARGV[6] == '1' then redis.call('ZADD', KEYS[R + 4], 0, member) end
  if ARGV[5] == '1' then redis.call('ZADD', KEYS[R + 5], 0, member) end
  return nil
end
`;

/**
 * A script that commits the header, runs `afterAccept` only when it was accepted, refreshes the TTL and returns
 * `OK`. A refused header refreshes it too when blobs were written ahead of the script: they may have made the
 * run's blob hash, which must expire with the run.
 */
const withHeaderCommit = (afterAccept: string): string => `${HEADER_COMMIT}
local refused = commitHeader()
if refused then
  if ARGV[11] == '1' then touch(tonumber(ARGV[10])) end
  return refused
end
${afterAccept}touch(tonumber(ARGV[10]))
return {'OK', ''}
`;

/** KEYS and ARGV as HEADER_COMMIT. Returns `{ code, detail }`: `OK`, or why the header was refused. */
const PUT_HEADER = withHeaderCommit('');

/**
 * A whole checkpoint save in one script: the header as PUT_HEADER, then, only when it was accepted, the blobs
 * (insert-or-ignore, as PUT_BLOBS), so a refused commit writes none of them.
 * KEYS and ARGV 1-11 as HEADER_COMMIT; ARGV 12.. hash, data pairs. Returns what PUT_HEADER returns.
 */
const COMMIT_CHECKPOINT = withHeaderCommit(`for i = 12, #ARGV, 2 do redis.call('HSETNX', KEYS[4], ARGV[i], ARGV[i + 1]) end
`);

/**
 * KEYS: those of PUT_HEADER, then R+6 the status index of older releases (see `headerDeleteKeys`). ARGV: 1 id,
 * 2 index member, 3 ttl ms. Returns 1 when deleted, 0 when absent.
 */
const DELETE_HEADER = `${PRELUDE}
if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[R + 1], ARGV[1])
for i = R + 2, R + 6 do redis.call('ZREM', KEYS[i], ARGV[2]) end
touch(tonumber(ARGV[3]))
return 1
`;

/** KEYS: 1-R run. ARGV: 1 ttl ms, then hash, data pairs. Insert-or-ignore per blob. */
const PUT_BLOBS = `${PRELUDE}
for i = 2, #ARGV, 2 do redis.call('HSETNX', KEYS[4], ARGV[i], ARGV[i + 1]) end
touch(tonumber(ARGV[1]))
return 0
`;

/** KEYS: 1-R run. ARGV: 1 ttl ms, then the hashes to keep. Returns how many blobs were deleted. */
const DELETE_BLOBS_EXCEPT = `${PRELUDE}
local keep = {}
for i = 2, #ARGV do keep[ARGV[i]] = true end
local deleted = 0
for _, hash in ipairs(redis.call('HKEYS', KEYS[4])) do
  if not keep[hash] then deleted = deleted + redis.call('HDEL', KEYS[4], hash) end
end
touch(tonumber(ARGV[1]))
return deleted
`;

/**
 * KEYS: 1-R run. ARGV: 1 owner, 2 lease ttl ms, 3 run ttl ms. Returns {token, expiresAt} or nil when another
 * owner holds a live lease. The token is an INCR on the lease hash, which release keeps: it only grows.
 */
const ACQUIRE_LEASE = `${PRELUDE}
local now = nowMs()
local current = redis.call('HMGET', KEYS[1], 'owner', 'token', 'expiresAt')
local token
if current[3] ~= false and tonumber(current[3]) > now then
  if current[1] ~= ARGV[1] then return false end
  token = tonumber(current[2])
else
  token = redis.call('HINCRBY', KEYS[1], 'token', 1)
end
local expiresAt = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'expiresAt', expiresAt)
touch(tonumber(ARGV[3]))
return {token, expiresAt}
`;

/**
 * KEYS: 1-R run. ARGV: 1 owner, 2 token, 3 lease ttl ms, 4 run ttl ms. Returns the new expiresAt, or nil when
 * the lease was released or changed hands. An expired lease nobody took over keeps its token and may be renewed.
 */
const RENEW_LEASE = `${PRELUDE}
local current = redis.call('HMGET', KEYS[1], 'owner', 'token', 'expiresAt')
if current[1] ~= ARGV[1] or current[2] ~= ARGV[2] or current[3] == '0' then return false end
local expiresAt = nowMs() + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'expiresAt', expiresAt)
touch(tonumber(ARGV[4]))
return expiresAt
`;

/** KEYS: 1-R run. ARGV: 1 owner, 2 token, 3 run ttl ms. Keeps the token so the next owner's is higher. */
const RELEASE_LEASE = `${PRELUDE}
local current = redis.call('HMGET', KEYS[1], 'owner', 'token')
if current[1] == ARGV[1] and current[2] == ARGV[2] then
  redis.call('HSET', KEYS[1], 'expiresAt', 0)
  touch(tonumber(ARGV[3]))
end
return 0
`;

/**
 * KEYS: 1-R run. ARGV: 1 run ttl ms, 2 maxEventsPerRun, then type, data, ts of each event. Returns the newest
 * seq. The stream's newest entry is the counter: trimming (MAXLEN, exact) drops the oldest entries only, and
 * XADD refuses an id at or below the stream's last one, so a seq is never handed out twice.
 */
const APPEND_EVENTS = `${PRELUDE}
local newest = redis.call('XREVRANGE', KEYS[5], '+', '-', 'COUNT', 1)[1]
local seq = newest and tonumber(string.match(newest[1], '^%d+')) or 0
for i = 3, #ARGV, 3 do
  seq = seq + 1
  redis.call('XADD', KEYS[5], 'MAXLEN', ARGV[2], seq .. '-0', 'type', ARGV[i], 'data', ARGV[i + 1], 'ts', ARGV[i + 2])
end
touch(tonumber(ARGV[1]))
return seq
`;

/**
 * KEYS: 1-R run. ARGV: 1 run ttl ms, 2 input key, 3 input JSON. Returns {1 when created else 0, the stored
 * JSON, its consumed marker or nil}: a repeated key gets the first input back, untouched.
 */
const PUT_INPUT = `${PRELUDE}
local created = redis.call('HSETNX', KEYS[6], ARGV[2], ARGV[3])
if created == 1 then touch(tonumber(ARGV[1])) end
return {created, redis.call('HGET', KEYS[6], ARGV[2]), redis.call('HGET', KEYS[7], ARGV[2])}
`;

/**
 * KEYS: 1-R run. ARGV: 1 run ttl ms, 2 consumer. Gives every input without a consumed marker one
 * (`<now> <consumer>`, server clock). Returns {now, key, JSON, key, JSON, ...} of the inputs it marked.
 */
const TAKE_INPUTS = `${PRELUDE}
local now = nowMs()
local taken = {now}
local inputs = redis.call('HGETALL', KEYS[6])
for i = 1, #inputs, 2 do
  if redis.call('HSETNX', KEYS[7], inputs[i], now .. ' ' .. ARGV[2]) == 1 then
    taken[#taken + 1] = inputs[i]
    taken[#taken + 1] = inputs[i + 1]
  end
end
if #taken > 1 then touch(tonumber(ARGV[1])) end
return taken
`;

/**
 * KEYS: 1 ids. ARGV: 1 id, 2 and 3 the header hash key around the runId. One round trip for a lookup by id;
 * the second key is built in the script, which standalone Redis allows (see the README on Cluster).
 */
const GET_HEADER = `
local runId = redis.call('HGET', KEYS[1], ARGV[1])
if not runId then return false end
return redis.call('HGET', ARGV[2] .. runId .. ARGV[3], ARGV[1])
`;

/**
 * KEYS: 1 an index, 2 ids. ARGV: 1 index member, 2 id, 3 runId. Drops an index entry whose header expired
 * with its run; the id map entry goes too unless the id was reused since.
 */
const FORGET_ENTRY = `
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[3] then redis.call('HDEL', KEYS[2], ARGV[2]) end
return 0
`;

/** KEYS: 1 the run's lease. Returns the ms its live lease has left by the server clock, or nil when none is live. */
const LEASE_REMAINING = `
local expiresAt = tonumber(redis.call('HGET', KEYS[1], 'expiresAt') or '0')
local t = redis.call('TIME')
local remaining = expiresAt - (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
if remaining <= 0 then return false end
return remaining
`;

export interface ScriptDefinition {
  lua: string;
  numberOfKeys: number;
  readOnly?: boolean;
}

/** Registered on the client with `defineCommand` under these names. */
export const SCRIPTS = {
  savepointPutHeader: { lua: PUT_HEADER, numberOfKeys: RUN_KEY_COUNT + 5 },
  savepointCommitCheckpoint: { lua: COMMIT_CHECKPOINT, numberOfKeys: RUN_KEY_COUNT + 5 },
  savepointDeleteHeader: { lua: DELETE_HEADER, numberOfKeys: RUN_KEY_COUNT + 6 },
  savepointPutBlobs: { lua: PUT_BLOBS, numberOfKeys: RUN_KEY_COUNT },
  savepointDeleteBlobsExcept: { lua: DELETE_BLOBS_EXCEPT, numberOfKeys: RUN_KEY_COUNT },
  savepointAcquireLease: { lua: ACQUIRE_LEASE, numberOfKeys: RUN_KEY_COUNT },
  savepointRenewLease: { lua: RENEW_LEASE, numberOfKeys: RUN_KEY_COUNT },
  savepointReleaseLease: { lua: RELEASE_LEASE, numberOfKeys: RUN_KEY_COUNT },
  savepointAppendEvents: { lua: APPEND_EVENTS, numberOfKeys: RUN_KEY_COUNT },
  savepointPutInput: { lua: PUT_INPUT, numberOfKeys: RUN_KEY_COUNT },
  savepointTakeInputs: { lua: TAKE_INPUTS, numberOfKeys: RUN_KEY_COUNT },
  savepointGetHeader: { lua: GET_HEADER, numberOfKeys: 1, readOnly: true },
  savepointLeaseRemaining: { lua: LEASE_REMAINING, numberOfKeys: 1, readOnly: true },
  savepointForgetEntry: { lua: FORGET_ENTRY, numberOfKeys: 2 },
} satisfies Record<string, ScriptDefinition>;

export type ScriptName = keyof typeof SCRIPTS;
