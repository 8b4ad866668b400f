"""Shopify's error payloads, byte for byte where a capture or the documentation shows them.

Clients branch on these shapes (a string ``errors`` for HTTP-level refusals, a list for
GraphQL errors, ``extensions.code`` for the kind), so they live in one module that every
route uses. Static validation errors are translated from graphql-core's wording to
graphql-ruby's, which is what Shopify runs: same rule, different sentence and codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    Node,
    OperationDefinitionNode,
    Visitor,
    print_ast,
    visit,
)

INVALID_TOKEN = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
NOT_FOUND = {"errors": "Not Found"}
INTERNAL_ERROR = {
    "errors": "Internal Server Error",
}
BAD_GATEWAY_HTML = (
    "<!DOCTYPE html><html><head><title>Shopify</title></head><body>"
    "<h1>There was a problem loading this website</h1>"
    "<p>Please try refreshing the page.</p></body></html>"
)
SERVICE_UNAVAILABLE = {"errors": "Service Unavailable"}
REST_THROTTLED = {
    "errors": "Exceeded 2 calls per second for api client. "
    "Reduce request rates to resume uninterrupted service."
}

RATE_LIMITS_DOC = "https://shopify.dev/api/usage/rate-limits"
MAX_QUERY_COST = 1000


def throttled_error() -> dict[str, Any]:
    """The error Shopify answers (HTTP 200, no data) when the bucket lacks room."""
    return {
        "message": "Throttled",
        "extensions": {"code": "THROTTLED", "documentation": RATE_LIMITS_DOC},
    }


def max_cost_error(cost: int) -> dict[str, Any]:
    """Single-query limit refusal; the multi-line wording is Shopify's own."""
    message = (
        f"Query cost is {cost}, which exceeds the single query max cost limit "
        f"({MAX_QUERY_COST}).\n\n"
        "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how "
        "the\ncost of a query is calculated.\n\n"
        "To query larger amounts of data with fewer limits, bulk operations should be used "
        "instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api "
        "for usage details.\n"
    )
    return {
        "message": message,
        "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": MAX_QUERY_COST},
    }


def access_denied_customer_error(
    client_id: str, path: Sequence[str | int], locations: list[dict[str, int]]
) -> dict[str, Any]:
    """Protected customer data refusal for an app that has not been approved."""
    return {
        "message": "This app is not approved to access the Customer object. See "
        f"https://partners.shopify.com/apps/{client_id}/customer_data for more details.",
        "locations": locations,
        "path": list(path),
        "extensions": {"code": "ACCESS_DENIED"},
    }


def invalid_variable_error(
    name: str, type_text: str, value: Any, explanation: str, locations: list[dict[str, int]]
) -> dict[str, Any]:
    """A variable that does not coerce, in graphql-ruby's ``INVALID_VARIABLE`` shape."""
    return {
        "message": f"Variable ${name} of type {type_text} was provided invalid value",
        "locations": locations,
        "extensions": {
            "code": "INVALID_VARIABLE",
            "value": value,
            "problems": [{"path": [], "explanation": explanation, "message": explanation}],
        },
    }


def parse_error(error: GraphQLError) -> dict[str, Any]:
    """A syntax error in Shopify's (graphql-ruby C parser) wording."""
    locations = _locations(error)
    token = _unexpected_token(error.message)
    return {"message": f"syntax error, unexpected {token}", "locations": locations}


def bulk_parse_message(error: GraphQLError) -> str:
    """Inner-query syntax error as ``bulkOperationRunQuery`` reports it in ``userErrors``."""
    return f"Invalid bulk query: syntax error, unexpected {_unexpected_token(error.message)}"


def _unexpected_token(message: str) -> str:
    if "<EOF>" in message:
        return "end of file"
    found = re.search(r"Unexpected (?:Name )?'?([^'.]+)'?", message)
    if found:
        text = found.group(1).strip()
        return f'"{text}"' if text else "token"
    return message.removeprefix("Syntax Error: ")


def _locations(error: GraphQLError) -> list[dict[str, int]]:
    return [{"line": loc.line, "column": loc.column} for loc in error.locations or ()]


def locations_of(node: Node) -> list[dict[str, int]]:
    """``[{line, column}]`` of an AST node, as GraphQL errors carry them."""
    if node.loc is None:
        return []
    source = node.loc.source
    line = source.body.count("\n", 0, node.loc.start) + 1
    column = node.loc.start - (source.body.rfind("\n", 0, node.loc.start) + 1) + 1
    return [{"line": line, "column": column}]


class _StaticPaths(Visitor):
    """Records graphql-ruby's static path (``["query Name", "field", ...]``) of every node."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: dict[int, list[str]] = {}
        self.parents: dict[int, Any] = {}
        self._stack: list[str] = []

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        label = node.operation.value
        self._stack = [f"{label} {node.name.value}" if node.name else label]
        self.paths[id(node)] = list(self._stack)

    def enter_fragment_definition(self, node: FragmentDefinitionNode, *_: Any) -> None:
        self._stack = [f"fragment {node.name.value}"]
        self.paths[id(node)] = list(self._stack)

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        self._stack.append(node.alias.value if node.alias else node.name.value)
        self.paths[id(node)] = list(self._stack)

    def leave_field(self, node: FieldNode, *_: Any) -> None:
        self._stack.pop()

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        self.paths[id(node)] = [*self._stack, node.name.value]
        self.parents[id(node.value)] = node

    def enter(self, node: Node, *_: Any) -> None:
        if id(node) not in self.paths and self._stack:
            self.paths[id(node)] = list(self._stack)


_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Cannot query field '(?P<field>\w+)' on type '(?P<type>\w+)'"), "undefined"),
    (
        re.compile(r"Field '(?P<field>\w+)' argument '(?P<arg>\w+)' of type '[^']+' is required"),
        "missing",
    ),
    (re.compile(r"Unknown argument '(?P<arg>\w+)' on field '(?:\w+\.)?(?P<field>\w+)'"), "arg"),
    (
        re.compile(r"Field '(?P<field>\w+)' of type '(?P<type>[^']+)' must have a selection"),
        "needs_selection",
    ),
    (
        re.compile(
            r"Field '(?P<field>\w+)' must not have a selection since type '(?P<type>[^']+)'"
        ),
        "no_selection",
    ),
    (re.compile(r"Variable '\$(?P<var>\w+)' is never used"), "unused_var"),
    (re.compile(r"Variable '\$(?P<var>\w+)' is not defined"), "undefined_var"),
]


def validation_errors_payload(
    document: DocumentNode, errors: Iterable[GraphQLError]
) -> list[dict[str, Any]]:
    """Translate graphql-core validation errors into graphql-ruby's messages and codes."""
    recorder = _StaticPaths()
    visit(document, recorder)
    operation = next(
        (d for d in document.definitions if isinstance(d, OperationDefinitionNode)), None
    )
    op_label = recorder.paths.get(id(operation), ["query"])[0] if operation else "query"
    out: list[dict[str, Any]] = []
    missing: dict[int, dict[str, Any]] = {}
    for error in errors:
        node = error.nodes[0] if error.nodes else None
        path = recorder.paths.get(id(node), [op_label]) if node is not None else [op_label]
        translated = _translate(error, node, path, recorder, op_label)
        if translated is None:
            continue
        if translated["extensions"].get("code") == "missingRequiredArguments":
            key = id(node)
            if key in missing:
                merged = missing[key]
                merged["extensions"]["arguments"] += ", " + translated["extensions"]["arguments"]
                name = merged["extensions"]["name"]
                merged["message"] = (
                    f"Field '{name}' is missing required arguments: "
                    f"{merged['extensions']['arguments']}"
                )
                continue
            missing[key] = translated
        out.append(translated)
    return out


def _translate(
    error: GraphQLError,
    node: Node | None,
    path: list[str],
    recorder: _StaticPaths,
    op_label: str,
) -> dict[str, Any] | None:
    locations = _locations(error)
    message = error.message
    for pattern, kind in _RULES:
        match = pattern.search(message)
        if not match:
            continue
        groups = match.groupdict()
        if kind == "undefined":
            return _ruby(
                f"Field '{groups['field']}' doesn't exist on type '{groups['type']}'",
                locations,
                path,
                {
                    "code": "undefinedField",
                    "typeName": groups["type"],
                    "fieldName": groups["field"],
                },
            )
        if kind == "missing":
            return _ruby(
                f"Field '{groups['field']}' is missing required arguments: {groups['arg']}",
                locations,
                path,
                {
                    "code": "missingRequiredArguments",
                    "className": "Field",
                    "name": groups["field"],
                    "arguments": groups["arg"],
                },
            )
        if kind == "arg":
            return _ruby(
                f"Field '{groups['field']}' doesn't accept argument '{groups['arg']}'",
                locations,
                path,
                {
                    "code": "argumentNotAccepted",
                    "name": groups["field"],
                    "typeName": "Field",
                    "argumentName": groups["arg"],
                },
            )
        if kind == "needs_selection":
            type_name = groups["type"].strip("[]!")
            return _ruby(
                f"Field must have selections (field '{groups['field']}' returns {type_name} but "
                f"has no selections. Did you mean '{groups['field']} {{ ... }}'?)",
                locations,
                path,
                {
                    "code": "selectionMismatch",
                    "nodeName": f"field '{groups['field']}'",
                    "typeName": type_name,
                },
            )
        if kind == "no_selection":
            type_name = groups["type"].strip("[]!")
            return _ruby(
                f"Selections can't be made on scalars (field '{groups['field']}' returns "
                f"{type_name} but has selections [...])",
                locations,
                path,
                {
                    "code": "selectionMismatch",
                    "nodeName": f"field '{groups['field']}'",
                    "typeName": type_name,
                },
            )
        operation_name = op_label.split(" ", 1)[1] if " " in op_label else "anonymous query"
        if kind == "unused_var":
            return _ruby(
                f"Variable ${groups['var']} is declared by {operation_name} but not used",
                locations,
                [op_label],
                {"code": "variableNotUsed", "variableName": groups["var"]},
            )
        return _ruby(
            f"Variable ${groups['var']} is used by {operation_name} but not declared",
            locations,
            [op_label],
            {"code": "variableNotDefined", "variableName": groups["var"]},
        )
    argument = recorder.parents.get(id(node)) if node is not None else None
    if argument is not None:
        arg_path = recorder.paths.get(id(argument), path)
        field_name = arg_path[-2] if len(arg_path) >= 2 else ""
        value = _literal_text(argument.value)
        expected = _expected_type(message)
        return _ruby(
            f"Argument '{argument.name.value}' on Field '{field_name}' has an invalid value "
            f"({value}). Expected type '{expected}'.",
            locations,
            arg_path,
            {
                "code": "argumentLiteralsIncompatible",
                "typeName": "Field",
                "argumentName": argument.name.value,
            },
        )
    return _ruby(message, locations, path, {"code": "validationError"})


def _expected_type(message: str) -> str:
    found = re.search(r"in '(\w+)' enum|(\w+!?) cannot represent|type '([^']+)'", message)
    if not found:
        return "value"
    return next(group for group in found.groups() if group)


def _literal_text(value: Any) -> str:
    return str(print_ast(value))


def _ruby(
    message: str, locations: list[dict[str, int]], path: list[str], extensions: dict[str, Any]
) -> dict[str, Any]:
    return {"message": message, "locations": locations, "path": path, "extensions": extensions}


def user_error(
    message: str, field: Sequence[str] | None = ("query",), code: str | None = "INVALID"
) -> dict[str, Any]:
    """One ``userErrors`` entry; ``code`` is dropped by the executor if not selected."""
    entry: dict[str, Any] = {"field": list(field) if field is not None else None}
    entry["message"] = message
    if code is not None:
        entry["code"] = code
    return entry
