"""The one place that turns an HTTP response from Shopify into data or a classified error.

Shopify reports failures in many shapes: HTTP 401/402/403/423/429/5xx with a string
``errors``, HTTP 200 with ``errors[].extensions.code`` (``THROTTLED``, ``ACCESS_DENIED``,
``MAX_COST_EXCEEDED``, ``INTERNAL_SERVER_ERROR``), partial ``data`` next to field errors,
and ``extensions.search`` warnings that mean a filter was silently dropped. Deciding
transient vs terminal here, once, keeps the retry loop and every caller honest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from shopify_backfill.shopify.errors import (
    AuthError,
    NetworkError,
    ProtectedDataError,
    QueryError,
    ScopeError,
    SearchWarning,
    ServerError,
    Throttled,
)
from shopify_backfill.shopify.throttle import ThrottleStatus


class Cost(msgspec.Struct, rename="camel"):
    requested_query_cost: int | None = None
    actual_query_cost: int | None = None
    throttle_status: ThrottleStatus | None = None


class SearchEntry(msgspec.Struct):
    path: list[str | int] = msgspec.field(default_factory=list)
    query: str | None = None
    warnings: list[dict[str, Any]] = msgspec.field(default_factory=list)


class Extensions(msgspec.Struct):
    cost: Cost | None = None
    search: list[SearchEntry] = msgspec.field(default_factory=list)


class Envelope(msgspec.Struct):
    """A GraphQL response with ``data`` left undecoded until the caller names its type."""

    data: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"null"))
    errors: list[dict[str, Any]] | str | None = None
    extensions: Extensions | None = None


_envelope_decoder = msgspec.json.Decoder(Envelope)

PROTECTED_DATA_MARKERS = ("not approved to access", "protected customer data")


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (Shopify sends a decimal number), or ``None``."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return max(value, 0.0)


def _message(errors: object) -> str:
    if isinstance(errors, str):
        return errors
    if isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, dict):
            return str(first.get("message", first))
        return str(first)
    if isinstance(errors, dict):
        return "; ".join(f"{key}: {value}" for key, value in errors.items())
    return "no detail given"


def check_http(status: int, headers: Mapping[str, str], body: bytes) -> None:
    """Raise for any non-2xx status, classified; 2xx passes through."""
    if 200 <= status < 300:
        return
    detail = _http_detail(body)
    if status == 429:
        raise Throttled(f"HTTP 429 from Shopify: {detail}", retry_after=parse_retry_after(headers))
    if status >= 500:
        raise ServerError(f"HTTP {status} from Shopify: {detail}")
    if status == 401:
        raise AuthError(
            f"Shopify refused the access token (HTTP 401: {detail}); reconnect the store"
        )
    if status == 403:
        raise AuthError(
            f"Shopify denied access (HTTP 403: {detail}); the app may have been uninstalled "
            "or lacks permission: reconnect the store"
        )
    if status == 402:
        raise AuthError(f"the shop is frozen for non-payment (HTTP 402: {detail})")
    if status == 423:
        raise AuthError(f"the shop is locked (HTTP 423: {detail})")
    if status == 404:
        raise QueryError(
            f"HTTP 404 from Shopify ({detail}): check the shop domain and the API version"
        )
    raise QueryError(f"HTTP {status} from Shopify: {detail}")


def _http_detail(body: bytes) -> str:
    try:
        parsed = msgspec.json.decode(body)
    except msgspec.DecodeError:
        text = body[:200].decode("utf-8", "replace").strip()
        return text or "empty body"
    if isinstance(parsed, dict) and "errors" in parsed:
        return _message(parsed["errors"])
    return str(parsed)[:200]


def parse_graphql(
    status: int, headers: Mapping[str, str], body: bytes, *, allow_search_warnings: bool = False
) -> Envelope:
    """Classify a GraphQL response; return the envelope only when it holds complete data."""
    check_http(status, headers, body)
    try:
        envelope = _envelope_decoder.decode(body)
    except msgspec.DecodeError as error:
        raise NetworkError(f"Shopify sent a response that is not valid JSON ({error})") from None
    if envelope.errors:
        cost = envelope.extensions.cost if envelope.extensions else None
        _raise_graphql_errors(envelope.errors, cost.throttle_status if cost else None)
    if not has_data(envelope):
        raise ServerError("Shopify answered without data or errors")
    if not allow_search_warnings and envelope.extensions is not None:
        for entry in envelope.extensions.search:
            if entry.warnings:
                warning = entry.warnings[0]
                raise SearchWarning(
                    f"Shopify ignored the search filter {entry.query!r} at "
                    f"{'.'.join(map(str, entry.path))}: {warning.get('message')} "
                    f"(field {warning.get('field')!r}, code {warning.get('code')!r}); "
                    "it would have returned every record instead of the window"
                )
    return envelope


def has_data(envelope: Envelope) -> bool:
    return bytes(envelope.data).strip() not in (b"", b"null")


def _raise_graphql_errors(
    errors: list[dict[str, Any]] | str, throttle_status: ThrottleStatus | None
) -> None:
    if isinstance(errors, str):
        raise QueryError(f"Shopify rejected the query: {errors}")
    codes = []
    for error in errors:
        extensions = error.get("extensions") or {}
        codes.append(str(extensions.get("code", "")))
    message = _message(errors)
    if "THROTTLED" in codes:
        raise Throttled(f"Shopify throttled the query: {message}", throttle_status=throttle_status)
    if "ACCESS_DENIED" in codes:
        if any(marker in message.lower() for marker in PROTECTED_DATA_MARKERS):
            raise ProtectedDataError(
                f"Shopify refuses customer data: {message}. Request protected customer data "
                "access for the app in the Partner Dashboard (API access > Protected customer "
                "data), then run the preflight again"
            )
        raise ScopeError(f"Shopify denied access: {message}; re-authorize the app")
    if "INTERNAL_SERVER_ERROR" in codes:
        raise ServerError(f"Shopify reported an internal error: {message}")
    if "MAX_COST_EXCEEDED" in codes:
        raise QueryError(f"query too expensive for one call: {message}")
    raise QueryError(f"Shopify rejected the query: {message}")
