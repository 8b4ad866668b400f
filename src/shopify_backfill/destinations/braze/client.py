"""Braze's ``/users/track`` over httpx: the rate limit, retries and what answers mean.

- 201 (``success``, maybe with non-fatal ``errors`` per object) and 202 (``queued``)
  are accepted: Braze processed or will process the request; the object errors are
  returned so the ledger keeps them beside the request.
- 429 and 5xx, resets and timeouts are retried with capped exponential backoff and full
  jitter, waiting at least ``Retry-After`` (or until ``X-RateLimit-Reset``).
- 401 is a refused key, 403 a key without ``users.track``: ``BrazeAuthError``, at once.
- any other 4xx refuses the request whole: ``BrazeRejected`` with Braze's message.

Braze's answers: https://www.braze.com/docs/api/errors/ ; limits:
https://www.braze.com/docs/api/api_limits/ .
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from shopify_backfill.destinations.braze.errors import (
    BrazeAuthError,
    BrazeEndpointError,
    BrazeRejected,
    BrazeUnavailable,
)
from shopify_backfill.destinations.braze.limiter import RequestLimiter
from shopify_backfill.shopify.retry import RetryPolicy

TRACK_PATH = "/users/track"
MAX_THROTTLED = 100
"""429s one request waits out before the run stops (resumable): minutes of throttling."""
_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
"""httpcore writes a request's headers and body separately; with Nagle on, the body's
last segment waits for the delayed ACK of the headers (about 40 ms on Linux), which
capped one sender at about 22 requests/s against a local Braze stand-in."""


@dataclass(frozen=True, slots=True)
class TrackAnswer:
    """An accepted request: Braze's status and its per-object (non-fatal) errors."""

    status: int
    errors: list[Any] = field(default_factory=list)

    @property
    def queued(self) -> bool:
        return self.status == 202


def _header_number(response: httpx.Response, name: str) -> float | None:
    value = response.headers.get(name)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:300]
    return response.reason_phrase


class DeliveryUnknown(Exception):  # noqa: N818 - an outcome, not a failure
    """The request was sent but no answer came (reset, timeout while reading): Braze may
    hold it. Raised instead of resending when resending could double events."""


_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError)
"""Failures before Braze had the whole request: always safe to send again."""


class BrazeClient:
    """One destination's connection to Braze; thread-safe (one ``httpx.Client``)."""

    def __init__(
        self,
        rest_endpoint: str,
        api_key: SecretStr,
        limiter: RequestLimiter,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rest_endpoint = rest_endpoint
        self._limiter = limiter
        self._retry = retry or RetryPolicy(max_attempts=8, base_delay=0.5, max_delay=30.0)
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=rest_endpoint,
            transport=transport or httpx.HTTPTransport(socket_options=_NO_DELAY),
            timeout=_TIMEOUT,
            headers={
                "Authorization": f"Bearer {api_key.get_secret_value()}",
                "Content-Type": "application/json",
            },
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> BrazeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def track(self, body: bytes, *, resend_if_unsure: bool) -> TrackAnswer:
        """Send one ``/users/track`` body until Braze accepts or refuses it.

        ``resend_if_unsure`` is false for a body with events or purchases: when the
        request went out and no answer came back, ``DeliveryUnknown`` is raised instead of
        sending it again (see ``ledger``: at most once for what Braze cannot dedupe).
        """
        response = self._answer(body, resend_if_unsure=resend_if_unsure)
        if response.status_code in (200, 201, 202):
            return TrackAnswer(response.status_code, _object_errors(response))
        raise _refusal(response)

    def check_key(self) -> None:
        """Prove the key works and may call ``/users/track``, sending nothing.

        An empty body passes authentication and the permission check and is then
        refused for its content (400): that 400 is the proof. 401/403 come first.
        """
        response = self._answer(b"{}", resend_if_unsure=True)
        if response.status_code not in (200, 201, 202, 400):
            raise _refusal(response)

    def _answer(self, body: bytes, *, resend_if_unsure: bool) -> httpx.Response:
        """Braze's first answer that is not worth retrying (2xx or a refusal)."""
        attempt = throttled = 0
        while True:
            attempt += 1
            self._limiter.acquire()
            try:
                response = self._http.post(TRACK_PATH, content=body)
            except httpx.TransportError as error:
                reason = f"{type(error).__name__}: {error}"
                if not resend_if_unsure and not isinstance(error, _NOT_SENT):
                    raise DeliveryUnknown(reason) from error
                self._wait_or_give_up(attempt, None, reason)
                continue
            self._limiter.observe(
                _int(_header_number(response, "X-RateLimit-Remaining")),
                _header_number(response, "X-RateLimit-Reset"),
            )
            status = response.status_code
            if status == 429:
                # Throttling is the limit working, not Braze failing: it has its own,
                # larger budget, and each wait lasts until Braze's window resets.
                throttled += 1
                attempt -= 1
                if throttled > MAX_THROTTLED:
                    raise BrazeUnavailable(
                        f"Braze at {self.rest_endpoint} kept answering 429 ({throttled} "
                        "times): another client may be using the workspace's whole limit"
                    )
                self._sleep(self._retry.delay(1, _retry_after(response), random.random))
                continue
            if status >= 500:
                self._wait_or_give_up(attempt, _retry_after(response), f"HTTP {status}")
                continue
            return response

    def _wait_or_give_up(self, attempt: int, retry_after: float | None, reason: str) -> None:
        if self._retry.gives_up_after(attempt):
            raise BrazeUnavailable(
                f"Braze at {self.rest_endpoint} did not accept the request after "
                f"{attempt} attempts ({reason})"
            )
        self._sleep(self._retry.delay(attempt, retry_after, random.random))


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _retry_after(response: httpx.Response) -> float | None:
    after = _header_number(response, "Retry-After")
    if after is not None:
        return after
    reset = _header_number(response, "X-RateLimit-Reset")
    if response.status_code == 429 and reset is not None:
        return max(0.0, reset - time.time())
    return None


def _object_errors(response: httpx.Response) -> list[Any]:
    try:
        body = orjson.loads(response.content) if response.content else {}
    except orjson.JSONDecodeError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return list(errors) if isinstance(errors, list) else []


def _refusal(response: httpx.Response) -> Exception:
    status = response.status_code
    message = _message(response)
    if status == 401:
        return BrazeAuthError(
            f"Braze refused the API key (401: {message}); check the key and the REST "
            "endpoint of the workspace it belongs to"
        )
    if status == 403:
        return BrazeAuthError(
            f"the Braze API key lacks the users.track permission (403: {message}); give "
            "the key users.track in Braze (Settings > APIs and Identifiers)"
        )
    if status == 404:
        return BrazeEndpointError(
            f"{response.request.url} answered 404: is the REST endpoint right? It looks "
            "like https://rest.iad-01.braze.com (see Settings > APIs and Identifiers)"
        )
    return BrazeRejected(f"Braze refused the request ({status}: {message})")
