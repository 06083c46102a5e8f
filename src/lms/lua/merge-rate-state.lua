local key = KEYS[1]
local observed = tonumber(ARGV[3])
if observed and observed > (tonumber(redis.call('HGET', key, 'observedAt')) or 0) then
  redis.call('HSET', key, 'remaining', ARGV[1], 'resetAt', ARGV[2], 'observedAt', ARGV[3])
end
if ARGV[4] ~= '' then redis.call('HSET', key, 'cost', ARGV[4]) end
local paused = tonumber(ARGV[5])
if paused and paused > (tonumber(redis.call('HGET', key, 'pausedUntil')) or 0) then
  redis.call('HSET', key, 'pausedUntil', ARGV[5])
end
redis.call('PEXPIRE', key, 120000)
return 1
