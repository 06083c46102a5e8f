local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local reason = cjson.decode(current).reason
for i = 1, #ARGV do
  if ARGV[i] == reason then redis.call('DEL', KEYS[1]); return 1 end
end
return 0
