"""How long each text input of the page's forms and JSON API may be, and how a refusal reads.

Without a bound, a 5,000-character "store domain" was accepted, sent through every check
and printed whole in the error. Each field here has one limit (the same for the form and
the API), a refusal that says what was wrong and what to do, and at most a short, quoted
excerpt of the rejected value (never any of a secret's). Forms put the user's own input
back into the field cut to its limit, so it can be corrected; Jinja escapes it there.
"""

from __future__ import annotations

from dataclasses import dataclass

from shopify_backfill.web.errors import FieldError
from shopify_backfill.web.passwords import MAX_LENGTH as PASSWORD_CHARS

EXCERPT_CHARS = 32
"""The most of a rejected value an error message quotes."""


def excerpt(value: str, limit: int = EXCERPT_CHARS) -> str:
    """``'my-st…'``: quoted, control characters escaped, cut to ``limit`` characters."""
    shown = "".join(char if char.isprintable() else f"\\x{ord(char):02x}" for char in value[:limit])
    return f"'{shown}…'" if len(value) > limit else f"'{shown}'"


@dataclass(frozen=True)
class Bound:
    """One text field's length limit, and the words a refusal uses."""

    field: str
    label: str
    limit: int
    hint: str
    secret: bool = False

    def too_long(self, length: int, value: str | None = None) -> str:
        quoted = f" {excerpt(value)}" if value is not None and not self.secret else ""
        return (
            f"The {self.label}{quoted} is {length:,} characters long; it can have at most "
            f"{self.limit:,}. {self.hint}"
        )

    def check(self, value: str) -> str:
        """``value`` when it fits, else a ``FieldError`` naming this field."""
        if len(value) > self.limit:
            raise FieldError(self.too_long(len(value), value), field=self.field)
        return value

    def echo(self, value: str) -> str:
        """What a form may put back into this field after an error (never a secret)."""
        return "" if self.secret else value[: self.limit]


SHOP = Bound(
    "shop",
    "store domain",
    255,
    "Enter the store's permanent domain, like my-store.myshopify.com.",
)
"""255: the longest name DNS allows (RFC 1035)."""
TOKEN = Bound(
    "token",
    "access token",
    256,
    "Paste only the store's Admin API access token (it starts with shpat_).",
    secret=True,
)
"""Shopify's Admin API tokens are 38 characters; 256 leaves room for a new format."""
EMAIL = Bound("email", "email address", 320, "Check the address and try again.")
"""320: the longest address SMTP allows (64 for the local part, @, 255 for the domain)."""
PASSWORD = Bound(
    "password", "password", PASSWORD_CHARS, "Check the password and try again.", secret=True
)
"""The longest password ``users add`` accepts: a longer one cannot be right."""
KEY_NAME = Bound("name", "key name", 100, "Give the key a short name saying what it is for.")
"""A label in a table, not a description."""
DESTINATION = Bound(
    "destination",
    "destination name",
    64,
    "Use the name a Braze workspace was added under, like prod (GET /api/v1/destinations).",
)
"""The registry's longest destination name."""
DESTINATION_NAME = Bound(
    "name",
    "destination name",
    64,
    "Give it a short name of letters, digits, '.', '_' or '-', like prod.",
)
BRAZE_ENDPOINT = Bound(
    "rest_endpoint",
    "REST endpoint",
    255,
    "Enter the workspace's REST endpoint, like https://rest.iad-01.braze.com.",
)
"""The registry's limit; Braze's own endpoints are about 30 characters."""
BRAZE_KEY = Bound(
    "api_key",
    "Braze REST API key",
    200,
    "Paste only the REST API key (Braze: Settings > APIs and Identifiers).",
    secret=True,
)
"""The registry's limit; Braze's keys are 36 characters (a UUID)."""
SMS_GROUP = Bound(
    "sms_group_id",
    "SMS subscription group id",
    64,
    "Paste Braze's id of the SMS subscription group, or leave it empty.",
)
PROFILE_SEARCH = Bound(
    "q",
    "search",
    320,
    "Search by one email address (or part of it), a phone number or a Shopify customer id.",
)
"""As long as the longest email address: nothing longer can match one."""
MAX_PAGE = 10_000
"""The last page number the profile lists accept (250,000 profiles at 25 a page)."""
CALLBACK_PARAM_CHARS = 1024
"""Any other parameter of Shopify's OAuth callback (code, hmac, state, timestamp, host)."""
MARK_READ_IDS = 1000
"""Notifications marked read by one call."""

API_FIELDS = {bound.field: bound for bound in (SHOP, TOKEN, KEY_NAME, DESTINATION)}
"""The JSON API's bounded fields, by name, for the validation error handler."""
FORM_LIMITS = {
    "shop": SHOP.limit,
    "token": TOKEN.limit,
    "email": EMAIL.limit,
    "password": PASSWORD.limit,
    "key_name": KEY_NAME.limit,
    "destination_name": DESTINATION_NAME.limit,
    "rest_endpoint": BRAZE_ENDPOINT.limit,
    "braze_key": BRAZE_KEY.limit,
    "sms_group_id": SMS_GROUP.limit,
    "profile_search": PROFILE_SEARCH.limit,
}
"""The same limits as the templates' ``maxlength`` attributes (Jinja global ``limits``)."""
