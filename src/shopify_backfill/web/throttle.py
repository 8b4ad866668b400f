"""Throttling of password and API-key guessing, with waits that grow tier by tier.

**What is counted.** Every login attempt takes a slot in moving windows kept per account
(the normalised email, whether an account has it or not, so an unknown address is
throttled exactly like a real one and the answer tells nothing about who has an account)
and per client address. Every *failed* API-key authentication takes a slot per client
address. IPv6 clients are counted per /64, the block one subscriber usually holds.

**Growing waits.** Each key has tiers, by default ``5/minute;20/hour;100/day`` per account
and ``20/minute;100/hour;500/day`` per address (``SHOPIFY_BACKFILL_LOGIN_LIMITS_*``,
``SHOPIFY_BACKFILL_API_KEY_LIMITS_PER_ADDRESS``). The 6th try within a minute waits until
the oldest of the five is a minute old; the 21st within an hour waits for the hour, the
101st within a day for the day. The wait is sent as ``Retry-After`` (seconds) with 429.
A refused attempt takes no slot, so someone reloading the form while waiting does not
lengthen the wait, and while refused even the right password is not checked: a lockout
is no oracle.

**Why count before checking the password.** A slot is taken first ("test, then take"),
then the password is checked: a burst of parallel guesses cannot all pass between one
request's check and its count. So successful logins count too. A success clears its
*account's* windows (only the password's owner can, and their typos before it should not
shorten their next lockout) but not its *address's*: otherwise an attacker's own account
would reset the count of the address they guess other accounts from. API keys are
256-bit random values that cannot be guessed, so only failures count there; that throttle
bounds the load and the log noise of a script stuck on a revoked key.

**Where the windows live.** In Redis when ``SHOPIFY_BACKFILL_AUTH_THROTTLE_URL`` is set, so
every web process sees the same counts (it may be the Celery broker's Redis; keys start
with ``shopify-backfill-auth`` and carry a SHA-256 of the email, never the email), else in
this process's memory (one ``serve`` process; forgotten on restart). When Redis cannot be
reached, logins and API keys are refused with 503: failing open would lift the throttle
exactly when an attacker manages to knock Redis over.

**Trade-off.** The per-account limit lets anyone delay one account's logins by guessing at
it. The wait is bounded by the tiers (a day at most, by default), and the account's open
sessions and API keys keep working meanwhile.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Sequence

from fastapi import Request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from shopify_backfill.config import Settings
from shopify_backfill.web.errors import ThrottleUnavailable
from shopify_backfill.web.security import digest

log = logging.getLogger(__name__)

KEY_PREFIX = "shopify-backfill-auth"
REDIS_TIMEOUT_SECONDS = 2.0
Check = tuple[RateLimitItem, tuple[str, str]]


def client_address(request: Request) -> str:
    """The caller's address (behind a proxy, uvicorn's ``--proxy-headers`` set it); IPv6 as /64."""
    host = request.client.host if request.client else ""
    try:
        parsed = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def account_key(email: str) -> str:
    """The email as login compares it (stripped, lower case), hashed for the counter key."""
    return digest(email.strip().lower()[:320])


class AuthThrottle:
    """Moving-window counters of login and API-key attempts (see the module docstring)."""

    def __init__(
        self,
        *,
        storage: Storage,
        per_account: str,
        per_address: str,
        api_key_per_address: str,
    ) -> None:
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self._per_account = parse_many(per_account)
        self._per_address = parse_many(per_address)
        self._api_key_per_address = parse_many(api_key_per_address)

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthThrottle:
        url = settings.auth_throttle_url
        storage: Storage = (
            RedisStorage(
                url,
                key_prefix=KEY_PREFIX,
                wrap_exceptions=True,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            if url
            else MemoryStorage()
        )
        return cls(
            storage=storage,
            per_account=settings.login_limits_per_account,
            per_address=settings.login_limits_per_address,
            api_key_per_address=settings.api_key_limits_per_address,
        )

    @property
    def backend(self) -> str:
        return "redis" if isinstance(self._storage, RedisStorage) else "memory"

    def _login_checks(self, email: str, address: str, kind: str = "login") -> list[Check]:
        account = (f"{kind}-account", account_key(email))
        where = (f"{kind}-address", address)
        return [(item, account) for item in self._per_account] + [
            (item, where) for item in self._per_address
        ]

    def _api_key_checks(self, address: str) -> list[Check]:
        return [(item, ("api-key-address", address)) for item in self._api_key_per_address]

    def _wait(self, checks: Sequence[Check]) -> int | None:
        """Seconds until every full window has a free slot again, or ``None`` if none is full."""
        now = time.time()
        waits = [
            self._limiter.get_window_stats(item, *ids).reset_time - now
            for item, ids in checks
            if not self._limiter.test(item, *ids)
        ]
        return max(1, math.ceil(max(waits))) if waits else None

    def _guarded(self, action: str) -> ThrottleUnavailable:
        log.warning("the login throttle's storage is unreachable (%s)", action)
        return ThrottleUnavailable(
            "logging in is paused: the service cannot reach its attempt counters; "
            "try again in a minute (operators: check SHOPIFY_BACKFILL_AUTH_THROTTLE_URL)"
        )

    def take_login_attempt(self, email: str, address: str) -> int | None:
        """Take a slot for one login attempt; ``None`` if it may go on, else the wait (s)."""
        checks = self._login_checks(email, address)
        try:
            wait = self._wait(checks)
            if wait is not None:
                return wait
            taken = [self._limiter.hit(item, *ids) for item, ids in checks]
            # A parallel attempt took the last slot between the test and the hit.
            return None if all(taken) else self._wait(checks) or 1
        except StorageError:
            raise self._guarded("login") from None

    def take_reset_attempt(self, email: str, address: str) -> int | None:
        """Like ``take_login_attempt``, in windows of their own: asking for password
        resets sends email, so it is bounded per address and per (possibly unknown) email
        with the login tiers, without eating into the account's login attempts."""
        return self._take(self._login_checks(email, address, "reset"), "password reset")

    def take_signup_attempt(self, email: str, address: str) -> int | None:
        """Sign-ups (and invitation redemptions) run scrypt: bounded like logins."""
        return self._take(self._login_checks(email, address, "signup"), "sign-up")

    def _take(self, checks: Sequence[Check], action: str) -> int | None:
        try:
            wait = self._wait(checks)
            if wait is not None:
                return wait
            taken = [self._limiter.hit(item, *ids) for item, ids in checks]
            return None if all(taken) else self._wait(checks) or 1
        except StorageError:
            raise self._guarded(action) from None

    def login_succeeded(self, email: str) -> None:
        """Clear the account's windows (not the address's; see the module docstring)."""
        account = ("login-account", account_key(email))
        try:
            for item in self._per_account:
                self._limiter.clear(item, *account)
        except StorageError:
            raise self._guarded("login") from None

    def api_key_wait(self, address: str) -> int | None:
        """The wait (s) before this address may present an API key again, if any."""
        try:
            return self._wait(self._api_key_checks(address))
        except StorageError:
            raise self._guarded("API key") from None

    def api_key_failed(self, address: str) -> None:
        try:
            for item, ids in self._api_key_checks(address):
                self._limiter.hit(item, *ids)
        except StorageError:
            raise self._guarded("API key") from None


def describe_wait(seconds: int) -> str:
    """'45 seconds', '2 minutes', '3 hours': the wait as the login page says it."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = math.ceil(seconds / size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
