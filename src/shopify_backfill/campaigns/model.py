"""Campaigns and Canvases as the trigger engine sees them, and the validation of their specs.

The eight action-based trigger types of SPEC §6 are a closed set (``TriggerType``), each
with its own parameter model, so that a campaign file or a CLI call with a misspelt type
or a missing parameter is refused up front with the campaign and the field named,
instead of becoming a campaign that silently never (or always) fires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from shopify_backfill.errors import InputError

Kind = Literal["campaign", "canvas"]
Status = Literal["draft", "active", "paused", "stopped"]
Delivery = Literal["action_based", "scheduled", "api_triggered"]
TriggerType = Literal[
    "change_custom_attribute_value",
    "perform_conversion_event",
    "perform_exception_event",
    "update_subscription_status",
    "update_subscription_group_status",
    "add_email_address",
    "make_purchase",
    "perform_custom_event",
]
Channel = Literal["email", "sms"]
SubscriptionState = Literal["subscribed", "unsubscribed"]
ConditionValue = StrictStr | StrictInt | Decimal

KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
STATUSES: Final[tuple[Status, ...]] = get_args(Status)
DELIVERIES: Final[tuple[Delivery, ...]] = get_args(Delivery)
TRIGGER_TYPES: Final[tuple[TriggerType, ...]] = get_args(TriggerType)

START_TIME_FIX_TYPES: Final[frozenset[TriggerType]] = frozenset(
    {"make_purchase", "perform_custom_event"}
)
"""Triggers the seed protects by moving the start time after the connection; pause the rest."""

NAME_MAX = 255


def _normalise_choice(value: Any) -> Any:
    """Accept ``action-based`` as well as ``action_based`` (CLI and hand-written files)."""
    return value.strip().lower().replace("-", "_") if isinstance(value, str) else value


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ChangeCustomAttributeValue(_Params):
    """Fires when a custom attribute gets a new value (optionally: this exact value)."""

    type: Literal["change_custom_attribute_value"]
    attribute: Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
    value: ConditionValue | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any) -> Any:
        if isinstance(value, bool):
            msg = "a boolean is not a custom attribute value this store writes; use a string"
            raise ValueError(msg)
        if isinstance(value, float):
            return Decimal(str(value))
        return value


class PerformConversionEvent(_Params):
    """Fires on the campaign's conversion event: a custom event or a purchase."""

    type: Literal["perform_conversion_event"]
    conversion: Literal["custom_event", "purchase"]
    event_name: Annotated[str, Field(min_length=1, max_length=NAME_MAX)] | None = None
    product_id: Annotated[str, Field(min_length=1)] | None = None

    @field_validator("conversion", mode="before")
    @classmethod
    def _conversion(cls, value: Any) -> Any:
        return _normalise_choice(value)

    @model_validator(mode="after")
    def _consistent(self) -> PerformConversionEvent:
        if self.conversion == "custom_event" and self.event_name is None:
            msg = "event_name is required when conversion is custom_event"
            raise ValueError(msg)
        if self.conversion == "custom_event" and self.product_id is not None:
            msg = "product_id only applies when conversion is purchase"
            raise ValueError(msg)
        if self.conversion == "purchase" and self.event_name is not None:
            msg = "event_name only applies when conversion is custom_event"
            raise ValueError(msg)
        return self


class PerformExceptionEvent(_Params):
    """Fires when a user who received ``campaign`` performs its exception event."""

    type: Literal["perform_exception_event"]
    event_name: Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
    campaign: Annotated[str, Field(min_length=1, max_length=NAME_MAX)]


class UpdateSubscriptionStatus(_Params):
    """Fires when the user's status on a channel (any of its groups) becomes ``state``."""

    type: Literal["update_subscription_status"]
    channel: Channel
    state: SubscriptionState

    @field_validator("channel", "state", mode="before")
    @classmethod
    def _choices(cls, value: Any) -> Any:
        return _normalise_choice(value)


class UpdateSubscriptionGroupStatus(_Params):
    """Fires when the user's state in one subscription group becomes ``state``.

    ``group`` is the group's name (or id) as the merchant sees it; ``group_id`` is filled
    in when the campaign is saved, so matching never depends on a rename.
    """

    type: Literal["update_subscription_group_status"]
    group: StrictStr | StrictInt
    state: SubscriptionState
    group_id: int | None = None

    @field_validator("state", mode="before")
    @classmethod
    def _state(cls, value: Any) -> Any:
        return _normalise_choice(value)


class AddEmailAddress(_Params):
    """Fires when a profile gets an email address (it had none, or another one)."""

    type: Literal["add_email_address"]


class MakePurchase(_Params):
    """Fires on any purchase, or on purchases of one product."""

    type: Literal["make_purchase"]
    product_id: Annotated[str, Field(min_length=1)] | None = None


class PerformCustomEvent(_Params):
    """Fires on one custom event (the backfill writes ``shopify_created_order``)."""

    type: Literal["perform_custom_event"]
    event_name: Annotated[str, Field(min_length=1, max_length=NAME_MAX)]


Trigger = Annotated[
    ChangeCustomAttributeValue
    | PerformConversionEvent
    | PerformExceptionEvent
    | UpdateSubscriptionStatus
    | UpdateSubscriptionGroupStatus
    | AddEmailAddress
    | MakePurchase
    | PerformCustomEvent,
    Field(discriminator="type"),
]
TRIGGER_ADAPTER: Final[TypeAdapter[Trigger]] = TypeAdapter(Trigger)


class CampaignSpec(BaseModel):
    """A campaign or Canvas as written in a file or given on the command line."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
    kind: Kind = "campaign"
    status: Status = "active"
    delivery: Delivery = "action_based"
    start_at: AwareDatetime | None = None
    end_at: AwareDatetime | None = None
    trigger: Trigger | None = None

    @field_validator("kind", "status", "delivery", mode="before")
    @classmethod
    def _choices(cls, value: Any) -> Any:
        return _normalise_choice(value)

    @field_validator("trigger", mode="before")
    @classmethod
    def _trigger_type(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and "type" in value:
            value = {**value, "type": _normalise_choice(value["type"])}
            if value["type"] not in TRIGGER_TYPES:
                msg = (
                    f"unknown trigger type {value['type']!r}; use one of {', '.join(TRIGGER_TYPES)}"
                )
                raise ValueError(msg)
        return value

    @field_validator("start_at", "end_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    @model_validator(mode="after")
    def _consistent(self) -> CampaignSpec:
        if self.delivery == "action_based":
            if self.trigger is None:
                msg = "an action-based campaign needs a trigger"
                raise ValueError(msg)
            if self.start_at is None:
                msg = "an action-based campaign needs start_at (events before it never trigger)"
                raise ValueError(msg)
        elif self.trigger is not None:
            msg = f"only action-based campaigns have a trigger; this one is {self.delivery}"
            raise ValueError(msg)
        if self.start_at and self.end_at and self.end_at <= self.start_at:
            msg = "end_at must be after start_at"
            raise ValueError(msg)
        return self


@dataclass(frozen=True, slots=True)
class Campaign:
    """A stored campaign or Canvas."""

    id: int
    workspace_id: int
    name: str
    kind: Kind
    status: Status
    delivery: Delivery
    start_at: datetime | None
    end_at: datetime | None
    trigger: Trigger | None
    created_at: datetime
    updated_at: datetime

    @property
    def trigger_type(self) -> TriggerType | None:
        return self.trigger.type if self.trigger is not None else None

    @property
    def listens(self) -> bool:
        """Active and action-based: the only campaigns the trigger engine evaluates."""
        return self.status == "active" and self.delivery == "action_based"

    def in_schedule(self, moment: datetime) -> bool:
        """``start_at <= moment <= end_at``: one second before the start does not count."""
        if self.start_at is None or moment < self.start_at:
            return False
        return self.end_at is None or moment <= self.end_at


def describe_errors(error: ValidationError) -> str:
    """Pydantic errors as ``field.path: message`` lines, without pydantic's URLs."""
    parts: list[str] = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"] if not _is_union_tag(part))
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)


def _is_union_tag(part: object) -> bool:
    return isinstance(part, str) and part in TRIGGER_TYPES


def parse_spec(data: Any, *, where: str = "") -> CampaignSpec:
    """Validate one campaign, or raise ``InputError`` naming the campaign and the field."""
    label = _label(data, where)
    if not isinstance(data, Mapping):
        raise InputError(
            f"{label}: expected a mapping of campaign fields, got {type(data).__name__}"
        )
    try:
        return CampaignSpec.model_validate(dict(data))
    except ValidationError as error:
        raise InputError(f"{label}: {describe_errors(error)}") from None


def _label(data: Any, where: str) -> str:
    name = data.get("name") if isinstance(data, Mapping) else None
    prefix = f"{where}: " if where else ""
    return f"{prefix}campaign {name!r}" if isinstance(name, str) and name else f"{prefix}campaign"
