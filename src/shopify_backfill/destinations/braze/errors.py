"""What can go wrong talking to Braze, each with what to do about it."""

from __future__ import annotations

from shopify_backfill.errors import ConfigError, Terminal, Transient


class BrazeAuthError(Terminal):
    """Braze refused the key (401) or the key lacks a permission (403).

    Nothing of the request in hand was recorded as sent: once the key is fixed
    (``destinations add braze`` again with the same name), ``resume`` sends it.
    """

    exit_code = 77  # EX_NOPERM


class BrazeEndpointError(ConfigError):
    """The REST endpoint does not answer like Braze (404, not JSON, wrong host)."""


class BrazeUnavailable(Transient):
    """Braze kept answering 429/5xx or the connection kept failing past the retries."""


class BrazeRejected(Terminal):
    """Braze refused one request whole (400): recorded with its message, never resent."""
