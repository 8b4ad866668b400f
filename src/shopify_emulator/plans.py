"""Compiled selection plans: the executor's fast path for reads and bulk exports.

The generic walker (``executor._Run``) re-collects fields, re-resolves schema types,
builds a response path and dispatches through the resolver table for every field of
every object; a page of 250 orders with nested line items repeats that work tens of
thousands of times, and a bulk export of a large store millions of times. A plan does
the schema work once per selection set and execution: each object type's selection
becomes field steps (response key, stored key, how to complete the value), written out
as one generated Python function in which plain stored scalars are one ``dict.get`` and
nested stored objects are inlined.

Plans reproduce only the *successful* behaviour of the generic walker. Anything that
would produce a GraphQL error or an unusual shape (a resolver raising, a null in a
non-null field, a value that is not a dict where an object is expected, an abstract
type without a usable ``__typename``) raises ``Fallback``, and the caller re-runs the
request (or, in bulk, the one object) on the generic walker, which then reports exactly
what it always reported. So errors keep their paths, locations and wording without the
fast path having to model them.

Response paths are kept as linked tuples ``(parent, key)`` and turned into lists only
when a resolver is called (resolvers see ``ctx.path``, for example to place search
warnings), so plain fields never pay for path bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import CodeType
from typing import Any

import orjson
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
)
from graphql.execution.collect_fields import collect_sub_fields
from graphql.execution.values import get_argument_values

LinkedPath = tuple[Any, str | int] | None
"""A response path as nested ``(parent, key)`` pairs; ``None`` is the root."""

Completer = Callable[[Any, LinkedPath], Any]
"""Completes a non-null value at a path (a null is handled by the caller)."""

Prefetcher = Callable[[Any, list[Any]], None]
"""Loads, in one query, what a resolver will need for a whole list of parents."""

SERIALIZED_MEMO_BYTES = 12 * 1024 * 1024
"""Bytes of serialised objects a bulk export keeps (a buyer's selection is ~700 bytes)."""
CODE_CACHE_LIMIT = 1024
_CODE: dict[str, CodeType] = {}
"""Compiled ``run`` functions by source text (steps are bound per plan, not compiled in)."""

STRING_SCALARS = frozenset({"UnsignedInt64", "ID", "BigInt"})
"""Scalars the generic walker serialises with ``str()`` (see ``_serialize_scalar``)."""

# Field step kinds (how ``_generate`` reads one response key).
_GET = 0  # nullable pass-through scalar without alias: ``source.get(name)``
_GET_REQUIRED = 1  # non-null pass-through scalar without alias
_CONSTANT = 2  # ``__typename``: the step is the value
_CALL = 3  # resolver or aliased field: the step is ``(parent, source, path) -> value``
_COMPLETE = 4  # stored value completed by the step ``(value, path) -> value``
_COMPLETE_REQUIRED = 5  # the same for a non-null field
_STRING = 6  # stored ``ID``/``UnsignedInt64``/``BigInt``: ``str(value)``
_STRING_REQUIRED = 7
_OBJECT = 8  # stored object of a concrete type: the step is its ``ObjectPlan``, inlined
_OBJECT_REQUIRED = 9
_REQUIRED = frozenset({_GET_REQUIRED, _COMPLETE_REQUIRED, _STRING_REQUIRED, _OBJECT_REQUIRED})
INLINE_DEPTH = 6
"""Nested objects inlined into their parent's function; deeper ones are called."""

Step = tuple[str, str, int, Any, "Filled | None"]
"""``(response key, stored key, kind, step, filler)``: ``filler`` answers the field when
the source object does not hold the key (``fill.py``); ``None`` on root types."""

Filled = Callable[[dict[str, Any]], Any]
"""The raw value of a field its source object lacks (see ``fill.Filler.value``)."""

Fill = Callable[[GraphQLObjectType, str, dict[str, Any], Any], Any]
"""``(object type, field name, arguments, source) -> raw value`` for a missing key."""

_MISSING = object()


class Fallback(Exception):  # noqa: N818 - a control-flow signal, not an error report
    """The fast path met a case only the generic walker reproduces exactly."""


def materialize(path: LinkedPath) -> list[str | int]:
    """The list form of a linked path, as the generic walker builds it."""
    keys: list[str | int] = []
    while path is not None:
        path, key = path
        keys.append(key)
    keys.reverse()
    return keys


class ObjectPlan:
    """One object type's selection, compiled: ``run(parent, path)`` builds the response.

    ``run`` is generated Python (one straight-line function per selection, like
    ``dataclasses`` generates ``__init__``): no loop over steps, no per-field dispatch,
    the response dict built by one dict display in selection order, and nested stored
    objects (money, addresses) inlined rather than called. Embedded keys and names are
    GraphQL names (``[_A-Za-z][_0-9A-Za-z]*``) written with ``repr``; steps are passed
    in the function's namespace.
    """

    __slots__ = ("needs_source", "prefetchers", "pure", "run", "steps", "type_name")

    def __init__(
        self,
        type_name: str,
        steps: tuple[Step, ...],
        prefetchers: tuple[Prefetcher, ...],
        needs_source: bool,
        pure: bool = False,
    ) -> None:
        self.type_name = type_name
        self.steps = steps
        self.prefetchers = prefetchers
        self.needs_source = needs_source
        """Whether a field is read from the parent document (the root has none)."""
        self.pure = pure
        """Whether the result depends on the document alone: no resolver anywhere below
        (so no ``ctx`` reads or side effects), only stored values and their formats."""
        self.run: Callable[[Any, LinkedPath], dict[str, Any]] = _generate(steps, needs_source)
        """The completed object; ``Fallback`` on anything the generic walker must handle."""


class _Source:
    """The text of one generated ``run`` function being written."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {
            "Fallback": Fallback,
            "isinstance": isinstance,
            "MISSING": _MISSING,
        }
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def bind(self, value: Any) -> str:
        """A namespace name for a step function or plan."""
        name = self.name("s")
        self.namespace[name] = value
        return name


def _emit(
    out: _Source,
    steps: tuple[Step, ...],
    indent: str,
    names: tuple[str, str, str, str],
    depth: int,
) -> str:
    """Write the statements computing ``steps``; return the dict display of the result.

    ``names`` are the variables of the object being completed: the value itself, the
    dict its fields are read from, that dict's bound ``.get`` and its linked path.
    Values are computed in selection order, so resolvers run in the generic walker's
    order.
    """
    parent, source, get, path = names
    items: list[str] = []
    for key, name, kind, step, fill in steps:
        if kind == _CONSTANT:
            items.append(f"{key!r}: {step!r}")
            continue
        value = out.name("v")
        items.append(f"{key!r}: {value}")
        at = f"({path}, {key!r})"
        if kind == _CALL:
            out.lines.append(f"{indent}{value} = {out.bind(step)}({parent}, {source}, {at})")
            continue
        if fill is None:
            out.lines.append(f"{indent}{value} = {get}({name!r})")
        else:
            out.lines += [
                f"{indent}{value} = {get}({name!r}, MISSING)",
                f"{indent}if {value} is MISSING:",
                f"{indent}    {value} = {out.bind(fill)}({source})",
            ]
        if kind in (_STRING, _STRING_REQUIRED):
            out.lines += [f"{indent}if {value} is not None:", f"{indent}    {value} = str({value})"]
        elif kind in (_COMPLETE, _COMPLETE_REQUIRED):
            out.lines += [
                f"{indent}if {value} is not None:",
                f"{indent}    {value} = {out.bind(step)}({value}, {at})",
            ]
        elif kind in (_OBJECT, _OBJECT_REQUIRED):
            inner = indent + "    "
            out.lines += [
                f"{indent}if {value} is not None:",
                f"{inner}if not isinstance({value}, dict):",
                f"{inner}    raise Fallback",
            ]
            if depth >= INLINE_DEPTH:
                out.lines.append(f"{inner}{value} = {out.bind(step.run)}({value}, {at})")
            else:
                inner_get, inner_path = out.name("g"), out.name("p")
                out.lines += [f"{inner}{inner_get} = {value}.get", f"{inner}{inner_path} = {at}"]
                display = _emit(
                    out, step.steps, inner, (value, value, inner_get, inner_path), depth + 1
                )
                out.lines.append(f"{inner}{value} = {display}")
        if kind in _REQUIRED:
            out.lines += [f"{indent}if {value} is None:", f"{indent}    raise Fallback"]
    return "{" + ", ".join(items) + "}"


def _generate(
    steps: tuple[Step, ...], needs_source: bool
) -> Callable[[Any, LinkedPath], dict[str, Any]]:
    out = _Source()
    out.lines = [
        "def run(parent, path):",
        "    if isinstance(parent, dict):",
        "        source = parent",
    ]
    if needs_source:
        out.lines += ["    else:", "        raise Fallback"]
    else:
        out.lines += [
            "    elif parent is None:",
            "        source = {}",
            "    else:",
            "        raise Fallback",
        ]
    out.lines.append("    get = source.get")
    display = _emit(out, steps, "    ", ("parent", "source", "get", "path"), 1)
    out.lines.append(f"    return {display}")
    source = "\n".join(out.lines)
    code = _CODE.get(source)
    if code is None:
        # Compiling costs about 100 us a selection; a page request compiles a dozen, and
        # clients send the same few queries, so the code objects are kept (bounded).
        if len(_CODE) >= CODE_CACHE_LIMIT:
            _CODE.clear()
        code = _CODE[source] = compile(source, "<emulator plan>", "exec")
    exec(code, out.namespace)  # noqa: S102 - source built above from GraphQL names
    run: Callable[[Any, LinkedPath], dict[str, Any]] = out.namespace["run"]
    return run


class SerializedMemo:
    """Serialised objects by integer key, packed in one buffer (bounded, then restarted).

    Thousands of long-lived ~700-byte ``bytes`` scattered among a bulk export's
    short-lived allocations keep the C heap from shrinking (RSS grew ~5 KB per entry);
    one contiguous buffer costs its size and nothing more. A hit copies its bytes out.
    """

    def __init__(self, limit: int = SERIALIZED_MEMO_BYTES) -> None:
        self.limit = limit
        self.buffer = bytearray()
        self.spans: dict[int, int] = {}
        """Key -> ``start << 32 | length`` in ``buffer``."""

    def __contains__(self, key: object) -> bool:
        return key in self.spans

    def get(self, key: int) -> orjson.Fragment | None:
        span = self.spans.get(key)
        if span is None:
            return None
        start = span >> 32
        with memoryview(self.buffer) as view:
            return orjson.Fragment(bytes(view[start : start + (span & 0xFFFFFFFF)]))

    def put(self, key: int, data: bytes) -> None:
        if len(self.buffer) + len(data) > self.limit:
            self.buffer = bytearray()
            self.spans.clear()
        self.spans[key] = len(self.buffer) << 32 | len(data)
        self.buffer += data


class PlanCompiler:
    """Builds plans for one execution (fragments and variables are fixed for it).

    Plans are compiled when the first value of a type is completed, which is when the
    generic walker would first collect the same fields; nested stored objects of a
    concrete type are compiled with their parent (to be inlined). Anything raised while
    compiling is, like any other exception, a reason to fall back.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        ctx: Any,
        resolvers: Mapping[tuple[str, str], Callable[..., Any]],
        aliases: Mapping[tuple[str, str], str],
        prefetchers: Mapping[tuple[str, str], Prefetcher],
        serialize: Callable[[str, Any], Any],
        fill: Fill | None = None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.ctx = ctx
        self.resolvers = resolvers
        self.aliases = aliases
        self.prefetchers = prefetchers
        self.serialize = serialize
        self.fill = fill
        self._roots = {
            root.name
            for root in (schema.query_type, schema.mutation_type, schema.subscription_type)
            if root is not None
        }
        self._plans: dict[tuple[str, tuple[int, ...]], ObjectPlan] = {}
        self._pure_completers: set[int] = {id(_identity), id(_stringify)}
        self.serialized: Mapping[tuple[str, str], str] = {}
        """Resolver fields whose object is memoised as serialised JSON, with the parent
        key that determines it (bulk only, see ``_serialized_step``)."""
        self.serialized_memo = SerializedMemo()

    # ------------------------------------------------------------------ objects

    def object_plan(self, object_type: GraphQLObjectType, nodes: list[FieldNode]) -> ObjectPlan:
        """The plan of ``nodes``' sub-selection on ``object_type`` (memoised)."""
        key = (object_type.name, tuple(id(node) for node in nodes))
        plan = self._plans.get(key)
        if plan is None:
            fields = collect_sub_fields(
                self.schema, self.fragments, self.variables, object_type, nodes
            )
            plan = self.fields_plan(object_type, fields)
            self._plans[key] = plan
        return plan

    def fields_plan(
        self, object_type: GraphQLObjectType, fields: dict[str, list[FieldNode]]
    ) -> ObjectPlan:
        """The plan of an already collected field map (root fields, bulk lines)."""
        steps: list[Step] = []
        prefetchers: list[Prefetcher] = []
        needs_source = False
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name == "__typename":
                steps.append((key, name, _CONSTANT, object_type.name, None))
                continue
            steps.append(self._field_step(object_type, key, name, nodes))
            if (object_type.name, name) not in self.resolvers:
                needs_source = True
            prefetch = self.prefetchers.get((object_type.name, name))
            if prefetch is not None:
                prefetchers.append(prefetch)
        pure = all(self._pure_step(kind, step) for _, _, kind, step, _ in steps)
        return ObjectPlan(object_type.name, tuple(steps), tuple(prefetchers), needs_source, pure)

    def _pure_step(self, kind: int, step: Any) -> bool:
        if kind in (_GET, _GET_REQUIRED, _CONSTANT, _STRING, _STRING_REQUIRED):
            return True
        if kind in (_OBJECT, _OBJECT_REQUIRED):
            return bool(step.pure)
        if kind in (_COMPLETE, _COMPLETE_REQUIRED):
            return id(step) in self._pure_completers
        return False

    def _filled(
        self, object_type: GraphQLObjectType, name: str, args: dict[str, Any]
    ) -> Filled | None:
        """How a missing key of a non-root object is answered (``None``: it is not)."""
        fill = self.fill
        if fill is None or object_type.name in self._roots:
            return None

        def filled(source: dict[str, Any]) -> Any:
            return fill(object_type, name, dict(args), source)

        return filled

    def _field_step(
        self, object_type: GraphQLObjectType, key: str, name: str, nodes: list[FieldNode]
    ) -> Step:
        node = nodes[0]
        field_def = object_type.fields[name]
        field_type = field_def.type
        required = isinstance(field_type, GraphQLNonNull)
        args = get_argument_values(field_def, node, self.variables)
        resolver = self.resolvers.get((object_type.name, name))
        inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        memo_key = self.serialized.get((object_type.name, name))
        if resolver is not None and memo_key is not None and isinstance(inner, GraphQLObjectType):
            step = self._serialized_step(resolver, args, node, inner, nodes, memo_key, required)
            return key, name, _CALL, step, None
        complete = self.completer(field_type, nodes)
        ctx = self.ctx
        if resolver is not None:

            def resolved(parent: Any, source: dict[str, Any], path: LinkedPath) -> Any:
                ctx.path = materialize(path)
                raw = resolver(ctx, dict(args), node, parent)
                if raw is None:
                    if required:
                        raise Fallback
                    return None
                return complete(raw, path)

            return key, name, _CALL, resolved, None
        filled = self._filled(object_type, name, args)
        alias = self.aliases.get((object_type.name, name))
        if alias is None and isinstance(inner, GraphQLObjectType):
            plan = self.object_plan(inner, nodes)
            return key, name, (_OBJECT_REQUIRED if required else _OBJECT), plan, filled
        if alias is None:
            if complete is _identity:
                return key, name, (_GET_REQUIRED if required else _GET), None, filled
            if complete is _stringify:
                return key, name, (_STRING_REQUIRED if required else _STRING), None, filled
            return key, name, (_COMPLETE_REQUIRED if required else _COMPLETE), complete, filled

        def stored(parent: Any, source: dict[str, Any], path: LinkedPath) -> Any:
            if name in source:
                value = source[name]
            elif alias is not None and alias in source:
                value = source[alias]
            elif filled is not None:
                value = filled(source)
            elif required:
                raise Fallback
            else:
                return None
            if value is None:
                if required:
                    raise Fallback
                return None
            return complete(value, path)

        return key, name, _CALL, stored, None

    def _serialized_step(
        self,
        resolver: Callable[..., Any],
        args: dict[str, Any],
        node: FieldNode,
        object_type: GraphQLObjectType,
        nodes: list[FieldNode],
        memo_key: str,
        required: bool,
    ) -> Callable[[Any, dict[str, Any], LinkedPath], Any]:
        """A resolver field whose completed object is kept as serialised JSON.

        In a bulk export the same buyer is serialised for each of their orders. When
        the resolver's object is determined by one key of the parent (``_customerId``)
        and the sub-selection is ``pure``, the completed object is serialised once and
        reused as an ``orjson.Fragment``, which ``orjson.dumps`` copies verbatim: the
        line's bytes are those of the dict. ``ctx.path`` is still set as the resolver
        call would. The memo is bounded (``SerializedMemo``).
        """
        ctx = self.ctx
        memo = self.serialized_memo
        plans: list[ObjectPlan] = []

        def serialized(parent: Any, source: dict[str, Any], path: LinkedPath) -> Any:
            ctx.path = materialize(path)
            identity = source.get(memo_key)
            found = memo.get(identity) if type(identity) is int else None
            if found is not None:
                return found
            raw = resolver(ctx, dict(args), node, parent)
            if raw is None:
                if required:
                    raise Fallback
                return None
            if not plans:
                plans.append(self.object_plan(object_type, nodes))
            value = plans[0].run(raw, path)
            if type(identity) is not int or not plans[0].pure:
                return value
            data = orjson.dumps(value)
            memo.put(identity, data)
            return orjson.Fragment(data)

        return serialized

    # ------------------------------------------------------------------ values

    def completer(self, return_type: GraphQLOutputType, nodes: list[FieldNode]) -> Completer:
        """How a non-null value of ``return_type`` is completed (``_identity`` if as is)."""
        if isinstance(return_type, GraphQLNonNull):
            return self.completer(return_type.of_type, nodes)
        if isinstance(return_type, GraphQLList):
            return self._list_completer(return_type.of_type, nodes)
        if isinstance(return_type, GraphQLInterfaceType | GraphQLUnionType):
            return self._abstract_completer(nodes)
        if isinstance(return_type, GraphQLObjectType):
            return self._object_completer(return_type, nodes)
        type_name = get_named_type(return_type).name
        if type_name in STRING_SCALARS:
            return _stringify
        if type_name in ("Decimal", "DateTime"):
            serialize = self.serialize

            def scalar(value: Any, path: LinkedPath) -> Any:
                return serialize(type_name, value)

            self._pure_completers.add(id(scalar))
            return scalar
        return _identity

    def _object_completer(
        self, object_type: GraphQLObjectType, nodes: list[FieldNode]
    ) -> Completer:
        plans: list[ObjectPlan] = []

        def complete(value: Any, path: LinkedPath) -> Any:
            if not plans:
                plans.append(self.object_plan(object_type, nodes))
            return plans[0].run(value, path)

        return complete

    def _abstract_completer(self, nodes: list[FieldNode]) -> Completer:
        plans: dict[str, ObjectPlan] = {}
        schema = self.schema

        def complete(value: Any, path: LinkedPath) -> Any:
            if not isinstance(value, dict):
                raise Fallback
            type_name = value.get("__typename", "")
            plan = plans.get(type_name) if isinstance(type_name, str) else None
            if plan is None:
                runtime = schema.get_type(type_name) if isinstance(type_name, str) else None
                if not isinstance(runtime, GraphQLObjectType):
                    raise Fallback
                plan = plans[type_name] = self.object_plan(runtime, nodes)
            return plan.run(value, path)

        return complete

    def _list_completer(self, item_type: GraphQLOutputType, nodes: list[FieldNode]) -> Completer:
        required = isinstance(item_type, GraphQLNonNull)
        complete_item = self.completer(item_type, nodes)
        inner = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        object_type = inner if isinstance(inner, GraphQLObjectType) else None

        if complete_item is _identity:

            def scalars(value: Any, path: LinkedPath) -> Any:
                if not isinstance(value, list):
                    raise Fallback
                if required and None in value:
                    raise Fallback
                return list(value)

            self._pure_completers.add(id(scalars))
            return scalars

        def items(value: Any, path: LinkedPath) -> Any:
            if not isinstance(value, list):
                raise Fallback
            if object_type is not None and value:
                plan = self.object_plan(object_type, nodes)
                for prefetch in plan.prefetchers:
                    prefetch(self.ctx, value)
            completed: list[Any] = []
            for index, item in enumerate(value):
                if item is None:
                    if required:
                        raise Fallback
                    completed.append(None)
                else:
                    completed.append(complete_item(item, (path, index)))
            return completed

        if object_type is None and id(complete_item) in self._pure_completers:
            self._pure_completers.add(id(items))
        return items


def _identity(value: Any, path: LinkedPath) -> Any:
    return value


def _stringify(value: Any, path: LinkedPath) -> Any:
    return str(value)
