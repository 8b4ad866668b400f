"""The emulator's ASGI application: Shopify's Admin API surface over one synthetic store.

``create_emulator_app`` wires the store, the shared parsed schema, the executor and the
HTTP-side services (tokens, buckets, bulk jobs, faults) into one Starlette app. Creating
an app is cheap (no schema work, no data generation), so tests build one per case.

The GraphQL pipeline mirrors Shopify's order of checks: version, token, body, syntax,
static validation, variables, single-query cost cap, access scopes, protected customer
data, bucket, execution, refund of unused cost.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    print_ast,
)
from graphql.execution.values import get_variable_values
from graphql.utilities import get_operation_ast
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from shopify_emulator import oauth, rest, webhook_routes
from shopify_emulator.bulk import BulkOperations
from shopify_emulator.bulk_links import CONTENT_TYPE, DOWNLOAD_ROUTE, NO_SUCH_KEY, parse_object
from shopify_emulator.config import EmulatorConfig, FaultPlan
from shopify_emulator.cost import actual_cost, requested_cost
from shopify_emulator.executor import Executor
from shopify_emulator.faults import (
    ConnectionCutFault,
    FaultInjector,
    FaultMiddleware,
    Receive,
    Scope,
    Send,
)
from shopify_emulator.installation import installation_resolvers
from shopify_emulator.runtime import EmulatorRuntime
from shopify_emulator.shopify_errors import (
    INVALID_TOKEN,
    MAX_QUERY_COST,
    NOT_FOUND,
    access_denied_customer_error,
    invalid_variable_error,
    locations_of,
    max_cost_error,
    parse_error,
    throttled_error,
    validation_errors_payload,
)
from shopify_emulator.store import ShopStore
from shopify_emulator.throttle import Clock, CostBuckets, RequestBuckets
from shopify_emulator.tokens import (
    ACCESS_SCOPES_DOC,
    Denial,
    Grant,
    TokenStore,
    access_denials,
)
from shopify_emulator.webhook_delivery import WebhookDispatcher
from shopify_emulator.webhook_subscriptions import WebhookSubscriptions

_GID = re.compile(r"^gid://shopify/[A-Za-z]+/[^/\s]+$")


@functools.cache
def freeze_startup_heap() -> bool:
    """Move everything alive now (above all the Admin schema) out of the collector's sight.

    The 4,000-type schema is a large graph of objects that lives as long as the process,
    and CPython's full collections walk all of it: about 100 ms each, and a page of 250
    orders with their line items allocates enough to trigger one every other request
    (40% of a page's time), a bulk export one every few thousand orders.
    ``gc.freeze()`` is CPython's tool for exactly this (long-lived startup data); the
    garbage collected first is not frozen. Done once per process, by the first app.
    """
    gc.collect()
    gc.freeze()
    return True


def create_emulator_app(
    store: ShopStore,
    *,
    schema: GraphQLSchema,
    config: EmulatorConfig | None = None,
    clock: Clock = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
) -> Starlette:
    """Build the emulator for ``store``; ``schema`` is the shared, already-loaded Admin schema."""
    config = config or EmulatorConfig()
    freeze_startup_heap()
    plan = config.plan or store.plan
    if plan not in ("standard", "advanced", "plus", "enterprise"):
        plan = "standard"
    injector = FaultInjector(config.faults)
    tokens = TokenStore(store.connection, wall_clock)
    seed_grant = tokens.mint(
        config.seed_token_scopes or config.grantable_scopes,
        "custom_app",
        token=config.seed_token,
    )
    executor = Executor(schema, store)
    bulk = BulkOperations(
        executor,
        config,
        injector,
        wall_clock=wall_clock,
        signing_key=secrets.token_bytes(32),
        files_dir=store.path.parent / f"{store.path.stem}-bulk",
    )
    executor.resolvers.update(bulk.resolvers(lambda ctx: str(ctx.extras["owner"])))
    executor.resolvers.update(installation_resolvers(config.client_id, store.shop_domain))
    subscriptions = WebhookSubscriptions(
        store, api_version=config.webhook_api_version, wall_clock=wall_clock
    )
    executor.resolvers.update(subscriptions.resolvers())
    webhooks = WebhookDispatcher(
        secret=config.client_secret,
        shop_domain=store.shop_domain,
        api_version=config.webhook_api_version,
        faults=injector,
        timeout_seconds=config.webhook_timeout_seconds,
        retry_delays_seconds=config.webhook_retry_delays_seconds,
        reorder_wait_seconds=config.webhook_reorder_wait_seconds,
        wall_clock=wall_clock,
    )
    runtime = EmulatorRuntime(
        store=store,
        schema=schema,
        config=config,
        executor=executor,
        tokens=tokens,
        costs=CostBuckets(plan, clock),  # type: ignore[arg-type]
        requests=RequestBuckets(plan, clock),  # type: ignore[arg-type]
        bulk=bulk,
        faults=injector,
        clock=clock,
        wall_clock=wall_clock,
        seed_grant=seed_grant,
        subscriptions=subscriptions,
        webhooks=webhooks,
        plan=plan,
    )
    routes = [
        Route("/admin/api/{version}/graphql.json", graphql_endpoint, methods=["POST"]),
        *rest.routes(),
        *oauth.routes(),
        *webhook_routes.routes(),
        Route("/emulator/faults", set_faults, methods=["POST", "GET"]),
        Route("/emulator/tokens", mint_token, methods=["POST"]),
        Route("/emulator/tokens/revoke", revoke_token, methods=["POST"]),
        Route("/emulator/stats", answer_stats, methods=["GET"]),
        Route(DOWNLOAD_ROUTE, download, methods=["GET", "HEAD"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(bulk.shutdown)
        await run_in_threadpool(webhooks.close)

    app = EmulatorApp(routes=routes, lifespan=lifespan, exception_handlers={404: rest.not_found})
    app.state.runtime = runtime
    return app


class EmulatorApp(Starlette):
    """Starlette with the fault layer outermost, where uvicorn's raw ``send`` is visible."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime: EmulatorRuntime = self.state.runtime
        layer = FaultMiddleware(super().__call__, runtime.faults)
        await layer(scope, receive, send)


def runtime_of(request: Request) -> EmulatorRuntime:
    runtime: EmulatorRuntime = request.app.state.runtime
    return runtime


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """orjson-encoded JSON with Shopify's content type and a request id."""
    merged = {"X-Request-Id": str(uuid.uuid4())}
    merged.update(headers or {})
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=merged,
    )


# --------------------------------------------------------------------------- GraphQL


async def graphql_endpoint(request: Request) -> Response:
    runtime = runtime_of(request)
    served = runtime.resolve_version(request.path_params["version"])
    if served is None:
        return json_response(NOT_FOUND, 404)
    headers = {"X-Shopify-API-Version": served}
    grant = runtime.grant_for(request)
    if grant is None:
        return json_response(INVALID_TOKEN, 401, headers)
    raw = await request.body()
    body = _graphql_body(request.headers.get("content-type", ""), raw)
    if body is None:
        return json_response(
            {"errors": {"query": "Required parameter missing or invalid"}}, 400, headers
        )
    query, variables, operation_name = body
    result = await run_in_threadpool(
        graphql_answer,
        runtime,
        grant,
        query,
        variables,
        operation_name,
        str(request.base_url),
        served,
    )
    runtime.answers.add("graphql", throttled=_throttled(result))
    return json_response(result, 200, headers)


def _throttled(body: dict[str, Any]) -> bool:
    errors = body.get("errors")
    return isinstance(errors, list) and any(
        isinstance(error, dict) and error.get("extensions", {}).get("code") == "THROTTLED"
        for error in errors
    )


def _graphql_body(content_type: str, raw: bytes) -> tuple[str, dict[str, Any], str | None] | None:
    if content_type.startswith("application/graphql"):
        return raw.decode("utf-8", "replace"), {}, None
    try:
        payload = orjson.loads(raw or b"null")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return None
    variables = payload.get("variables") or {}
    if not isinstance(variables, dict):
        return None
    name = payload.get("operationName")
    return payload["query"], variables, name if isinstance(name, str) and name else None


def graphql_answer(
    runtime: EmulatorRuntime,
    grant: Grant,
    query: str,
    variables: dict[str, Any],
    operation_name: str | None,
    base_url: str,
    api_version: str | None = None,
) -> dict[str, Any]:
    """The full response body of one GraphQL request (runs on a worker thread).

    ``api_version`` is the version serving the request (after falling forward): fields
    whose behaviour changed between versions read it from ``extras``.
    """
    try:
        document, problems = runtime.checked_document(query)
    except GraphQLError as error:
        return {"errors": [parse_error(error)]}
    if problems:
        return {"errors": validation_errors_payload(document, problems)}
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        message = (
            f'No operation named "{operation_name}"'
            if operation_name
            else "An operation name is required"
        )
        return {"errors": [{"message": message}]}
    variable_errors = _variable_errors(runtime.schema, operation, variables)
    if variable_errors:
        return {"errors": variable_errors}
    fragments = _fragments(document)
    requested = requested_cost(runtime.schema, operation, fragments, variables)
    token = grant.token
    if requested > MAX_QUERY_COST:
        return {
            "errors": [max_cost_error(requested)],
            "extensions": _cost(runtime, token, requested, None),
        }
    denials = access_denials(
        runtime.schema,
        operation,
        fragments,
        grant,
        customer_data_approved=runtime.config.protected_customer_data_approved,
    )
    if runtime.faults.plan.force_throttle:
        runtime.costs.drain(token)
    if not runtime.costs.take(token, requested):
        return {
            "errors": [throttled_error()],
            "extensions": _cost(runtime, token, requested, None),
        }
    if denials and operation.operation.value == "query":
        return {
            "errors": [_denial_error(runtime, denial) for denial in denials],
            "data": None,
            "extensions": _cost(runtime, token, requested, requested),
        }
    extras = {
        "base_url": base_url,
        "api_version": api_version,
        "owner": token,
        "scopes": grant.scopes,
        "bulk_scope_error": _bulk_scope_error(runtime, grant, variables, operation),
    }
    result = runtime.executor.execute(
        document,
        variables,
        operation_name,
        orders_visible_since=runtime.visible_since(grant),
        extras=extras,
    )
    actual = actual_cost(runtime.schema, operation, fragments, variables, result.data)
    runtime.costs.refund(token, requested - actual)
    body: dict[str, Any] = {}
    if result.data is None and result.errors:
        body["errors"] = result.errors
        body["data"] = None
    else:
        body["data"] = result.data
        if result.errors:
            body["errors"] = result.errors
    extensions = _cost(runtime, token, requested, actual)
    if result.search:
        extensions["search"] = result.search
    body["extensions"] = extensions
    return body


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _cost(
    runtime: EmulatorRuntime, token: str, requested: int, actual: int | None
) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": runtime.costs.status(token).as_json(),
        }
    }


def _variable_errors(
    schema: GraphQLSchema, operation: OperationDefinitionNode, variables: dict[str, Any]
) -> list[dict[str, Any]]:
    """Variables that do not coerce, in Shopify's ``INVALID_VARIABLE`` shape."""
    errors: list[dict[str, Any]] = []
    definitions = operation.variable_definitions or ()
    coerced = get_variable_values(schema, definitions, variables)
    by_name = {d.variable.name.value: d for d in definitions}
    if isinstance(coerced, list):
        for error in coerced:
            match = re.search(r"Variable '\$(\w+)'", error.message)
            name = match.group(1) if match else ""
            definition = by_name.get(name)
            type_text = print_ast(definition.type) if definition else "?"
            locations = locations_of(definition) if definition else []
            explanation = error.message.split(";", 1)[-1].strip()
            errors.append(
                invalid_variable_error(name, type_text, variables.get(name), explanation, locations)
            )
        return errors
    for name, definition in by_name.items():
        type_text = print_ast(definition.type)
        if type_text.strip("[]!") != "ID":
            continue
        values = coerced.get(name)
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str) and not _GID.match(value):
                errors.append(
                    invalid_variable_error(
                        name,
                        type_text,
                        variables.get(name),
                        f"Invalid global id '{value}'",
                        locations_of(definition),
                    )
                )
                break
    return errors


def _denial_error(runtime: EmulatorRuntime, denial: Denial) -> dict[str, Any]:
    locations = locations_of(denial.node)
    if denial.scope is None:
        return access_denied_customer_error(runtime.config.client_id, denial.path, locations)
    required = f"`{denial.scope}` access scope."
    return {
        "message": f"Access denied for {denial.field_name} field. Required access: {required}",
        "locations": locations,
        "path": list(denial.path),
        "extensions": {
            "code": "ACCESS_DENIED",
            "documentation": ACCESS_SCOPES_DOC,
            "requiredAccess": required,
        },
    }


def _bulk_scope_error(
    runtime: EmulatorRuntime,
    grant: Grant,
    variables: dict[str, Any],
    operation: OperationDefinitionNode,
) -> str | None:
    """Why the inner query of a ``bulkOperationRunQuery`` would be refused, if it would."""
    if operation.operation.value != "mutation":
        return None
    texts = [value for value in variables.values() if isinstance(value, str)]
    for text in texts:
        try:
            inner = parse(text)
        except GraphQLError:
            continue
        inner_operation = get_operation_ast(inner, None)
        if inner_operation is None:
            continue
        denials = access_denials(
            runtime.schema,
            inner_operation,
            _fragments(inner),
            grant,
            customer_data_approved=runtime.config.protected_customer_data_approved,
        )
        if denials:
            return denials[0].scope or "protected customer data"
    return None


# --------------------------------------------------------------------------- admin


def _admin_ok(request: Request) -> bool:
    runtime = runtime_of(request)
    supplied = request.headers.get("x-emulator-admin", "")
    return secrets.compare_digest(supplied, runtime.config.admin_secret)


async def set_faults(request: Request) -> Response:
    """Replace the fault plan for the rest of the run (``GET`` shows the active one)."""
    runtime = runtime_of(request)
    if not _admin_ok(request):
        return json_response({"errors": "X-Emulator-Admin header missing or wrong"}, 403)
    if request.method == "GET":
        return json_response(runtime.faults.plan.model_dump(mode="json"))
    try:
        plan = FaultPlan.model_validate_json(await request.body())
    except ValueError as error:
        return json_response({"errors": f"invalid fault plan: {error}"}, 422)
    runtime.faults.replace(plan)
    return json_response(plan.model_dump(mode="json"))


async def answer_stats(request: Request) -> Response:
    """Requests answered and throttled so far, per API (read-only; admin header)."""
    runtime = runtime_of(request)
    if not _admin_ok(request):
        return json_response({"errors": "X-Emulator-Admin header missing or wrong"}, 403)
    return json_response(runtime.answers.as_json())


async def mint_token(request: Request) -> Response:
    """Mint a token with exact scopes, e.g. a legacy install that predates a scope."""
    runtime = runtime_of(request)
    if not _admin_ok(request):
        return json_response({"errors": "X-Emulator-Admin header missing or wrong"}, 403)
    try:
        payload = orjson.loads(await request.body())
        scopes = payload["scopes"]
        kind = payload.get("kind", "legacy")
        if not isinstance(scopes, list) or kind not in ("legacy", "custom_app", "oauth"):
            raise TypeError
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return json_response(
            {"errors": 'body must be JSON like {"scopes": ["read_orders"], "kind": "legacy"}'},
            422,
        )
    grant = await run_in_threadpool(runtime.tokens.mint, scopes, kind)
    return json_response({"access_token": grant.token, "scope": ",".join(grant.scopes)})


async def revoke_token(request: Request) -> Response:
    """Revoke a token (the app was uninstalled): its next request gets Shopify's 401."""
    runtime = runtime_of(request)
    if not _admin_ok(request):
        return json_response({"errors": "X-Emulator-Admin header missing or wrong"}, 403)
    try:
        token = orjson.loads(await request.body())["token"]
        if not isinstance(token, str):
            raise TypeError
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return json_response({"errors": 'body must be JSON like {"token": "shpat_..."}'}, 422)
    if not await run_in_threadpool(runtime.tokens.revoke, token):
        return json_response({"errors": "no such token"}, 404)
    return json_response({"revoked": True})


# --------------------------------------------------------------------------- downloads

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


async def download(request: Request) -> Response:
    """Serve a bulk JSONL file as GCS serves a signed link: checked, ranged, streamed.

    ``Content-Type`` and ``Content-Disposition`` come from the link's (signed)
    ``response-content-type`` and ``response-content-disposition``, as on GCS.
    """
    runtime = runtime_of(request)
    name: str = request.path_params["name"]
    target = parse_object(name)
    query = dict(request.query_params)
    refusal = NO_SUCH_KEY if target is None else None
    refusal = refusal or runtime.bulk.links.check(name, query, runtime.wall_clock())
    path = runtime.bulk.file_path(*target) if target is not None else None
    if refusal is None and (path is None or not path.is_file()):
        refusal = NO_SUCH_KEY
    if refusal is not None or path is None:
        refusal = refusal or NO_SUCH_KEY
        return Response(refusal.xml(), refusal.status, media_type="application/xml; charset=UTF-8")
    size = path.stat().st_size
    start, end = 0, size - 1
    status = 200
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Type": query.get("response-content-type") or CONTENT_TYPE,
        "Content-Disposition": query.get("response-content-disposition") or "attachment",
    }
    wanted = request.headers.get("range")
    if wanted:
        match = _RANGE.match(wanted.strip())
        parsed = _byte_range(match, size) if match else None
        if parsed is None:
            headers["Content-Range"] = f"bytes */{size}"
            return Response(b"", 416, headers=headers)
        start, end = parsed
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    length = end - start + 1
    headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        return Response(b"", status, headers=headers)
    cut = runtime.faults.plan.download_cut_after_bytes
    return StreamingResponse(
        _file_chunks(path, start, length, cut), status_code=status, headers=headers
    )


def _byte_range(match: re.Match[str], size: int) -> tuple[int, int] | None:
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        return (max(0, size - suffix), size - 1) if suffix else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return None
    return start, end


async def _file_chunks(path: Path, start: int, length: int, cut: int | None) -> Any:
    """Read the file piece by piece; a download-cut fault stops after ``cut`` bytes."""
    sent = 0
    with path.open("rb") as handle:
        handle.seek(start)
        while sent < length:
            size = min(64 * 1024, length - sent)
            if cut is not None:
                size = min(size, cut - sent)
                if size <= 0:
                    raise ConnectionCutFault("download cut by fault injection")
            chunk = await run_in_threadpool(handle.read, size)
            if not chunk:
                break
            sent += len(chunk)
            yield chunk
