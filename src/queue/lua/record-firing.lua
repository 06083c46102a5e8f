local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local ok, prev = pcall(cjson.decode, current)
  if ok and type(prev) == 'table' and type(prev.firedAt) == 'string' and prev.firedAt > ARGV[2] then
    return 0
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
