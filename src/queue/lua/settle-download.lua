--#include accounting-helpers
local jobId, status, code, reason, at = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local info = closeJob('download', jobId)
if not info then return {-1} end
local markerKey = prefix .. ':acct:cert:' .. info.c
if redis.call('GET', markerKey) == jobId then redis.call('DEL', markerKey) end
local batches = {}
if info.b then table.insert(batches, info.b) end
-- Batches that joined the download (j), or a record written before b existed: the set.
if info.j or not info.b then
  local waitingKey = prefix .. ':acct:waiting:' .. jobId
  for _, b in ipairs(redis.call('SMEMBERS', waitingKey)) do
    if b ~= info.b then table.insert(batches, b) end
  end
  redis.call('DEL', waitingKey)
end
local finished = {}
for _, b in ipairs(batches) do
  if status == 'failed' then fail(b, 'certificate', info.r, code, reason, at)
  elseif status == 'stored' then redis.call('HINCRBY', batchKey(b), 'certsStored', 1)
  elseif status == 'cancelled' then redis.call('HINCRBY', batchKey(b), 'certsCancelled', 1)
  else redis.call('HINCRBY', batchKey(b), 'certsAlreadyStored', 1) end
  result(b, info.c, info.r, ARGV[8])
  finishIfDone(b, at, finished)
end
local out = {#batches}
for _, b in ipairs(finished) do table.insert(out, b) end
return out
