"""Queries that select *every* field of a type, generated from the Admin schema.

A client that asks for everything (an ELT connector's "all columns" mode, a schema-driven
SDK) must get everything; these queries are how the tests ask. Each field of the type is
selected; an object field selects its child's leaf fields (scalars and enums) and
``__typename``, a connection field its nodes' leaf fields. Arguments a field requires get
plain values. ``bulk=True`` writes the bulk form: connections through ``edges > node``,
no connection under a list or inside a child object, at most ``max_connections`` of them
(Shopify's limit is 5).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    get_named_type,
)


def is_connection(named: GraphQLNamedType) -> bool:
    return (
        isinstance(named, GraphQLObjectType)
        and named.name.endswith("Connection")
        and "pageInfo" in named.fields
    )


def is_leaf(named: GraphQLNamedType) -> bool:
    return isinstance(named, GraphQLScalarType | GraphQLEnumType)


def _literal(arg: GraphQLArgument) -> str | None:
    named = get_named_type(arg.type)
    if isinstance(named, GraphQLEnumType):
        return next(iter(named.values))
    if isinstance(named, GraphQLInputObjectType):
        return None
    literal = {
        "String": '"emulator"',
        "ID": '"gid://shopify/Metafield/1"',
        "Int": "1",
        "Float": "1.0",
        "Boolean": "false",
        "URL": '"https://example.com/"',
    }.get(named.name, '"emulator"')
    return f"[{literal}]" if isinstance(_unwrap(arg.type), GraphQLList) else literal


def _unwrap(type_: object) -> object:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def _arguments(field: GraphQLField, connection: bool) -> str | None:
    """Required arguments (and ``first`` for a connection), or ``None`` if not writable."""
    parts: list[str] = []
    for name, arg in field.args.items():
        required = isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
        if connection and name == "first":
            parts.append("first: 2")
        elif required:
            literal = _literal(arg)
            if literal is None:
                return None
            parts.append(f"{name}: {literal}")
    return f"({', '.join(parts)})" if parts else ""


def leaf_fields(named: GraphQLNamedType) -> list[str]:
    fields = getattr(named, "fields", None) or {}
    return ["__typename"] + [
        name
        for name, field in fields.items()
        if is_leaf(get_named_type(field.type)) and _arguments(field, False) == ""
    ]


def _child(named: GraphQLNamedType) -> str:
    if isinstance(named, GraphQLUnionType):
        return "{ __typename }"
    return "{ " + " ".join(leaf_fields(named)) + " }"


@dataclass(frozen=True)
class Selection:
    text: str
    """The selection set, ``{ ... }``."""
    names: frozenset[str]
    """The fields of the type it selects."""
    skipped: frozenset[str]
    """Fields left out (bulk: connections over the limit; any: unwritable arguments)."""


def every_field(
    schema: GraphQLSchema,
    type_name: str,
    *,
    bulk: bool = False,
    max_connections: int = 5,
    extra: Iterable[str] = (),
    overrides: Mapping[str, str] | None = None,
) -> Selection:
    """Every field of ``type_name`` as a selection set; ``overrides`` replaces the
    sub-selection of the named fields (e.g. a connection's full node selection)."""
    object_type = schema.get_type(type_name)
    assert isinstance(object_type, GraphQLObjectType | GraphQLInterfaceType)
    parts: list[str] = []
    names: set[str] = set()
    skipped: set[str] = set()
    connections = 0
    for name, field in object_type.fields.items():
        named = get_named_type(field.type)
        connection = is_connection(named)
        args = _arguments(field, connection)
        if args is None:
            skipped.add(name)
            continue
        names.add(name)
        if overrides and name in overrides:
            connections += connection
            parts.append(name + args + " " + overrides[name])
        elif is_leaf(named):
            parts.append(name + args)
        elif connection:
            edge = get_named_type(named.fields["edges"].type)
            assert isinstance(edge, GraphQLObjectType)
            node = get_named_type(edge.fields["node"].type)
            if bulk:
                if connections >= max_connections:
                    names.discard(name)
                    skipped.add(name)
                    continue
                connections += 1
                inner = "" if is_leaf(node) else " " + _child(node)
                parts.append(f"{name}{args} {{ edges {{ node{inner} }} }}")
            else:
                inner = "" if is_leaf(node) else " " + _child(node)
                parts.append(
                    f"{name}{args} {{ edges {{ cursor node{inner} }} "
                    "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }"
                )
        else:
            parts.append(name + args + " " + _child(named))
    parts.extend(extra)
    return Selection("{ " + " ".join(parts) + " }", frozenset(names), frozenset(skipped))
