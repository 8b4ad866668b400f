"""What a Braze workspace holds and how ``/users/track`` changes it.

Validation follows Braze's documentation: a request with none of ``attributes``,
``events``, ``purchases`` or with more objects than the cap is refused whole (400); an
object with a bad identifier, name, time, currency or price is skipped and named in the
answer's ``errors`` (the rest is applied); an object keyed by a ``user_alias`` that no
user holds creates an alias-only user only when ``_update_existing_only`` is false, and
is otherwise ignored (https://www.braze.com/docs/api/endpoints/user_data/post_user_track/,
https://www.braze.com/docs/api/objects_filters/user_attributes_object/). Events and
purchases are appended, never deduplicated, as in Braze. Request bodies are decoded with
every non-integer number as an exact ``Decimal``, so prices compare exactly.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import msgspec

PRIMARY_IDENTIFIERS: Final = ("external_id", "user_alias", "braze_id")
ARRAYS: Final = ("attributes", "events", "purchases")
NOT_ATTRIBUTES: Final = frozenset({*PRIMARY_IDENTIFIERS, "_update_existing_only"})
EMAIL_STATES: Final = frozenset({"opted_in", "subscribed", "unsubscribed"})
GROUP_STATES: Final = frozenset({"subscribed", "unsubscribed"})
EMPTY_MESSAGE: Final = (
    "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."
)
TOO_MANY_MESSAGE: Final = "Max Input Length Exceeded"
_ISO: Final = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_CURRENCY: Final = re.compile(r"^[A-Z]{3}$")
_decoder = msgspec.json.Decoder(float_hook=Decimal)

UserKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class BrazeEvent:
    name: str
    time: str
    properties: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BrazePurchase:
    product_id: str
    currency: str
    price: Decimal
    quantity: int
    time: str
    properties: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BrazeUser:
    """One user as Braze would hold it (a snapshot)."""

    aliases: dict[str, str]
    external_id: str | None
    attributes: dict[str, Any]
    email_subscribe: str | None
    subscription_groups: dict[str, str]
    events: list[BrazeEvent]
    purchases: list[BrazePurchase]


@dataclass(slots=True)
class _User:
    aliases: dict[str, str] = field(default_factory=dict)
    external_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    email_subscribe: str | None = None
    subscription_groups: dict[str, str] = field(default_factory=dict)
    events: list[BrazeEvent] = field(default_factory=list)
    purchases: list[BrazePurchase] = field(default_factory=list)

    def snapshot(self) -> BrazeUser:
        return BrazeUser(
            dict(self.aliases),
            self.external_id,
            dict(self.attributes),
            self.email_subscribe,
            dict(self.subscription_groups),
            list(self.events),
            list(self.purchases),
        )


@dataclass(slots=True)
class BrazeFaults:
    """Switches a test (or ``POST /_admin/faults``) sets; each ``*_next`` counts down."""

    fail_next: int = 0
    fail_status: int = 500
    reset_next: int = 0
    """Drop the connection before doing anything: Braze never saw the request."""
    throttle_next: int = 0
    queued_share: float = 0.0
    latency_seconds: float = 0.0
    drop_after_accept_next: int = 0
    """Apply the request, then drop the connection: Braze has it, the client never hears."""


@dataclass(frozen=True, slots=True)
class BrazeStats:
    requests: dict[int, int]
    objects: int
    throttled: int
    timestamps: list[float]
    max_objects_seen: int


@dataclass(frozen=True, slots=True)
class Answer:
    """What the app sends back; ``reset`` means drop the connection instead (after
    ``applied``, when the request was applied first)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False


class BrazeWorkspace:
    """Users, keys, rate limit and faults of one Braze workspace; thread-safe."""

    def __init__(
        self,
        limit: int = 3000,
        window_seconds: float = 3.0,
        max_objects: int = 75,
        legacy_per_array: bool = False,
        *,
        clock: Callable[[], float] = time.time,
        seed: int = 0,
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.max_objects = max_objects
        self.legacy_per_array = legacy_per_array
        self.faults = BrazeFaults()
        self.received: list[dict[str, Any]] = []
        self._clock = clock
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._keys: dict[str, frozenset[str]] = {}
        self._users: list[_User] = []
        self._by_alias: dict[UserKey, _User] = {}
        self._window_start = 0.0
        self._window_count = 0
        self._status_counts: dict[int, int] = {}
        self._objects = 0
        self._throttled = 0
        self._timestamps: list[float] = []
        self._max_seen = 0

    # -- keys and reads ----------------------------------------------------------------

    def add_key(
        self, key: str, permissions: frozenset[str] = frozenset({"users.track", "users.export.ids"})
    ) -> None:
        with self._lock:
            self._keys[key] = frozenset(permissions)

    def revoke_key(self, key: str) -> None:
        with self._lock:
            self._keys.pop(key, None)

    def users(self) -> list[BrazeUser]:
        with self._lock:
            return [user.snapshot() for user in self._users]

    def user(self, alias_label: str, alias_name: str) -> BrazeUser | None:
        with self._lock:
            found = self._by_alias.get((alias_label, alias_name))
            return found.snapshot() if found else None

    def stats(self) -> BrazeStats:
        with self._lock:
            return BrazeStats(
                dict(self._status_counts),
                self._objects,
                self._throttled,
                list(self._timestamps),
                self._max_seen,
            )

    # -- requests ----------------------------------------------------------------------

    def handle(self, path: str, authorization: str | None, raw: bytes) -> Answer:
        """One request to a Braze route; the app only moves bytes."""
        with self._lock:
            answer = self._handle(path, authorization, raw)
            if path == "/users/track" and not answer.reset:
                self._status_counts[answer.status] = self._status_counts.get(answer.status, 0) + 1
            return answer

    def _handle(self, path: str, authorization: str | None, raw: bytes) -> Answer:
        faults = self.faults
        if faults.reset_next > 0:
            faults.reset_next -= 1
            return Answer(0, {}, reset=True)
        if faults.fail_next > 0:
            faults.fail_next -= 1
            return Answer(faults.fail_status, {"message": "Internal Server Error"})
        permission = {"/users/track": "users.track", "/users/export/ids": "users.export.ids"}
        key = (authorization or "").removeprefix("Bearer ").strip()
        granted = self._keys.get(key)
        if granted is None:
            return Answer(401, {"message": "Invalid API key: " + (key[:4] + "..." if key else "")})
        if permission[path] not in granted:
            return Answer(
                403, {"message": f"This API key does not have the {permission[path]} permission"}
            )
        headers = self._rate_limit()
        if headers is None:
            self._throttled += 1
            return Answer(429, {"message": "API rate limit exceeded"}, self._limit_headers(True))
        if faults.throttle_next > 0:
            faults.throttle_next -= 1
            self._throttled += 1
            return Answer(429, {"message": "API rate limit exceeded"}, self._limit_headers(True))
        try:
            body = _decoder.decode(raw)
        except msgspec.DecodeError:
            return Answer(400, {"message": "Invalid JSON in request body"}, headers)
        if not isinstance(body, dict):
            return Answer(400, {"message": "The request body must be a JSON object"}, headers)
        if path == "/users/export/ids":
            return self._export(body, headers)
        answer = self._track(body, headers)
        if answer.status == 201 and faults.drop_after_accept_next > 0:
            faults.drop_after_accept_next -= 1
            return Answer(0, {}, reset=True)
        return answer

    def _rate_limit(self) -> dict[str, str] | None:
        now = self._clock()
        if now - self._window_start >= self.window_seconds:
            self._window_start = now - (now % self.window_seconds)
            self._window_count = 0
        if self._window_count >= self.limit:
            return None
        self._window_count += 1
        return self._limit_headers(False)

    def _limit_headers(self, throttled: bool) -> dict[str, str]:
        reset = self._window_start + self.window_seconds
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.limit - self._window_count)),
            "X-RateLimit-Reset": str(math.ceil(reset)),
        }
        if throttled:
            headers["Retry-After"] = str(max(1, math.ceil(reset - self._clock())))
        return headers

    def _track(self, body: dict[str, Any], headers: dict[str, str]) -> Answer:
        arrays = {name: body.get(name) or [] for name in ARRAYS}
        if any(not isinstance(items, list) for items in arrays.values()):
            return Answer(400, {"message": "attributes, events and purchases must be arrays"})
        sizes = [len(items) for items in arrays.values()]
        if sum(sizes) == 0:
            return Answer(400, {"message": EMPTY_MESSAGE}, headers)
        too_many = (
            max(sizes) > self.max_objects
            if self.legacy_per_array
            else sum(sizes) > self.max_objects
        )
        if too_many:
            return Answer(400, {"message": TOO_MANY_MESSAGE}, headers)
        self._max_seen = max(self._max_seen, sum(sizes))
        errors: list[dict[str, Any]] = []
        processed = dict.fromkeys(ARRAYS, 0)
        for name in ARRAYS:
            for index, item in enumerate(arrays[name]):
                problem = self._apply(name, item)
                if problem is None:
                    processed[name] += 1
                else:
                    errors.append({"type": problem, "input_array": name, "index": index})
        self.received.append(body)
        self._objects += sum(processed.values())
        self._timestamps.append(time.monotonic())
        answer: dict[str, Any] = {"message": "success"}
        answer.update({f"{name}_processed": count for name, count in processed.items() if count})
        if errors:
            answer["errors"] = errors
        if self.faults.queued_share and self._rng.random() < self.faults.queued_share:
            return Answer(202, {"message": "queued"}, headers)
        return Answer(201, answer, headers)

    def _apply(self, array: str, item: Any) -> str | None:
        """Apply one object, or say why it was skipped."""
        if not isinstance(item, dict):
            return f"each {array} entry must be an object"
        given = [name for name in PRIMARY_IDENTIFIERS if name in item]
        if not given:
            # Email or phone identify a user only when no other identifier is given; next
            # to one, they are attributes like any other.
            given = [name for name in ("email", "phone") if name in item][:1]
        if len(given) != 1:
            return (
                "exactly one of external_id, user_alias or braze_id (or email, phone) is required"
            )
        problem = _check(array, item)
        if problem is not None:
            return problem
        create = item.get("_update_existing_only") is False
        user = self._user(given[0], item[given[0]], create=create)
        if isinstance(user, str):
            return user
        if user is None:
            return None  # an unknown user with _update_existing_only: ignored, as in Braze
        if array == "attributes":
            _set_attributes(user, item)
        elif array == "events":
            user.events.append(
                BrazeEvent(item["name"], item["time"], dict(item.get("properties") or {}))
            )
        else:
            user.purchases.append(
                BrazePurchase(
                    item["product_id"],
                    item["currency"],
                    Decimal(item["price"]),
                    int(item.get("quantity", 1)),
                    item["time"],
                    dict(item.get("properties") or {}),
                )
            )
        return None

    def _user(self, kind: str, value: Any, *, create: bool) -> _User | str | None:
        if kind != "user_alias":
            if not isinstance(value, str) or not value:
                return f"{kind} must be a non-empty string"
            key: UserKey = (f"__{kind}", value)
        else:
            if not isinstance(value, dict):
                return "user_alias must be an object with alias_label and alias_name"
            label, name = value.get("alias_label"), value.get("alias_name")
            if not (isinstance(label, str) and label and isinstance(name, str) and name):
                return "user_alias needs a non-empty alias_label and alias_name"
            key = (label, name)
        found = self._by_alias.get(key)
        if found is not None or not create:
            return found
        user = _User()
        if kind == "user_alias":
            user.aliases[key[0]] = key[1]
        elif kind == "external_id":
            user.external_id = key[1]
        self._users.append(user)
        self._by_alias[key] = user
        return user

    def _export(self, body: dict[str, Any], headers: dict[str, str]) -> Answer:
        wanted = body.get("user_aliases") or []
        if not isinstance(wanted, list) or len(wanted) > 50:
            return Answer(400, {"message": "user_aliases must be a list of at most 50"}, headers)
        users: list[dict[str, Any]] = []
        invalid: list[Any] = []
        for alias in wanted:
            found = None
            if isinstance(alias, dict):
                found = self._by_alias.get(
                    (str(alias.get("alias_label")), str(alias.get("alias_name")))
                )
            if found is None:
                invalid.append(alias)
                continue
            users.append(
                {
                    "user_aliases": [
                        {"alias_label": label, "alias_name": name}
                        for label, name in found.aliases.items()
                    ],
                    "custom_attributes": dict(found.attributes),
                    "email_subscribe": found.email_subscribe,
                }
            )
        return Answer(
            201, {"users": users, "invalid_user_ids": invalid, "message": "success"}, headers
        )


def _check(array: str, item: dict[str, Any]) -> str | None:
    if array == "attributes":
        state = item.get("email_subscribe")
        if state is not None and state not in EMAIL_STATES:
            return "email_subscribe must be opted_in, subscribed or unsubscribed"
        groups = item.get("subscription_groups")
        if groups is not None and not (
            isinstance(groups, list)
            and all(
                isinstance(g, dict)
                and isinstance(g.get("subscription_group_id"), str)
                and g.get("subscription_state") in GROUP_STATES
                for g in groups
            )
        ):
            return "subscription_groups must be [{subscription_group_id, subscription_state}]"
        return None
    if not _is_time(item.get("time")):
        return "'time' must be an ISO 8601 date-time string"
    properties = item.get("properties")
    if properties is not None and not isinstance(properties, dict):
        return "'properties' must be an object"
    if array == "events":
        if not isinstance(item.get("name"), str) or not item["name"]:
            return "event 'name' must be a non-empty string"
        return None
    if not isinstance(item.get("product_id"), str) or not item["product_id"]:
        return "purchase 'product_id' must be a non-empty string"
    if not isinstance(item.get("currency"), str) or not _CURRENCY.match(item["currency"]):
        return "purchase 'currency' must be a three-letter ISO 4217 code"
    price = item.get("price")
    if isinstance(price, bool) or not isinstance(price, (int, Decimal)):
        return "purchase 'price' must be a number"
    quantity = item.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 100:
        return "purchase 'quantity' must be an integer from 1 to 100"
    return None


def _is_time(value: Any) -> bool:
    if not isinstance(value, str) or not _ISO.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _set_attributes(user: _User, item: dict[str, Any]) -> None:
    for name, value in item.items():
        if name in NOT_ATTRIBUTES:
            continue
        if name == "email_subscribe":
            user.email_subscribe = value
        elif name == "subscription_groups":
            for group in value:
                user.subscription_groups[group["subscription_group_id"]] = group[
                    "subscription_state"
                ]
        elif value is None:
            user.attributes.pop(name, None)
        else:
            user.attributes[name] = value
