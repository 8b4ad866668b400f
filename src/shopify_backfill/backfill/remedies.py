"""What the merchant does after a failed run, appended to its reason (issue 13).

A failure is only resumable in practice if its message names the step that removes the
cause: the exact command, with the shop filled in. Kept apart from the runner so the
notification, the email, the CLI and the partner page all show the same sentence.
"""

from __future__ import annotations

from shopify_backfill.destinations.braze.errors import BrazeAuthError, BrazeUnavailable
from shopify_backfill.errors import Transient
from shopify_backfill.shopify.errors import AuthError, ProtectedDataError, ScopeError


def remedy(error: BaseException, shop_domain: str) -> str:
    """``"; <what to do>"`` for a product error, ``""`` for anything else."""
    resume = f"`shopify-backfill backfill resume --shop {shop_domain}`"
    if isinstance(error, BrazeAuthError):
        return (
            "; add a key with the users.track permission (`shopify-backfill destinations add "
            f"braze` with the same --name), then {resume}: nothing Braze refused was recorded"
            " as sent"
        )
    if isinstance(error, BrazeUnavailable):
        return (
            f"; nothing is lost: run {resume} when Braze answers again, it sends what Braze "
            "has not accepted yet and nothing twice"
        )
    if isinstance(error, AuthError):
        return (
            f"; to reconnect, run `shopify-backfill connect --shop {shop_domain} --token "
            f"NEW_TOKEN` (or `--oauth`), then {resume}"
        )
    if isinstance(error, ScopeError):
        where = f" (or open {error.reauth_url})" if error.reauth_url else ""
        return (
            f"; to re-authorize the app with every scope, run `shopify-backfill connect "
            f"--shop {shop_domain} --oauth`{where}, then {resume}"
        )
    if isinstance(error, ProtectedDataError):
        return f"; once access is approved, run {resume}"
    if isinstance(error, Transient):
        return (
            f"; nothing imported is lost: run {resume} when Shopify answers again, it "
            "continues from the last committed batch"
        )
    return ""
