-- GCRA for one budget, atomically (Redis runs a script alone).
-- KEYS[1]: the budget. ARGV[1]: now (ms), ARGV[2]: the interval between two
-- requests (ms, window / quota), ARGV[3]: the burst (the quota).
-- The value kept is the budget's "theoretical arrival time": when it would be
-- full again. It expires then, so a full budget takes no memory.
-- Returns {1, 0} when allowed (and spent), {0, ms until allowed} when not.
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if now < allow_at then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', string.format('%d', new_tat - now))
return {1, 0}
