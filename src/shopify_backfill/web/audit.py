"""The audit trail of refused logins and API keys: one log record per refusal.

Records go to the ``shopify_backfill.web.audit`` logger at WARNING, so an operator can
route them to their log pipeline or alerting on their own. Each carries, besides its
text, the fields ``audit`` (``login_failed`` or ``api_key_failed``), ``email`` (logins:
normalised as login compares it), ``client_address`` and ``reason`` (``unknown_account``,
``wrong_password``, ``too_long``, ``throttled``, ``unknown_or_revoked_key``) as record attributes.
The password and the presented key are never logged. Values are written with ``%r`` so
an email containing line breaks cannot forge extra log lines.

Not a database table: that would need a migration of the profile store and pruning, and
a flood of guesses would grow it without bound; logs already have rotation.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def login_failed(email: str, address: str, reason: str, *, retry_after: int | None = None) -> None:
    normalised = email.strip().lower()[:320]
    wait = f" retry_after={retry_after}s" if retry_after is not None else ""
    log.warning(
        "login refused: email=%r client_address=%r reason=%s%s",
        normalised,
        address,
        reason,
        wait,
        extra={
            "audit": "login_failed",
            "email": normalised,
            "client_address": address,
            "reason": reason,
        },
    )


def api_key_failed(address: str, reason: str, *, retry_after: int | None = None) -> None:
    wait = f" retry_after={retry_after}s" if retry_after is not None else ""
    log.warning(
        "API key refused: client_address=%r reason=%s%s",
        address,
        reason,
        wait,
        extra={"audit": "api_key_failed", "client_address": address, "reason": reason},
    )


def account_created(user_id: int, address: str, *, invited: bool) -> None:
    """A sign-up (INFO): who joined how, for an operator watching self-service accounts."""
    how = "invitation" if invited else "sign-up"
    log.info(
        "account created: user_id=%s client_address=%r via=%s",
        user_id,
        address,
        how,
        extra={"audit": "account_created", "client_address": address, "reason": how},
    )


def password_reset(user_id: int, address: str) -> None:
    """A password set through a reset link (WARNING: the owner may want to know)."""
    log.warning(
        "password reset: user_id=%s client_address=%r",
        user_id,
        address,
        extra={"audit": "password_reset", "client_address": address},
    )
