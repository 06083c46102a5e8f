-- Shared by every batch-accounting script (included with --#include accounting-helpers).
-- ARGV[1] is the key prefix, ARGV[2] the batches' time to live in seconds.
local prefix = ARGV[1]
local function batchKey(b) return prefix .. ':batch:' .. b end
local function note(b, kind, ref, code, reason, at)
  local list = batchKey(b) .. ':failures'
  redis.call('RPUSH', list, cjson.encode({kind = kind, ref = ref, code = code, reason = reason, at = at}))
  redis.call('EXPIRE', list, tonumber(ARGV[2]))
end
-- Close an open job once: its accounting entry (decoded), or nil when it was not open.
local function closeJob(queue, jobId)
  local info = redis.call('HGET', prefix .. ':acct:' .. queue, jobId)
  if not info then return nil end
  redis.call('HDEL', prefix .. ':acct:' .. queue, jobId)
  redis.call('ZREM', prefix .. ':acct:open:' .. queue, jobId)
  return cjson.decode(info)
end
-- Batches whose manifest a script wrote: their time to live is renewed once, at its end.
local recordsWritten, recordsOrder = {}, {}
local function wroteRecords(b)
  if not recordsWritten[b] then
    recordsWritten[b] = true
    table.insert(recordsOrder, b)
  end
end
-- Renew the time to live of every manifest the script wrote (call it before returning).
local function expireRecords()
  for _, b in ipairs(recordsOrder) do
    redis.call('EXPIRE', batchKey(b) .. ':results', tonumber(ARGV[2]))
    redis.call('EXPIRE', batchKey(b) .. ':rows', tonumber(ARGV[2]))
  end
end
-- A new manifest row `field` with `facts`, listed in order of arrival (`:rows`); false (and
-- nothing written) when the batch has the row already.
local function newRecord(b, field, facts)
  if redis.call('HSETNX', batchKey(b) .. ':results', field, cjson.encode(facts)) == 0 then return false end
  redis.call('RPUSH', batchKey(b) .. ':rows', field)
  wroteRecords(b)
  return true
end
-- The batch's manifest row `field` (a certKey, or ~u:/~r: for a user or an unusable award):
-- `facts` merged into what it holds; a new row is listed in order of arrival (`:rows`).
local function record(b, field, facts)
  local key = batchKey(b) .. ':results'
  local old = redis.call('HGET', key, field)
  if old then
    local merged = cjson.decode(old)
    for k, v in pairs(facts) do merged[k] = v end
    facts = merged
  else
    redis.call('RPUSH', batchKey(b) .. ':rows', field)
  end
  redis.call('HSET', key, field, cjson.encode(facts))
  wroteRecords(b)
end
local function fail(b, kind, ref, code, reason, at)
  redis.call('HINCRBY', batchKey(b), kind == 'user' and 'usersFailed' or 'certsFailed', 1)
  note(b, kind, ref, code, reason, at)
end
-- A user reference that failed as a whole, as a row of the manifest.
local function userRow(b, userRef, code, reason)
  record(b, '~u:' .. userRef, {kind = 'user', status = 'failed', ref = userRef, u = userRef, code = code, reason = reason})
end
-- The batch's record of one certificate's outcome (merged into what discovery recorded).
local function result(b, certKey, ref, json)
  local facts = cjson.decode(json)
  facts.ref = ref
  record(b, certKey, facts)
end
-- A batch that has just become done is marked (doneAt) and announced on the events stream, once.
local function finishIfDone(b, at, finished)
  local c = redis.call('HMGET', batchKey(b), 'enumerating', 'usersTotal', 'usersDone', 'usersFailed',
    'certsFound', 'certsStored', 'certsAlreadyStored', 'certsFailed', 'doneAt', 'createdAt',
    'usersCancelled', 'certsCancelled', 'cancelledAt')
  if c[9] or not c[10] or c[1] == '1' then return end
  local function n(i) return tonumber(c[i]) or 0 end
  if n(3) + n(4) + n(11) < n(2) or n(6) + n(7) + n(8) + n(12) < n(5) then return end
  redis.call('HSET', batchKey(b), 'doneAt', at)
  redis.call('XADD', prefix .. ':{{BATCH_EVENTS_SUFFIX}}', 'MAXLEN', '~', {{BATCH_EVENTS_MAX_LEN}}, '*',
    'event', 'batch.done', 'schemaVersion', {{SCHEMA_VERSION}}, 'batchId', b, 'at', at,
    'certsStored', n(6), 'certsAlreadyStored', n(7), 'certsFailed', n(8), 'usersFailed', n(4),
    'cancelled', c[13] and 1 or 0, 'certsCancelled', n(12), 'usersCancelled', n(11),
    'certificates', '/api/batches/' .. b .. '/certificates?format=csv', 'manifestFile', '_batches/' .. b .. '.csv')
  table.insert(finished, b)
end
-- A user's awards that cannot become downloads: `listed` is a flat list (ref, code, reason, ...)
-- of some of them, `rejected` counts them all. Each listed one is a failure and a manifest row.
local function rejections(b, userRef, rejected, listed, at)
  local n = 0
  for i = 1, #listed, 3 do
    fail(b, 'certificate', listed[i], listed[i + 1], listed[i + 2], at)
    record(b, '~r:' .. userRef .. ':' .. listed[i], {kind = 'certificate', status = 'failed', ref = listed[i],
      u = userRef, code = listed[i + 1], reason = listed[i + 2]})
    n = n + 1
  end
  if math.max(rejected, n) > 0 then redis.call('HINCRBY', batchKey(b), 'certsFound', math.max(rejected, n)) end
  if rejected > n then
    redis.call('HINCRBY', batchKey(b), 'certsFailed', rejected - n)
    note(b, 'certificate', userRef, 'LMS_DATA_INVALID', (rejected - n) .. ' more unusable awards (see the job log)', at)
  end
end
-- The users of a batch (`by:value`) and the discover job that holds each: its users job, or the
-- one-user job it was handed to.
local function usersKey(b) return batchKey(b) .. ':users' end
local function cancelled(b) return redis.call('HEXISTS', batchKey(b), 'cancelledAt') == 1 end
