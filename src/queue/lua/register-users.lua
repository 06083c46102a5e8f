--#include accounting-helpers
-- Users to discover, K to a job: each user new to the batch joins a users job opened here; a
-- user the batch has already is left where it is (and its job listed again while still open, so
-- that a producer that died between registering and adding adds it on its next run).
local batch, now, opener, by, k, base = ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8]
if cancelled(batch) then return -1 end
local users = usersKey(batch)
local out, again, fresh, inCall = {}, {}, {}, {}
for i = 9, #ARGV do
  local value = ARGV[i]
  if not inCall[value] then
    inCall[value] = true
    local holder = redis.call('HGET', users, by .. ':' .. value)
    if not holder then
      table.insert(fresh, value)
    elseif not again[holder] then
      again[holder] = true
      local raw = redis.call('HGET', prefix .. ':acct:discover', holder)
      local info = raw and cjson.decode(raw)
      if info and info.u then
        table.insert(out, holder)
        table.insert(out, cjson.encode(info.u))
      end
    end
  end
end
local groups = math.ceil(#fresh / k)
if groups > 0 then
  -- The batch's users jobs are numbered in order (`<base>.1`, `<base>.2`…).
  local last = redis.call('HINCRBY', batchKey(batch), 'usersJobs', groups)
  local jobs = batchKey(batch) .. ':jobs'
  for g = 1, groups do
    local jobId = base .. '.' .. (last - groups + g)
    local members, holders = {}, {}
    for i = (g - 1) * k + 1, math.min(g * k, #fresh) do
      table.insert(members, fresh[i])
      table.insert(holders, by .. ':' .. fresh[i])
      table.insert(holders, jobId)
    end
    redis.call('HSET', users, unpack(holders))
    redis.call('SADD', jobs, jobId)
    redis.call('HSET', prefix .. ':acct:discover', jobId,
      cjson.encode({b = batch, k = 'users', by = by, u = members, o = opener, t = tonumber(now)}))
    redis.call('ZADD', prefix .. ':acct:open:discover', now, jobId)
    table.insert(out, jobId)
    table.insert(out, cjson.encode(members))
  end
  redis.call('EXPIRE', jobs, tonumber(ARGV[2]))
  redis.call('EXPIRE', users, tonumber(ARGV[2]))
  redis.call('HINCRBY', batchKey(batch), 'usersTotal', #fresh)
end
return out
