"""Bulk operations: Shopify's validation rules, the job lifecycle, JSONL files and downloads.

A run is validated exactly as Shopify does (messages from the captures in
``conformance/bulk-operations``), stored in ``emu_bulk_operations`` and executed on a
background thread that streams ``Executor.bulk_chunks`` into a file, so memory never
depends on the store's size. The file is served by the emulator itself under a signed,
expiring URL shaped like Shopify's signed cloud-storage URLs (``bulk_links``), with HTTP
``Range`` support.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    parse,
    validate,
)

from shopify_emulator.bulk_links import LinkSigner
from shopify_emulator.config import BulkOutcome, EmulatorConfig
from shopify_emulator.cost import is_connection
from shopify_emulator.cursors import CursorError, decode_cursor, encode_cursor
from shopify_emulator.executor import (
    Executor,
    FieldError,
    RequestError,
    ResolveContext,
    Resolver,
    parse_gid,
)
from shopify_emulator.faults import FaultInjector
from shopify_emulator.search import (
    INVALID_FIELD_MESSAGE,
    Term,
    iter_terms,
    parse_search,
    parsed_json,
)
from shopify_emulator.shopify_errors import (
    bulk_parse_message,
    user_error,
    validation_errors_payload,
)
from shopify_emulator.versions import groups_objects_by_default

TERMINAL = frozenset({"COMPLETED", "CANCELED", "FAILED", "EXPIRED"})
ACTIVE = frozenset({"CREATED", "RUNNING", "CANCELING"})
ID_BASE = 7_900_000_000_000
ID_STEP = 32_768

_SCHEMA = """
CREATE TABLE IF NOT EXISTS emu_bulk_operations (
    id INTEGER PRIMARY KEY,
    owner TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    error_code TEXT,
    created_at TEXT NOT NULL,
    completed_at TEXT,
    object_count INTEGER NOT NULL DEFAULT 0,
    root_object_count INTEGER NOT NULL DEFAULT 0,
    file_size INTEGER,
    partial_size INTEGER,
    query TEXT NOT NULL,
    group_objects INTEGER NOT NULL DEFAULT 0
);
"""
_COLUMNS = (
    "id, owner, type, status, error_code, created_at, completed_at, object_count, "
    "root_object_count, file_size, partial_size, query, group_objects"
)

# --------------------------------------------------------------------------- validation

NODE_MESSAGE = "Bulk queries cannot contain a top level `node` field."
NO_CONNECTION_MESSAGE = "Bulk queries must contain at least one connection."
TOO_MANY_MESSAGE = "Bulk queries cannot contain more than 5 connections."
DEPTH_MESSAGE = "Bulk queries cannot contain connections with a nesting depth greater than 2."
LIST_MESSAGE = (
    "Queries that contain a connection field within a list field are not currently supported."
)
OPERATION_MESSAGE = "Invalid operation type. Only `query` operations are supported."
MAX_CONNECTIONS = 5
MAX_DEPTH = 2


@dataclass
class _Shape:
    connections: int = 0
    deepest: int = -1
    top_level_node: bool = False
    in_list: bool = False
    via_nodes: list[str] = field(default_factory=list)
    without_id: list[str] = field(default_factory=list)


def validate_bulk_query(schema: GraphQLSchema, text: str) -> tuple[DocumentNode | None, list[str]]:
    """The parsed document, or Shopify's ``userErrors`` messages for the inner query."""
    try:
        document = parse(text)
    except GraphQLError as error:
        return None, [bulk_parse_message(error)]
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return None, [OPERATION_MESSAGE]
    errors = list(validate(schema, document))
    if errors:
        translated = validation_errors_payload(document, errors)
        return None, [f"Invalid bulk query: {error['message']}" for error in translated]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    shape = _Shape()
    root = schema.query_type
    if root is None:
        return None, ["the schema has no query root"]
    for node in _field_nodes(operations[0].selection_set, fragments):
        if node.name.value in ("node", "nodes"):
            shape.top_level_node = True
        _walk(schema, root, node, fragments, shape, depth=0, in_list=False)
    messages: list[str] = []
    if shape.top_level_node:
        messages.append(NODE_MESSAGE)
    if shape.via_nodes:
        names = ", ".join(f"'{name}'" for name in shape.via_nodes)
        first = shape.via_nodes[0]
        messages.append(
            "All connection fields in a bulk query must select their contents using 'edges' > "
            f"'node', e.g: '{first} {{ edges {{ node {{'. Selecting via 'nodes' is not "
            f"supported. Invalid connection fields: {names}."
        )
    if shape.in_list:
        messages.append(LIST_MESSAGE)
    if shape.connections > MAX_CONNECTIONS:
        messages.append(TOO_MANY_MESSAGE)
    if shape.deepest > MAX_DEPTH:
        messages.append(DEPTH_MESSAGE)
    if shape.without_id:
        messages.append(
            "The parent 'node' field for a nested connection must select the 'id' field without "
            "an alias and must be of 'ID' return type. Connection fields without 'id': "
            f"{', '.join(shape.without_id)}."
        )
    if shape.connections == 0:
        messages.append(NO_CONNECTION_MESSAGE)
    return (document if not messages else None), messages


def _field_nodes(
    selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]
) -> Iterator[FieldNode]:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _field_nodes(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            yield from _field_nodes(fragments[selection.name.value].selection_set, fragments)


def _walk(
    schema: GraphQLSchema,
    parent: GraphQLNamedType,
    node: FieldNode,
    fragments: dict[str, FragmentDefinitionNode],
    shape: _Shape,
    *,
    depth: int,
    in_list: bool,
) -> None:
    fields = getattr(parent, "fields", None)
    if not fields or node.name.value not in fields:
        return
    field_type = fields[node.name.value].type
    named = get_named_type(field_type)
    if is_connection(named):
        if in_list:
            shape.in_list = True
            return
        shape.connections += 1
        shape.deepest = max(shape.deepest, depth)
        _walk_connection(schema, named, node, fragments, shape, depth=depth)
        return
    unwrapped = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    listed = in_list or isinstance(unwrapped, GraphQLList)
    for child in _field_nodes(node.selection_set, fragments):
        _walk(schema, named, child, fragments, shape, depth=depth, in_list=listed)


def _walk_connection(
    schema: GraphQLSchema,
    connection: GraphQLNamedType,
    node: FieldNode,
    fragments: dict[str, FragmentDefinitionNode],
    shape: _Shape,
    *,
    depth: int,
) -> None:
    if not isinstance(connection, GraphQLObjectType):
        return
    node_type = get_named_type(connection.fields["nodes"].type)
    for child in _field_nodes(node.selection_set, fragments):
        if child.name.value == "nodes":
            shape.via_nodes.append(node.name.value)
            continue
        if child.name.value != "edges":
            continue
        for inner in _field_nodes(child.selection_set, fragments):
            if inner.name.value != "node":
                continue
            selections = list(_field_nodes(inner.selection_set, fragments))
            nested = [s for s in selections if _returns_connection(node_type, s)]
            has_id = any(s.name.value == "id" and s.alias is None for s in selections)
            if nested and not has_id:
                shape.without_id.append(node.name.value)
            for selection in selections:
                _walk(
                    schema, node_type, selection, fragments, shape, depth=depth + 1, in_list=False
                )


def _returns_connection(parent: GraphQLNamedType, node: FieldNode) -> bool:
    fields = getattr(parent, "fields", None)
    if not fields or node.name.value not in fields:
        return False
    return is_connection(get_named_type(fields[node.name.value].type))


# --------------------------------------------------------------------------- lifecycle


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Job:
    """What a worker needs to run one bulk operation."""

    op_id: int
    document: DocumentNode
    visible_since: datetime | None
    outcome: BulkOutcome | None
    group_objects: bool = False
    rendered_key: str | None = None
    """Set when rendered results may be reused: names the file kept for this query."""


@dataclass(frozen=True)
class Rendered:
    """A result file and the counts its operation reported."""

    objects: int
    roots: int
    size: int


class BulkOperations:
    """Bulk jobs of one emulator instance: storage, workers, GraphQL resolvers, files."""

    def __init__(
        self,
        executor: Executor,
        config: EmulatorConfig,
        injector: FaultInjector,
        *,
        wall_clock: Callable[[], float],
        signing_key: bytes,
        files_dir: Path,
    ) -> None:
        self.executor = executor
        self.store = executor.store
        self.config = config
        self.injector = injector
        self.wall_clock = wall_clock
        self.links = LinkSigner(signing_key)
        self.files_dir = files_dir
        self._cancel: dict[int, threading.Event] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        connection = self.store.connection()
        connection.executescript(_SCHEMA)
        columns = {row[1] for row in connection.execute("PRAGMA table_info(emu_bulk_operations)")}
        if "group_objects" not in columns:
            # A store kept with --db by an emulator that did not record groupObjects yet.
            connection.execute(
                "ALTER TABLE emu_bulk_operations "
                "ADD COLUMN group_objects INTEGER NOT NULL DEFAULT 0"
            )
        connection.commit()

    # ------------------------------------------------------------------ storage

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.wall_clock(), UTC)

    def _row(self, op_id: int) -> dict[str, Any] | None:
        row = (
            self.store.connection()
            .execute(f"SELECT {_COLUMNS} FROM emu_bulk_operations WHERE id = ?", (op_id,))  # noqa: S608
            .fetchone()
        )
        return None if row is None else dict(zip(_COLUMNS.split(", "), row, strict=True))

    def _update(self, op_id: int, **values: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in values)
        connection = self.store.connection()
        connection.execute(
            f"UPDATE emu_bulk_operations SET {assignments} WHERE id = ?",  # noqa: S608
            (*values.values(), op_id),
        )
        connection.commit()

    def file_path(self, op_id: int, kind: str) -> Path:
        return self.files_dir / f"bulk-{op_id}-{kind}.jsonl"

    # ------------------------------------------------------------------ documents

    def document(self, row: dict[str, Any], base_url: str) -> dict[str, Any]:
        """The BulkOperation object as the executor serves it."""
        done = row["completed_at"]
        expires = None
        if done is not None:
            expires = (
                int(datetime.fromisoformat(done).timestamp()) + self.config.bulk_url_ttl_seconds
            )
        url = partial = None
        if row["status"] == "COMPLETED" and row["object_count"] and expires is not None:
            url = self.signed_url(base_url, row["id"], "result", expires)
        if row["partial_size"] and expires is not None:
            partial = self.signed_url(base_url, row["id"], "partial", expires)
        return {
            "__typename": "BulkOperation",
            "id": f"gid://shopify/BulkOperation/{row['id']}",
            "status": row["status"],
            "type": row["type"],
            "errorCode": row["error_code"],
            "createdAt": _stamp(datetime.fromisoformat(row["created_at"])),
            "completedAt": _stamp(datetime.fromisoformat(done)) if done else None,
            "objectCount": row["object_count"],
            "rootObjectCount": row["root_object_count"],
            "fileSize": row["file_size"] if url else None,
            "url": url,
            "partialDataUrl": partial,
            "query": row["query"],
        }

    def signed_url(self, base_url: str, op_id: int, kind: str, expires: int) -> str:
        """A GCS-shaped signed link to the operation's ``result`` or ``partial`` file."""
        return self.links.url(base_url, op_id, kind, expires)

    # ------------------------------------------------------------------ mutations

    def run_query(
        self,
        owner: str,
        text: str,
        visible_since: datetime | None,
        scope_error: str | None,
        group_objects: bool = False,
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Validate and start a job: (row, userErrors).

        ``group_objects`` is the mutation's ``groupObjects`` (explicit, or the serving
        version's default: see ``group_objects_of``): recorded with the job, it decides the
        file layout (children directly after their parent, or interleaved later in the file).
        """
        document, messages = validate_bulk_query(self.executor.schema, text)
        if document is not None:
            messages = self.executor.bulk_unserved(document)
        if document is None or messages:
            return None, [user_error(message) for message in messages]
        connection = self.store.connection()
        with self._lock:
            active = connection.execute(
                "SELECT id FROM emu_bulk_operations WHERE owner = ? AND type = 'QUERY' "
                "AND status IN ('CREATED', 'RUNNING', 'CANCELING') ORDER BY id",
                (owner,),
            ).fetchall()
            if len(active) >= self.config.bulk_concurrency_limit:
                ids = ", ".join(f"gid://shopify/BulkOperation/{row[0]}" for row in active)
                message = (
                    f"A bulk query operation for this app and shop is already in progress: {ids}."
                )
                return None, [user_error(message, None, "OPERATION_IN_PROGRESS")]
            last = connection.execute("SELECT MAX(id) FROM emu_bulk_operations").fetchone()[0]
            op_id = (last or ID_BASE) + ID_STEP
            connection.execute(
                "INSERT INTO emu_bulk_operations "
                "(id, owner, type, status, created_at, query, group_objects) "
                "VALUES (?, ?, 'QUERY', 'CREATED', ?, ?, ?)",
                (op_id, owner, self._now().isoformat(), text, int(group_objects)),
            )
            connection.commit()
            outcome = self.injector.next_bulk_outcome()
            if scope_error is not None:
                outcome = "ACCESS_DENIED"
            cancel = self._cancel[op_id] = threading.Event()
            key = self._rendered_key(text, visible_since, group_objects)
            job = Job(op_id, document, visible_since, outcome, group_objects, key)
            thread = threading.Thread(
                target=self._work,
                args=(job, cancel),
                name=f"bulk-{op_id}",
                daemon=True,
            )
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()
        return self._row(op_id), []

    def cancel(self, op_id: int) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        row = self._row(op_id)
        if row is None:
            return None, [user_error("Bulk operation does not exist", ("id",), None)]
        if row["status"] in TERMINAL:
            message = f"A bulk operation cannot be canceled when it is {row['status'].lower()}"
            return row, [user_error(message, None, None)]
        with self._lock:
            self._update(op_id, status="CANCELING")
            event = self._cancel.get(op_id)
            if event is not None:
                event.set()
        row = self._row(op_id)
        return row, []

    # ------------------------------------------------------------------ worker

    def _work(self, job: Job, cancel: threading.Event) -> None:
        try:
            self._run(job, cancel)
        except Exception:
            self._update(
                job.op_id,
                status="FAILED",
                error_code="INTERNAL_SERVER_ERROR",
                completed_at=self._now().isoformat(),
            )
        finally:
            with self._lock:
                self._cancel.pop(job.op_id, None)

    def _run(self, job: Job, cancel: threading.Event) -> None:
        if cancel.wait(self.config.bulk_start_delay_seconds):
            self._finish_canceled(job.op_id)
            return
        self._update(job.op_id, status="RUNNING")
        if job.outcome == "ACCESS_DENIED":
            self._update(
                job.op_id,
                status="FAILED",
                error_code="ACCESS_DENIED",
                completed_at=self._now().isoformat(),
            )
            return
        path = self.file_path(job.op_id, "result")
        path.parent.mkdir(parents=True, exist_ok=True)
        rendered = self._reuse(job.rendered_key, path)
        if rendered is None:
            rendered = self._render(job, cancel, path)
            if rendered is None:
                return
            self._keep(job.rendered_key, path, rendered)
        objects, roots, size = rendered.objects, rendered.roots, rendered.size
        done = self._now().isoformat()
        if job.outcome in ("FAILED", "TIMEOUT"):
            code = "TIMEOUT" if job.outcome == "TIMEOUT" else "INTERNAL_SERVER_ERROR"
            self._update(
                job.op_id,
                status="FAILED",
                error_code=code,
                completed_at=done,
                object_count=objects,
                root_object_count=roots,
            )
            path.unlink(missing_ok=True)
            return
        if job.outcome == "PARTIAL":
            self._write_partial(job.op_id, path, roots, done)
            return
        status = "EXPIRED" if job.outcome == "EXPIRED" else "COMPLETED"
        if not objects:
            path.unlink(missing_ok=True)
        self._update(
            job.op_id,
            status=status,
            completed_at=done,
            object_count=objects,
            root_object_count=roots,
            file_size=size if objects else None,
        )

    def _render(self, job: Job, cancel: threading.Event, path: Path) -> Rendered | None:
        """Write the job's result file; ``None`` when it was canceled on the way."""
        objects = roots = size = 0
        last_report = time.monotonic()
        with path.open("wb") as out:
            chunks = self.executor.bulk_chunks(
                job.document,
                orders_visible_since=job.visible_since,
                group_objects=job.group_objects,
            )
            for chunk in chunks:
                if cancel.is_set():
                    self._update(job.op_id, object_count=objects, root_object_count=roots)
                    self._finish_canceled(job.op_id)
                    path.unlink(missing_ok=True)
                    return None
                out.write(chunk.data)
                size += len(chunk.data)
                objects += chunk.objects
                roots += chunk.roots
                if time.monotonic() - last_report > 0.2:
                    self._update(job.op_id, object_count=objects, root_object_count=roots)
                    last_report = time.monotonic()
        return Rendered(objects, roots, size)

    # ------------------------------------------------------------------ rendered results

    def _rendered_key(
        self, text: str, visible_since: datetime | None, group_objects: bool
    ) -> str | None:
        if not self.config.bulk_reuse_results:
            return None
        since = visible_since.isoformat() if visible_since else "-"
        material = f"{since}\n{int(group_objects)}\n{text}".encode()
        return hashlib.sha256(material).hexdigest()[:32]

    def rendered_path(self, key: str) -> Path:
        return self.files_dir / f"rendered-{key}.jsonl"

    def _reuse(self, key: str | None, path: Path) -> Rendered | None:
        if key is None:
            return None
        kept, counts = self.rendered_path(key), self.rendered_path(key).with_suffix(".json")
        if not (kept.exists() and counts.exists()):
            return None
        rendered = Rendered(**orjson.loads(counts.read_bytes()))
        _link_or_copy(kept, path)
        return rendered

    def _keep(self, key: str | None, path: Path, rendered: Rendered) -> None:
        if key is None or not path.exists():
            return
        kept = self.rendered_path(key)
        kept.unlink(missing_ok=True)
        _link_or_copy(path, kept)
        counts = {"objects": rendered.objects, "roots": rendered.roots, "size": rendered.size}
        kept.with_suffix(".json").write_bytes(orjson.dumps(counts))

    def _write_partial(self, op_id: int, path: Path, roots: int, done: str) -> None:
        """Keep whole root objects (with all their children) up to the configured fraction.

        Ungrouped files place children after later roots, so the partial file is not a
        byte prefix of the result: it keeps the lines of the first roots and of their
        descendants, in file order. The set of kept ids only lives while the fault is
        being produced (fault plans are for tests and demos).
        """
        keep = int(roots * self.injector.plan.partial_fraction)
        partial = self.file_path(op_id, "partial")
        kept_ids: set[str] = set()
        objects = seen_roots = size = 0
        with path.open("rb") as source, partial.open("wb") as target:
            for line in source:
                record = orjson.loads(line)
                parent = record.get("__parentId")
                if parent is None:
                    seen_roots += 1
                    wanted = seen_roots <= keep
                else:
                    wanted = parent in kept_ids
                if not wanted:
                    continue
                if isinstance(record.get("id"), str):
                    kept_ids.add(record["id"])
                target.write(line)
                size += len(line)
                objects += 1
        path.unlink(missing_ok=True)
        if not size:
            partial.unlink(missing_ok=True)
        self._update(
            op_id,
            status="FAILED",
            error_code="INTERNAL_SERVER_ERROR",
            completed_at=done,
            object_count=objects,
            root_object_count=keep,
            partial_size=size or None,
        )

    def _finish_canceled(self, op_id: int) -> None:
        self._update(op_id, status="CANCELED")

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Join every worker (tests and shutdown)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    def shutdown(self) -> None:
        with self._lock:
            for event in self._cancel.values():
                event.set()
        self.wait_idle()

    # ------------------------------------------------------------------ reads

    def list_rows(self, owner: str, args: dict[str, Any], ctx: ResolveContext) -> dict[str, Any]:
        first, last = args.get("first"), args.get("last")
        if first is None and last is None:
            raise RequestError("you must provide one of first or last")
        if first is not None and last is not None:
            raise RequestError("providing both first and last is not supported")
        size: int = first if first is not None else int(last or 0)
        if not 0 <= size <= 250:
            raise RequestError(
                "The maximum number of items requested per page is 250. "
                f"Argument '{'first' if first is not None else 'last'}' on Field "
                f"'bulkOperations' was {size}."
            )
        rows = [
            dict(zip(_COLUMNS.split(", "), row, strict=True))
            for row in self.store.connection().execute(
                f"SELECT {_COLUMNS} FROM emu_bulk_operations WHERE owner = ?",  # noqa: S608
                (owner,),
            )
        ]
        rows = [row for row in rows if self._matches(row, args.get("query"), ctx)]
        key = "completed_at" if args.get("sortKey") == "COMPLETED_AT" else "created_at"
        rows.sort(key=lambda row: (row[key] or "", row["id"]), reverse=not args.get("reverse"))
        keyed = [(self._cursor(row, key), row) for row in rows]
        after, before = args.get("after"), args.get("before")
        start, stop = 0, len(keyed)
        try:
            if after:
                marker = decode_cursor(after).last_id
                start = next((i + 1 for i, (_, r) in enumerate(keyed) if r["id"] == marker), stop)
            if before:
                marker = decode_cursor(before).last_id
                stop = next((i for i, (_, r) in enumerate(keyed) if r["id"] == marker), stop)
        except CursorError as error:
            raise RequestError(f"Invalid cursor: {error}") from error
        window = keyed[start:stop]
        chosen = window[:size] if first is not None else window[max(0, len(window) - size) :]
        has_next = len(window) > size if first is not None else stop < len(keyed)
        has_prev = start > 0 if first is not None else len(window) > size
        base = ctx.extras["base_url"]
        edges = [{"cursor": cursor, "node": self.document(row, base)} for cursor, row in chosen]
        return {
            "edges": edges,
            "nodes": [edge["node"] for edge in edges],
            "pageInfo": {
                "hasNextPage": has_next,
                "hasPreviousPage": has_prev,
                "startCursor": edges[0]["cursor"] if edges else None,
                "endCursor": edges[-1]["cursor"] if edges else None,
            },
        }

    @staticmethod
    def _cursor(row: dict[str, Any], key: str) -> str:
        value = row[key]
        text = datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S.%f") if value else None
        return encode_cursor(row["id"], text)

    def _matches(self, row: dict[str, Any], query: str | None, ctx: ResolveContext) -> bool:
        tree = parse_search(query)
        warnings = []
        result = True
        for term in iter_terms(tree):
            verdict = self._term(row, term)
            if verdict is None:
                warnings.append(
                    {"field": term.field, "message": INVALID_FIELD_MESSAGE, "code": "invalid_field"}
                )
            elif not verdict:
                result = False
        if warnings and not any(entry.get("query") == query for entry in ctx.search):
            ctx.search.append(
                {
                    "path": list(ctx.path),
                    "query": query,
                    "parsed": parsed_json(tree),
                    "warnings": warnings,
                }
            )
        return result

    def _term(self, row: dict[str, Any], term: Term) -> bool | None:
        value = term.value.lower()
        if term.field == "status":
            return str(row["status"]).lower() == value
        if term.field == "operation_type":
            return str(row["type"]).lower() == value
        if term.field == "id":
            return _compare(row["id"], term.comparator, int(value) if value.isdigit() else -1)
        if term.field == "created_at":
            try:
                moment = datetime.fromisoformat(term.value.strip("'\"").replace("Z", "+00:00"))
            except ValueError as error:
                raise RequestError("Invalid timestamp for query filter `created_at`.") from error
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            created = datetime.fromisoformat(row["created_at"])
            return _compare(created, term.comparator, moment)
        return None

    # ------------------------------------------------------------------ resolvers

    def resolvers(
        self, owner_of: Callable[[ResolveContext], str]
    ) -> dict[tuple[str, str], Resolver]:
        """The bulk fields, registered on the executor by the app factory."""
        base_node = self.executor.node_by_gid

        def row_for(ctx: ResolveContext, value: Any) -> dict[str, Any] | None:
            parsed = parse_gid(value)
            if parsed is None:
                raise FieldError(f"Invalid global id '{value}'", "argumentLiteralsIncompatible")
            if parsed[0] != "BulkOperation":
                return None
            row = self._row(parsed[1])
            if row is None or row["owner"] != owner_of(ctx):
                return None
            return self.document(row, ctx.extras["base_url"])

        def bulk_operation(
            ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any
        ) -> Any:
            return row_for(ctx, args["id"])

        def bulk_operations(
            ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any
        ) -> Any:
            return self.list_rows(owner_of(ctx), args, ctx)

        def current(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
            row = (
                self.store.connection()
                .execute(
                    "SELECT id FROM emu_bulk_operations WHERE owner = ? AND type = ? "
                    "ORDER BY id DESC LIMIT 1",
                    (owner_of(ctx), args.get("type") or "QUERY"),
                )
                .fetchone()
            )
            found = self._row(row[0]) if row else None
            return self.document(found, ctx.extras["base_url"]) if found else None

        def run_query(
            ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any
        ) -> Any:
            row, errors = self.run_query(
                owner_of(ctx),
                args["query"],
                ctx.orders_visible_since,
                ctx.extras.get("bulk_scope_error"),
                group_objects_of(ctx, args, node),
            )
            document = self.document(row, ctx.extras["base_url"]) if row else None
            return {"bulkOperation": document, "userErrors": errors}

        def cancel(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
            parsed = parse_gid(args["id"])
            row, errors = (None, [user_error("Bulk operation does not exist", ("id",), None)])
            if parsed is not None and parsed[0] == "BulkOperation":
                found = self._row(parsed[1])
                if found is not None and found["owner"] == owner_of(ctx):
                    row, errors = self.cancel(parsed[1])
            document = self.document(row, ctx.extras["base_url"]) if row else None
            return {"bulkOperation": document, "userErrors": errors}

        def node_(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
            return row_for(ctx, args["id"]) or base_node(ctx, args["id"])

        def nodes_(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
            return [row_for(ctx, value) or base_node(ctx, value) for value in args["ids"]]

        return {
            ("QueryRoot", "bulkOperation"): bulk_operation,
            ("QueryRoot", "bulkOperations"): bulk_operations,
            ("QueryRoot", "currentBulkOperation"): current,
            ("QueryRoot", "node"): node_,
            ("QueryRoot", "nodes"): nodes_,
            ("Mutation", "bulkOperationRunQuery"): run_query,
            ("Mutation", "bulkOperationCancel"): cancel,
        }


def group_objects_of(ctx: ResolveContext, args: dict[str, Any], node: FieldNode) -> bool:
    """``groupObjects`` as the request meant it: the explicit argument, else the version's default.

    The 2026-07 schema declares ``groupObjects: Boolean! = false``, so the coerced
    arguments always hold a value; whether the client actually passed one is read from the
    field node (a literal, or a variable the request supplied). Without it the default is
    the serving version's: ``true`` before 2026-01, ``false`` from 2026-01
    (https://shopify.dev/docs/api/usage/bulk-operations/queries).
    """
    for argument in node.arguments or ():
        if argument.name.value != "groupObjects":
            continue
        value = argument.value
        if not isinstance(value, VariableNode) or value.name.value in ctx.variables:
            return bool(args.get("groupObjects"))
    return groups_objects_by_default(ctx.extras.get("api_version"))


def _link_or_copy(source: Path, target: Path) -> None:
    """Hard-link where the file system allows (instant, no extra space), else copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _compare(left: Any, comparator: str, right: Any) -> bool:
    if comparator == ">":
        return bool(left > right)
    if comparator == ">=":
        return bool(left >= right)
    if comparator == "<":
        return bool(left < right)
    if comparator == "<=":
        return bool(left <= right)
    return bool(left == right)


def visible_since(now: datetime, has_all_orders: bool) -> datetime | None:
    """Without ``read_all_orders`` only the last 60 days of orders exist for the app."""
    return None if has_all_orders else now - timedelta(days=60)
