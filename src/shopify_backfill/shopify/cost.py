"""Client-side estimate of a query's requested cost, for pacing before the first answer.

Shopify charges a connection ``2 + max(1, floor(2 ln first)) × (cost of one node)`` (page
size is priced logarithmically: the live captures show ``first: 250`` over scalar nodes
costing 13, not 252), objects 1, scalars 0, ``*Count`` fields 10. The client has no
schema at hand, so it treats any field with a ``first``/``last`` argument as a connection,
the value types Shopify does not charge for by their field names (``FREE_OBJECT_FIELDS``),
and any other field with a selection set as an object; for the product's own queries that
is exact or a small over-estimate, the safe side for pacing. Over-counting the money and
address objects of an order page had halved its size (90 orders instead of 250) and so
doubled the budget each order costs.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    parse,
)

MUTATION_COST = 10
COUNT_FIELD_COST = 10

FREE_OBJECT_FIELDS = frozenset(
    {
        "pageInfo",
        "shopMoney",
        "presentmentMoney",
        "amountSpent",
        "totalPriceSet",
        "totalDiscountsSet",
        "originalUnitPriceSet",
        "originalPriceSet",
        "defaultAddress",
    }
)
"""Fields whose type Shopify does not charge for (``PageInfo``, ``MoneyV2``, ``MoneyBag``,
``MailingAddress``) under every type of the 2026-07 schema that has them: known by name,
since the client has no schema. ``shippingAddress`` and ``billingAddress`` are not here:
some types return a charged ``CompanyAddress`` under those names, so they stay counted
(an over-estimate of 2 per order). ``tests/shopify_client/test_cost.py`` checks the list against
the schema and the estimate against the emulator's schema-driven cost."""


def page_multiplier(size: int) -> int:
    """How many nodes' worth Shopify charges for a page of ``size``."""
    if size <= 0:
        return 0
    return max(1, math.floor(2 * math.log(size)))


@lru_cache(maxsize=256)
def _document(query: str) -> DocumentNode:
    return parse(query, no_location=True)


def estimate_cost(query: str, variables: dict[str, Any] | None = None) -> int:
    """Upper-bound estimate of Shopify's ``requestedQueryCost`` for one call."""
    document = _document(query)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    total = 0
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if definition.operation is OperationType.MUTATION:
            total += MUTATION_COST
            continue
        total += _selection_cost(definition.selection_set, variables or {}, fragments)
    return total


def _page_size(field: FieldNode, variables: dict[str, Any]) -> int | None:
    for argument in field.arguments:
        if argument.name.value not in ("first", "last"):
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            resolved = variables.get(value.name.value)
            return int(resolved) if isinstance(resolved, int) else None
    return None


def _selection_cost(
    selection_set: SelectionSetNode | None,
    variables: dict[str, Any],
    fragments: dict[str, FragmentDefinitionNode],
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                total += _selection_cost(fragment.selection_set, variables, fragments)
        elif isinstance(selection, InlineFragmentNode):
            total += _selection_cost(selection.selection_set, variables, fragments)
        elif isinstance(selection, FieldNode):
            total += _field_cost(selection, variables, fragments)
    return total


def _field_cost(
    field: FieldNode, variables: dict[str, Any], fragments: dict[str, FragmentDefinitionNode]
) -> int:
    name = field.name.value
    if name in ("edges", "nodes"):
        return _selection_cost(field.selection_set, variables, fragments)
    if name in FREE_OBJECT_FIELDS:
        return 0
    if name.endswith("Count") and field.selection_set is not None:
        return COUNT_FIELD_COST
    if field.selection_set is None:
        return 0
    size = _page_size(field, variables)
    if size is not None:
        return 2 + page_multiplier(size) * _node_cost(field, variables, fragments)
    return 1 + _selection_cost(field.selection_set, variables, fragments)


def _node_cost(
    connection: FieldNode, variables: dict[str, Any], fragments: dict[str, FragmentDefinitionNode]
) -> int:
    """Cost of one node of a connection: the node object plus what it selects."""
    if connection.selection_set is None:
        return 1
    best = 0
    for selection in connection.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.selection_set is None:
            continue
        if selection.name.value == "nodes":
            best = max(best, 1 + _selection_cost(selection.selection_set, variables, fragments))
        elif selection.name.value == "edges":
            for inner in selection.selection_set.selections:
                if isinstance(inner, FieldNode) and inner.name.value == "node":
                    cost = 1 + _selection_cost(inner.selection_set, variables, fragments)
                    best = max(best, cost)
    return max(best, 1)
