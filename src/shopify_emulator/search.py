"""Shopify search syntax (the ``query:`` argument): parser, and compiler to SQL.

Shopify silently ignores a filter it does not know and says so only in
``extensions.search[].warnings`` (``invalid_field``), then returns everything. The
product treats that warning as an error, so the emulator must reproduce it exactly. The
list of valid fields per connection is not hand-written here: it is read from the real
schema, where each ``query`` argument's description holds a table of filter names.

Semantics chosen where Shopify does not document them (written down in
``docs/emulator-store.md``):

- an ignored term (unknown field, or a field valid in Shopify that the emulator does not
  implement, or an invalid enumerated value) is *dropped* from the expression: it
  neither restricts an ``AND`` nor widens an ``OR``;
- a malformed timestamp or number for a time/numeric field is a request error, because
  silently returning the wrong set of orders is worse than failing;
- dates without a time mean the whole day in the shop's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from graphql import GraphQLSchema

INVALID_FIELD_MESSAGE = "Invalid search field for this query."
UNSUPPORTED_MESSAGE = "The emulator does not implement this search field; the term was ignored."

COMPARATORS = (">=", "<=", ">", "<")
_RANGE_KEYS = {">": "range_gt", ">=": "range_gte", "<": "range_lt", "<=": "range_lte"}


class SearchError(ValueError):
    """A filter value that Shopify rejects outright (for example an unreadable timestamp)."""


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class Term:
    """``field:<comparator>value``; ``field`` is ``None`` for a bare (default) term."""

    field: str | None
    comparator: str
    value: str
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Term | And | Or | Not


# --------------------------------------------------------------------------- parser


_WORD_STOP = set(" \t\r\n()")


class _Parser:
    """Recursive descent over the raw text; lenient like Shopify (stray parens are ignored)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> Node | None:
        node = self._or()
        while self.pos < len(self.text):  # unmatched ')' and trailing junk: keep reading
            self.pos += 1
            rest = self._or()
            if rest is not None:
                node = rest if node is None else And((node, rest))
        return node

    def _skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _peek_keyword(self, word: str) -> bool:
        self._skip_ws()
        end = self.pos + len(word)
        if self.text[self.pos : end] != word:
            return False
        return end == len(self.text) or self.text[end] in _WORD_STOP

    def _or(self) -> Node | None:
        parts = [p for p in [self._and()] if p is not None]
        while self._peek_keyword("OR"):
            self.pos += 2
            node = self._and()
            if node is not None:
                parts.append(node)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def _and(self) -> Node | None:
        parts: list[Node] = []
        while True:
            self._skip_ws()
            if self.pos >= len(self.text) or self.text[self.pos] == ")":
                break
            if self._peek_keyword("OR"):
                break
            if self._peek_keyword("AND"):
                self.pos += 3
                continue
            node = self._unary()
            if node is not None:
                parts.append(node)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def _unary(self) -> Node | None:
        self._skip_ws()
        if self._peek_keyword("NOT"):
            self.pos += 3
            child = self._unary()
            return None if child is None else Not(child)
        char = self.text[self.pos]
        if char == "-" and self.pos + 1 < len(self.text) and not self.text[self.pos + 1].isspace():
            self.pos += 1
            child = self._unary()
            return None if child is None else Not(child)
        if char == "(":
            self.pos += 1
            inner = self._or()
            self._skip_ws()
            if self.pos < len(self.text) and self.text[self.pos] == ")":
                self.pos += 1
            return inner
        return self._term()

    def _quoted(self) -> str:
        quote = self.text[self.pos]
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text) and self.text[self.pos] != quote:
            if self.text[self.pos] == "\\" and self.pos + 1 < len(self.text):
                self.pos += 1
            out.append(self.text[self.pos])
            self.pos += 1
        self.pos += 1  # closing quote (or end of text)
        return "".join(out)

    def _bare(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _WORD_STOP:
            self.pos += 1
        return self.text[start : self.pos]

    def _term(self) -> Term | None:
        if self.text[self.pos] in "'\"":
            return Term(None, "", self._quoted(), quoted=True)
        match = re.compile(r"([A-Za-z_][\w.]*):").match(self.text, self.pos)
        if match is None:
            word = self._bare()
            return Term(None, "", word) if word else None
        name = match.group(1)
        self.pos = match.end()
        self._skip_ws()
        comparator = ""
        for candidate in COMPARATORS:
            if self.text.startswith(candidate, self.pos):
                comparator = candidate
                self.pos += len(candidate)
                break
        if self.pos < len(self.text) and self.text[self.pos] in "'\"":
            return Term(name, comparator, self._quoted(), quoted=True)
        return Term(name, comparator, self._bare())


def parse_search(text: str | None) -> Node | None:
    """Parse a search string; ``None`` or blank text means "match everything"."""
    if text is None or not text.strip():
        return None
    return _Parser(text).parse()


def parsed_json(node: Node | None) -> dict[str, Any]:
    """The ``parsed`` object of an ``extensions.search`` entry.

    Single terms match Shopify's captures (``{"field", "match_all"}``); the boolean and
    range forms are the emulator's rendering, since no capture shows them.
    """
    if node is None:
        return {}
    if isinstance(node, Term):
        name = node.field or "default"
        if node.comparator:
            return {"field": name, _RANGE_KEYS[node.comparator]: node.value}
        if node.value.endswith("*") and not node.quoted and node.value != "*":
            return {"field": name, "prefix": node.value[:-1]}
        return {"field": name, "match_all": node.value}
    if isinstance(node, Not):
        return {"not": parsed_json(node.child)}
    key = "and" if isinstance(node, And) else "or"
    return {key: [parsed_json(child) for child in node.children]}


def iter_terms(node: Node | None) -> Iterator[Term]:
    if node is None:
        return
    if isinstance(node, Term):
        yield node
    elif isinstance(node, Not):
        yield from iter_terms(node.child)
    else:
        for child in node.children:
            yield from iter_terms(child)


# --------------------------------------------------------------------------- valid fields


_TABLE_ROW = re.compile(r"^\|\s*([^|\s][^|]*?)\s*\|\s*([^|]*?)\s*\|")


def fields_from_description(description: str | None) -> frozenset[str]:
    """Filter names listed in a ``query`` argument description's Markdown table."""
    names: set[str] = set()
    for line in (description or "").splitlines():
        match = _TABLE_ROW.match(line.strip())
        if match and match.group(2) not in {"type", "----"}:
            names.add(match.group(1))
    return frozenset(names)


@lru_cache(maxsize=64)
def valid_search_fields(schema: GraphQLSchema, type_name: str, field_name: str) -> frozenset[str]:
    """Valid filters of ``type_name.field_name(query:)`` according to the schema itself."""
    graphql_type = schema.get_type(type_name)
    fields = getattr(graphql_type, "fields", None)
    if not fields or field_name not in fields or "query" not in fields[field_name].args:
        return frozenset()
    return fields_from_description(fields[field_name].args["query"].description)


def _field_is_valid(name: str, valid: frozenset[str]) -> bool:
    if name in valid:
        return True
    return name.startswith("metafields.") and "metafields.{namespace}.{key}" in valid


# --------------------------------------------------------------------------- compiler


@dataclass(slots=True)
class SearchContext:
    """What value parsing needs: the shop's zone for bare dates, and "now"."""

    timezone: ZoneInfo
    now: datetime
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def warn(self, name: str, message: str, code: str) -> None:
        entry = {"field": name, "message": message, "code": code}
        if entry not in self.warnings:
            self.warnings.append(entry)


class _IgnoredError(Exception):
    """Raised by a handler to drop its term after recording a warning."""


Sql = tuple[str, list[Any]]
Handler = Callable[[Term, SearchContext], Sql]


@dataclass(frozen=True)
class SearchSpec:
    """How each filter name of one resource compiles to SQL over the store's columns."""

    resource: str
    handlers: Mapping[str, Handler]


@dataclass(frozen=True)
class CompiledSearch:
    where: str
    params: list[Any]
    warnings: list[dict[str, Any]]
    parsed: dict[str, Any]


def compile_search(
    text: str | None,
    spec: SearchSpec,
    valid: frozenset[str],
    ctx: SearchContext,
) -> CompiledSearch:
    """Compile ``text`` to a SQL boolean expression plus Shopify-style warnings."""
    node = parse_search(text)
    compiled = _compile(node, spec, valid, ctx)
    where, params = compiled if compiled is not None else ("1", [])
    return CompiledSearch(where, params, list(ctx.warnings), parsed_json(node))


def _compile(
    node: Node | None, spec: SearchSpec, valid: frozenset[str], ctx: SearchContext
) -> Sql | None:
    if node is None:
        return None
    if isinstance(node, Term):
        name = node.field or "default"
        if not _field_is_valid(name, valid):
            ctx.warn(name, INVALID_FIELD_MESSAGE, "invalid_field")
            return None
        handler = spec.handlers.get(name)
        if handler is None:
            ctx.warn(name, UNSUPPORTED_MESSAGE, "emulator_unsupported")
            return None
        try:
            return handler(node, ctx)
        except _IgnoredError:
            return None
    if isinstance(node, Not):
        inner = _compile(node.child, spec, valid, ctx)
        return None if inner is None else (f"NOT ({inner[0]})", inner[1])
    parts = [p for p in (_compile(c, spec, valid, ctx) for c in node.children) if p is not None]
    if not parts:
        return None
    joiner = " AND " if isinstance(node, And) else " OR "
    sql = joiner.join(f"({p[0]})" for p in parts)
    params = [value for p in parts for value in p[1]]
    return sql, params


# --------------------------------------------------------------------------- value parsing


_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def time_interval(value: str, ctx: SearchContext, name: str) -> tuple[int, int]:
    """A time filter value as a half-open interval ``[lo, hi)`` of epoch seconds."""
    text = value.strip()
    if ".." in text:
        start, _, end = text.partition("..")
        return time_interval(start, ctx, name)[0], time_interval(end, ctx, name)[1]
    if text.lower() == "now":
        point = _epoch(ctx.now)
        return point, point + 1
    match = _DATETIME.match(text)
    if match:
        year, month, day, hour, minute = (int(g) for g in match.groups()[:5])
        second = int(match.group(6) or 0)
        zone = match.group(7)
        tzinfo: Any = ctx.timezone
        if zone == "Z":
            tzinfo = UTC
        elif zone:
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            tzinfo = _fixed_offset(sign * (int(digits[:2]) * 60 + int(digits[2:])))
        try:
            moment = datetime(year, month, day, hour, minute, second, tzinfo=tzinfo)
        except ValueError as error:
            raise SearchError(f"Invalid timestamp for query filter `{name}`.") from error
        point = _epoch(moment)
        return point, point + 1
    try:
        if re.fullmatch(r"\d{4}", text):
            lo_day, hi_day = date(int(text), 1, 1), date(int(text) + 1, 1, 1)
        elif re.fullmatch(r"\d{4}-\d{2}", text):
            y, m = int(text[:4]), int(text[5:])
            lo_day = date(y, m, 1)
            hi_day = date(y + (m == 12), m % 12 + 1, 1)
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            lo_day = date.fromisoformat(text)
            hi_day = lo_day + timedelta(days=1)
        else:
            raise ValueError(text)
    except ValueError as error:
        raise SearchError(f"Invalid timestamp for query filter `{name}`.") from error
    lo = datetime(lo_day.year, lo_day.month, lo_day.day, tzinfo=ctx.timezone)
    hi = datetime(hi_day.year, hi_day.month, hi_day.day, tzinfo=ctx.timezone)
    return _epoch(lo), _epoch(hi)


def _fixed_offset(minutes: int) -> Any:
    return timezone(timedelta(minutes=minutes))


def _interval_sql(column: str, comparator: str, lo: int, hi: int) -> Sql:
    if comparator == "":
        return f"{column} >= ? AND {column} < ?", [lo, hi]
    if comparator == ">":
        return f"{column} >= ?", [hi]
    if comparator == ">=":
        return f"{column} >= ?", [lo]
    if comparator == "<":
        return f"{column} < ?", [lo]
    return f"{column} < ?", [hi]


def time_handler(column: str) -> Handler:
    def handle(term: Term, ctx: SearchContext) -> Sql:
        lo, hi = time_interval(term.value, ctx, term.field or "default")
        return _interval_sql(column, term.comparator, lo, hi)

    return handle


def _number(value: str, name: str) -> Decimal:
    try:
        number = Decimal(value.strip())
    except InvalidOperation as error:
        raise SearchError(f"Invalid value `{value}` for query filter `{name}`.") from error
    if not number.is_finite():
        raise SearchError(f"Invalid value `{value}` for query filter `{name}`.")
    return number


def numeric_handler(column: str, scale: int = 1) -> Handler:
    """Numbers, ranges (``a..b``) and comparators; ``scale`` turns amounts into cents."""

    def handle(term: Term, ctx: SearchContext) -> Sql:
        name = term.field or "default"
        text = term.value.strip()
        if ".." in text and not term.comparator:
            start, _, end = text.partition("..")
            lo, hi = _number(start, name) * scale, _number(end, name) * scale
            return f"{column} >= ? AND {column} <= ?", [_num(lo), _num(hi)]
        number = _number(text, name) * scale
        op = {"": "=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}[term.comparator]
        return f"{column} {op} ?", [_num(number)]

    return handle


def _num(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def id_handler(column: str) -> Handler:
    """``id:123``, ``id:>=123``, and full gids (``gid://shopify/Order/123``)."""
    inner = numeric_handler(column)

    def handle(term: Term, ctx: SearchContext) -> Sql:
        value = term.value.rsplit("/", 1)[-1] if term.value.startswith("gid://") else term.value
        return inner(Term(term.field, term.comparator, value, term.quoted), ctx)

    return handle


def boolean_handler(expression_true: str) -> Handler:
    def handle(term: Term, ctx: SearchContext) -> Sql:
        value = term.value.strip().lower()
        if value not in {"true", "false"}:
            ctx.warn(
                term.field or "default",
                f"Input `{term.value}` is not an accepted value.",
                "invalid_value",
            )
            raise _IgnoredError
        return (expression_true, []) if value == "true" else (f"NOT ({expression_true})", [])

    return handle


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def text_handler(column: str) -> Handler:
    """Case-insensitive equality; ``value*`` is a prefix match; ``*`` means "has a value"."""

    def handle(term: Term, ctx: SearchContext) -> Sql:
        value = term.value
        if value == "*" and not term.quoted:
            return f"{column} IS NOT NULL AND {column} != ''", []
        if value.endswith("*") and not term.quoted:
            return f"lower({column}) LIKE ? ESCAPE '\\'", [_like_escape(value[:-1].lower()) + "%"]
        return f"lower({column}) = ?", [value.lower()]

    return handle


def token_handler(column: str) -> Handler:
    """Tokenized fields (Shopify's email, default search): a phrase of whole tokens."""

    def handle(term: Term, ctx: SearchContext) -> Sql:
        if term.value == "*" and not term.quoted:
            return f"{column} IS NOT NULL AND {column} != ''", []
        return f"emu_token_match({column}, ?)", [term.value]

    return handle


def enum_handler(column: str, accepted: Mapping[str, str | tuple[str, ...]]) -> Handler:
    """Documented values only; anything else is an ``invalid_value`` warning."""

    def handle(term: Term, ctx: SearchContext) -> Sql:
        target = accepted.get(term.value.strip().lower())
        if target is None:
            ctx.warn(
                term.field or "default",
                f"Input `{term.value}` is not an accepted value.",
                "invalid_value",
            )
            raise _IgnoredError
        values = (target,) if isinstance(target, str) else target
        marks = ", ".join("?" for _ in values)
        return f"{column} IN ({marks})", list(values)

    return handle


def tag_handler(column: str, negate: bool = False) -> Handler:
    """``tag:a,b`` matches a resource holding any of the tags (case-insensitive)."""

    def handle(term: Term, ctx: SearchContext) -> Sql:
        sql = f"emu_has_tag({column}, ?)"
        return (f"NOT {sql}" if negate else sql), [term.value]

    return handle


# --------------------------------------------------------------------------- SQL functions


_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def tokens(text: str | None) -> list[str]:
    return _TOKEN.findall((text or "").lower())


def token_match(haystack: str | None, needle: str | None) -> int:
    """1 when the needle's tokens occur contiguously in the haystack (last may be a prefix)."""
    if haystack is None or needle is None:
        return 0
    prefix = needle.endswith("*")
    wanted = tokens(needle)
    if not wanted:
        return 0
    have = tokens(haystack)
    size = len(wanted)
    for start in range(len(have) - size + 1):
        window = have[start : start + size]
        if window[:-1] != wanted[:-1]:
            continue
        last = window[-1]
        if last == wanted[-1] or (prefix and last.startswith(wanted[-1])):
            return 1
    return 0


def has_tag(tags_text: str | None, wanted: str | None) -> int:
    """``tags_text`` is the store's ``\\x1f``-separated lower-case tag list."""
    if not tags_text or wanted is None:
        return 0
    have = set(tags_text.split("\x1f"))
    return int(any(tag.strip().lower() in have for tag in wanted.split(",") if tag.strip()))


def register_sql_functions(connection: Any) -> None:
    """Install the helpers the compiled SQL calls; deterministic so SQLite may cache."""
    connection.create_function("emu_token_match", 2, token_match, deterministic=True)
    connection.create_function("emu_has_tag", 2, has_tag, deterministic=True)


# --------------------------------------------------------------------------- specs


_FINANCIAL = {
    name: name.upper()
    for name in (
        [
            "paid",
            "pending",
            "authorized",
            "partially_paid",
            "partially_refunded",
            "refunded",
            "voided",
            "expired",
        ]
    )
}
_FULFILLMENT: dict[str, str | tuple[str, ...]] = {
    "unshipped": "UNFULFILLED",
    "unfulfilled": "UNFULFILLED",
    "shipped": "FULFILLED",
    "fulfilled": "FULFILLED",
    "partial": "PARTIALLY_FULFILLED",
    "scheduled": "SCHEDULED",
    "on_hold": "ON_HOLD",
    "request_declined": "REQUEST_DECLINED",
}


def _status_handler(term: Term, ctx: SearchContext) -> Sql:
    value = term.value.strip().lower()
    clauses = {
        "open": "o.closed_at IS NULL AND o.cancelled_at IS NULL",
        "closed": "o.closed_at IS NOT NULL",
        "cancelled": "o.cancelled_at IS NOT NULL",
        "not_closed": "o.closed_at IS NULL",
        "any": "1",
    }
    if value not in clauses:
        ctx.warn("status", f"Input `{term.value}` is not an accepted value.", "invalid_value")
        raise _IgnoredError
    return clauses[value], []


def _order_name_handler(term: Term, ctx: SearchContext) -> Sql:
    return "ltrim(lower(o.name), '#') = ltrim(lower(?), '#')", [term.value]


def _sku_handler(term: Term, ctx: SearchContext) -> Sql:
    return (
        "EXISTS (SELECT 1 FROM line_items li WHERE li.order_id = o.id AND lower(li.sku) = ?)",
        [term.value.lower()],
    )


def _phone_handler(term: Term, ctx: SearchContext) -> Sql:
    if term.value == "*" and not term.quoted:
        return "c.phone IS NOT NULL AND c.phone != ''", []
    digits = re.sub(r"\D", "", term.value)
    return "c.phone_digits = ?", [digits]


def _country_handler(term: Term, ctx: SearchContext) -> Sql:
    value = term.value.strip().lower()
    return "(lower(c.country) = ? OR lower(c.country_code) = ?)", [value, value]


def _order_date_handler(term: Term, ctx: SearchContext) -> Sql:
    lo, hi = time_interval(term.value, ctx, "order_date")
    inner, params = _interval_sql("od.created_at", term.comparator, lo, hi)
    sql = f"EXISTS (SELECT 1 FROM orders od WHERE od.customer_id = c.id AND {inner})"  # noqa: S608
    return sql, params


ORDER_SEARCH = SearchSpec(
    resource="orders",
    handlers={
        "default": token_handler("o.search_text"),
        "created_at": time_handler("o.created_at"),
        "updated_at": time_handler("o.updated_at"),
        "processed_at": time_handler("o.processed_at"),
        "id": id_handler("o.id"),
        "customer_id": id_handler("o.customer_id"),
        "test": boolean_handler("o.test = 1"),
        "status": _status_handler,
        "email": text_handler("o.email"),
        "name": _order_name_handler,
        "tag": tag_handler("o.tags_lc"),
        "tag_not": tag_handler("o.tags_lc", negate=True),
        "financial_status": enum_handler("o.financial_status", _FINANCIAL),
        "fulfillment_status": enum_handler("o.fulfillment_status", _FULFILLMENT),
        "source_name": text_handler("o.source_name"),
        "discount_code": text_handler("o.discount_code"),
        "current_total_price": numeric_handler("o.current_total_cents", scale=100),
        "subtotal_line_items_quantity": numeric_handler("o.total_items_quantity"),
        "sku": _sku_handler,
    },
)

CUSTOMER_SEARCH = SearchSpec(
    resource="customers",
    handlers={
        "default": token_handler("c.search_text"),
        "created_at": time_handler("c.created_at"),
        "customer_date": time_handler("c.created_at"),
        "updated_at": time_handler("c.updated_at"),
        "id": id_handler("c.id"),
        "email": token_handler("c.email"),
        "phone": _phone_handler,
        "first_name": text_handler("c.first_name"),
        "last_name": text_handler("c.last_name"),
        "tag": tag_handler("c.tags_lc"),
        "tag_not": tag_handler("c.tags_lc", negate=True),
        "country": _country_handler,
        "state": enum_handler(
            "c.state", {s.lower(): s for s in ("ENABLED", "DISABLED", "INVITED", "DECLINED")}
        ),
        "orders_count": numeric_handler("c.orders_count"),
        "total_spent": numeric_handler("c.total_spent_cents", scale=100),
        "accepts_marketing": boolean_handler("c.email_state = 'SUBSCRIBED'"),
        "order_date": _order_date_handler,
    },
)
