"""Opaque pagination cursors in Shopify's own shape.

Shopify cursors are base64 of a compact JSON object ``{"last_id": <numeric id>,
"last_value": <sort value>}`` (see the captures): the value is milliseconds since the
epoch for timestamp sort keys and the id as a string for ``ID``. Clients must treat them
as opaque, but matching the shape keeps the emulator honest when someone decodes one
while debugging, and lets keyset pagination resume from the cursor alone.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson


class CursorError(ValueError):
    """The text is not a cursor this emulator issued."""


@dataclass(frozen=True, slots=True)
class Cursor:
    last_id: int
    last_value: Any


def encode_cursor(last_id: int, last_value: Any) -> str:
    """Base64 of ``{"last_id":..,"last_value":..}`` with Shopify's key order and no spaces."""
    raw = orjson.dumps({"last_id": last_id, "last_value": last_value})
    return base64.b64encode(raw).decode("ascii")


def decode_cursor(text: str) -> Cursor:
    """Parse a cursor; anything malformed raises ``CursorError`` naming the problem."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        payload = orjson.loads(raw)
    except (binascii.Error, UnicodeEncodeError, orjson.JSONDecodeError) as error:
        raise CursorError(f"cursor {text!r} is not base64-encoded JSON") from error
    if not isinstance(payload, dict) or not isinstance(payload.get("last_id"), int):
        raise CursorError(f"cursor {text!r} has no integer last_id")
    return Cursor(last_id=payload["last_id"], last_value=payload.get("last_value"))
