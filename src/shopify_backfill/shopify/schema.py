"""The real Admin GraphQL schema, loaded once per process.

Parsing the 130k-line SDL takes seconds, so the first load writes the introspection
result (keyed by the SDL's hash) to the cache folder and later processes rebuild the
schema from that JSON in well under a second.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    build_ast_schema,
    build_client_schema,
    introspection_from_schema,
    parse,
    validate,
)

_lock = threading.Lock()
_schemas: dict[Path, GraphQLSchema] = {}


def load_schema(sdl_path: Path, cache_dir: Path | None = None) -> GraphQLSchema:
    """Build (or reuse) the schema for ``sdl_path``; thread-safe and memoised per path."""
    key = sdl_path.resolve()
    with _lock:
        schema = _schemas.get(key)
        if schema is None:
            schema = _build(key, cache_dir)
            _schemas[key] = schema
        return schema


def _build(sdl_path: Path, cache_dir: Path | None) -> GraphQLSchema:
    sdl = sdl_path.read_bytes()
    digest = hashlib.sha256(sdl).hexdigest()[:16]
    cached = cache_dir / f"admin-schema-{digest}.json" if cache_dir else None
    if cached is not None and cached.is_file():
        introspection: Any = orjson.loads(cached.read_bytes())
        return build_client_schema(introspection, assume_valid=True)
    document = parse(sdl.decode("utf-8"), no_location=True)
    schema = build_ast_schema(document, assume_valid=True, assume_valid_sdl=True)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(orjson.dumps(introspection_from_schema(schema)))
        tmp.replace(cached)
    return schema


def validation_errors(schema: GraphQLSchema, query: str | DocumentNode) -> list[GraphQLError]:
    """Parse and validate a query text; syntax errors come back as a one-item list."""
    if isinstance(query, str):
        try:
            query = parse(query)
        except GraphQLError as error:
            return [error]
    return list(validate(schema, query))
