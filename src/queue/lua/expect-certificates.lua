--#include accounting-helpers
local batch, now, ttl, opener = ARGV[3], ARGV[4], tonumber(ARGV[2]), ARGV[5]
local isCancelled = cancelled(batch)
local toAdd = {}
local found, alreadyStored, dropped = 0, 0, 0
-- Ids of the downloads this call opens: one counter step for all of them.
local seq
local function nextId(base)
  if not seq then seq = redis.call('INCRBY', prefix .. ':acct:seq', (#ARGV - 5) / 6) - (#ARGV - 5) / 6 end
  seq = seq + 1
  return base .. '.' .. seq
end
for i = 6, #ARGV, 6 do
  local certKey, base, ref, stored, desc = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 5]
  -- The batch's row of the certificate tells whether the batch found it before (a retried job).
  local facts
  if stored == '1' then
    facts = cjson.decode(ARGV[i + 4])
    facts.ref, facts.d = ref, desc
  elseif isCancelled then
    facts = {status = 'cancelled', ref = ref, d = desc}
  else
    facts = {status = 'queued', ref = ref, d = desc}
  end
  local first = newRecord(batch, certKey, facts)
  if first then found = found + 1 end
  if stored == '1' then
    if first then alreadyStored = alreadyStored + 1 end
    -- Stored by an earlier run of this job that did not live to settle it: settle it now.
    local open = redis.call('GET', prefix .. ':acct:cert:' .. certKey)
    local raw = open and opener ~= '' and redis.call('HGET', prefix .. ':acct:download', open)
    if raw and cjson.decode(raw).o == opener then
      table.insert(toAdd, tostring((i - 6) / 6))
      table.insert(toAdd, open)
      table.insert(toAdd, '1')
    end
  elseif isCancelled then
    if first then dropped = dropped + 1 end
  else
    local markerKey = prefix .. ':acct:cert:' .. certKey
    local open = redis.call('GET', markerKey)
    if open then
      -- A download is in flight. Another batch's: join it (rare, so its record is rewritten). This
      -- job's own, opened by an earlier run of it (a worker killed mid-job): it is this job's again.
      local raw = redis.call('HGET', prefix .. ':acct:download', open)
      local info = raw and cjson.decode(raw)
      if first then
        local waiting = prefix .. ':acct:waiting:' .. open
        redis.call('SADD', waiting, batch)
        redis.call('EXPIRE', waiting, ttl)
        if info then
          info.j = 1
          redis.call('HSET', prefix .. ':acct:download', open, cjson.encode(info))
        end
      end
      table.insert(toAdd, tostring((i - 6) / 6))
      table.insert(toAdd, open)
      table.insert(toAdd, (info and opener ~= '' and info.o == opener) and '1' or '0')
    elseif first then
      -- The first batch rides in the job's record (b); batches that join later are in a set.
      local jobId = nextId(base)
      redis.call('SET', markerKey, jobId, 'EX', ttl)
      redis.call('HSET', prefix .. ':acct:download', jobId,
        cjson.encode({c = certKey, r = ref, o = opener, t = tonumber(now), b = batch}))
      redis.call('ZADD', prefix .. ':acct:open:download', now, jobId)
      table.insert(toAdd, tostring((i - 6) / 6))
      table.insert(toAdd, jobId)
      table.insert(toAdd, '1')
    end
  end
end
if found > 0 then redis.call('HINCRBY', batchKey(batch), 'certsFound', found) end
if alreadyStored > 0 then redis.call('HINCRBY', batchKey(batch), 'certsAlreadyStored', alreadyStored) end
if dropped > 0 then redis.call('HINCRBY', batchKey(batch), 'certsCancelled', dropped) end
expireRecords()
redis.call('EXPIRE', batchKey(batch), ttl)
return toAdd
