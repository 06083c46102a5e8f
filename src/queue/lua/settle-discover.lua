--#include accounting-helpers
local jobId, status, code, reason, at = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local info = closeJob('discover', jobId)
if not info then return {-1} end
local b = info.b
if info.k == 'enumeration' then
  redis.call('HSET', batchKey(b), 'enumerating', 0)
  if status == 'failed' then
    redis.call('HINCRBY', batchKey(b), 'usersTotal', 1)
    fail(b, 'user', 'all users', code, 'enumerating users failed: ' .. reason, at)
    userRow(b, 'all users', code, 'enumerating users failed: ' .. reason)
  end
elseif status == 'cancelled' then
  redis.call('HINCRBY', batchKey(b), 'usersCancelled', 1)
elseif status == 'failed' then
  fail(b, 'user', ARGV[8] or jobId, code, reason, at)
  userRow(b, ARGV[8] or jobId, code, reason)
else
  redis.call('HINCRBY', batchKey(b), 'usersDone', 1)
  if tonumber(ARGV[9]) > 0 then redis.call('HINCRBY', batchKey(b), 'badgesIgnored', tonumber(ARGV[9])) end
  local rejected, listed = tonumber(ARGV[10]), 0
  for i = 11, #ARGV, 3 do
    fail(b, 'certificate', ARGV[i], ARGV[i + 1], ARGV[i + 2], at)
    record(b, '~r:' .. ARGV[8] .. ':' .. ARGV[i], {kind = 'certificate', status = 'failed', ref = ARGV[i],
      u = ARGV[8], code = ARGV[i + 1], reason = ARGV[i + 2]})
    listed = listed + 1
  end
  if math.max(rejected, listed) > 0 then
    redis.call('HINCRBY', batchKey(b), 'certsFound', math.max(rejected, listed))
  end
  if rejected > listed then
    redis.call('HINCRBY', batchKey(b), 'certsFailed', rejected - listed)
    note(b, 'certificate', ARGV[8], 'LMS_DATA_INVALID', (rejected - listed) .. ' more unusable awards (see the job log)', at)
  end
end
redis.call('EXPIRE', batchKey(b), tonumber(ARGV[2]))
expireRecords()
local finished = {}
finishIfDone(b, at, finished)
return {1, finished[1]}
