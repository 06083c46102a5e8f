--#include accounting-helpers
local jobId, status, code, reason, at = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local info = closeJob('discover', jobId)
if not info then return {-1} end
local b = info.b
-- Users this settle ended (a users job's that it still held; 1 for a user or an enumeration).
local ended = 1
if info.k == 'users' then
  -- A users job that ended without settling its users itself (it failed as a whole, was
  -- cancelled or removed): each user it still holds ends with it.
  local n = 0
  for _, value in ipairs(info.u) do
    local field = info.by .. ':' .. value
    if redis.call('HGET', usersKey(b), field) == jobId then
      n = n + 1
      if status == 'failed' then
        fail(b, 'user', info.by .. ' ' .. value, code, reason, at)
        userRow(b, info.by .. ' ' .. value, code, reason)
      end
    end
  end
  if n > 0 and status ~= 'failed' then
    redis.call('HINCRBY', batchKey(b), status == 'cancelled' and 'usersCancelled' or 'usersDone', n)
  end
  ended = n
elseif info.k == 'enumeration' then
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
  rejections(b, ARGV[8], tonumber(ARGV[10]), {unpack(ARGV, 11)}, at)
end
redis.call('EXPIRE', batchKey(b), tonumber(ARGV[2]))
expireRecords()
local finished = {}
finishIfDone(b, at, finished)
return {ended, finished[1]}
