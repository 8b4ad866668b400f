"""``create_app``: the partner page and its JSON API, built from ``Services``.

Everything the routes share lives in one ``WebContext`` on ``app.state``; nothing is
module-level, so tests build several apps side by side. ``transport`` lets tests reach
Shopify (the emulator) in-process.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopify_backfill.errors import BackfillError
from shopify_backfill.web import charts, filters, labels
from shopify_backfill.web.auth import LoginRequired, session_caller
from shopify_backfill.web.context import STATIC_DIR, TEMPLATES_DIR, WebContext
from shopify_backfill.web.errors import WebError, status_for
from shopify_backfill.web.jobs import WebJobs
from shopify_backfill.web.limits import API_FIELDS, FORM_LIMITS
from shopify_backfill.web.live import LiveWorker
from shopify_backfill.web.pages import render
from shopify_backfill.web.routes import (
    accounts,
    api_keys,
    backfills,
    destinations,
    notifications,
    profiles,
    risk,
    session,
    stores,
    webhooks,
)
from shopify_backfill.web.security import Signer, session_secret
from shopify_backfill.web.throttle import AuthThrottle
from shopify_backfill.wiring import Services
from shopify_backfill.wiring.live import LiveSync

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
FAVICON = STATIC_DIR / "favicon.svg"
FAVICON_MAX_AGE = 86400
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class SecurityHeaders:
    """Pure ASGI (so Server-Sent Events stream untouched): headers on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope["path"]).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not cacheable:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _error_body(code: str, message: str, field: str | None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def _with_navigation(
    request: Request,
    status: int,
    values: dict[str, Any],
    headers: dict[str, str] | None,
) -> Response | None:
    """The error page in the logged-in user's own layout (navigation, bell), or ``None``
    without a session, or when it cannot be read: the error may be the database itself,
    and the error page must still be shown."""
    context: WebContext = request.app.state.web
    try:
        principal = session_caller(request, context)
        if principal is None:
            return None
        return render(
            request,
            context,
            principal,
            "error.html",
            status_code=status,
            headers=headers,
            **values,
        )
    except (SQLAlchemyError, BackfillError):
        log.warning("error page of %s rendered without navigation", request.url.path)
        return None


async def _render_error(
    request: Request,
    status: int,
    code: str,
    message: str,
    field: str | None,
    headers: dict[str, str] | None = None,
) -> Response:
    """JSON for the API; for pages, the normal layout (with the logged-in user's own
    navigation, so a 404 does not look like being logged out) around the message."""
    if _is_api(request):
        return JSONResponse(_error_body(code, message, field), status_code=status, headers=headers)
    values: dict[str, Any] = {"status": status, "message": message, "field": field}
    page = await run_in_threadpool(_with_navigation, request, status, values, headers)
    if page is not None:
        return page
    context: WebContext = request.app.state.web
    return context.templates.TemplateResponse(
        request,
        "error.html",
        {**values, "principal": None, "unread": 0},
        status_code=status,
        headers=headers,
    )


def _problem(item: Mapping[str, Any]) -> dict[str, str]:
    """One validation problem; the rejected value is left out (it may be a token or a
    password), except a short excerpt of a too-long text that is no secret."""
    field = ".".join(str(part) for part in item["loc"] if part != "body")
    bound = API_FIELDS.get(field)
    value = item.get("input")
    too_long = item["type"] in ("string_too_long", "too_long")  # too_long: a SecretStr
    if bound is not None and too_long and isinstance(value, str):
        return {"field": field, "message": bound.too_long(len(value), value)}
    return {"field": field, "message": str(item["msg"])}


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _: LoginRequired) -> Response:
        """Back to this very URL after login, query included: an OAuth callback that lost
        its session (expired during Shopify's consent screen) is finished after login."""
        target = request.url.path
        if request.url.query:
            target = f"{target}?{request.url.query}"
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)

    @app.exception_handler(WebError)
    async def _web(request: Request, error: WebError) -> Response:
        return await _render_error(
            request, error.status, error.code, error.message, error.field, error.headers
        )

    @app.exception_handler(BackfillError)
    async def _product(request: Request, error: BackfillError) -> Response:
        status, code = status_for(error)
        if status >= 500:
            log.warning("request %s failed: %s", request.url.path, type(error).__name__)
        return await _render_error(request, status, code, str(error), None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> Response:
        problems = [_problem(item) for item in error.errors()]
        field = problems[0]["field"] if problems else None
        text = problems[0]["message"] if problems else "invalid request"
        message = f"{field}: {text}" if field else text
        if _is_api(request):
            body = _error_body("invalid_input", message, field)
            body["error"]["problems"] = problems
            return JSONResponse(body, status_code=422)
        return await _render_error(request, 422, "invalid_input", message, field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        message = str(error.detail) if error.detail else "error"
        return await _render_error(request, error.status_code, "http_error", message, None)


def create_app(
    services: Services,
    *,
    transport: httpx.BaseTransport | None = None,
    braze_transport: httpx.BaseTransport | None = None,
) -> FastAPI:
    """The partner page (HTML) and ``/api/v1`` (JSON) over ``services``.

    ``transport`` reaches Shopify, ``braze_transport`` Braze (the key check when a
    destination is added, and the runs' deliveries); both only in tests and demos.
    """
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    filters.install(templates.env)
    templates.env.globals["limits"] = FORM_LIMITS
    templates.env.globals.update(labels.GLOBALS)
    templates.env.globals["report_bars"] = charts.report_bars
    context = WebContext(
        services=services,
        transport=transport,
        signer=Signer(session_secret(services.settings)),
        templates=templates,
        jobs=WebJobs(services, transport, braze_transport=braze_transport),
        throttle=AuthThrottle.from_settings(services.settings),
        braze_transport=braze_transport,
        live=(
            LiveWorker(LiveSync(services, transport))
            if services.settings.live_apply_in_page
            else None
        ),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        context.jobs.shutdown()
        if context.live is not None:
            context.live.shutdown()

    app = FastAPI(
        title="shopify-backfill partner page",
        version="1",
        description="Connect a Shopify store, preview and start its one-time historical "
        "backfill, follow it, read its report. Authenticate with the session cookie of "
        "the partner page (plus the X-CSRF-Token header on state-changing calls) or with "
        "`Authorization: Bearer <API key>`.",
        lifespan=lifespan,
        docs_url=f"{API_PREFIX}/docs",
        openapi_url=f"{API_PREFIX}/openapi.json",
        redoc_url=None,
    )
    app.state.web = context
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        """Browsers still ask for /favicon.ico (a JSON viewer, a bookmark, an old page):
        the same SVG that the base template links, cacheable like the static files."""
        return FileResponse(
            FAVICON,
            media_type="image/svg+xml",
            headers={"Cache-Control": f"public, max-age={FAVICON_MAX_AGE}"},
        )

    _install_handlers(app)
    for module in (
        session,
        accounts,
        stores,
        risk,
        destinations,
        backfills,
        profiles,
        notifications,
        api_keys,
        webhooks,
    ):
        app.include_router(module.pages)
        app.include_router(module.api, prefix=API_PREFIX)
    return app
