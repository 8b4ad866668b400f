"""A GraphQL executor for validated Admin API documents over the synthetic store.

graphql-core's own executor needs resolvers on every type of a 4,000-type schema; this
one walks the selection set instead and serves any field straight from the stored
documents (which already hold Shopify's serialized values), calling a resolver only
where data lives elsewhere: root fields, connections, and links between documents. The
HTTP layer adds or overrides resolvers by ``(ParentTypeName, fieldName)``.

A selected field the stored document does not hold is answered by ``fill.Filler``: a
value derived from the document (``derived.py``) or the type's own empty value, so a
client that asks for every field of an order gets a complete, self-consistent answer.
Only root fields the emulator does not serve (``products``, mutations) are errors naming
the field (code ``EMULATOR_UNSUPPORTED``).

``bulk_rows`` runs the same resolvers in Shopify's bulk-export form: one JSONL line per
node, nested-connection children on their own lines with ``__parentId``, streamed page
by page so memory does not grow with the store.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLUnionType,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.language.location import get_location
from graphql.utilities import get_operation_ast

from shopify_backfill.errors import InputError
from shopify_emulator.cursors import Cursor, CursorError, decode_cursor, encode_cursor
from shopify_emulator.derived import derivations
from shopify_emulator.fill import Filler
from shopify_emulator.history import adjusted_line_items, adjusted_pairs
from shopify_emulator.plans import Fallback, ObjectPlan, PlanCompiler, Prefetcher
from shopify_emulator.search import (
    CUSTOMER_SEARCH,
    ORDER_SEARCH,
    SearchContext,
    SearchError,
    SearchSpec,
    compile_search,
    valid_search_fields,
)
from shopify_emulator.store import (
    Page,
    Resource,
    ShopStore,
    count_rows,
    fetch_page,
    scan_rows,
    select_items,
    sort_spec,
)

MAX_PAGE_SIZE = 250
BULK_PAGE_SIZE = 250
BULK_SCAN_PAGE_SIZE = 500
"""Roots per keyset page on the bulk fast path (line items and buyers are fetched per
page, so larger pages mean fewer queries; memory holds one page of documents)."""
INTERLEAVE_WINDOW = 24
"""Ungrouped output places a root's children at most this many roots after it."""
INTERLEAVE_ADJACENT_SHARE = 0.25
"""Share of roots whose children all follow them directly in ungrouped output."""
UNSUPPORTED_CODE = "EMULATOR_UNSUPPORTED"
BULK_ROOTS = ("orders", "customers")
"""Root connections the emulator exports in bulk (the store holds no products)."""

FIELD_ALIASES: dict[tuple[str, str], str] = {
    ("Order", "originalTotalPriceSet"): "totalPriceSet",
    ("Order", "currentTotalDiscountsSet"): "totalDiscountsSet",
    ("Order", "currentShippingPriceSet"): "totalShippingPriceSet",
    ("LineItem", "currentQuantity"): "quantity",
    ("LineItem", "refundableQuantity"): "quantity",
    ("LineItem", "discountedUnitPriceSet"): "originalUnitPriceSet",
    ("LineItem", "discountedTotalSet"): "originalTotalSet",
    ("ShippingLine", "discountedPriceSet"): "originalPriceSet",
    ("ShippingLine", "currentDiscountedPriceSet"): "originalPriceSet",
}
"""Fields equal to another stored field in the synthetic data (no discounts or edits on
lines), served from it so the stored documents stay small."""


@dataclass
class ResolveContext:
    store: ShopStore
    variables: dict[str, Any]
    orders_visible_since: datetime | None
    search: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    extras: dict[str, Any]
    path: list[str | int] = field(default_factory=list)
    """Response path of the field being resolved (for errors and search entries)."""
    cache: dict[str, Any] = field(default_factory=dict)
    """Per-request memo (customer documents, bulk prefetches); never shared."""

    def visible_since_epoch(self) -> int | None:
        since = self.orders_visible_since
        return None if since is None else int(since.timestamp())


Resolver = Callable[[ResolveContext, dict[str, Any], FieldNode, Any], Any]


@dataclass
class ExecutionResult:
    data: dict[str, Any] | None
    errors: list[dict[str, Any]]
    search: list[dict[str, Any]]


class FieldError(Exception):
    """A resolver failure: the field becomes null and the error is reported at its path."""

    def __init__(self, message: str, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class RequestError(FieldError):
    """A failure Shopify reports for the whole request: ``data`` is ``null``."""


class BulkQueryError(InputError):
    """A bulk query shape the emulator cannot export; the message names the part."""


class _NullBubbleError(Exception):
    """A non-null field resolved to null: its parent becomes null (GraphQL spec 6.4.4)."""


# --------------------------------------------------------------------------- helpers


def parse_gid(value: Any) -> tuple[str, int] | None:
    """``gid://shopify/Order/123`` -> ``("Order", 123)``; anything else -> ``None``."""
    if not isinstance(value, str) or not value.startswith("gid://shopify/"):
        return None
    kind, _, rest = value[len("gid://shopify/") :].partition("/")
    number = rest.split("?", 1)[0]
    if not kind or not number.isdigit():
        return None
    return kind, int(number)


def _error_dict(
    message: str, node: FieldNode | None, path: list[str | int] | None, code: str | None
) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message}
    if node is not None and node.loc is not None:
        location = get_location(node.loc.source, node.loc.start)
        error["locations"] = [{"line": location.line, "column": location.column}]
    if path is not None:
        error["path"] = list(path)
    if code is not None:
        error["extensions"] = {"code": code}
    return error


def _serialize_scalar(type_name: str, value: Any) -> Any:
    if type_name in {"UnsignedInt64", "ID", "BigInt"}:
        return str(value)
    if type_name == "Decimal" and isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text if "." in text else f"{text}.0"
    if type_name == "DateTime" and isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _page_size(args: dict[str, Any], field_name: str) -> tuple[int | None, int | None]:
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise RequestError("you must provide one of first or last")
    if first is not None and last is not None:
        raise RequestError("providing both first and last is not supported")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
            raise RequestError(
                f"The maximum number of items requested per page is {MAX_PAGE_SIZE}. "
                f"Argument '{name}' on Field '{field_name}' was {value}."
            )
    return first, last


def _cursor(value: Any) -> Cursor | None:
    if value is None:
        return None
    try:
        return decode_cursor(value)
    except CursorError as error:
        raise RequestError(f"Invalid cursor: {error}") from error


def _connection(rows: list[tuple[str, Any]], has_next: bool, has_previous: bool) -> dict[str, Any]:
    return {
        "edges": [{"cursor": cursor, "node": node} for cursor, node in rows],
        "nodes": [node for _, node in rows],
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": rows[0][0] if rows else None,
            "endCursor": rows[-1][0] if rows else None,
        },
    }


def _page_to_connection(page: Page) -> dict[str, Any]:
    return _connection(page.rows, page.has_next_page, page.has_previous_page)


def _list_page(
    items: list[dict[str, Any]], args: dict[str, Any], field_name: str
) -> dict[str, Any]:
    """Cursor pagination over a small in-document list (shipping lines, addresses)."""
    first, last = _page_size(args, field_name)
    keyed = [(parse_gid(item.get("id")) or ("", index))[1] for index, item in enumerate(items)]
    order = list(range(len(items)))
    if args.get("reverse"):
        order.reverse()
    after, before = _cursor(args.get("after")), _cursor(args.get("before"))
    if after is not None:
        order = order[next((i + 1 for i, k in enumerate(order) if keyed[k] == after.last_id), 0) :]
    if before is not None:
        stop = next((i for i, k in enumerate(order) if keyed[k] == before.last_id), len(order))
        order = order[:stop]
    total = order
    if first is not None:
        chosen, has_next, has_prev = total[:first], len(total) > first, after is not None
    else:
        size = last or 0
        chosen = total[-size:] if size else []
        has_next, has_prev = before is not None, len(total) > size
    rows = [(encode_cursor(keyed[k], keyed[k]), items[k]) for k in chosen]
    return _connection(rows, has_next, has_prev)


# --------------------------------------------------------------------------- executor


class Executor:
    """Executes validated documents against one store; resolvers are extensible."""

    def __init__(
        self,
        schema: GraphQLSchema,
        store: ShopStore,
        resolvers: Mapping[tuple[str, str], Resolver] | None = None,
    ) -> None:
        self.schema = schema
        self.store = store
        self.timezone = ZoneInfo(store.timezone)
        self._defaults = _default_resolvers(self)
        self.resolvers: dict[tuple[str, str], Resolver] = dict(self._defaults)
        self.resolvers.update(resolvers or {})
        self.bulk_children: dict[tuple[str, str], BulkChildren] = dict(_bulk_children(self))
        shop = store.shop_document()
        self.filler = Filler(
            schema, lambda: shop, _list_page, derivations(self.stored_line_items), FIELD_ALIASES
        )
        self._prefetchers = _prefetchers(self)
        self.use_plans = True
        """Run queries and bulk exports on compiled plans (``plans.py``); ``False`` keeps
        every request on the generic walker, the reference the plans are tested against."""

    # ------------------------------------------------------------------ entry points

    def execute(
        self,
        document: DocumentNode,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *,
        orders_visible_since: datetime | None = None,
        extras: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            message = (
                f"No operation named {operation_name!r}"
                if operation_name
                else "An operation name is required when the document holds several operations"
            )
            return ExecutionResult(None, [{"message": message}], [])
        coerced = get_variable_values(
            self.schema, operation.variable_definitions or (), variables or {}
        )
        if isinstance(coerced, list):
            return ExecutionResult(None, [_graphql_error(e) for e in coerced], [])
        ctx = ResolveContext(
            store=self.store,
            variables=coerced,
            orders_visible_since=orders_visible_since,
            search=[],
            errors=[],
            extras=extras if extras is not None else {},
        )
        fragments = _fragments(document)
        root = self._root_type(operation)
        if root is None:
            return ExecutionResult(None, [{"message": "Schema has no root for this operation"}], [])
        if self.use_plans and operation.operation == OperationType.QUERY:
            planned = self._execute_planned(ctx, fragments, root, operation)
            if planned is not None:
                return planned
            ctx = ResolveContext(
                store=self.store,
                variables=coerced,
                orders_visible_since=orders_visible_since,
                search=[],
                errors=[],
                extras=ctx.extras,
            )
        runner = _Run(self, ctx, fragments)
        try:
            fields = collect_fields(
                self.schema, runner.fragments, ctx.variables, root, operation.selection_set
            )
            data = runner.object_fields(root, fields, None, [])
        except RequestError as error:
            node = runner.current_node
            return ExecutionResult(
                None,
                [_error_dict(error.message, node, runner.current_path, error.code)],
                ctx.search,
            )
        except _NullBubbleError:
            data = None
        return ExecutionResult(data, ctx.errors, ctx.search)

    def _execute_planned(
        self,
        ctx: ResolveContext,
        fragments: dict[str, FragmentDefinitionNode],
        root: GraphQLObjectType,
        operation: OperationDefinitionNode,
    ) -> ExecutionResult | None:
        """The query's result from compiled plans, or ``None`` to run it generically.

        Queries only read, so when the plan meets anything it does not reproduce (an
        error, a null where the schema forbids one), running the request again on the
        generic walker with a fresh context gives exactly the generic answer.
        """
        try:
            compiler = self._compiler(ctx, fragments)
            fields = collect_fields(
                self.schema, fragments, ctx.variables, root, operation.selection_set
            )
            data = compiler.fields_plan(root, fields).run(None, None)
        except Exception:
            return None
        return ExecutionResult(data, ctx.errors, ctx.search)

    def _compiler(
        self, ctx: ResolveContext, fragments: dict[str, FragmentDefinitionNode]
    ) -> PlanCompiler:
        # A batch loader stands in for its resolver only while that resolver is ours.
        active = {
            key: prefetch
            for key, prefetch in self._prefetchers.items()
            if self.resolvers.get(key) is self._defaults.get(key)
        }
        return PlanCompiler(
            self.schema,
            fragments,
            ctx.variables,
            ctx,
            self.resolvers,
            FIELD_ALIASES,
            active,
            _serialize_scalar,
            self.filler.value,
        )

    def bulk_rows(
        self,
        document: DocumentNode,
        *,
        orders_visible_since: datetime | None = None,
        search: list[dict[str, Any]] | None = None,
        group_objects: bool = False,
        interleave_seed: int | None = None,
    ) -> Iterator[bytes]:
        """JSONL lines (with trailing newline) of a bulk query, streamed.

        ``search`` optionally collects the ``extensions.search`` entries the query's
        filters produce, so the caller can report ``invalid_field`` warnings.
        ``group_objects`` and ``interleave_seed`` are as for ``bulk_chunks``.
        """
        for chunk in self.bulk_chunks(
            document,
            orders_visible_since=orders_visible_since,
            search=search,
            group_objects=group_objects,
            interleave_seed=interleave_seed,
        ):
            yield from chunk.data.splitlines(keepends=True)

    def bulk_chunks(
        self,
        document: DocumentNode,
        *,
        orders_visible_since: datetime | None = None,
        search: list[dict[str, Any]] | None = None,
        group_objects: bool = False,
        interleave_seed: int | None = None,
    ) -> Iterator[BulkChunk]:
        """A bulk query's JSONL file as consecutive chunks of whole lines, streamed.

        With ``group_objects`` every root is directly followed by its nested-connection
        children (Shopify's ``groupObjects: true``). Without it (Shopify's default) a
        root's children come after it but possibly only after later roots, in a seeded
        interleaving (``interleave_seed``, by default derived from the store's seed) at
        most ``INTERLEAVE_WINDOW`` roots later; siblings keep their order and a parent
        always precedes its children. Chunks (one per keyset page) let the writer skip
        per-line work.
        """
        groups = self._bulk_groups(document, orders_visible_since, search)
        layout: _Layout = (
            _GroupedLayout()
            if group_objects
            else _InterleavedLayout(
                self.store.seed * 7_919 + 17 if interleave_seed is None else interleave_seed
            )
        )
        for page in groups:
            yield layout.page(page)
        tail = layout.finish()
        if tail is not None:
            yield tail

    def bulk_unserved(self, document: DocumentNode) -> list[str]:
        """Why the emulator could not export ``document`` (empty when it can).

        Checked when the job is submitted, so that a query the emulator cannot answer is
        refused with ``userErrors`` naming the cause, as Shopify refuses invalid bulk
        queries, instead of a job that runs and then fails as ``INTERNAL_SERVER_ERROR``
        (which reads as a Shopify-side failure). Every field below ``orders`` and
        ``customers`` is served (stored, derived or filled), so only the root matters.
        """
        operation = get_operation_ast(document, None)
        root = self.schema.query_type
        if operation is None or root is None:
            return ["Invalid bulk query: the document holds no query operation."]
        fields = collect_fields(
            self.schema, _fragments(document), {}, root, operation.selection_set
        )
        names = [nodes[0].name.value for nodes in fields.values()]
        unserved = [name for name in names if name not in BULK_ROOTS]
        if unserved:
            return [
                f"Invalid bulk query: the Shopify emulator exports {' and '.join(BULK_ROOTS)} in "
                f"bulk, not {', '.join(repr(name) for name in unserved)}."
            ]
        if len(names) != 1:
            return [
                "Invalid bulk query: the Shopify emulator exports one top-level connection per "
                f"bulk query, got {len(names)}."
            ]
        runner = _Run(self, ResolveContext(self.store, {}, None, [], [], {}), _fragments(document))
        ((nodes),) = fields.values()
        connection = get_named_type(root.fields[names[0]].type)
        if not isinstance(connection, GraphQLObjectType):
            return [f"Invalid bulk query: {names[0]!r} is not a connection."]
        inside = _connections_inside_objects(
            runner,
            _node_type(connection),
            _connection_node_fields(nodes),
        )
        if inside:
            return [
                "Invalid bulk query: the Shopify emulator exports nested connections only as "
                "direct fields of a connection's node, not " + ", ".join(sorted(set(inside))) + "."
            ]
        return []

    def _bulk_groups(
        self,
        document: DocumentNode,
        orders_visible_since: datetime | None,
        search: list[dict[str, Any]] | None,
    ) -> Iterator[list[list[Any]]]:
        """Pages of ``[root line, [descendant lines]]`` groups (lines not yet escaped)."""
        operation = get_operation_ast(document, None)
        if operation is None or operation.operation != OperationType.QUERY:
            raise BulkQueryError("a bulk query document must hold exactly one query operation")
        ctx = ResolveContext(
            store=self.store,
            variables={},
            orders_visible_since=orders_visible_since,
            search=search if search is not None else [],
            errors=[],
            extras={},
        )
        runner = _Run(self, ctx, _fragments(document))
        root = self.schema.query_type
        if root is None:
            raise BulkQueryError("the schema has no query root")
        fields = collect_fields(self.schema, runner.fragments, {}, root, operation.selection_set)
        if len(fields) != 1:
            raise BulkQueryError(
                f"a bulk query must select exactly one top-level connection, got {len(fields)}"
            )
        ((key, nodes),) = fields.items()
        name = nodes[0].name.value
        if name not in BULK_ROOTS:
            raise BulkQueryError(f"the emulator exports orders and customers in bulk, not {name!r}")
        field_def = root.fields[name]
        args = get_argument_values(field_def, nodes[0], {})
        resource: Resource = "orders" if name == "orders" else "customers"
        node_type = self.schema.get_type("Order" if resource == "orders" else "Customer")
        if not isinstance(node_type, GraphQLObjectType):
            raise BulkQueryError(f"the schema has no {resource} node type")
        node_nodes = _connection_node_fields(nodes)
        ctx.path = [key]
        if not self.use_plans:
            docs = self._iterate_resource(
                ctx,
                resource,
                args,
                parent_type="QueryRoot",
                field_name=name,
                prefetch_line_items=_selects(node_nodes, "lineItems"),
            )
            yield from _batched(runner.bulk_groups(node_type, node_nodes, docs), BULK_PAGE_SIZE)
            return
        compiler = self._compiler(ctx, runner.fragments)
        if self.resolvers.get(("Order", "customer")) is self._defaults[("Order", "customer")]:
            # The buyer of an order is the customer ``_customerId`` names.
            compiler.serialized = {("Order", "customer"): "_customerId"}
        bulk = _BulkPlan(self, runner, compiler, node_type, node_nodes)
        # Whether line items are exported is only known once the plan is compiled (at
        # the first row, as the generic walker); reading the blob with every order row
        # costs nothing when unused, and saves one query per page when used.
        extra = ("line_items", "customer_id") if resource == "orders" else ()
        pages = self._scan_resource(
            ctx, resource, args, parent_type="QueryRoot", field_name=name, extra_columns=extra
        )
        yield from bulk.pages(pages)

    # ------------------------------------------------------------------ data access

    def _root_type(self, operation: OperationDefinitionNode) -> GraphQLObjectType | None:
        if operation.operation == OperationType.MUTATION:
            return self.schema.mutation_type
        if operation.operation == OperationType.SUBSCRIPTION:
            return None
        return self.schema.query_type

    def search_where(
        self,
        ctx: ResolveContext,
        resource: Resource,
        query: str | None,
        parent_type: str,
        field_name: str,
    ) -> tuple[str, list[Any]]:
        """Compile ``query`` for one connection; warnings go to ``ctx.search``."""
        spec: SearchSpec = ORDER_SEARCH if resource == "orders" else CUSTOMER_SEARCH
        valid = valid_search_fields(self.schema, parent_type, field_name)
        search_ctx = SearchContext(timezone=self.timezone, now=self.store.now)
        try:
            compiled = compile_search(query, spec, valid, search_ctx)
        except SearchError as error:
            raise RequestError(str(error)) from error
        if compiled.warnings:
            ctx.search.append(
                {
                    "path": list(ctx.path),
                    "query": query,
                    "parsed": compiled.parsed,
                    "warnings": compiled.warnings,
                }
            )
        where, params = compiled.where, list(compiled.params)
        since = ctx.visible_since_epoch()
        if resource == "orders" and since is not None:
            where = f"({where}) AND o.created_at >= ?"
            params.append(since)
        return where, params

    def connection_page(
        self,
        ctx: ResolveContext,
        resource: Resource,
        args: dict[str, Any],
        *,
        parent_type: str,
        field_name: str,
        extra_where: tuple[str, list[Any]] | None = None,
    ) -> dict[str, Any]:
        first, last = _page_size(args, field_name)
        where, params = self.search_where(ctx, resource, args.get("query"), parent_type, field_name)
        if extra_where is not None:
            where = f"({where}) AND {extra_where[0]}"
            params = [*params, *extra_where[1]]
        sort_key = args.get("sortKey") or "ID"
        try:
            sort_spec(resource, sort_key)
            page = fetch_page(
                self.store,
                resource,
                where=where,
                params=params,
                sort_key=sort_key,
                first=first,
                last=last,
                after=_cursor(args.get("after")),
                before=_cursor(args.get("before")),
                reverse=bool(args.get("reverse")),
            )
        except CursorError as error:
            raise RequestError(f"Invalid cursor: {error}") from error
        except InputError as error:
            raise FieldError(str(error), UNSUPPORTED_CODE) from error
        return _page_to_connection(page)

    def _iterate_resource(
        self,
        ctx: ResolveContext,
        resource: Resource,
        args: dict[str, Any],
        *,
        parent_type: str,
        field_name: str,
        extra_where: tuple[str, list[Any]] | None = None,
        prefetch_line_items: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Every matching document in sort order, one keyset page at a time."""
        where, params = self.search_where(ctx, resource, args.get("query"), parent_type, field_name)
        if extra_where is not None:
            where = f"({where}) AND {extra_where[0]}"
            params = [*params, *extra_where[1]]
        sort_key = args.get("sortKey") or "ID"
        try:
            sort_spec(resource, sort_key)
        except InputError as error:
            raise BulkQueryError(str(error)) from error
        after: Cursor | None = None
        while True:
            page = fetch_page(
                self.store,
                resource,
                where=where,
                params=params,
                sort_key=sort_key,
                first=BULK_PAGE_SIZE,
                last=None,
                after=after,
                before=None,
                reverse=bool(args.get("reverse")),
            )
            docs = [doc for _, doc in page.rows]
            if prefetch_line_items:
                ctx.cache["line_items"] = self.store.line_items_for_orders(
                    [int(doc["legacyResourceId"]) for doc in docs]
                )
            yield from docs
            if not page.has_next_page or not page.rows:
                return
            after = decode_cursor(page.rows[-1][0])

    def _scan_resource(
        self,
        ctx: ResolveContext,
        resource: Resource,
        args: dict[str, Any],
        *,
        parent_type: str,
        field_name: str,
        extra_columns: tuple[str, ...] = (),
    ) -> Iterator[list[tuple[Any, ...]]]:
        """``_iterate_resource``'s rows (documents still compressed) in keyset pages."""
        where, params = self.search_where(ctx, resource, args.get("query"), parent_type, field_name)
        sort_key = args.get("sortKey") or "ID"
        try:
            sort_spec(resource, sort_key)
        except InputError as error:
            raise BulkQueryError(str(error)) from error
        yield from scan_rows(
            self.store,
            resource,
            where=where,
            params=params,
            sort_key=sort_key,
            reverse=bool(args.get("reverse")),
            page_size=BULK_SCAN_PAGE_SIZE,
            extra_columns=extra_columns,
        )

    def stored_line_items(self, order: Mapping[str, Any]) -> list[dict[str, Any]]:
        """An order document's line items as stored (what its history derives from)."""
        legacy = order.get("legacyResourceId")
        if not isinstance(legacy, str) or not legacy.isdigit():
            return []
        return [doc for _, doc in self.store.order_line_items(int(legacy))]

    def order_items(self, ctx: ResolveContext, order_id: int) -> list[tuple[int, dict[str, Any]]]:
        """An order's line items, from the page prefetch when there is one."""
        prefetched = ctx.cache.get("line_items")
        if prefetched is not None:
            found: list[tuple[int, dict[str, Any]]] | None = prefetched.get(order_id)
            if found is not None:
                return found
        return self.store.order_line_items(order_id)

    def prefetch_customers(self, ctx: ResolveContext, customer_ids: list[Any]) -> None:
        """Load the listed customers ``customer_doc`` does not hold yet, in one query."""
        memo: dict[int, dict[str, Any] | None] = ctx.cache.setdefault("customers", {})
        listed = list(dict.fromkeys(i for i in customer_ids if type(i) is int))
        wanted = [i for i in listed if i not in memo]
        if not wanted:
            return
        if len(memo) + len(wanted) > CUSTOMER_MEMO_LIMIT:
            memo.clear()
            wanted = listed
        found = self.store.customers_by_ids(wanted)
        for customer_id in wanted:
            memo[customer_id] = found.get(customer_id)

    def customer_doc(self, ctx: ResolveContext, customer_id: int) -> dict[str, Any] | None:
        memo: dict[int, dict[str, Any] | None] = ctx.cache.setdefault("customers", {})
        if customer_id not in memo:
            if len(memo) > CUSTOMER_MEMO_LIMIT:
                memo.clear()
            memo[customer_id] = self.store.customer(customer_id)
        return memo[customer_id]

    def visible_order(self, ctx: ResolveContext, order_id: int) -> dict[str, Any] | None:
        found = self.store.order(order_id)
        if found is None:
            return None
        doc, created = found
        since = ctx.visible_since_epoch()
        return None if since is not None and created < since else doc

    def node_by_gid(self, ctx: ResolveContext, value: Any) -> dict[str, Any] | None:
        parsed = parse_gid(value)
        if parsed is None:
            raise FieldError(f"Invalid global id '{value}'", "argumentLiteralsIncompatible")
        kind, number = parsed
        if kind == "Customer":
            return self.store.customer(number)
        if kind == "Order":
            return self.visible_order(ctx, number)
        if kind == "LineItem":
            found = self.store.line_item(number)
            since = ctx.visible_since_epoch()
            if found is None or (since is not None and found[1] < since):
                return None
            return self._line_item_of_order(found[0], number)
        return None

    def _line_item_of_order(self, doc: dict[str, Any], number: int) -> dict[str, Any]:
        """A line item found by id, with the quantities its order's history gives it."""
        row = (
            self.store.connection()
            .execute("SELECT order_id FROM line_items WHERE id = ?", (number,))
            .fetchone()
        )
        found = self.store.order(row[0]) if row else None
        if found is None:
            return doc
        adjusted = adjusted_line_items(found[0], self.stored_line_items(found[0]))
        return next((item for item in adjusted if item.get("id") == doc.get("id")), doc)


BulkChildren = Callable[[ResolveContext, dict[str, Any], dict[str, Any]], Iterator[dict[str, Any]]]
CUSTOMER_MEMO_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class BulkChunk:
    """Consecutive whole JSONL lines of a bulk file and how many objects/roots they hold."""

    data: bytes
    objects: int
    roots: int


def _escaped_chunk(lines: list[bytes], roots: int) -> BulkChunk:
    """Shopify's JSONL escapes ``/`` as ``\\/`` (Ruby's generator); one pass per chunk."""
    return BulkChunk(b"".join(lines).replace(b"/", b"\\/"), len(lines), roots)


class _Layout:
    """Turns pages of ``[root, descendants]`` groups into file chunks."""

    def page(self, groups: list[list[Any]]) -> BulkChunk:
        raise NotImplementedError

    def finish(self) -> BulkChunk | None:
        return None


class _GroupedLayout(_Layout):
    """``groupObjects: true``: each root directly followed by its descendants."""

    def page(self, groups: list[list[Any]]) -> BulkChunk:
        lines: list[bytes] = []
        for root, descendants in groups:
            lines.append(root)
            lines.extend(descendants)
        return _escaped_chunk(lines, len(groups))


class _InterleavedLayout(_Layout):
    """``groupObjects: false``: descendants flushed up to ``INTERLEAVE_WINDOW`` roots late.

    Real Shopify only promises adjacency when grouping is asked for; clients must
    re-attach children wherever they are. A root's descendants are cut into up to three
    contiguous pieces, each due after a later root (drawn from a seeded generator, so a
    file is reproducible); pieces due at the same root are written in the order they
    were scheduled. Memory holds at most the window's descendants.
    """

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.due: dict[int, list[bytes]] = {}
        self.index = 0

    def page(self, groups: list[list[Any]]) -> BulkChunk:
        lines: list[bytes] = []
        rng, due = self.rng, self.due
        for root, descendants in groups:
            lines.append(root)
            index = self.index
            count = len(descendants)
            if count:
                if rng.random() < INTERLEAVE_ADJACENT_SHARE:
                    due.setdefault(index, []).extend(descendants)
                else:
                    pieces = min(count, rng.randint(1, 3))
                    cuts = [0, *sorted(rng.sample(range(1, count), pieces - 1)), count]
                    delays = sorted(rng.randint(0, INTERLEAVE_WINDOW) for _ in range(pieces))
                    for piece, delay in enumerate(delays):
                        due.setdefault(index + delay, []).extend(
                            descendants[cuts[piece] : cuts[piece + 1]]
                        )
            ready = due.pop(index, None)
            if ready:
                lines.extend(ready)
            self.index = index + 1
        return _escaped_chunk(lines, len(groups))

    def finish(self) -> BulkChunk | None:
        lines: list[bytes] = []
        for index in sorted(self.due):
            lines.extend(self.due[index])
        self.due.clear()
        return _escaped_chunk(lines, 0) if lines else None


def _batched(groups: Iterator[list[Any]], size: int) -> Iterator[list[list[Any]]]:
    page: list[list[Any]] = []
    try:
        for group in groups:
            page.append(group)
            if len(page) == size:
                yield page
                page = []
    except Exception:
        if page:
            yield page
        raise
    if page:
        yield page


class _BulkPlan:
    """One bulk node level compiled: its line's plan and its nested-connection children.

    Mirrors ``_Run.bulk_object``: connection fields become child streams, the rest is
    the line. A line the plan cannot reproduce is rebuilt by ``bulk_object`` itself, so
    a failing export fails with the generic walker's error.
    """

    def __init__(
        self,
        executor: Executor,
        runner: _Run,
        compiler: PlanCompiler,
        object_type: GraphQLObjectType,
        nodes: list[FieldNode],
    ) -> None:
        self.executor = executor
        self.runner = runner
        self.compiler = compiler
        self.object_type = object_type
        self.nodes = nodes
        self.ctx = runner.ctx
        self._line: ObjectPlan | None = None
        self.children: list[tuple[BulkChildren, dict[str, Any], _BulkPlan | _AbstractBulkPlan]] = []
        self.prefetch_line_items = False
        self.prefetch_customers = False
        self.generic_lines = False

    def _compile(self) -> ObjectPlan:
        object_type = self.object_type
        fields = self.runner.subfields(object_type, self.nodes)
        plain: dict[str, list[FieldNode]] = {}
        for key, field_nodes in fields.items():
            name = field_nodes[0].name.value
            nested = _nested_connection(self.executor, object_type, field_nodes)
            if nested is not None:
                iterate, args, node_type = nested
                child_nodes = _connection_node_fields(field_nodes)
                child: _BulkPlan | _AbstractBulkPlan
                if isinstance(node_type, GraphQLObjectType):
                    child = _BulkPlan(
                        self.executor, self.runner, self.compiler, node_type, child_nodes
                    )
                else:
                    child = _AbstractBulkPlan(self, node_type, child_nodes)
                self.children.append((iterate, args, child))
                if (object_type.name, name) == ("Order", "lineItems"):
                    self.prefetch_line_items = True
            else:
                plain[key] = field_nodes
        try:
            line = self.compiler.fields_plan(object_type, plain)
        except Exception:
            # Plans compile nested selections eagerly; should one not compile, every
            # line goes to ``bulk_object``, which fails (or not) exactly as before.
            line = ObjectPlan(object_type.name, (), (), needs_source=True)
            self.generic_lines = True
        self.prefetch_customers = bool(line.prefetchers) and object_type.name == "Order"
        self._line = line
        return line

    def pages(self, pages: Iterator[list[tuple[Any, ...]]]) -> Iterator[list[list[Any]]]:
        """Root groups page by page; documents are decoded one at a time."""
        ctx = self.ctx
        decode = self.executor.store.codec.decode
        for rows in pages:
            if self._line is None:
                self._compile()
            if rows and len(rows[0]) > 4:
                # Order rows carry their line-item blob and buyer id (``_scan_resource``).
                if self.prefetch_line_items:
                    ctx.cache["line_item_blobs"] = {row[0]: row[3] for row in rows}
                if self.prefetch_customers:
                    serialized = self.compiler.serialized_memo
                    if self.compiler.serialized:
                        # Buyers already serialised are not read again, so decoded
                        # documents are only needed for this page.
                        ctx.cache.pop("customers", None)
                    self.executor.prefetch_customers(
                        ctx, [row[4] for row in rows if row[4] not in serialized]
                    )
            groups: list[list[Any]] = []
            try:
                for row in rows:
                    doc = decode(row[2])
                    descendants: list[bytes] = []
                    groups.append([self.line(doc, None), descendants])
                    self.descend(doc, descendants)
            except Exception:
                if groups:
                    yield groups
                raise
            yield groups

    def line(self, doc: dict[str, Any], parent_id: Any) -> bytes:
        line = self._line or self._compile()
        ctx = self.ctx
        errors, search = len(ctx.errors), len(ctx.search)
        try:
            if self.generic_lines:
                raise Fallback
            value = line.run(doc, None)
        except Exception:
            del ctx.errors[errors:]
            del ctx.search[search:]
            value, _ = self.runner.bulk_object(self.object_type, self.nodes, doc)
        if parent_id is not None:
            value["__parentId"] = parent_id
        return orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE)

    def descend(self, doc: dict[str, Any], out: list[bytes]) -> None:
        """Append every descendant line of ``doc``, depth first as the generic walker."""
        for iterate, args, child in self.children:
            parent_id = doc.get("id")
            for child_doc in iterate(self.ctx, dict(args), doc):
                out.append(child.line(child_doc, parent_id))
                child.descend(child_doc, out)


class _AbstractBulkPlan:
    """Child lines of a connection whose nodes may be of several object types
    (``Order.discountApplications``): one ``_BulkPlan`` per concrete type met."""

    def __init__(
        self, parent: _BulkPlan, node_type: GraphQLNamedType, nodes: list[FieldNode]
    ) -> None:
        self.parent = parent
        self.node_type = node_type
        self.nodes = nodes
        self.plans: dict[str, _BulkPlan] = {}

    def plan(self, doc: dict[str, Any]) -> _BulkPlan:
        concrete = _concrete(self.parent.executor.schema, self.node_type, doc)
        found = self.plans.get(concrete.name)
        if found is None:
            parent = self.parent
            found = self.plans[concrete.name] = _BulkPlan(
                parent.executor, parent.runner, parent.compiler, concrete, self.nodes
            )
        return found

    def line(self, doc: dict[str, Any], parent_id: Any) -> bytes:
        return self.plan(doc).line(doc, parent_id)

    def descend(self, doc: dict[str, Any], out: list[bytes]) -> None:
        self.plan(doc).descend(doc, out)


def _prefetchers(executor: Executor) -> dict[tuple[str, str], Prefetcher]:
    """Batch loaders for resolvers that read one row per parent.

    A page of 250 orders selecting ``lineItems`` and ``customer`` would otherwise run
    500 single-row queries (and decode each line-item list twice, for the page and for
    ``hasPreviousPage``); loading them for the whole list first leaves the resolvers to
    read memory. Results are identical: the resolvers fall back to the store for
    anything not prefetched.
    """
    store = executor.store

    def line_items(ctx: ResolveContext, parents: list[Any]) -> None:
        ids = [
            int(value)
            for parent in parents
            if isinstance(parent, dict)
            and isinstance(value := parent.get("legacyResourceId"), str)
            and value.isdigit()
        ]
        ctx.cache["line_items"] = store.line_items_for_orders(ids)

    def customers(ctx: ResolveContext, parents: list[Any]) -> None:
        executor.prefetch_customers(
            ctx,
            [
                parent.get("_customerId")
                for parent in parents
                if isinstance(parent, dict) and parent.get("_customerId") is not None
            ],
        )

    return {("Order", "lineItems"): line_items, ("Order", "customer"): customers}


def _graphql_error(error: GraphQLError) -> dict[str, Any]:
    formatted: dict[str, Any] = {"message": error.message}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    formatted["extensions"] = {"code": "INVALID_VARIABLE"}
    return formatted


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def _nested_connection(
    executor: Executor, object_type: GraphQLObjectType, field_nodes: list[FieldNode]
) -> tuple[BulkChildren, dict[str, Any], GraphQLNamedType] | None:
    """For a nested connection field: how the export iterates it, its arguments and its
    node type (``None`` for any other field); one the export cannot serve is an error."""
    name = field_nodes[0].name.value
    field_def = object_type.fields.get(name)
    named = get_named_type(field_def.type) if field_def else None
    if (
        field_def is None
        or not isinstance(named, GraphQLObjectType)
        or not named.name.endswith("Connection")
    ):
        return None
    iterate = executor.bulk_children.get((object_type.name, name))
    if iterate is None:
        filler = executor.filler

        def iterate(
            ctx: ResolveContext, args: dict[str, Any], parent: dict[str, Any]
        ) -> Iterator[dict[str, Any]]:
            yield from filler.items(object_type, name, args, parent)

    args = get_argument_values(field_def, field_nodes[0], {})
    node_type = _node_type(named)
    if not isinstance(node_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
        raise BulkQueryError(f"{named.name} has no object node type")
    return iterate, args, node_type


def _concrete(
    schema: GraphQLSchema, node_type: GraphQLNamedType, doc: dict[str, Any]
) -> GraphQLObjectType:
    """The object type of one node of a connection whose nodes may be of several types."""
    if isinstance(node_type, GraphQLObjectType):
        return node_type
    runtime = schema.get_type(str(doc.get("__typename", "")))
    if not isinstance(runtime, GraphQLObjectType):
        raise BulkQueryError(f"Cannot resolve the concrete type of {node_type.name}")
    return runtime


def _connections_inside_objects(
    runner: _Run, node_type: GraphQLNamedType, nodes: list[FieldNode]
) -> list[str]:
    """Connections a bulk query selects inside a plain object field below a connection's
    node (``Order.customer { metafields }``): the export only splits out connections that
    are direct fields of a node."""
    found: list[str] = []
    for concrete in _possible(runner.schema, node_type):
        for child_nodes in runner.subfields(concrete, nodes).values():
            field_def = concrete.fields.get(child_nodes[0].name.value)
            if field_def is None:
                continue
            named = get_named_type(field_def.type)
            holder = f"{concrete.name}.{child_nodes[0].name.value}"
            if _is_connection_type(named) and isinstance(named, GraphQLObjectType):
                inner = _node_type(named)
                found += _connections_inside_objects(
                    runner, inner, _connection_node_fields(child_nodes)
                )
            else:
                found += _connections_below(runner, named, child_nodes, holder)
    return found


def _connections_below(
    runner: _Run, named: GraphQLNamedType, nodes: list[FieldNode], holder: str
) -> list[str]:
    found: list[str] = []
    for concrete in _possible(runner.schema, named):
        for child_nodes in runner.subfields(concrete, nodes).values():
            field_def = concrete.fields.get(child_nodes[0].name.value)
            if field_def is None:
                continue
            inner = get_named_type(field_def.type)
            if _is_connection_type(inner):
                found.append(f"{concrete.name}.{child_nodes[0].name.value} (inside {holder})")
            else:
                found += _connections_below(runner, inner, child_nodes, holder)
    return found


def _node_type(connection: GraphQLObjectType) -> GraphQLNamedType:
    """A connection's node type (``edges > node``; not every connection has ``nodes``)."""
    edge = get_named_type(connection.fields["edges"].type)
    if not isinstance(edge, GraphQLObjectType):
        raise BulkQueryError(f"{connection.name} has no edges")
    node: GraphQLNamedType = get_named_type(edge.fields["node"].type)
    return node


def _is_connection_type(named: GraphQLNamedType) -> bool:
    return (
        isinstance(named, GraphQLObjectType)
        and named.name.endswith("Connection")
        and "pageInfo" in named.fields
    )


def _possible(schema: GraphQLSchema, named: GraphQLNamedType) -> list[GraphQLObjectType]:
    if isinstance(named, GraphQLObjectType):
        return [named]
    if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
        return list(schema.get_possible_types(named))
    return []


def _connection_node_fields(nodes: list[FieldNode]) -> list[FieldNode]:
    """The ``node`` (under ``edges``) or ``nodes`` selections of a connection field."""
    found: list[FieldNode] = []
    for node in nodes:
        for selection in node.selection_set.selections if node.selection_set else ():
            if not isinstance(selection, FieldNode):
                continue
            if selection.name.value == "nodes":
                found.append(selection)
            elif selection.name.value == "edges" and selection.selection_set:
                found.extend(
                    inner
                    for inner in selection.selection_set.selections
                    if isinstance(inner, FieldNode) and inner.name.value == "node"
                )
    return found


# --------------------------------------------------------------------------- one run


class _Run:
    """State of one execution: fragments and the position used for error reports."""

    def __init__(
        self, executor: Executor, ctx: ResolveContext, fragments: dict[str, FragmentDefinitionNode]
    ) -> None:
        self.executor = executor
        self.schema = executor.schema
        self.ctx = ctx
        self.fragments = fragments
        self.current_node: FieldNode | None = None
        self.current_path: list[str | int] | None = None
        # Field sets and argument values are fixed for one execution; graphql-core's own
        # executor memoises them the same way (a page of 250 orders repeats them 250x).
        self._subfields: dict[tuple[str, tuple[int, ...]], dict[str, list[FieldNode]]] = {}
        self._arguments: dict[int, dict[str, Any]] = {}

    def subfields(
        self, object_type: GraphQLObjectType, nodes: list[FieldNode]
    ) -> dict[str, list[FieldNode]]:
        key = (object_type.name, tuple(id(node) for node in nodes))
        found = self._subfields.get(key)
        if found is None:
            found = collect_sub_fields(
                self.schema, self.fragments, self.ctx.variables, object_type, nodes
            )
            self._subfields[key] = found
        return found

    def arguments(self, field_def: Any, node: FieldNode) -> dict[str, Any]:
        found = self._arguments.get(id(node))
        if found is None:
            found = get_argument_values(field_def, node, self.ctx.variables)
            self._arguments[id(node)] = found
        return dict(found)

    def object_fields(
        self,
        object_type: GraphQLObjectType,
        fields: dict[str, list[FieldNode]],
        parent: Any,
        path: list[str | int],
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, nodes in fields.items():
            node = nodes[0]
            name = node.name.value
            field_path = [*path, key]
            if name == "__typename":
                result[key] = object_type.name
                continue
            field_def = object_type.fields[name]
            self.current_node, self.current_path = node, field_path
            try:
                args = self.arguments(field_def, node)
                raw = self.resolve(object_type, name, args, node, parent=parent, path=field_path)
                value = self.complete(field_def.type, nodes, raw, field_path)
            except RequestError:
                raise
            except FieldError as error:
                self.ctx.errors.append(_error_dict(error.message, node, field_path, error.code))
                value = None
            except _NullBubbleError:
                value = None
            if value is None and isinstance(field_def.type, GraphQLNonNull):
                if not any(e.get("path") == field_path for e in self.ctx.errors) and not any(
                    _is_prefix(field_path, e.get("path")) for e in self.ctx.errors
                ):
                    self.ctx.errors.append(
                        _error_dict(
                            f"Cannot return null for non-nullable field {object_type.name}.{name}",
                            node,
                            field_path,
                            None,
                        )
                    )
                raise _NullBubbleError
            result[key] = value
        return result

    def resolve(
        self,
        object_type: GraphQLObjectType,
        name: str,
        args: dict[str, Any],
        node: FieldNode,
        *,
        parent: Any,
        path: list[str | int],
    ) -> Any:
        resolver = self.executor.resolvers.get((object_type.name, name))
        if resolver is not None:
            self.ctx.path = path
            return resolver(self.ctx, args, node, parent)
        if isinstance(parent, dict):
            if name in parent:
                return parent[name]
            alias = FIELD_ALIASES.get((object_type.name, name))
            if alias is not None and alias in parent:
                return parent[alias]
            return self.executor.filler.value(object_type, name, args, parent)
        field_def = object_type.fields[name]
        if parent is None or isinstance(field_def.type, GraphQLNonNull):
            raise FieldError(
                f"Field '{name}' on type '{object_type.name}' is not served by the Shopify "
                "emulator",
                UNSUPPORTED_CODE,
            )
        return None

    def complete(
        self,
        return_type: GraphQLOutputType,
        nodes: list[FieldNode],
        value: Any,
        path: list[str | int],
    ) -> Any:
        if isinstance(return_type, GraphQLNonNull):
            return self.complete(return_type.of_type, nodes, value, path)
        if value is None:
            return None
        if isinstance(return_type, GraphQLList):
            item_type = return_type.of_type
            items = []
            for index, item in enumerate(value):
                try:
                    completed = self.complete(item_type, nodes, item, [*path, index])
                except _NullBubbleError:
                    completed = None
                if completed is None and isinstance(item_type, GraphQLNonNull):
                    raise _NullBubbleError
                items.append(completed)
            return items
        if isinstance(return_type, GraphQLInterfaceType | GraphQLUnionType):
            runtime = (
                self.schema.get_type(value.get("__typename", ""))
                if isinstance(value, dict)
                else None
            )
            if not isinstance(runtime, GraphQLObjectType):
                raise FieldError(f"Cannot resolve the concrete type of {return_type.name}")
            return self.complete(runtime, nodes, value, path)
        if isinstance(return_type, GraphQLObjectType):
            fields = self.subfields(return_type, nodes)
            return self.object_fields(return_type, fields, value, path)
        return _serialize_scalar(get_named_type(return_type).name, value)

    # ------------------------------------------------------------------ bulk

    def bulk_groups(
        self, node_type: GraphQLObjectType, nodes: list[FieldNode], docs: Iterator[dict[str, Any]]
    ) -> Iterator[list[Any]]:
        """``[root line, [descendant lines]]`` per root document (lines not yet escaped)."""
        for doc in docs:
            line, children = self.bulk_object(node_type, nodes, doc)
            descendants: list[bytes] = []
            group = [_jsonl(line), descendants]
            try:
                for child_type, child_nodes, child_docs in children:
                    descendants.extend(
                        self.bulk_stream(child_type, child_nodes, child_docs, doc.get("id"))
                    )
            except Exception:
                yield group
                raise
            yield group

    def bulk_stream(
        self,
        node_type: GraphQLNamedType,
        nodes: list[FieldNode],
        docs: Iterator[dict[str, Any]],
        parent_id: str | None = None,
    ) -> Iterator[bytes]:
        for doc in docs:
            line, children = self.bulk_object(_concrete(self.schema, node_type, doc), nodes, doc)
            if parent_id is not None:
                line["__parentId"] = parent_id
            yield _jsonl(line)
            for child_type, child_nodes, child_docs in children:
                yield from self.bulk_stream(child_type, child_nodes, child_docs, doc.get("id"))

    def bulk_object(
        self, object_type: GraphQLObjectType, nodes: list[FieldNode], doc: dict[str, Any]
    ) -> tuple[
        dict[str, Any], list[tuple[GraphQLNamedType, list[FieldNode], Iterator[dict[str, Any]]]]
    ]:
        """One node's JSONL object, with nested connections split out as child streams."""
        fields = self.subfields(object_type, nodes)
        line: dict[str, Any] = {}
        children = []
        plain: dict[str, list[FieldNode]] = {}
        for key, field_nodes in fields.items():
            nested = _nested_connection(self.executor, object_type, field_nodes)
            if nested is not None:
                iterate, args, node_type = nested
                children.append(
                    (node_type, _connection_node_fields(field_nodes), iterate(self.ctx, args, doc))
                )
            else:
                plain[key] = field_nodes
        try:
            line = self.object_fields(object_type, plain, doc, [])
        except _NullBubbleError:
            line = {}
        if self.ctx.errors:
            error = self.ctx.errors[0]
            raise BulkQueryError(f"bulk export failed: {error['message']}")
        return line, children


def _selects(nodes: list[FieldNode], name: str) -> bool:
    """Whether any selection under ``nodes`` (fragments included, shallowly) names ``name``."""
    for node in nodes:
        if node.selection_set is None:
            continue
        for selection in node.selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value == name:
                    return True
            else:
                return True  # fragments: assume yes (prefetching is only an optimisation)
    return False


def _is_prefix(prefix: list[str | int], path: Any) -> bool:
    return isinstance(path, list) and len(path) > len(prefix) and path[: len(prefix)] == prefix


def _jsonl(value: dict[str, Any]) -> bytes:
    """One JSONL line; ``/`` is escaped per chunk (``_escaped_chunk``)."""
    return orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE)


# --------------------------------------------------------------------------- resolvers


def _default_resolvers(executor: Executor) -> dict[tuple[str, str], Resolver]:
    store = executor.store

    def shop(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
        return store.shop_document()

    def orders(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
        return executor.connection_page(
            ctx, "orders", args, parent_type="QueryRoot", field_name="orders"
        )

    def customers(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
        return executor.connection_page(
            ctx, "customers", args, parent_type="QueryRoot", field_name="customers"
        )

    def counter(resource: Resource, field_name: str) -> Resolver:
        def count(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
            where, params = executor.search_where(
                ctx, resource, args.get("query"), "QueryRoot", field_name
            )
            limit = args.get("limit")
            total, exact = count_rows(store, resource, where=where, params=params, limit=limit)
            return {"count": total, "precision": "EXACT" if exact else "AT_LEAST"}

        return count

    def by_id(kind: str) -> Resolver:
        def lookup(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
            parsed = parse_gid(args["id"])
            if parsed is None:
                raise FieldError(
                    f"Invalid global id '{args['id']}'", "argumentLiteralsIncompatible"
                )
            if parsed[0] != kind:
                return None
            return executor.node_by_gid(ctx, args["id"])

        return lookup

    def node_(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
        return executor.node_by_gid(ctx, args["id"])

    def nodes_(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
        return [executor.node_by_gid(ctx, value) for value in args["ids"]]

    def order_customer(
        ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any
    ) -> Any:
        customer_id = parent.get("_customerId")
        return None if customer_id is None else executor.customer_doc(ctx, customer_id)

    def order_line_items(
        ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any
    ) -> Any:
        first, last = _page_size(args, "lineItems")
        order_id = int(parent["legacyResourceId"])
        items = adjusted_pairs(parent, executor.order_items(ctx, order_id))
        reverse = bool(args.get("reverse"))
        after, before = _cursor(args.get("after")), _cursor(args.get("before"))
        if first is not None:
            rows = select_items(items, after.last_id if after else None, first + 1, reverse)
            if before is not None:
                rows = [
                    r for r in rows if (r[0] > before.last_id if reverse else r[0] < before.last_id)
                ]
            more = len(rows) > first
            rows = rows[:first]
            has_prev = bool(rows) and bool(select_items(items, rows[0][0], 1, not reverse))
            return _connection([(encode_cursor(i, i), d) for i, d in rows], more, has_prev)
        size = last or 0
        rows = select_items(items, before.last_id if before else None, size + 1, not reverse)
        more = len(rows) > size
        rows = list(reversed(rows[:size]))
        has_next = bool(rows) and bool(select_items(items, rows[-1][0], 1, reverse))
        return _connection([(encode_cursor(i, i), d) for i, d in rows], has_next, more)

    def order_shipping_lines(
        ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any
    ) -> Any:
        return _list_page(parent.get("_shippingLines", []), args, "shippingLines")

    def customer_orders(
        ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any
    ) -> Any:
        customer_id = int(parent["legacyResourceId"])
        return executor.connection_page(
            ctx,
            "orders",
            args,
            parent_type="Customer",
            field_name="orders",
            extra_where=("o.customer_id = ?", [customer_id]),
        )

    def customer_last_order(
        ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any
    ) -> Any:
        order_id = parent.get("_lastOrderId")
        return None if order_id is None else executor.visible_order(ctx, order_id)

    def order_billing(
        ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any
    ) -> Any:
        return (
            parent.get("shippingAddress")
            if parent.get("_billingIsShipping")
            else parent.get("billingAddress")
        )

    def order_display_address(
        ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any
    ) -> Any:
        return order_billing(ctx, args, node, parent) or parent.get("shippingAddress")

    def order_shipping_line(
        ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any
    ) -> Any:
        lines = parent.get("_shippingLines") or []
        return lines[0] if lines else None

    def customer_address_list(
        ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any
    ) -> Any:
        address = parent.get("defaultAddress")
        return [address] if address else []

    def customer_addresses(
        ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any
    ) -> Any:
        return _list_page(customer_address_list(ctx, args, node, parent), args, "addressesV2")

    return {
        ("QueryRoot", "shop"): shop,
        ("QueryRoot", "orders"): orders,
        ("QueryRoot", "customers"): customers,
        ("QueryRoot", "ordersCount"): counter("orders", "ordersCount"),
        ("QueryRoot", "customersCount"): counter("customers", "customersCount"),
        ("QueryRoot", "order"): by_id("Order"),
        ("QueryRoot", "customer"): by_id("Customer"),
        ("QueryRoot", "node"): node_,
        ("QueryRoot", "nodes"): nodes_,
        ("Order", "customer"): order_customer,
        ("Order", "lineItems"): order_line_items,
        ("Order", "shippingLines"): order_shipping_lines,
        ("Customer", "orders"): customer_orders,
        ("Customer", "lastOrder"): customer_last_order,
        ("Customer", "addressesV2"): customer_addresses,
        ("Customer", "addresses"): customer_address_list,
        ("Order", "billingAddress"): order_billing,
        ("Order", "displayAddress"): order_display_address,
        ("Order", "shippingLine"): order_shipping_line,
    }


def _bulk_children(executor: Executor) -> dict[tuple[str, str], BulkChildren]:
    store = executor.store

    def line_items(
        ctx: ResolveContext, args: dict[str, Any], parent: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        order_id = int(parent["legacyResourceId"])
        blob = ctx.cache.get("line_item_blobs", {}).get(order_id)
        if blob is not None:
            yield from adjusted_line_items(parent, store.decode_line_items(blob))
            return
        prefetched = ctx.cache.get("line_items", {}).get(order_id)
        if prefetched is None:
            prefetched = store.order_line_items(order_id)
        yield from adjusted_line_items(parent, [doc for _, doc in prefetched])

    def shipping_lines(
        ctx: ResolveContext, args: dict[str, Any], parent: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        yield from parent.get("_shippingLines", [])

    def addresses(
        ctx: ResolveContext, args: dict[str, Any], parent: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        address = parent.get("defaultAddress")
        yield from [address] if address else []

    def customer_orders(
        ctx: ResolveContext, args: dict[str, Any], parent: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        customer_id = int(parent["legacyResourceId"])
        saved = ctx.cache.get("line_items")
        yield from executor._iterate_resource(
            ctx,
            "orders",
            args,
            parent_type="Customer",
            field_name="orders",
            extra_where=("o.customer_id = ?", [customer_id]),
            prefetch_line_items=True,
        )
        ctx.cache["line_items"] = saved

    return {
        ("Order", "lineItems"): line_items,
        ("Order", "shippingLines"): shipping_lines,
        ("Customer", "addressesV2"): addresses,
        ("Customer", "orders"): customer_orders,
    }
