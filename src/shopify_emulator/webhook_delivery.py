"""Sending webhooks as Shopify does: signed POSTs, off the request path, retried.

A change on the store (``orders/create``, ``customers/update``, ...) becomes one *event*
(one ``X-Shopify-Event-Id``) and one *delivery* per subscribed address (one
``X-Shopify-Webhook-Id``, the same on every retry and duplicate, which is what a
receiver deduplicates on). A single worker thread sends deliveries in order; a request
that changed the store returns before anything is sent.

- Signature: ``X-Shopify-Hmac-Sha256`` is base64 of HMAC-SHA256 over the raw body, keyed
  with the app's client secret (https://shopify.dev/docs/apps/build/webhooks/subscribe/https).
- A delivery answered non-2xx, or not answered within ``webhook_timeout_seconds`` (5 s,
  Shopify's), is retried after each wait of ``webhook_retry_delays_seconds`` in turn
  (exponential, like Shopify's 8 retries over 4 hours), then recorded ``failed``.
- Faults (``FaultPlan``, switchable through ``/emulator/faults``): every delivery twice,
  deliveries shuffled within a window, a share dropped; all draws from the plan's seed.
- Every attempt is recorded (``records()``, ``GET /emulator/webhooks``) with the answer.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from shopify_emulator.config import FaultPlan
from shopify_emulator.faults import FaultInjector

USER_AGENT = "Shopify-Captain-Hook"
MAX_RECORDS = 10_000
"""Attempts kept in the record (oldest forgotten first): a long served run stays bounded."""


def signature(secret: str, body: bytes) -> str:
    """``X-Shopify-Hmac-Sha256``: base64 of HMAC-SHA256 of the raw body with the app secret."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _stamp(epoch: float) -> str:
    """Shopify's ``X-Shopify-Triggered-At`` shape: UTC, fractional seconds, ``Z``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(slots=True)
class Delivery:
    """One event for one address; ``attempt`` counts the sends so far."""

    address: str
    topic: str
    body: bytes
    webhook_id: str
    event_id: str
    triggered_at: str
    copy: int = 0
    """0 for the delivery itself, 1 for the duplicate a fault adds."""
    attempt: int = 0
    queued_at: float = 0.0


@dataclass
class _Queue:
    fresh: list[Delivery] = field(default_factory=list)
    due: list[tuple[float, int, Delivery]] = field(default_factory=list)
    busy: int = 0


class WebhookDispatcher:
    """The emulator's webhook sender: one background thread, started on first use."""

    def __init__(
        self,
        *,
        secret: str,
        shop_domain: str,
        api_version: str,
        faults: FaultInjector,
        timeout_seconds: float = 5.0,
        retry_delays_seconds: tuple[float, ...] = (1.0, 2.0, 4.0),
        reorder_wait_seconds: float = 0.5,
        wall_clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._secret = secret
        self.shop_domain = shop_domain
        self.api_version = api_version
        self._faults = faults
        self._timeout = timeout_seconds
        self._delays = retry_delays_seconds
        self._reorder_wait = reorder_wait_seconds
        self._wall_clock = wall_clock
        self._transport = transport
        self._cond = threading.Condition()
        self._queue = _Queue()
        self._order = itertools.count()
        self._records: list[dict[str, Any]] = []
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._rng_plan: FaultPlan | None = None
        self._rng = random.Random(0)

    # ------------------------------------------------------------------ intake

    def publish(self, topic: str, payload: Any, addresses: list[str]) -> str:
        """Queue one event for every address; returns its ``X-Shopify-Event-Id``."""
        event_id = str(uuid.uuid4())
        body = orjson.dumps(payload)
        triggered = _stamp(self._wall_clock())
        deliveries = [
            Delivery(address, topic, body, str(uuid.uuid4()), event_id, triggered)
            for address in addresses
        ]
        with self._cond:
            if self._stopping:
                return event_id
            now = time.monotonic()
            for delivery in deliveries:
                delivery.queued_at = now
            self._queue.fresh.extend(deliveries)
            self._ensure_thread()
            self._cond.notify_all()
        return event_id

    def records(self) -> list[dict[str, Any]]:
        """Every attempt so far (oldest first), with the receiver's answer."""
        with self._cond:
            return [dict(record) for record in self._records]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is queued, due or in flight; ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue.fresh or self._queue.due or self._queue.busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        """Stop the worker; deliveries not yet sent are abandoned (as a stopped shop would)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(self._timeout + 2.0)

    # ------------------------------------------------------------------ worker

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="emulator-webhooks", daemon=True)
            self._thread.start()

    def _rng_for(self, plan: FaultPlan) -> random.Random:
        if plan is not self._rng_plan:
            self._rng_plan = plan
            self._rng = random.Random(plan.seed)
        return self._rng

    def _admit(self, now: float) -> float | None:
        """Move fresh deliveries to the due heap, applying faults; returns a wake-up time."""
        queue = self._queue
        if not queue.fresh:
            return None
        plan = self._faults.plan
        window = plan.webhook_reorder_window
        if window >= 2 and len(queue.fresh) < window:
            ready_at = queue.fresh[0].queued_at + self._reorder_wait
            if now < ready_at:
                return ready_at
        batch = queue.fresh[: window if window >= 2 else None]
        del queue.fresh[: len(batch)]
        rng = self._rng_for(plan)
        if window >= 2:
            rng.shuffle(batch)
        for delivery in batch:
            if plan.webhook_drop_rate and rng.random() < plan.webhook_drop_rate:
                self._record(delivery, outcome="dropped", status=None, error=None)
                continue
            copies = [delivery]
            if plan.webhook_duplicates:
                twin = Delivery(
                    delivery.address,
                    delivery.topic,
                    delivery.body,
                    delivery.webhook_id,
                    delivery.event_id,
                    delivery.triggered_at,
                    copy=1,
                )
                copies.append(twin)
            for copy in copies:
                heapq.heappush(queue.due, (now, next(self._order), copy))
        return now if queue.fresh else None

    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout, transport=self._transport) as client:
            while True:
                with self._cond:
                    delivery = self._next()
                    if delivery is None:
                        return
                    self._queue.busy += 1
                try:
                    self._attempt(client, delivery)
                finally:
                    with self._cond:
                        self._queue.busy -= 1
                        self._cond.notify_all()

    def _next(self) -> Delivery | None:
        """The next due delivery, waiting as needed (called holding the lock)."""
        queue = self._queue
        while not self._stopping:
            now = time.monotonic()
            wake = self._admit(now)
            if queue.due and queue.due[0][0] <= now:
                return heapq.heappop(queue.due)[2]
            times = [t for t in (wake, queue.due[0][0] if queue.due else None) if t is not None]
            self._cond.notify_all()
            self._cond.wait(max(0.0, min(times) - now) if times else None)
        return None

    def _attempt(self, client: httpx.Client, delivery: Delivery) -> None:
        delivery.attempt += 1
        status: int | None = None
        error: str | None = None
        try:
            response = client.post(
                delivery.address, content=delivery.body, headers=self._headers(delivery)
            )
            status = response.status_code
        except httpx.TimeoutException:
            error = f"timeout after {self._timeout:g} s"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"
        delivered = status is not None and 200 <= status < 300
        retries_left = delivery.attempt <= len(self._delays)
        outcome = "delivered" if delivered else ("retry" if retries_left else "failed")
        with self._cond:
            self._record(delivery, outcome=outcome, status=status, error=error)
            if outcome == "retry":
                due = time.monotonic() + self._delays[delivery.attempt - 1]
                heapq.heappush(self._queue.due, (due, next(self._order), delivery))

    def _headers(self, delivery: Delivery) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Shopify-Topic": delivery.topic,
            "X-Shopify-Hmac-Sha256": signature(self._secret, delivery.body),
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Webhook-Id": delivery.webhook_id,
            "X-Shopify-Event-Id": delivery.event_id,
            "X-Shopify-Triggered-At": delivery.triggered_at,
        }

    def _record(
        self, delivery: Delivery, *, outcome: str, status: int | None, error: str | None
    ) -> None:
        """Append one attempt (called holding the lock)."""
        self._records.append(
            {
                "webhook_id": delivery.webhook_id,
                "event_id": delivery.event_id,
                "topic": delivery.topic,
                "address": delivery.address,
                "attempt": delivery.attempt,
                "duplicate": delivery.copy > 0,
                "outcome": outcome,
                "status": status,
                "error": error,
                "triggered_at": delivery.triggered_at,
                "sent_at": _stamp(self._wall_clock()) if outcome != "dropped" else None,
                "body": delivery.body.decode(),
            }
        )
        if len(self._records) > MAX_RECORDS:
            del self._records[: len(self._records) - MAX_RECORDS]
