--#include accounting-helpers
local batch = ARGV[3]
local alone = {}
local left = 0
for i = 4, #ARGV do
  local jobId = ARGV[i]
  local raw = redis.call('HGET', prefix .. ':acct:download', jobId)
  if raw then
    local info = cjson.decode(raw)
    local waitingKey = prefix .. ':acct:waiting:' .. jobId
    local mine = info.b == batch or redis.call('SISMEMBER', waitingKey, batch) == 1
    local others = (info.b and info.b ~= batch) and 1 or 0
    if info.j or not info.b then
      for _, w in ipairs(redis.call('SMEMBERS', waitingKey)) do
        if w ~= batch and w ~= info.b then others = others + 1 end
      end
    end
    if mine and others == 0 then
      local markerKey = prefix .. ':acct:cert:' .. info.c
      if redis.call('GET', markerKey) == jobId then redis.call('DEL', markerKey) end
      table.insert(alone, jobId)
    elseif mine then
      if info.b == batch then
        info.b = nil
        info.j = 1
        redis.call('HSET', prefix .. ':acct:download', jobId, cjson.encode(info))
      end
      redis.call('SREM', waitingKey, batch)
      record(batch, info.c, {status = 'cancelled'})
      left = left + 1
    end
  end
end
if left > 0 then redis.call('HINCRBY', batchKey(batch), 'certsCancelled', left) end
expireRecords()
return alone
