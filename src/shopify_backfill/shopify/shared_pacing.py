"""One shop's Shopify cost budget shared by every worker process, through Redis.

Shopify keeps one leaky bucket per app and shop. ``CostPacer`` mirrors it inside one
process; N workers on the same shop with N private mirrors would each believe the whole
bucket is theirs and be throttled N times as often. ``RedisCostPacer`` keeps the mirror in
Redis instead: the last reported ``throttleStatus`` (with Redis' own clock, so every
machine projects the same bucket) and the reservations of the requests in flight.

Rate-limiting libraries (``limits``, ``pyrate-limiter``) count what the client spends
against a fixed rate; they cannot adopt the bucket the server reports after each answer,
which is what keeps a paced client unthrottled while spending nearly the whole budget.
So the projection is the in-process pacer's, moved into two small Lua scripts that run
atomically in Redis. Each reservation expires after ``lease_seconds`` (longer than a
request can take), so a worker killed mid-request does not hold its points forever.
Before the first report, one request at a time probes the bucket.
"""

from __future__ import annotations

import hashlib
import threading
import uuid

import redis

from shopify_backfill.clock import Clock
from shopify_backfill.shopify.throttle import ThrottleStatus

KEY_PREFIX = "shopify-backfill:pacer:"

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

_RESERVED = """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local reserved = 0
local live = redis.call('ZRANGE', KEYS[2], 0, -1)
for _, member in ipairs(live) do
  reserved = reserved + tonumber(string.match(member, '|([^|]+)$'))
end
"""

_ACQUIRE = (
    _NOW
    + _RESERVED
    + """
local cost = tonumber(ARGV[1])
local function take()
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[5]))
  return '0'
end
local s = redis.call('HMGET', KEYS[1], 'maximum', 'available', 'rate', 'at')
if not s[1] then
  if #live == 0 then return take() end
  return '0.05'
end
local maximum, available, rate = tonumber(s[1]), tonumber(s[2]), tonumber(s[3])
local projected = math.min(maximum, available + math.max(0, now - tonumber(s[4])) * rate)
projected = projected - reserved
local needed = math.min(cost, maximum) + tonumber(ARGV[2])
if projected >= needed then return take() end
return tostring(math.max((needed - projected) / math.max(rate, 1e-9), 0.001))
"""
)

_RELEASE = (
    _NOW
    + """
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'maximum', ARGV[3], 'available', ARGV[4], 'rate', ARGV[5],
             'at', tostring(now))
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
end
return 1
"""
)

_PROJECT = (
    _NOW
    + _RESERVED
    + """
local s = redis.call('HMGET', KEYS[1], 'maximum', 'available', 'rate', 'at')
if not s[1] then return false end
local maximum, available, rate = tonumber(s[1]), tonumber(s[2]), tonumber(s[3])
local projected = math.min(maximum, available + math.max(0, now - tonumber(s[4])) * rate)
return tostring(projected - reserved)
"""
)


def bucket_key(shop_domain: str, token: str) -> str:
    """Redis key of one app's bucket on one shop; the token appears only as a digest."""
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    return f"{KEY_PREFIX}{shop_domain}:{digest}"


class RedisCostPacer:
    """``CostPacer``'s interface over a bucket mirror that every process shares."""

    def __init__(
        self,
        client: redis.Redis,
        key: str,
        clock: Clock,
        *,
        safety_margin: float = 0.0,
        lease_seconds: float = 120.0,
        idle_expiry_seconds: int = 3_600,
    ) -> None:
        self._redis = client
        self._state = key
        self._reservations = key + ":inflight"
        self._clock = clock
        self._safety = safety_margin
        self._lease = lease_seconds
        self._expiry = idle_expiry_seconds
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)
        self._project = client.register_script(_PROJECT)
        self._held: dict[float, list[str]] = {}
        self._held_lock = threading.Lock()
        self.waited_seconds = 0.0

    def projected_available(self) -> float | None:
        answer = self._project(keys=[self._state, self._reservations])
        return None if answer is None else float(answer)

    def acquire(self, cost: float) -> None:
        """Block until ``cost`` points fit in the shared projected bucket, then reserve them."""
        member = f"{uuid.uuid4().hex}|{cost}"
        while True:
            answer = self._acquire(
                keys=[self._state, self._reservations],
                args=[cost, self._safety, member, self._lease, self._expiry],
            )
            wait = float(answer)
            if wait == 0:
                with self._held_lock:
                    self._held.setdefault(cost, []).append(member)
                return
            self.waited_seconds += wait
            self._clock.sleep(wait)

    def release(self, cost: float, status: ThrottleStatus | None) -> None:
        """Drop one reservation of ``cost`` and adopt Shopify's reported bucket, if any."""
        with self._held_lock:
            held = self._held.get(cost)
            member = held.pop() if held else ""
        report: list[str | float] = (
            ["1", status.maximum_available, status.currently_available, status.restore_rate]
            if status is not None
            else ["0", 0, 0, 0]
        )
        self._release(keys=[self._state, self._reservations], args=[member, *report, self._expiry])
