"""Errors the partner page answers with, each carrying its HTTP status and the field at fault.

Product errors raised by the services below (``InputError``, ``BackfillStateError``,
``ScopeError`` ...) are mapped to statuses in one place, ``status_for``, so every route
answers the same failure the same way.
"""

from __future__ import annotations

from shopify_backfill.backfill.errors import BackfillBusy, BackfillStateError
from shopify_backfill.errors import BackfillError, ConfigError, InputError, Transient
from shopify_backfill.shopify.errors import AuthError, ProtectedDataError, ScopeError


class WebError(Exception):
    """A refusal with a status, a machine-readable code and, for bad input, the field."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def headers(self) -> dict[str, str]:
        """Extra response headers of this refusal (``Retry-After`` for 429)."""
        return {}


class FieldError(WebError):
    """Bad input in one named field."""

    status = 422
    code = "invalid_input"


class NotAuthenticated(WebError):  # noqa: N818 - named after its HTTP status
    status = 401
    code = "not_authenticated"


class Forbidden(WebError):  # noqa: N818 - named after its HTTP status
    status = 403
    code = "forbidden"


class NotFound(WebError):  # noqa: N818 - named after its HTTP status
    """Also the answer for another workspace's ids: their existence is not revealed."""

    status = 404
    code = "not_found"


class Conflict(WebError):  # noqa: N818 - named after its HTTP status
    status = 409
    code = "conflict"


class TooManyAttempts(WebError):  # noqa: N818 - named after what the caller sees
    """Too many failed logins or API-key attempts: wait ``retry_after`` seconds (429)."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ThrottleUnavailable(WebError):  # noqa: N818 - named after what the caller sees
    """The shared attempt counters cannot be reached: refuse rather than stop counting."""

    status = 503
    code = "throttle_unavailable"


def status_for(error: BackfillError) -> tuple[int, str]:
    """HTTP status and code for a product error raised by a service."""
    if isinstance(error, ScopeError):
        return 409, "reauthorization_required"
    if isinstance(error, BackfillStateError):
        return 409, "invalid_state"
    if isinstance(error, BackfillBusy):
        return 409, "busy"
    if isinstance(error, AuthError | ProtectedDataError):
        return 409, "shopify_access"
    if isinstance(error, Transient):
        return 503, "shopify_unavailable"
    if isinstance(error, ConfigError):
        return 500, "configuration"
    if isinstance(error, InputError):
        return 422, "invalid_input"
    return 502, "shopify_error"
