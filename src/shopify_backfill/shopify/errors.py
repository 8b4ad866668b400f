"""What can go wrong when talking to Shopify, classified once for the retry loop.

Every class is either ``Transient`` (the client retries with backoff) or ``Terminal``
(retrying cannot help; the message says what the merchant or operator must do).
"""

from __future__ import annotations

from collections.abc import Sequence

from shopify_backfill.errors import InputError, Terminal, Transient
from shopify_backfill.shopify.throttle import ThrottleStatus


class ShopifyTransient(Transient):
    """A call that may succeed if repeated."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        throttle_status: ThrottleStatus | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.throttle_status = throttle_status


class Throttled(ShopifyTransient):
    """GraphQL ``THROTTLED`` (HTTP 200) or REST/HTTP 429."""


class ServerError(ShopifyTransient):
    """HTTP 5xx, or a GraphQL ``INTERNAL_SERVER_ERROR``."""


class NetworkError(ShopifyTransient):
    """The connection failed or was cut before a complete response arrived."""


class AuthError(Terminal):
    """The access token was refused (401/403): reconnect the store."""

    exit_code = 77  # EX_NOPERM


class ScopeError(Terminal):
    """The grant lacks scopes the backfill needs; re-authorize with the full list."""

    exit_code = 77

    def __init__(self, message: str, *, missing: Sequence[str] = (), reauth_url: str | None = None):
        super().__init__(message)
        self.missing = tuple(missing)
        self.reauth_url = reauth_url


class ProtectedDataError(Terminal):
    """Shopify refuses customer fields: the app lacks protected customer data approval."""

    exit_code = 77


class QueryError(Terminal):
    """Shopify rejected the query itself (validation, cost cap, unknown field)."""


class SearchWarning(Terminal):
    """A search filter was ignored (``invalid_field``): Shopify would return everything."""


class PayloadError(InputError):
    """A Shopify payload did not have the shape the product relies on."""


class BulkOperationError(ShopifyTransient):
    """A bulk job ended FAILED / TIMEOUT / EXPIRED or could not be read; re-run it."""


class OAuthError(InputError):
    """An OAuth callback or token exchange failed validation; the message names the check."""
