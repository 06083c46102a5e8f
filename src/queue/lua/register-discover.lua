--#include accounting-helpers
local batch, now, kind, opener = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if cancelled(batch) then return -1 end
local users = batchKey(batch) .. ':jobs'
local added = 0
for i = 7, #ARGV do
  local jobId = ARGV[i]
  if redis.call('SADD', users, jobId) == 1 then
    redis.call('HSET', prefix .. ':acct:discover', jobId, cjson.encode({b = batch, k = kind, o = opener, t = tonumber(now)}))
    redis.call('ZADD', prefix .. ':acct:open:discover', now, jobId)
    if kind == 'user' then added = added + 1 end
  end
end
redis.call('EXPIRE', users, tonumber(ARGV[2]))
if added > 0 then redis.call('HINCRBY', batchKey(batch), 'usersTotal', added) end
return added
