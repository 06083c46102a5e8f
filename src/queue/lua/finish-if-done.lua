--#include accounting-helpers
local finished = {}
finishIfDone(ARGV[3], ARGV[4], finished)
return {0, finished[1]}
