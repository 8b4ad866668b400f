"""The emulator's shop: one SQLite database holding a generated synthetic store.

Documents are stored as orjson blobs shaped exactly like Shopify's GraphQL output
(camelCase keys, gids, Decimal strings), next to plain indexed columns for everything the
search filters and sort keys need. The executor serves a field by reading the document;
the columns only decide which rows, in which order. Keys starting with ``_`` inside a
document are private links (for example ``_customerId``) that never reach a response.

Tables (``docs/emulator-store.md`` has every column):

- ``store_meta(key, value)`` - shop domain, plan, seed, ``now`` and the shop document;
- ``customers`` - one row per customer, ``doc`` = the Customer object;
- ``orders`` - one row per order, ``doc`` = the Order object with its shipping lines;
- ``line_items`` - one row per line item (id, order, SKU) for lookups and ``sku:``
  search; the LineItem objects themselves are stored per order in
  ``orders.line_items`` (one compressed list: one decompression serves a whole page).

Table names starting with ``emu_`` belong to the HTTP layer (tokens, bulk operations),
which shares the database through ``connection()``.
"""

from __future__ import annotations

import base64
import contextlib
import shutil
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import orjson

from shopify_backfill.errors import ConfigError, InputError
from shopify_emulator import synth
from shopify_emulator.cursors import Cursor, CursorError, encode_cursor
from shopify_emulator.search import register_sql_functions

Plan = Literal["standard", "advanced", "plus", "enterprise"]
PLANS: dict[str, tuple[str, bool]] = {
    "standard": ("Basic", False),
    "advanced": ("Advanced", False),
    "plus": ("Shopify Plus", True),
    "enterprise": ("Commerce Components", True),
}
SCHEMA_VERSION = "1"
SHOP_TIMEZONE = "America/New_York"

SCHEMA_SQL = """
CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    email TEXT,
    phone TEXT,
    phone_digits TEXT,
    first_name TEXT,
    last_name TEXT,
    name_key TEXT NOT NULL,
    location_key TEXT NOT NULL,
    country TEXT,
    country_code TEXT,
    state TEXT NOT NULL,
    tags_lc TEXT NOT NULL,
    orders_count INTEGER NOT NULL,
    total_spent_cents INTEGER NOT NULL,
    email_state TEXT,
    search_text TEXT NOT NULL,
    doc BLOB NOT NULL
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    number INTEGER NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    processed_at INTEGER NOT NULL,
    closed_at INTEGER,
    cancelled_at INTEGER,
    customer_id INTEGER,
    test INTEGER NOT NULL,
    email TEXT,
    phone TEXT,
    financial_status TEXT,
    fulfillment_status TEXT NOT NULL,
    tags_lc TEXT NOT NULL,
    source_name TEXT,
    discount_code TEXT,
    total_price_cents INTEGER NOT NULL,
    current_total_cents INTEGER NOT NULL,
    total_items_quantity INTEGER NOT NULL,
    customer_name TEXT NOT NULL,
    search_text TEXT NOT NULL,
    doc BLOB NOT NULL,
    line_items BLOB NOT NULL
);
CREATE TABLE line_items (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL,
    sku TEXT
);
"""

INDEX_SQL = """
CREATE INDEX customers_created ON customers (created_at, id);
CREATE INDEX customers_updated ON customers (updated_at, id);
CREATE INDEX customers_name ON customers (name_key, id);
CREATE INDEX customers_email ON customers (email);
CREATE INDEX orders_created ON orders (created_at, id);
CREATE INDEX orders_updated ON orders (updated_at, id);
CREATE INDEX orders_processed ON orders (processed_at, id);
CREATE INDEX orders_customer ON orders (customer_id, created_at);
CREATE INDEX line_items_order ON line_items (order_id, id);
"""


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
    connection.execute("PRAGMA busy_timeout = 30000")
    register_sql_functions(connection)
    return connection


class ShopStore:
    """A generated shop on disk; cheap to reopen, safe to read from many threads.

    Each thread gets its own SQLite connection (WAL mode: readers never block the
    writer). ``generate(None, ...)`` builds a throwaway store in a private temporary
    folder that is deleted by ``close()`` or when the object is garbage-collected.
    """

    def __init__(self, path: Path, *, cleanup_dir: Path | None = None) -> None:
        self.path = path
        self._local = threading.local()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        self._closed = False
        meta = dict(self.connection().execute("SELECT key, value FROM store_meta").fetchall())
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise ConfigError(
                f"{path} was built by another emulator version "
                f"(store schema {meta.get('schema_version')!r}, expected {SCHEMA_VERSION}); "
                "regenerate it with ShopStore.generate"
            )
        self.shop_domain: str = meta["shop_domain"]
        self.plan: str = meta["plan"]
        self.seed: int = int(meta["seed"])
        self.now: datetime = datetime.fromisoformat(meta["now"])
        self.timezone: str = meta["timezone"]
        self._shop: dict[str, Any] = orjson.loads(meta["shop_document"])
        self.codec = synth.DocCodec(base64.b64decode(meta["doc_dictionary"]))
        self._finalizer = weakref.finalize(self, _release, self._connections, cleanup_dir)

    # ------------------------------------------------------------------ construction

    @classmethod
    def generate(
        cls,
        path: Path | None,
        *,
        customers: int,
        orders: int,
        seed: int,
        now: datetime,
        plan: Plan = "standard",
        shop_domain: str = "emulator-shop.myshopify.com",
        progress: Callable[[str, int], None] | None = None,
    ) -> ShopStore:
        """Build a store deterministically from ``seed``; ``path=None`` means throwaway."""
        if customers < 0 or orders < 0:
            raise InputError(f"customers ({customers}) and orders ({orders}) must be zero or more")
        if plan not in PLANS:
            raise InputError(f"plan {plan!r} is not one of {', '.join(PLANS)}")
        if now.tzinfo is None:
            raise InputError("now must be timezone-aware (for example datetime.now(UTC))")
        cleanup_dir = None
        if path is None:
            cleanup_dir = Path(tempfile.mkdtemp(prefix="emulator-store-"))
            path = cleanup_dir / "store.sqlite"
        elif path.exists():
            raise InputError(f"{path} already exists; remove it or use ShopStore.open")
        path.parent.mkdir(parents=True, exist_ok=True)
        now = now.astimezone(UTC).replace(microsecond=0)
        connection = sqlite3.connect(path)
        try:
            connection.execute("PRAGMA journal_mode = OFF")
            connection.execute("PRAGMA synchronous = OFF")
            connection.execute("PRAGMA cache_size = -65536")
            connection.executescript(SCHEMA_SQL)
            zdict = synth.preset_dictionary(shop_domain, int(now.timestamp()))
            synth.generate_into(
                connection,
                customers=customers,
                orders=orders,
                seed=seed,
                now=now,
                shop_domain=shop_domain,
                codec=synth.DocCodec(zdict),
                progress=progress,
            )
            connection.executescript(INDEX_SQL)
            shop = shop_document(shop_domain=shop_domain, plan=plan, seed=seed, now=now)
            meta = {
                "schema_version": SCHEMA_VERSION,
                "shop_domain": shop_domain,
                "plan": plan,
                "seed": str(seed),
                "now": now.isoformat(),
                "timezone": SHOP_TIMEZONE,
                "shop_document": orjson.dumps(shop).decode(),
                "doc_dictionary": base64.b64encode(zdict).decode(),
                "customers": str(customers),
                "orders": str(orders),
            }
            connection.executemany("INSERT INTO store_meta VALUES (?, ?)", meta.items())
            connection.commit()
            connection.execute("ANALYZE")
            connection.execute("PRAGMA journal_mode = WAL")
        finally:
            connection.close()
        return cls(path, cleanup_dir=cleanup_dir)

    @classmethod
    def open(cls, path: Path) -> ShopStore:
        """Reopen a store file built by ``generate``."""
        if not path.is_file():
            raise ConfigError(f"{path} does not exist; build it with ShopStore.generate first")
        return cls(path)

    # ------------------------------------------------------------------ access

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (created on first use, closed by ``close()``)."""
        if self._closed:
            raise ConfigError(f"the store at {self.path} is closed")
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = _connect(self.path)
            self._local.connection = connection
            with self._lock:
                # Threads come and go (the HTTP layer may run each request on a fresh
                # worker thread); keeping their connections open leaked ~125 KB a
                # request, so those of finished threads are closed here.
                alive = [(t, c) for t, c in self._connections if t.is_alive()]
                for thread, other in self._connections:
                    if not thread.is_alive():
                        with contextlib.suppress(sqlite3.Error):
                            other.close()
                alive.append((threading.current_thread(), connection))
                self._connections[:] = alive
        return connection

    def close(self) -> None:
        """Close every thread's connection; a throwaway store's files are deleted."""
        self._closed = True
        self._finalizer()

    def __enter__(self) -> ShopStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def shop_document(self) -> dict[str, Any]:
        """The Shop object (a fresh copy: callers may decorate it)."""
        copy: dict[str, Any] = orjson.loads(orjson.dumps(self._shop))
        return copy

    def counts(self) -> dict[str, int]:
        """Row counts per table, for reports and sanity checks."""
        connection = self.connection()
        return {
            table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in ("customers", "orders", "line_items")
        }

    # ------------------------------------------------------------------ lookups

    def customer(self, customer_id: int) -> dict[str, Any] | None:
        row = (
            self.connection()
            .execute("SELECT doc FROM customers WHERE id = ?", (customer_id,))
            .fetchone()
        )
        return None if row is None else self.codec.decode(row[0])

    def order(self, order_id: int) -> tuple[dict[str, Any], int] | None:
        """The order document and its ``created_at`` epoch (for visibility checks)."""
        row = (
            self.connection()
            .execute("SELECT doc, created_at FROM orders WHERE id = ?", (order_id,))
            .fetchone()
        )
        return None if row is None else (self.codec.decode(row[0]), row[1])

    def line_item(self, line_item_id: int) -> tuple[dict[str, Any], int] | None:
        """A line item and its order's ``created_at`` epoch."""
        row = (
            self.connection()
            .execute(
                "SELECT o.line_items, o.created_at FROM line_items li "
                "JOIN orders o ON o.id = li.order_id WHERE li.id = ?",
                (line_item_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        for item_id, doc in self._items(row[0]):
            if item_id == line_item_id:
                return doc, row[1]
        return None

    def _items(self, blob: bytes) -> list[tuple[int, dict[str, Any]]]:
        """An order's line items as ``(numeric id, document)`` in position (= id) order."""
        docs: list[dict[str, Any]] = self.codec.decode(blob)["items"]
        return [(int(doc["id"].rsplit("/", 1)[1]), doc) for doc in docs]

    def line_items_page(
        self, order_id: int, *, after_id: int | None, limit: int, descending: bool = False
    ) -> list[tuple[int, dict[str, Any]]]:
        """Up to ``limit`` line items of one order after ``after_id``, in position order."""
        return select_items(self.order_line_items(order_id), after_id, limit, descending)

    def order_line_items(self, order_id: int) -> list[tuple[int, dict[str, Any]]]:
        """Every line item of one order in position order (``[]`` for an unknown order)."""
        row = (
            self.connection()
            .execute("SELECT line_items FROM orders WHERE id = ?", (order_id,))
            .fetchone()
        )
        return [] if row is None else self._items(row[0])

    def customers_by_ids(self, customer_ids: list[int]) -> dict[int, dict[str, Any]]:
        """Several customer documents in one query (a page of orders names its buyers)."""
        if not customer_ids:
            return {}
        marks = ", ".join("?" for _ in customer_ids)
        cursor = self.connection().execute(
            f"SELECT id, doc FROM customers WHERE id IN ({marks})",  # noqa: S608
            customer_ids,
        )
        decode = self.codec.decode
        return {customer_id: decode(blob) for customer_id, blob in cursor}

    def decode_line_items(self, blob: bytes) -> list[dict[str, Any]]:
        """An ``orders.line_items`` blob's LineItem documents, in position order."""
        docs: list[dict[str, Any]] = self.codec.decode(blob)["items"]
        return docs

    def line_items_for_orders(
        self, order_ids: list[int]
    ) -> dict[int, list[tuple[int, dict[str, Any]]]]:
        """Every line item of several orders in one query (bulk exports prefetch per page)."""
        result: dict[int, list[tuple[int, dict[str, Any]]]] = {oid: [] for oid in order_ids}
        if not order_ids:
            return result
        marks = ", ".join("?" for _ in order_ids)
        cursor = self.connection().execute(
            f"SELECT id, line_items FROM orders WHERE id IN ({marks})",  # noqa: S608
            order_ids,
        )
        for order_id, blob in cursor:
            result[order_id] = self._items(blob)
        return result

    # ------------------------------------------------------------------ ground truth

    def iter_all_customers(self) -> Iterator[dict[str, Any]]:
        """Every customer document, by id, streamed (for tests' independent ground truth)."""
        yield from self._iter_docs("SELECT doc FROM customers ORDER BY id")

    def iter_all_orders(self, *, with_line_items: bool = False) -> Iterator[dict[str, Any]]:
        """Every order document by id; ``with_line_items`` adds ``_lineItems`` lists."""
        if not with_line_items:
            yield from self._iter_docs("SELECT doc FROM orders ORDER BY id")
            return
        connection = _connect(self.path)
        try:
            rows = connection.execute("SELECT doc, line_items FROM orders ORDER BY id")
            for doc_bytes, items in rows:
                doc = self.codec.decode(doc_bytes)
                doc["_lineItems"] = [item for _, item in self._items(items)]
                yield doc
        finally:
            connection.close()

    def _iter_docs(self, sql: str) -> Iterator[dict[str, Any]]:
        """Stream on a private connection so a consumer may interleave other queries."""
        connection = _connect(self.path)
        try:
            for (blob,) in connection.execute(sql):
                yield self.codec.decode(blob)
        finally:
            connection.close()


# --------------------------------------------------------------------------- paging

Resource = Literal["orders", "customers"]
TABLES: dict[str, str] = {"orders": "orders o", "customers": "customers c"}
ID_COLUMNS: dict[str, str] = {"orders": "o.id", "customers": "c.id"}


@dataclass(frozen=True)
class SortSpec:
    """A sort key: the SQL column and how its value travels inside a cursor.

    ``kind`` follows the captures: timestamps travel as epoch milliseconds, ``ID`` as the
    id in a string, text keys as lower-cased text, ``LOCATION`` as a JSON list.
    """

    column: str
    kind: Literal["ms", "idstr", "int", "text", "json", "cents"]

    def to_cursor(self, value: Any) -> Any:
        if self.kind == "ms":
            return int(value) * 1000
        if self.kind == "idstr":
            return str(value)
        if self.kind == "json":
            return orjson.loads(value)
        if self.kind == "cents":
            return synth.money_text(int(value))
        return value

    def from_cursor(self, value: Any) -> Any:
        """The SQL value a cursor's ``last_value`` stands for; ``CursorError`` if it cannot."""
        try:
            if self.kind == "ms":
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise TypeError(value)
                return int(value) // 1000
            if self.kind == "idstr":
                return int(str(value))
            if self.kind == "int":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise TypeError(value)
                return value
            if self.kind == "json":
                if not isinstance(value, list):
                    raise TypeError(value)
                return orjson.dumps(value).decode()
            if self.kind == "cents":
                return int(Decimal(str(value)) * 100)
            if not isinstance(value, str):
                raise TypeError(value)
            return value
        except (TypeError, ValueError, InvalidOperation) as error:
            raise CursorError(f"cursor value {value!r} does not fit this sort key") from error


ORDER_SORTS: dict[str, SortSpec] = {
    "CREATED_AT": SortSpec("o.created_at", "ms"),
    "UPDATED_AT": SortSpec("o.updated_at", "ms"),
    "PROCESSED_AT": SortSpec("o.processed_at", "ms"),
    "ID": SortSpec("o.id", "idstr"),
    "RELEVANCE": SortSpec("o.id", "idstr"),
    "ORDER_NUMBER": SortSpec("o.number", "int"),
    "TOTAL_PRICE": SortSpec("o.total_price_cents", "cents"),
    "CURRENT_TOTAL_PRICE": SortSpec("o.current_total_cents", "cents"),
    "CUSTOMER_NAME": SortSpec("o.customer_name", "text"),
    "FINANCIAL_STATUS": SortSpec("o.financial_status", "text"),
    "FULFILLMENT_STATUS": SortSpec("o.fulfillment_status", "text"),
    "TOTAL_ITEMS_QUANTITY": SortSpec("o.total_items_quantity", "int"),
}
CUSTOMER_SORTS: dict[str, SortSpec] = {
    "CREATED_AT": SortSpec("c.created_at", "ms"),
    "UPDATED_AT": SortSpec("c.updated_at", "ms"),
    "ID": SortSpec("c.id", "idstr"),
    "RELEVANCE": SortSpec("c.id", "idstr"),
    "NAME": SortSpec("c.name_key", "text"),
    "LOCATION": SortSpec("c.location_key", "json"),
}
SORTS: dict[str, dict[str, SortSpec]] = {"orders": ORDER_SORTS, "customers": CUSTOMER_SORTS}


@dataclass(frozen=True)
class Page:
    """One page of a connection: ``(cursor, document)`` pairs in response order."""

    rows: list[tuple[str, dict[str, Any]]]
    has_next_page: bool
    has_previous_page: bool


def sort_spec(resource: Resource, sort_key: str) -> SortSpec:
    spec = SORTS[resource].get(sort_key)
    if spec is None:
        raise InputError(f"the emulator does not implement sortKey {sort_key} on {resource}")
    return spec


class _Pager:
    """Keyset pagination by ``(sort value, id)``: stable, complete, no OFFSET scans."""

    def __init__(
        self,
        store: ShopStore,
        resource: Resource,
        *,
        spec: SortSpec,
        where: str,
        params: list[Any],
        reverse: bool,
    ) -> None:
        self.connection = store.connection()
        self.table = TABLES[resource]
        self.id_column = ID_COLUMNS[resource]
        self.spec = spec
        self.where = where
        self.params = params
        self.reverse = reverse

    def _key(self) -> str:
        return f"({self.spec.column}, {self.id_column})"

    def _bound(self, cursor: Cursor, later: bool) -> tuple[str, list[Any]]:
        """Rows strictly after (``later``) or before the cursor in response order."""
        ascending_after = later != self.reverse
        op = ">" if ascending_after else "<"
        return f"{self._key()} {op} (?, ?)", [
            self.spec.from_cursor(cursor.last_value),
            cursor.last_id,
        ]

    def select(
        self,
        bounds: list[tuple[str, list[Any]]],
        forward: bool,
        limit: int,
        extra_columns: tuple[str, ...] = (),
    ) -> list[tuple[Any, ...]]:
        # Keyset bounds come first: given two lower bounds on the sort column (a search
        # window's and the cursor's), SQLite ranges the index on the first one it meets
        # and filters by the other. With the window first, every page re-scanned the
        # index from the window's start (page n cost O(n); 1M orders took minutes).
        clauses = [sql for sql, _ in bounds] + [self.where]
        params = [value for _, values in bounds for value in values] + list(self.params)
        ascending = forward != self.reverse
        direction = "ASC" if ascending else "DESC"
        columns = ", ".join((self.id_column, self.spec.column, "doc", *extra_columns))
        sql = (
            f"SELECT {columns} FROM {self.table} "  # noqa: S608
            f"WHERE {' AND '.join(f'({c})' for c in clauses)} "
            f"ORDER BY {self.spec.column} {direction}, {self.id_column} {direction} LIMIT ?"
        )
        return self.connection.execute(sql, [*params, limit]).fetchall()

    def exists(self, bound: tuple[str, list[Any]]) -> bool:
        """Whether a row lies beyond ``bound`` (the bound first, as in ``select``)."""
        sql = f"SELECT 1 FROM {self.table} WHERE {bound[0]} AND ({self.where}) LIMIT 1"  # noqa: S608
        return self.connection.execute(sql, [*bound[1], *self.params]).fetchone() is not None


def fetch_page(
    store: ShopStore,
    resource: Resource,
    *,
    where: str,
    params: list[Any],
    sort_key: str,
    first: int | None,
    last: int | None,
    after: Cursor | None,
    before: Cursor | None,
    reverse: bool,
) -> Page:
    """A page in response order with Shopify's ``hasNextPage``/``hasPreviousPage``.

    ``where`` is a SQL condition over the resource's alias (``o`` or ``c``), typically a
    compiled search plus visibility rules.
    """
    spec = sort_spec(resource, sort_key)
    pager = _Pager(store, resource, spec=spec, where=where, params=params, reverse=reverse)
    bounds = []
    if after is not None:
        bounds.append(pager._bound(after, later=True))
    if before is not None:
        bounds.append(pager._bound(before, later=False))
    forward = last is None
    size = first if forward else last
    if size is None:
        raise InputError("a page needs first or last")
    rows = pager.select(bounds, forward, size + 1)
    more = len(rows) > size
    rows = rows[:size]
    if not forward:
        rows.reverse()
    cursors = [(encode_cursor(row[0], spec.to_cursor(row[1])), row) for row in rows]
    page_rows = [(cursor, store.codec.decode(row[2])) for cursor, row in cursors]
    if rows:
        first_key = Cursor(rows[0][0], spec.to_cursor(rows[0][1]))
        last_key = Cursor(rows[-1][0], spec.to_cursor(rows[-1][1]))
        before_exists = pager.exists(pager._bound(first_key, later=False))
        after_exists = pager.exists(pager._bound(last_key, later=True))
    else:
        before_exists = after is not None and pager.exists(_inclusive(pager, after, later=False))
        after_exists = before is not None and pager.exists(_inclusive(pager, before, later=True))
    if forward:
        return Page(page_rows, has_next_page=more, has_previous_page=before_exists)
    return Page(page_rows, has_next_page=after_exists, has_previous_page=more)


def scan_rows(
    store: ShopStore,
    resource: Resource,
    *,
    where: str,
    params: list[Any],
    sort_key: str,
    reverse: bool,
    page_size: int,
    extra_columns: tuple[str, ...] = (),
) -> Iterator[list[tuple[Any, ...]]]:
    """Every matching row in ``fetch_page`` order, as lists of up to ``page_size``.

    Rows are ``(id, sort value, doc blob, *extra_columns)``, still compressed: a bulk
    export decodes each document just before it serialises it, so decoded objects die
    young instead of surviving a whole page (which makes the garbage collector rescan
    the 4,000-type schema over and over).

    Bulk exports walk a whole connection: they need neither cursors nor the
    ``hasPreviousPage``/``hasNextPage`` probes ``fetch_page`` runs for each page, so this
    is plain keyset iteration. The bound of the next page goes through the same cursor
    round trip (``to_cursor``/``from_cursor``) as paging with ``after`` does, so both
    visit exactly the same rows.
    """
    spec = sort_spec(resource, sort_key)
    pager = _Pager(store, resource, spec=spec, where=where, params=params, reverse=reverse)
    bounds: list[tuple[str, list[Any]]] = []
    while True:
        rows = pager.select(bounds, True, page_size, extra_columns)
        if rows:
            yield rows
        if len(rows) < page_size:
            return
        last_id, last_value = rows[-1][0], rows[-1][1]
        bounds = [pager._bound(Cursor(last_id, spec.to_cursor(last_value)), later=True)]


def select_items(
    items: list[tuple[int, dict[str, Any]]], after_id: int | None, limit: int, descending: bool
) -> list[tuple[int, dict[str, Any]]]:
    """Up to ``limit`` of an order's ``(id, item)`` pairs after ``after_id`` (pure)."""
    chosen = items[::-1] if descending else list(items)
    if after_id is not None:
        chosen = [
            item for item in chosen if (item[0] < after_id if descending else item[0] > after_id)
        ]
    return chosen[:limit]


def _inclusive(pager: _Pager, cursor: Cursor, later: bool) -> tuple[str, list[Any]]:
    ascending_after = later != pager.reverse
    op = ">=" if ascending_after else "<="
    value = pager.spec.from_cursor(cursor.last_value)
    return f"{pager._key()} {op} (?, ?)", [value, cursor.last_id]


def count_rows(
    store: ShopStore, resource: Resource, *, where: str, params: list[Any], limit: int | None
) -> tuple[int, bool]:
    """``(count, exact)``; with a ``limit`` the scan stops after ``limit + 1`` rows."""
    table = TABLES[resource]
    if limit is None:
        sql = f"SELECT COUNT(*) FROM {table} WHERE {where}"  # noqa: S608
        return store.connection().execute(sql, params).fetchone()[0], True
    sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {where} LIMIT ?)"  # noqa: S608
    found = store.connection().execute(sql, [*params, limit + 1]).fetchone()[0]
    return (limit, False) if found > limit else (found, True)


def _release(
    connections: list[tuple[threading.Thread, sqlite3.Connection]], cleanup_dir: Path | None
) -> None:
    for _, connection in connections:
        with contextlib.suppress(sqlite3.Error):
            connection.close()
    connections.clear()
    if cleanup_dir is not None:
        shutil.rmtree(cleanup_dir, ignore_errors=True)


def shop_document(*, shop_domain: str, plan: str, seed: int, now: datetime) -> dict[str, Any]:
    """The Shop object the emulator serves; names derive from the domain."""
    display, plus = PLANS[plan]
    handle = shop_domain.split(".", 1)[0]
    name = handle.replace("-", " ").title()
    shop_id = 60_000_000_000 + (seed % 9_999_999) * 97
    created = now.replace(year=now.year - 3)
    return {
        "__typename": "Shop",
        "id": f"gid://shopify/Shop/{shop_id}",
        "name": name,
        "myshopifyDomain": shop_domain,
        "url": f"https://{shop_domain}",
        "email": f"owner@{handle}.example.com",
        "contactEmail": f"support@{handle}.example.com",
        "shopOwnerName": "Émilie Tremblay",
        "description": None,
        "currencyCode": synth.SHOP_CURRENCY,
        "enabledPresentmentCurrencies": [synth.SHOP_CURRENCY] + [c[0] for c in synth.CURRENCIES],
        "ianaTimezone": SHOP_TIMEZONE,
        "timezoneAbbreviation": "EST",
        "timezoneOffset": "-0500",
        "timezoneOffsetMinutes": -300,
        "weightUnit": "KILOGRAMS",
        "unitSystem": "METRIC_SYSTEM",
        "taxesIncluded": False,
        "taxShipping": False,
        "setupRequired": False,
        "checkoutApiSupported": True,
        "transactionalSmsDisabled": False,
        "marketingSmsConsentEnabledAtCheckout": True,
        "orderNumberFormatPrefix": "#",
        "orderNumberFormatSuffix": "",
        "createdAt": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updatedAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "plan": {"partnerDevelopment": False, "shopifyPlus": plus, "publicDisplayName": display},
    }
