"""What the mirror's changes become in Braze: ``/users/track`` objects, pure.

The mirror (see ``tables``) decides, exactly as the embedded store does, which
attributes changed, which events and purchases are new and which subscription states a
created profile gets (SPEC §3); here each change becomes the Braze object that makes
the same change there:

- attribute changes of one user, in one batch, become one ``attributes`` object;
- an email consent becomes ``email_subscribe`` (``subscribed``/``unsubscribed``);
  an SMS consent becomes a ``subscription_groups`` entry for the destination's SMS group,
  or is left out (and counted) when no SMS group was configured;
- each new event and purchase becomes one object, ``time`` in ISO 8601 UTC.

Every object carries the user's ``user_alias`` and ``_update_existing_only: false``:
users keyed by an alias only are created by Braze only with that flag, whichever object
reaches Braze first (https://www.braze.com/docs/api/objects_filters/user_attributes_object).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from shopify_backfill.profiles.changes import (
    AttributeChanged,
    Change,
    EventAdded,
    PurchaseAdded,
    SubscriptionChanged,
)

ArrayName = Literal["attributes", "events", "purchases"]
BrazeObject = dict[str, Any]
UserKey = tuple[str, str]
"""``(alias_label, alias_name)``: how one mirror profile is known in Braze."""

UPDATE_EXISTING_ONLY: Final = "_update_existing_only"


@dataclass(slots=True)
class Translation:
    """A batch's changes as Braze objects, in delivery order, and what was left out."""

    objects: list[tuple[ArrayName, BrazeObject]] = field(default_factory=list)
    sms_states_skipped: int = 0


def braze_time(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, the form Braze documents for ``time``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def identifier(key: UserKey) -> BrazeObject:
    label, name = key
    return {"user_alias": {"alias_label": label, "alias_name": name}, UPDATE_EXISTING_ONLY: False}


def translate(
    changes: Iterable[Change], keys: Mapping[int, UserKey], *, sms_group_id: str | None
) -> Translation:
    """Braze objects for ``changes``; ``keys`` gives each changed user's Braze alias.

    A user's attributes object comes before its events and purchases, users in the
    order their first change was made, so a request holds whole users where it can.
    """
    attributes: dict[int, BrazeObject] = {}
    rest: dict[int, list[tuple[ArrayName, BrazeObject]]] = {}
    order: list[int] = []
    result = Translation()
    for change in changes:
        user = change.user_id
        if user not in rest:
            rest[user] = []
            order.append(user)
        if isinstance(change, AttributeChanged):
            _attrs(attributes, keys, user)[change.name] = change.new
        elif isinstance(change, SubscriptionChanged):
            if change.channel == "email":
                _attrs(attributes, keys, user)["email_subscribe"] = change.state
            elif sms_group_id is None:
                result.sms_states_skipped += 1
            else:
                groups = _attrs(attributes, keys, user).setdefault("subscription_groups", [])
                groups.append(
                    {"subscription_group_id": sms_group_id, "subscription_state": change.state}
                )
        elif isinstance(change, EventAdded):
            event = identifier(keys[user])
            event.update(name=change.name, time=braze_time(change.time))
            event["properties"] = dict(change.properties)
            rest[user].append(("events", event))
        elif isinstance(change, PurchaseAdded):
            purchase = identifier(keys[user])
            purchase.update(
                product_id=change.product_id,
                currency=change.currency,
                price=change.price,
                quantity=change.quantity,
                time=braze_time(change.time),
                properties=dict(change.properties),
            )
            rest[user].append(("purchases", purchase))
    for user in order:
        if user in attributes:
            result.objects.append(("attributes", attributes[user]))
        result.objects.extend(rest[user])
    return result


def _attrs(
    attributes: dict[int, BrazeObject], keys: Mapping[int, UserKey], user: int
) -> BrazeObject:
    found = attributes.get(user)
    if found is None:
        found = attributes[user] = identifier(keys[user])
    return found
