"""Admin GraphQL client: paced by the leaky bucket, retried with backoff, classified errors.

One client per access token. Threads may share it (the bulk extraction polls two jobs
concurrently); the pacer is the shared piece. The transport is injectable, so tests run
the same client against the in-process emulator or a real port.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import msgspec
from pydantic import SecretStr

from shopify_backfill.clock import Clock, SystemClock
from shopify_backfill.config import API_VERSION
from shopify_backfill.shopify.cost import estimate_cost
from shopify_backfill.shopify.errors import NetworkError, PayloadError, ShopifyTransient, Throttled
from shopify_backfill.shopify.pacing import CostPacer, Pacer
from shopify_backfill.shopify.responses import Envelope, check_http, has_data, parse_graphql
from shopify_backfill.shopify.retry import RetryNotice, RetryObserver, RetryPolicy

T = TypeVar("T")

USER_AGENT = "shopify-backfill/0.1"


@dataclass
class ClientStats:
    """What the client did, for progress reports, pacing tests and the final report."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    requested_cost: int = 0
    actual_cost: int = 0
    first_request_at: float | None = None
    last_response_at: float | None = None
    initial_available: float | None = None
    restore_rate: float | None = None
    errors: dict[str, int] = field(default_factory=dict)


class AdminClient:
    """Talks to one shop's Admin API with one token."""

    def __init__(
        self,
        *,
        api_url: str,
        token: SecretStr | str,
        api_version: str = API_VERSION,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        jitter: Callable[[], float] | None = None,
        on_retry: RetryObserver | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        """``pacer`` defaults to this client's own mirror of the shop's bucket; workers on
        one shop pass a shared one (``shared_pacing.RedisCostPacer``)."""
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)
        self.api_url = api_url.rstrip("/")
        self.api_version = api_version
        self.clock = clock or SystemClock()
        self.retry = retry or RetryPolicy()
        self.pacer: Pacer = pacer or CostPacer(self.clock)
        self.stats = ClientStats()
        self._stats_lock = threading.Lock()
        self._jitter = jitter
        self._on_retry = on_retry
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=10.0),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )
        self._download = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=10.0),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
        )

    @property
    def graphql_url(self) -> str:
        return f"{self.api_url}/admin/api/{self.api_version}/graphql.json"

    def close(self) -> None:
        self._http.close()
        self._download.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        allow_search_warnings: bool = False,
    ) -> Envelope:
        """Send one query, paced and retried; the envelope holds complete data or it raises."""
        cost = estimate_cost(query, variables)
        payload = msgspec.json.encode({"query": query, "variables": variables or {}})
        attempt = 0
        while True:
            attempt += 1
            self.pacer.acquire(cost)
            status = None
            try:
                envelope = self._post(payload, allow_search_warnings)
            except ShopifyTransient as error:
                status = error.throttle_status
                self.pacer.release(cost, status)
                self._count_error(error)
                if self.retry.gives_up_after(attempt):
                    raise
                delay = self.retry.delay(attempt, error.retry_after, *self._draw())
                if isinstance(error, Throttled) and status is not None:
                    deficit = cost - status.currently_available
                    delay = max(delay, deficit / max(status.restore_rate, 1e-9))
                with self._stats_lock:
                    self.stats.retries += 1
                if self._on_retry is not None:
                    self._on_retry(RetryNotice(attempt, self.retry.max_attempts, delay, str(error)))
                self.clock.sleep(delay)
                continue
            except BaseException:
                self.pacer.release(cost, None)
                raise
            self._record_success(envelope)
            cost_info = envelope.extensions.cost if envelope.extensions else None
            self.pacer.release(cost, cost_info.throttle_status if cost_info else None)
            return envelope

    def data(
        self,
        query: str,
        variables: dict[str, Any] | None,
        type_: type[T],
        *,
        allow_search_warnings: bool = False,
    ) -> T:
        """Send a query and decode its ``data`` straight into ``type_``."""
        envelope = self.graphql(query, variables, allow_search_warnings=allow_search_warnings)
        if not has_data(envelope):
            raise PayloadError("Shopify answered without data")
        try:
            return msgspec.json.decode(envelope.data, type=type_)
        except msgspec.ValidationError as error:
            raise PayloadError(f"unexpected shape in Shopify's answer: {error}") from None

    def _draw(self) -> tuple[Callable[[], float]] | tuple[()]:
        return (self._jitter,) if self._jitter is not None else ()

    def _post(self, payload: bytes, allow_search_warnings: bool) -> Envelope:
        with self._stats_lock:
            self.stats.requests += 1
            if self.stats.first_request_at is None:
                self.stats.first_request_at = self.clock.monotonic()
        try:
            response = self._http.post(
                self.graphql_url,
                content=payload,
                headers={
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                    "X-Shopify-Access-Token": self._token.get_secret_value(),
                },
            )
        except httpx.TransportError as error:
            raise NetworkError(f"could not reach {self.graphql_url}: {error!r}") from None
        with self._stats_lock:
            self.stats.last_response_at = self.clock.monotonic()
        return parse_graphql(
            response.status_code,
            response.headers,
            response.content,
            allow_search_warnings=allow_search_warnings,
        )

    def _record_success(self, envelope: Envelope) -> None:
        cost = envelope.extensions.cost if envelope.extensions else None
        if cost is None:
            return
        with self._stats_lock:
            self.stats.requested_cost += cost.requested_query_cost or 0
            self.stats.actual_cost += cost.actual_query_cost or 0
            status = cost.throttle_status
            if status is not None:
                if self.stats.initial_available is None:
                    spent = cost.actual_query_cost or 0
                    self.stats.initial_available = status.currently_available + spent
                self.stats.restore_rate = status.restore_rate

    def _count_error(self, error: ShopifyTransient) -> None:
        with self._stats_lock:
            name = type(error).__name__
            self.stats.errors[name] = self.stats.errors.get(name, 0) + 1
            if isinstance(error, Throttled):
                self.stats.throttled += 1

    def budget_used(self) -> float | None:
        """Share of the cost budget available over the run that was actually spent."""
        stats = self.stats
        if (
            stats.first_request_at is None
            or stats.last_response_at is None
            or stats.initial_available is None
            or stats.restore_rate is None
        ):
            return None
        duration = stats.last_response_at - stats.first_request_at
        available = stats.initial_available + duration * stats.restore_rate
        return stats.actual_cost / available if available > 0 else None

    @contextmanager
    def download(self, url: str, start: int = 0) -> Iterator[Iterator[bytes]]:
        """Stream a bulk result file from byte ``start``; cuts surface as ``NetworkError``.

        The URL is a signed link on another host: the access token is never sent there.
        """
        headers = {"Accept-Encoding": "identity"}
        if start > 0:
            headers["Range"] = f"bytes={start}-"
        try:
            with self._download.stream("GET", url, headers=headers) as response:
                if response.status_code == 416:
                    yield iter(())
                    return
                if start > 0 and response.status_code != 206:
                    if response.status_code >= 400:
                        response.read()
                        check_http(response.status_code, response.headers, response.content)
                    raise NetworkError(
                        f"the download server ignored the byte range (HTTP "
                        f"{response.status_code}); restart the file from the beginning"
                    )
                if response.status_code >= 400:
                    response.read()
                    check_http(response.status_code, response.headers, response.content)
                yield _guarded(response.iter_raw())
        except httpx.TransportError as error:
            raise NetworkError(f"bulk result download was cut: {error!r}") from None


def _guarded(chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from chunks
    except httpx.TransportError as error:
        raise NetworkError(f"bulk result download was cut: {error!r}") from None
