"""Query cost as Shopify computes it: statically before execution, and again from the result.

The rules were fitted to every ``requestedQueryCost`` in the live captures (``tests/emulator/
test_cost.py`` replays them all) and agree with Shopify's published principles:

- scalars, enums and ``__typename`` cost 0; an object (or interface/union, or a list of
  them) costs 1 plus its selection; a few value objects cost 0 (``ZERO_COST_TYPES``);
- a connection costs ``2 + pages(first or last) x`` the cost of one node, where
  ``edges { node }`` and ``nodes`` each count and ``pageInfo`` is free. ``pages(n)`` is
  ``max(1, floor(2 ln n))``: Shopify no longer charges linearly for page size (a
  ``first: 250`` page of scalar nodes costs 13, as captured);
- a ``Count`` (``customersCount``, ``ordersCount``) costs 10; a mutation field costs 10,
  and the objects of its payload are free while connections inside it are charged.

The actual cost walks the same selection over the returned data: connections are charged
for the nodes they returned, null objects cost nothing. Captured exceptions are listed in
``docs/emulator.md``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

ZERO_COST_TYPES = frozenset({"PageInfo", "MoneyV2", "MoneyBag", "MailingAddress"})
COUNT_COST = 10
MUTATION_COST = 10
CONNECTION_BASE = 2


def pages(size: int | None) -> int:
    """Multiplier charged for a page of ``size`` nodes."""
    if size is None or size <= 0:
        return 0
    return max(1, math.floor(2 * math.log(size)))


_Composite = tuple[FieldNode, GraphQLNamedType, str, int]
"""A composite field of a selection: node, named type, response key, ``_KIND_*``."""
_KIND_COUNT, _KIND_CONNECTION, _KIND_OBJECT = 0, 1, 2


@dataclass(frozen=True, slots=True)
class CostInput:
    """What both walks need: schema, fragments and the request's variables."""

    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    composites: dict[tuple[str, int], tuple[_Composite, ...]] = dataclasses.field(
        default_factory=dict, compare=False
    )
    """Per-walk memo of ``_composite_fields``: the actual cost visits the same selection
    once per returned object (250 orders x 250 line items), and only composite fields
    can cost anything."""


def requested_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any] | None = None,
) -> int:
    """Cost charged before execution (the single-query cap and the bucket use this)."""
    ctx = CostInput(schema, fragments, variables or {})
    root = _root_type(schema, operation)
    if operation.operation is OperationType.MUTATION:
        return sum(
            MUTATION_COST + _selection_cost(ctx, get_named_type(field.type), node, payload=True)
            for node, field in _fields(ctx, root, operation.selection_set)
        )
    return _selection_cost(ctx, root, operation, payload=False)


def actual_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any] | None,
    data: Mapping[str, Any] | None,
) -> int:
    """Cost of what was returned; never above the requested cost."""
    ctx = CostInput(schema, fragments, variables or {})
    root = _root_type(schema, operation)
    total = 0
    for node, field in _fields(ctx, root, operation.selection_set):
        value = data.get(_key(node)) if data else None
        if operation.operation is OperationType.MUTATION:
            total += MUTATION_COST + _actual_selection(
                ctx, get_named_type(field.type), node, value, payload=True
            )
        else:
            total += _actual_field(ctx, field, node, value, payload=False)
    return min(total, requested_cost(schema, operation, fragments, variables))


def _root_type(schema: GraphQLSchema, operation: OperationDefinitionNode) -> GraphQLObjectType:
    root = (
        schema.mutation_type if operation.operation is OperationType.MUTATION else schema.query_type
    )
    if root is None:
        msg = f"the schema has no {operation.operation.value} root"
        raise ValueError(msg)
    return root


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _fields(
    ctx: CostInput, parent: GraphQLNamedType, selection_set: SelectionSetNode | None
) -> list[tuple[FieldNode, GraphQLField]]:
    """Fields selected on ``parent``, fragments flattened (every type condition kept)."""
    out: list[tuple[FieldNode, GraphQLField]] = []
    if selection_set is None:
        return out
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            field = _field_def(parent, selection.name.value)
            if field is not None:
                out.append((selection, field))
        elif isinstance(selection, InlineFragmentNode):
            target = (
                ctx.schema.get_type(selection.type_condition.name.value)
                if selection.type_condition
                else parent
            )
            if target is not None:
                out.extend(_fields(ctx, target, selection.selection_set))
        elif isinstance(selection, FragmentSpreadNode):
            fragment = ctx.fragments.get(selection.name.value)
            if fragment is not None:
                target = ctx.schema.get_type(fragment.type_condition.name.value)
                if target is not None:
                    out.extend(_fields(ctx, target, fragment.selection_set))
    return out


def _field_def(parent: GraphQLNamedType, name: str) -> GraphQLField | None:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        found: GraphQLField | None = parent.fields.get(name)
        return found
    if isinstance(parent, GraphQLUnionType):
        for member in parent.types:
            if name in member.fields:
                field: GraphQLField = member.fields[name]
                return field
    return None


def is_connection(named: GraphQLNamedType) -> bool:
    """Relay connections: a ``...Connection`` object with ``pageInfo`` and ``edges``/``nodes``."""
    return (
        isinstance(named, GraphQLObjectType)
        and named.name.endswith("Connection")
        and "pageInfo" in named.fields
        and ("edges" in named.fields or "nodes" in named.fields)
    )


def _is_composite(named: GraphQLNamedType) -> bool:
    return isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType)


def _own_cost(named: GraphQLNamedType, payload: bool) -> int:
    if payload or named.name in ZERO_COST_TYPES:
        return 0
    return 1


def _page_size(ctx: CostInput, node: FieldNode) -> int | None:
    sizes: list[int] = []
    for argument in node.arguments:
        if argument.name.value not in ("first", "last"):
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            sizes.append(int(value.value))
        elif isinstance(value, VariableNode):
            raw = ctx.variables.get(value.name.value)
            if isinstance(raw, int) and not isinstance(raw, bool):
                sizes.append(raw)
    return max(sizes) if sizes else None


def _selection_cost(
    ctx: CostInput,
    parent: GraphQLNamedType,
    node: FieldNode | OperationDefinitionNode,
    *,
    payload: bool,
) -> int:
    total = 0
    for child, field in _fields(ctx, parent, node.selection_set):
        named = get_named_type(field.type)
        if named.name == "Count":
            total += COUNT_COST
        elif is_connection(named):
            total += CONNECTION_BASE + pages(_page_size(ctx, child)) * _node_cost(ctx, named, child)
        elif _is_composite(named):
            total += _own_cost(named, payload) + _selection_cost(ctx, named, child, payload=payload)
    return total


def _node_cost(ctx: CostInput, connection: GraphQLNamedType, node: FieldNode) -> int:
    """Cost of one node of a connection, counting ``edges { node }`` and ``nodes`` each."""
    total = 0
    for child, field in _fields(ctx, connection, node.selection_set):
        name = child.name.value
        if name == "nodes":
            named = get_named_type(field.type)
            total += _own_cost(named, False) + _selection_cost(ctx, named, child, payload=False)
        elif name == "edges":
            edge = get_named_type(field.type)
            for edge_child, edge_field in _fields(ctx, edge, child.selection_set):
                named = get_named_type(edge_field.type)
                if _is_composite(named):
                    total += _own_cost(named, False) + _selection_cost(
                        ctx, named, edge_child, payload=False
                    )
    return total


def _composite_fields(
    ctx: CostInput, parent: GraphQLNamedType, selection_set: SelectionSetNode | None
) -> tuple[_Composite, ...]:
    """The fields of a selection that may cost something, memoised for one walk.

    Scalars and enums cost 0, and so does a zero-cost object (``ZERO_COST_TYPES``, such
    as ``MoneyBag``) whose own selection holds nothing that may cost: whatever the data,
    they add 0, so the actual-cost walk skips them (money and addresses are most of an
    order's fields).
    """
    key = (parent.name, id(selection_set))
    found = ctx.composites.get(key)
    if found is None:
        entries: list[_Composite] = []
        for child, child_field in _fields(ctx, parent, selection_set):
            named = get_named_type(child_field.type)
            if not _is_composite(named):
                continue
            if named.name == "Count":
                kind = _KIND_COUNT
            elif is_connection(named):
                kind = _KIND_CONNECTION
            else:
                kind = _KIND_OBJECT
                if named.name in ZERO_COST_TYPES and not _composite_fields(
                    ctx, named, child.selection_set
                ):
                    continue
            entries.append((child, named, _key(child), kind))
        found = ctx.composites[key] = tuple(entries)
    return found


def _is_mapping(value: Any) -> bool:
    """``isinstance(value, Mapping)``, with the common case (a dict) first: the ABC check
    is slow and runs for every returned object."""
    return type(value) is dict or isinstance(value, Mapping)


def _actual_field(
    ctx: CostInput, field: GraphQLField, node: FieldNode, value: Any, *, payload: bool
) -> int:
    named = get_named_type(field.type)
    if not _is_composite(named):
        return 0
    kind = (
        _KIND_COUNT
        if named.name == "Count"
        else _KIND_CONNECTION
        if is_connection(named)
        else _KIND_OBJECT
    )
    return _actual_composite(ctx, named, kind, node, value, payload=payload)


def _actual_composite(
    ctx: CostInput,
    named: GraphQLNamedType,
    kind: int,
    node: FieldNode,
    value: Any,
    *,
    payload: bool,
) -> int:
    if kind == _KIND_COUNT:
        return COUNT_COST
    if kind == _KIND_CONNECTION:
        return _actual_connection(ctx, named, node, value)
    if value is None:
        return _own_cost(named, payload)
    items = value if isinstance(value, list) else [value]
    costs = [
        _actual_selection(ctx, named, node, item, payload=payload)
        for item in items
        if _is_mapping(item)
    ]
    return _own_cost(named, payload) + max(costs, default=0)


def _actual_selection(
    ctx: CostInput, parent: GraphQLNamedType, node: FieldNode, value: Any, *, payload: bool
) -> int:
    if not _is_mapping(value):
        return 0
    total = 0
    for child, named, key, kind in _composite_fields(ctx, parent, node.selection_set):
        total += _actual_composite(ctx, named, kind, child, value.get(key), payload=payload)
    return total


def _actual_connection(
    ctx: CostInput, connection: GraphQLNamedType, node: FieldNode, value: Any
) -> int:
    if not isinstance(value, Mapping):
        return CONNECTION_BASE
    per_item: dict[int, int] = {}
    for child, child_field in _fields(ctx, connection, node.selection_set):
        items = value.get(_key(child))
        if not isinstance(items, list):
            continue
        named = get_named_type(child_field.type)
        edges = child.name.value == "edges"
        edge_fields = _composite_fields(ctx, named, child.selection_set) if edges else ()
        for index, item in enumerate(items):
            if edges:
                cost = 0
                for edge_child, edge_named, edge_key, edge_kind in edge_fields:
                    cost += _actual_composite(
                        ctx, edge_named, edge_kind, edge_child, item.get(edge_key), payload=False
                    )
            else:
                cost = _own_cost(named, False) + _actual_selection(
                    ctx, named, child, item, payload=False
                )
            per_item[index] = per_item.get(index, 0) + cost
    if not per_item:
        requested_node = _node_cost(ctx, connection, node)
        return CONNECTION_BASE + pages(_page_size(ctx, node)) * min(1, requested_node)
    return CONNECTION_BASE + pages(len(per_item)) * max(per_item.values())
