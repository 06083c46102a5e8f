--#include accounting-helpers
local b, at = ARGV[3], ARGV[4]
local c = redis.call('HMGET', batchKey(b), 'createdAt', 'doneAt', 'cancelledAt')
if not c[1] then return -1 end
if c[3] then return 0 end
if c[2] then return -2 end
redis.call('HSET', batchKey(b), 'cancelledAt', at)
return 1
