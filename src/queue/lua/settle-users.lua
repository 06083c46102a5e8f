--#include accounting-helpers
-- A users job settles its users itself, in one call, when it has listed them: each is done or
-- failed, or handed to a one-user job of its own (opened here, added by the caller after). Groups
-- of 5 from ARGV[8]: status ('done' | 'failed' | 'handoff'), the user's value, then
--   done: badges, rejectedCount, rejected awards listed (JSON [[ref, code, reason], ...] or '')
--   failed: code, reason, ''
--   handoff: the one-user job's id, '', ''
-- The job stays open while it holds users not settled (a call may settle some of them: each is
-- then marked settled, '~'). Run again once closed (a worker died before adding the hand-offs),
-- it settles nothing and lists the hand-offs again. → {1 settled now (-1: before), the batch
-- when this finished it or '', then pairs (value, one-user job id) of the users handed off}.
local jobId, b, by, at, now = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local users = usersKey(b)
local raw = redis.call('HGET', prefix .. ':acct:discover', jobId)
local info = raw and cjson.decode(raw) or nil
-- Every user of the job in this call (the usual way): none needs looking at one by one.
local whole = info ~= nil and #info.u == (#ARGV - 7) / 5
local done, badges = 0, 0
local handoffs = {}
for i = 8, #ARGV, 5 do
  local status, value, x, y, z = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local field = by .. ':' .. value
  local ref = by .. ' ' .. value
  local holder = (not whole) and redis.call('HGET', users, field)
  if not info then
    if holder and holder ~= jobId and holder ~= '~' then
      table.insert(handoffs, value)
      table.insert(handoffs, holder)
    end
  elseif whole or holder == jobId then
    if status == 'done' then
      done = done + 1
      badges = badges + tonumber(x)
      local listed = {}
      if z ~= '' then
        for _, r in ipairs(cjson.decode(z)) do
          table.insert(listed, r[1])
          table.insert(listed, r[2])
          table.insert(listed, r[3])
        end
      end
      rejections(b, ref, tonumber(y), listed, at)
    elseif status == 'failed' then
      fail(b, 'user', ref, x, y, at)
      userRow(b, ref, x, y)
    else
      redis.call('SADD', batchKey(b) .. ':jobs', x)
      redis.call('HSET', prefix .. ':acct:discover', x, cjson.encode({b = b, k = 'user', o = jobId, t = tonumber(now)}))
      redis.call('ZADD', prefix .. ':acct:open:discover', now, x)
      table.insert(handoffs, value)
      table.insert(handoffs, x)
    end
    if status == 'handoff' then redis.call('HSET', users, field, x)
    elseif not whole then redis.call('HSET', users, field, '~') end
  end
end
local finished = {}
if info then
  local left = false
  if not whole then
    for _, value in ipairs(info.u) do
      if redis.call('HGET', users, by .. ':' .. value) == jobId then left = true break end
    end
  end
  if not left then
    redis.call('HDEL', prefix .. ':acct:discover', jobId)
    redis.call('ZREM', prefix .. ':acct:open:discover', jobId)
  end
  if done > 0 then redis.call('HINCRBY', batchKey(b), 'usersDone', done) end
  if badges > 0 then redis.call('HINCRBY', batchKey(b), 'badgesIgnored', badges) end
  redis.call('EXPIRE', batchKey(b), tonumber(ARGV[2]))
  expireRecords()
  finishIfDone(b, at, finished)
end
local out = {info and 1 or -1, finished[1] or ''}
for _, v in ipairs(handoffs) do table.insert(out, v) end
return out
