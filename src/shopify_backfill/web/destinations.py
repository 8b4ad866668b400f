"""The wizard's destination step: the profile store, or a Braze workspace added here.

Adding goes through ``wiring.add_braze_destination``, the CLI's own door, so the page
cannot store a key that the first batch would find refused: Braze is asked first (an
empty ``/users/track``: 401 refused, 403 no ``users.track``, 400 proves the key), then
the key is stored encrypted like Shopify tokens. The page checks each field before
Braze is called, so a typo costs no request and its message names the field.

Two things are the page's own:

- **Where the server may be sent.** The page runs on a server and anyone with an
  account fills the endpoint in; a free URL would make the server post to hosts of its
  own network (and say, by the error, whether they answer). So the endpoint must be
  one of Braze's (``https://rest.<cluster>.braze.com`` or ``.braze.eu``). A Braze
  stand-in on this machine is allowed only when the page itself is served on loopback
  (a local run, where the user is the operator), or when the app was built with a
  Braze transport (tests: the transport decides where requests go).
- **A name keeps its Braze workspace.** Adding an existing name again replaces its key
  (how a revoked key is replaced before Resume), but not its endpoint: the
  destination's mirror records what was delivered to *that* workspace.

The key is never put back into the form, never quoted in a message and never logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import sqlalchemy as sa
from pydantic import SecretStr

from shopify_backfill.backfill.store import BackfillRow
from shopify_backfill.destinations.braze.errors import (
    BrazeAuthError,
    BrazeEndpointError,
    BrazeRejected,
    BrazeUnavailable,
)
from shopify_backfill.destinations.braze.packing import MAX_OBJECTS
from shopify_backfill.destinations.braze.registry import (
    BrazeTarget,
    list_destinations,
    validate_endpoint,
    validate_key,
)
from shopify_backfill.errors import InputError
from shopify_backfill.web.accounts import Principal
from shopify_backfill.web.context import WebContext
from shopify_backfill.web.errors import FieldError
from shopify_backfill.web.exposure import is_loopback
from shopify_backfill.web.filters import host
from shopify_backfill.web.limits import (
    BRAZE_ENDPOINT,
    BRAZE_KEY,
    DESTINATION,
    DESTINATION_NAME,
    SMS_GROUP,
    excerpt,
)
from shopify_backfill.wiring.destinations import add_braze_destination

BRAZE_HOST: Final = re.compile(r"^rest\.[a-z0-9-]+\.braze\.(com|eu)$")
"""Braze's REST endpoints: ``rest.iad-01.braze.com`` ... ``rest.fra-02.braze.eu``."""
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_GROUP: Final = re.compile(r"^[A-Za-z0-9-]{1,64}$")
MAX_OBJECTS_CHOICES: Final = (MAX_OBJECTS, 50)
"""Braze's cap per request (75), or the lower cap some contracts have."""
EXAMPLE_ENDPOINT: Final = "https://rest.iad-01.braze.com"
WHERE_IN_BRAZE: Final = "Braze shows it under Settings > APIs and Identifiers"
NAMES_LISTED: Final = 10


class BrazeUnreachable(FieldError):  # noqa: N818 - named after what the caller sees
    """Braze did not answer the key check (5xx, 429 or no connection, after retries)."""

    status = 503
    code = "braze_unavailable"


@dataclass(frozen=True)
class BrazeChoice:
    """An added Braze destination as the page shows it: never its key."""

    id: int
    name: str
    rest_endpoint: str
    max_objects: int
    sms_group_id: str | None

    @property
    def host(self) -> str:
        return host(self.rest_endpoint)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "rest_endpoint": self.rest_endpoint,
            "host": self.host,
            "max_objects": self.max_objects,
            "sms_group_id": self.sms_group_id,
        }


@dataclass(frozen=True)
class BrazeForm:
    """What the add form sent, but the key (kept apart so it is never echoed)."""

    name: str = ""
    rest_endpoint: str = ""
    max_objects: str = str(MAX_OBJECTS)
    sms_group_id: str = ""

    def echo(self) -> dict[str, str]:
        """The values put back into the form after a refusal, cut to their limits."""
        return {
            "name": DESTINATION_NAME.echo(self.name),
            "rest_endpoint": BRAZE_ENDPOINT.echo(self.rest_endpoint),
            "max_objects": self.max_objects if self.max_objects in _CHOICES else "",
            "sms_group_id": SMS_GROUP.echo(self.sms_group_id),
        }


_CHOICES: Final = tuple(str(choice) for choice in MAX_OBJECTS_CHOICES)


def braze_choices(conn: sa.Connection, workspace_id: int) -> list[BrazeChoice]:
    """The workspace's Braze destinations, by name."""
    return [
        BrazeChoice(
            id=int(item["id"]),
            name=str(item["name"]),
            rest_endpoint=str(item["rest_endpoint"]),
            max_objects=int(item["max_objects"]),
            sms_group_id=item["sms_group_id"],
        )
        for item in list_destinations(conn, workspace_id)
    ]


def destination_id(conn: sa.Connection, workspace_id: int, name: str, *, store_id: int) -> int:
    """The id of the workspace's destination ``name``; else a refusal saying how to add it."""
    DESTINATION.check(name)
    choices = braze_choices(conn, workspace_id)
    for choice in choices:
        if choice.name == name:
            return choice.id
    names = [choice.name for choice in choices]
    known = (
        f" (it has {', '.join(names[:NAMES_LISTED])}{', …' if len(names) > NAMES_LISTED else ''})"
        if names
        else " (it has none yet)"
    )
    raise FieldError(
        f"This workspace has no Braze destination named {excerpt(name)}{known}. Add it in the "
        f"setup wizard's Destination step (/stores/{store_id}/wizard?backfill=on) or with "
        "`shopify-backfill destinations add braze --name NAME --rest-endpoint URL`, then "
        "start again with its name.",
        field=DESTINATION.field,
    )


def destination_view(conn: sa.Connection, row: BackfillRow) -> dict[str, Any]:
    """Where the backfill goes, for its page and the status JSON (never a key)."""
    if row.braze_destination_id is None:
        return {"kind": "embedded"}
    for choice in braze_choices(conn, row.workspace_id):
        if choice.id == row.braze_destination_id:
            return {"kind": "braze", **choice.to_json()}
    return {"kind": "braze", "id": row.braze_destination_id, "name": None, "host": None}


def _checked_name(value: str) -> str:
    name = DESTINATION_NAME.check(value.strip())
    if not name:
        raise FieldError(
            "Give the destination a name, like prod: backfills and the API call it by it.",
            field=DESTINATION_NAME.field,
        )
    if not _NAME.match(name):
        raise FieldError(
            f"The destination name {excerpt(name)} can have only letters, digits, '.', '_' "
            "and '-', starting with a letter or digit; for example prod or eu-store.",
            field=DESTINATION_NAME.field,
        )
    return name


def _endpoint_allowed(context: WebContext, endpoint: str) -> bool:
    host = (urlsplit(endpoint).hostname or "").lower()
    if BRAZE_HOST.match(host):
        return True
    if context.braze_transport is not None:
        return True  # the transport, not the URL, decides where requests go
    return is_loopback(endpoint) and is_loopback(context.services.settings.app_url)


def _checked_endpoint(context: WebContext, value: str) -> str:
    text = BRAZE_ENDPOINT.check(value.strip())
    if not text:
        raise FieldError(
            f"Enter the workspace's REST endpoint, like {EXAMPLE_ENDPOINT} ({WHERE_IN_BRAZE}).",
            field=BRAZE_ENDPOINT.field,
        )
    try:
        endpoint = validate_endpoint(text)
    except InputError:
        raise FieldError(
            f"The REST endpoint {excerpt(text)} is not a Braze REST endpoint: enter https:// "
            f"and the host only, like {EXAMPLE_ENDPOINT} ({WHERE_IN_BRAZE}).",
            field=BRAZE_ENDPOINT.field,
        ) from None
    if not _endpoint_allowed(context, endpoint):
        raise FieldError(
            f"The REST endpoint {excerpt(text)} is not one of Braze's: they look like "
            f"{EXAMPLE_ENDPOINT} or https://rest.fra-01.braze.eu ({WHERE_IN_BRAZE}).",
            field=BRAZE_ENDPOINT.field,
        )
    return endpoint


def _checked_key(value: SecretStr) -> SecretStr:
    BRAZE_KEY.check(value.get_secret_value())
    if not value.get_secret_value().strip():
        raise FieldError(
            "Paste a REST API key of the workspace with the users.track permission "
            f"({WHERE_IN_BRAZE}).",
            field=BRAZE_KEY.field,
        )
    try:
        return validate_key(value)
    except InputError:
        raise FieldError(
            f"The REST API key is one word, without spaces: paste only the key ({WHERE_IN_BRAZE}).",
            field=BRAZE_KEY.field,
        ) from None


def _checked_max_objects(value: str) -> int:
    if value.strip() not in _CHOICES:
        raise FieldError(
            f"Objects per request is {MAX_OBJECTS} (Braze's cap) or 50 (for contracts with "
            "the lower cap).",
            field="max_objects",
        )
    return int(value)


def _checked_group(value: str) -> str | None:
    group = SMS_GROUP.check(value.strip())
    if not group:
        return None
    if not _GROUP.match(group):
        raise FieldError(
            f"The SMS subscription group id {excerpt(group)} is not a Braze id (letters, "
            "digits and '-'): copy it from Braze's subscription groups, or leave it empty.",
            field=SMS_GROUP.field,
        )
    return group


def _without_key(message: str, key: SecretStr) -> str:
    """A message from below, with the key cut out should Braze ever have quoted it."""
    secret = key.get_secret_value().strip()
    return message.replace(secret, "…") if len(secret) >= 4 else message


def add_braze(
    context: WebContext, principal: Principal, form: BrazeForm, api_key: SecretStr
) -> BrazeTarget:
    """Check every field, prove the key on Braze, store the destination (key encrypted)."""
    name = _checked_name(form.name)
    endpoint = _checked_endpoint(context, form.rest_endpoint)
    key = _checked_key(api_key)
    max_objects = _checked_max_objects(form.max_objects)
    group = _checked_group(form.sms_group_id)
    with context.services.engine.connect() as conn:
        existing = {c.name: c for c in braze_choices(conn, principal.workspace_id)}
    same = existing.get(name)
    if same is not None and same.rest_endpoint != endpoint:
        raise FieldError(
            f"The destination {excerpt(name)} already delivers to {same.rest_endpoint}. Enter "
            "that endpoint to replace its key, or give this workspace another name.",
            field=DESTINATION_NAME.field,
        )
    return _prove_and_store(
        context,
        principal,
        BrazeChoice(0, name, endpoint, max_objects, group),
        key,
    )


def replace_key(
    context: WebContext, principal: Principal, row: BackfillRow, api_key: SecretStr
) -> BrazeTarget:
    """A new key for the Braze destination of ``row`` (its endpoint and options kept):
    what a run stopped by a refused key needs before **Resume**."""
    key = _checked_key(api_key)
    with context.services.engine.connect() as conn:
        choice = next(
            (c for c in braze_choices(conn, row.workspace_id) if c.id == row.braze_destination_id),
            None,
        )
    if choice is None:
        raise FieldError("this backfill does not deliver to a Braze workspace", field=None)
    return _prove_and_store(context, principal, choice, key)


def _prove_and_store(
    context: WebContext, principal: Principal, choice: BrazeChoice, key: SecretStr
) -> BrazeTarget:
    """``add_braze_destination`` (key proven on Braze, then stored encrypted), its
    refusals in the page's words, none quoting the key."""
    endpoint = choice.rest_endpoint
    try:
        return add_braze_destination(
            context.services,
            workspace_id=principal.workspace_id,
            name=choice.name,
            rest_endpoint=endpoint,
            api_key=key,
            max_objects=choice.max_objects,
            sms_group_id=choice.sms_group_id,
            transport=context.braze_transport,
        )
    except BrazeAuthError as error:
        lacks = "users.track permission" in str(error)
        raise FieldError(
            "Braze accepted the key but it lacks the users.track permission (403): give it "
            "users.track in Braze (Settings > APIs and Identifiers) and add it again."
            if lacks
            else "Braze refused this API key (401): check the key, and that it belongs to "
            f"the workspace at {endpoint}. Nothing was stored.",
            field=BRAZE_KEY.field,
        ) from None
    except BrazeEndpointError:
        raise FieldError(
            f"{endpoint} does not answer like Braze's REST API: check the REST endpoint "
            f"({WHERE_IN_BRAZE}). Nothing was stored.",
            field=BRAZE_ENDPOINT.field,
        ) from None
    except BrazeUnavailable as error:
        raise BrazeUnreachable(
            f"Braze could not be reached to check the key: {_without_key(str(error), key)}. "
            "Check the REST endpoint, or try again in a minute. Nothing was stored.",
            field=BRAZE_ENDPOINT.field,
        ) from None
    except BrazeRejected as error:
        raise FieldError(
            f"Braze refused the key check: {_without_key(str(error), key)}. Nothing was stored.",
            field=BRAZE_ENDPOINT.field,
        ) from None
    except InputError as error:
        raise FieldError(_without_key(str(error), key)) from None
