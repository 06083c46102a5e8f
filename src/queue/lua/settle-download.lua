--#include accounting-helpers
-- ARGV[3] at, then groups of 5: jobId, status, code, reason, result record. One call settles
-- every certificate a discover job downloaded (or the one of a download job).
local at = ARGV[3]
local credited, settled = 0, 0
local touched, order = {}, {}
for i = 4, #ARGV, 5 do
  local jobId, status, code, reason, json = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local info = closeJob('download', jobId)
  if info then
    settled = settled + 1
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
    for _, b in ipairs(batches) do
      if not touched[b] then
        touched[b] = {certsStored = 0, certsCancelled = 0, certsAlreadyStored = 0}
        table.insert(order, b)
      end
      if status == 'failed' then fail(b, 'certificate', info.r, code, reason, at)
      elseif status == 'stored' then touched[b].certsStored = touched[b].certsStored + 1
      elseif status == 'cancelled' then touched[b].certsCancelled = touched[b].certsCancelled + 1
      else touched[b].certsAlreadyStored = touched[b].certsAlreadyStored + 1 end
      result(b, info.c, info.r, json)
    end
    credited = credited + #batches
  end
end
-- The counters, once per batch and field for the whole call.
for _, b in ipairs(order) do
  for field, n in pairs(touched[b]) do
    if n > 0 then redis.call('HINCRBY', batchKey(b), field, n) end
  end
end
expireRecords()
local finished = {}
for _, b in ipairs(order) do finishIfDone(b, at, finished) end
local out = {settled == 0 and -1 or credited}
for _, b in ipairs(finished) do table.insert(out, b) end
return out
