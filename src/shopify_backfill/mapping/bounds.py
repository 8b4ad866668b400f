"""How long a mapped text may be, and what is done to text no database would store.

Shopify bounds few of its free-text fields, and a merchant's data holds whatever their
shop, their apps and their importers ever wrote. Every text value the mapping writes is
therefore bounded here, in one place, and the schema's column widths agree:

=============================  ==========  =====================================
value                          bound       column
=============================  ==========  =====================================
first_name, last_name,         255         ``users`` text
home_city
phone (as written, when it     64          ``users.phone varchar(64)``
does not parse)
email                          320         ``users.email varchar(320)`` (longer
                                           is invalid: dropped with a note)
shopify_tags attribute         65,536      attribute value
product id of a purchase       255         ``purchases.product_id`` text
every string inside event and  65,536      JSON properties
purchase properties
a value quoted in a note       80          quarantine ``reason varchar(500)``
=============================  ==========  =====================================

65,536 holds the longest value Shopify itself lets a merchant write there (250 tags of up
to 255 characters, joined); 255 is Shopify's own limit on names and cities. A longer value
is cut at the bound (on code points, with a trailing "…") and the record
gets a note naming the field and its length, shown as a "partial" issue in the report.
Before any bound, text is made storable: NUL and the other C0 controls but tab, newline
and carriage return are removed (PostgreSQL's ``text`` and ``jsonb`` refuse NUL), and
lone surrogates, which JSON's ``\\ud800`` escapes can produce but no UTF-8 encoder
accepts, become U+FFFD. Everything else (right-to-left marks, joiners, combining marks,
emoji sequences, a BOM) is kept as the merchant wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, overload

NAME_TEXT: Final = 255
PHONE_TEXT: Final = 64
TAGS_TEXT: Final = 65_536
PRODUCT_ID_TEXT: Final = 255
PROPERTY_TEXT: Final = 65_536
NOTE_QUOTE: Final = 80

_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
ELLIPSIS: Final = "…"


def storable(text: str) -> str:
    """``text`` without the characters a database refuses (see the module docstring)."""
    if text.isascii():
        return _UNSTORABLE.sub("", text) if not text.isprintable() else text
    return _SURROGATE.sub("\ufffd", _UNSTORABLE.sub("", text))


def cut(text: str, limit: int) -> str:
    """``text`` itself when it fits, else its first code points and an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def quote(text: str) -> str:
    """A value for a note: its repr, bounded, so a 1 MB value makes a short note."""
    return repr(cut(text, NOTE_QUOTE))


@overload
def bounded(value: str, limit: int, what: str, notes: list[str]) -> str: ...
@overload
def bounded(value: str | None, limit: int, what: str, notes: list[str]) -> str | None: ...
def bounded(value: str | None, limit: int, what: str, notes: list[str]) -> str | None:
    """``value`` cut to ``limit``, with a note in ``notes`` when it was cut."""
    if value is None or len(value) <= limit:
        return value
    notes.append(f"{what} cut to {limit:,} characters (was {len(value):,})")
    return cut(value, limit)


def bounded_properties(
    properties: Mapping[str, Any], what: str, notes: list[str]
) -> dict[str, Any]:
    """Event or purchase properties with every string made storable and bounded."""
    try:
        return _bound_fast(dict(properties))  # type: ignore[no-any-return]
    except _TooLongError:
        pass  # rare: the careful walk below names each cut value's path
    cuts: list[str] = []
    result = _bound(dict(properties), "", cuts)
    if cuts:
        shown = ", ".join(cuts[:5]) + (f" and {len(cuts) - 5:,} more" if len(cuts) > 5 else "")
        notes.append(f"{what} properties cut to {PROPERTY_TEXT:,} characters: {shown}")
    return result  # type: ignore[no-any-return]


class _TooLongError(Exception):
    """A property string exceeds the bound: redo the walk with paths, for the note."""


def _bound_fast(value: Any) -> Any:
    """``_bound`` without the paths, which only a cut needs: building a path string for
    each of the ~75 values of an order was most of what bounding cost (profile: 3.6 s of
    mapping's 6 s at 45,000 orders). Gives the very same result when nothing is cut."""
    if isinstance(value, str):
        text = storable(value)
        if len(text) > PROPERTY_TEXT:
            raise _TooLongError
        return text
    if isinstance(value, dict):
        return {
            storable(str(key))[:PROPERTY_TEXT]: _bound_fast(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_bound_fast(item) for item in value]
    return value


def _bound(value: Any, path: str, cuts: list[str]) -> Any:
    if isinstance(value, str):
        text = storable(value)
        if len(text) > PROPERTY_TEXT:
            cuts.append(path or "value")
            return cut(text, PROPERTY_TEXT)
        return text
    if isinstance(value, dict):
        bounded_items = {}
        for key, item in value.items():
            name = storable(str(key))[:PROPERTY_TEXT]
            bounded_items[name] = _bound(item, f"{path}.{name}" if path else name, cuts)
        return bounded_items
    if isinstance(value, list | tuple):
        return [_bound(item, f"{path}[{index}]", cuts) for index, item in enumerate(value)]
    return value
