"""Web fixtures: a real emulator (in-process transport), real SQLite, the real app.

The emulator's synthetic store is generated around the real current time, because the
partner page connects stores "now" and the backfill window is the 90 days before that.
Two workspaces with one user each let every test try the other tenant's ids; ``braze_web``
adds a Braze stand-in reached in process.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from graphql import GraphQLSchema
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, sync_playwright

from braze_emulator import BrazeWorkspace
from braze_emulator import create_app as create_braze_app
from shopify_backfill.campaigns import add_campaigns, parse_spec
from shopify_backfill.config import Settings
from shopify_backfill.profiles.schema import workspaces
from shopify_backfill.web import create_app
from shopify_backfill.web.accounts import add_user
from shopify_backfill.wiring import Services, build_services
from shopify_emulator.app import create_emulator_app
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.runtime import EmulatorRuntime
from shopify_emulator.store import ShopStore
from shopify_emulator.transport import EmulatorTransport

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "correct horse battery"
BASE_URL = "https://testserver"
READ_ONLY_LEGACY = ["read_customers", "read_orders"]


def store_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class SwitchableTransport(httpx.BaseTransport):
    """The emulator's transport, with a switch that makes Shopify refuse order reads.

    Lets a test fail a running backfill at a known point (401 on the orders pages: a
    terminal error) and then heal it, without racing the worker thread.

    Shared by every client the app opens (one per request or run), so closing one
    client must not close it: ``EmulatorTransport.close`` stops its event loop under the
    other clients' in-flight calls. ``shutdown`` closes it once, at the end of the test.
    """

    def __init__(self, inner: EmulatorTransport) -> None:
        self.inner = inner
        self.refuse_orders = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.refuse_orders and b"orders(first" in request.read():
            return httpx.Response(401, json={"errors": "[API] Invalid API key or access token"})
        return self.inner.handle_request(request)

    def close(self) -> None:
        """Left open for the other clients (see the class docstring)."""

    def shutdown(self) -> None:
        self.inner.close()


@dataclass
class Shop:
    """An emulator over a generated store, reached through its in-process transport."""

    store: ShopStore
    runtime: EmulatorRuntime
    transport: SwitchableTransport

    @property
    def domain(self) -> str:
        return self.store.shop_domain

    @property
    def token(self) -> str:
        return self.runtime.seed_grant.token

    def legacy_token(self, scopes: list[str] | None = None) -> str:
        """A token from an install that predates ``read_all_orders``."""
        return self.runtime.tokens.mint(scopes or READ_ONLY_LEGACY, "legacy").token


def open_shop(
    schema: GraphQLSchema, *, customers: int = 30, orders: int = 60, seed: int = 3
) -> Shop:
    store = ShopStore.generate(None, customers=customers, orders=orders, seed=seed, now=store_now())
    app = create_emulator_app(store, schema=schema, config=EmulatorConfig())
    runtime: EmulatorRuntime = app.state.runtime
    return Shop(store, runtime, SwitchableTransport(EmulatorTransport(app)))


def close_shop(shop: Shop) -> None:
    shop.runtime.bulk.shutdown()
    shop.transport.shutdown()
    shop.store.close()


@pytest.fixture
def shop(admin_schema: GraphQLSchema) -> Iterator[Shop]:
    opened = open_shop(admin_schema)
    yield opened
    close_shop(opened)


def web_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "app_url": BASE_URL,
        "batch_size": 25,
        "lease_seconds": 5,
        "mail_backoff_seconds": 0.01,
        "smtp_host": None,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class User:
    """A logged-in browser-like client of one workspace."""

    client: TestClient
    email: str
    workspace_id: int
    csrf: str = ""
    sent: list[str] = field(default_factory=list)

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(url, **kwargs)

    def post(self, url: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        return self.client.post(url, json=json, headers=headers, **kwargs)

    def form(self, url: str, data: dict[str, Any]) -> httpx.Response:
        return self.client.post(url, data={"csrf_token": self.csrf, **data})

    def delete(self, url: str) -> httpx.Response:
        return self.client.delete(url, headers=self.headers())


LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')


def login(
    client: TestClient, email: str, password: str = PASSWORD, *, next_url: str = "/stores"
) -> httpx.Response:
    page = client.get("/login")
    match = LOGIN_CSRF.search(page.text)
    assert match, "the login form has its CSRF field"
    return client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "login_csrf": match.group(1),
            "next": next_url,
        },
    )


@dataclass
class Web:
    services: Services
    app: Any
    shop: Shop
    alice: User
    bob: User

    def anonymous(self) -> TestClient:
        return TestClient(self.app, base_url=BASE_URL, follow_redirects=False)

    def connect(self, user: User, token: str | None = None) -> dict[str, Any]:
        response = user.post(
            "/api/v1/stores", json={"shop": self.shop.domain, "token": token or self.shop.token}
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def add_campaigns(
        self, user: User, *specs: dict[str, Any], seed_compatible: bool = True
    ) -> None:
        with self.services.engine.begin() as conn:
            add_campaigns(conn, user.workspace_id, [parse_spec(spec) for spec in specs])
            conn.execute(
                sa.update(workspaces)
                .where(workspaces.c.id == user.workspace_id)
                .values(trigger_historical=seed_compatible)
            )

    def wait(self) -> None:
        self.app.state.web.jobs.wait(timeout=120)


def make_user(services: Services, app: Any, email: str, workspace: str) -> User:
    with services.engine.begin() as conn:
        _, workspace_id = add_user(
            conn, email=email, password=PASSWORD, workspace=workspace, now=store_now()
        )
    client = TestClient(app, base_url=BASE_URL, follow_redirects=False)
    client.__enter__()
    response = login(client, email)
    assert response.status_code == 303, response.text
    me = client.get("/api/v1/me").json()
    return User(client=client, email=email, workspace_id=workspace_id, csrf=me["csrf_token"])


@pytest.fixture
def web(tmp_path: Path, shop: Shop) -> Iterator[Web]:
    services = build_services(web_settings(tmp_path / "data"))
    app = create_app(services, transport=shop.transport)
    alice = make_user(services, app, "alice@acme.example", "Acme")
    bob = make_user(services, app, "bob@globex.example", "Globex")
    yield Web(services, app, shop, alice, bob)
    app.state.web.jobs.wait(timeout=120)
    for user in (alice, bob):
        user.client.__exit__(None, None, None)
    services.dispose()


def follow_oauth(user: User, shop: Shop, authorize_url: str) -> httpx.Response:
    """Play the merchant approving the app on (emulated) Shopify, then land on our callback."""
    with httpx.Client(transport=shop.transport) as shopify:
        consent = shopify.get(authorize_url)
    assert consent.status_code == 302, consent.text
    location = urlsplit(consent.headers["location"])
    assert f"{location.scheme}://{location.netloc}" == BASE_URL
    return user.get(f"{location.path}?{location.query}")


BRAZE_KEY = "braze-web-key-7f3c9e21"
BRAZE_URL = "https://rest.stand-in.braze.test"
BRAZE_NO_TRACK_KEY = "braze-web-key-export-only"


class KeptOpen(httpx.BaseTransport):
    """The Braze stand-in's in-process transport, shared by every client the app opens
    (the key check, each run): closing one client must not stop it (see
    ``SwitchableTransport``); ``shutdown`` does, at the end of the test."""

    def __init__(self, inner: EmulatorTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)

    def close(self) -> None:
        """Left open for the other clients."""

    def shutdown(self) -> None:
        self.inner.close()


@dataclass
class BrazeWeb(Web):
    braze: BrazeWorkspace = field(default_factory=BrazeWorkspace)


@pytest.fixture
def braze_web(tmp_path: Path, shop: Shop) -> Iterator[BrazeWeb]:
    """``web`` with a Braze stand-in (one good key, one without users.track) in process."""
    workspace = BrazeWorkspace()
    workspace.add_key(BRAZE_KEY)
    workspace.add_key(BRAZE_NO_TRACK_KEY, frozenset({"users.export.ids"}))
    transport = KeptOpen(EmulatorTransport(create_braze_app(workspace)))
    services = build_services(web_settings(tmp_path / "data"))
    app = create_app(services, transport=shop.transport, braze_transport=transport)
    alice = make_user(services, app, "alice@acme.example", "Acme")
    bob = make_user(services, app, "bob@globex.example", "Globex")
    yield BrazeWeb(services, app, shop, alice, bob, workspace)
    app.state.web.jobs.wait(timeout=120)
    for user in (alice, bob):
        user.client.__exit__(None, None, None)
    services.dispose()
    transport.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium through Playwright, one per browser test module."""
    assert Path(CHROMIUM).exists(), "install Debian's chromium: apt-get install -y chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class PageWatch:
    """Everything a page went through that a marketer would call broken.

    Console errors, uncaught exceptions, failed requests and responses of status 400 or
    more are collected as they happen (Playwright delivers them while the test waits on
    the page), so a step that looks fine on screen still fails when a script threw or an
    asset 404ed behind it. A step that expects an error status says so with
    ``expecting``; anything else is a problem that ``assert_clean`` reports.
    """

    problems: list[str] = field(default_factory=list)
    allowed: list[tuple[int, re.Pattern[str]]] = field(default_factory=list)
    seen_allowed: list[str] = field(default_factory=list)

    def _is_allowed(self, status: int, url: str) -> bool:
        return any(status == code and pattern.search(url) for code, pattern in self.allowed)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # Chromium echoes an error response as "Failed to load resource: ... status of
        # 404"; an expected one is not a problem twice over.
        url = message.location.get("url", "")
        status = re.search(r"status of (\d{3})", message.text)
        if status and self._is_allowed(int(status.group(1)), url):
            return
        self.problems.append(f"console error: {message.text} ({url})")

    def on_page_error(self, error: Exception) -> None:
        self.problems.append(f"uncaught exception: {error}")

    def on_request_failed(self, request: Request) -> None:
        failure = request.failure or "unknown"
        if failure == "net::ERR_ABORTED":
            # The browser cancelled it: the page navigated or reloaded while it loaded
            # (the progress stream when the page reloads into the report, a favicon
            # fetch on a viewport change). The server did not fail; the next page's own
            # requests are watched as well.
            return
        self.problems.append(f"request failed: {request.method} {request.url}: {failure}")

    def on_response(self, response: Response) -> None:
        if response.status < 400:
            return
        if self._is_allowed(response.status, response.url):
            self.seen_allowed.append(f"{response.status} {response.url}")
            return
        method = response.request.method
        self.problems.append(f"response {response.status}: {method} {response.url}")

    @contextlib.contextmanager
    def expecting(self, status: int, url_pattern: str) -> Iterator[None]:
        """Within the block, responses of ``status`` whose URL matches are the step's
        point (a refused key, a 404 shown on purpose); at least one must come."""
        rule = (status, re.compile(url_pattern))
        before = len(self.seen_allowed)
        self.allowed.append(rule)
        try:
            yield
        finally:
            self.allowed.remove(rule)
        assert len(self.seen_allowed) > before, f"no {status} response matched {url_pattern}"

    def assert_clean(self, step: str = "") -> None:
        """Fail, naming the step, if anything went wrong since the last check."""
        problems, self.problems = self.problems, []
        assert problems == [], f"{step or 'page'}: {problems}"


def watch_page(page: Page) -> PageWatch:
    """Start collecting ``page``'s console errors, failed requests and error responses
    (see ``PageWatch``); call ``assert_clean`` after each step and at the end."""
    watch = PageWatch()
    page.on("console", watch.on_console)
    page.on("pageerror", watch.on_page_error)
    page.on("requestfailed", watch.on_request_failed)
    page.on("response", watch.on_response)
    return watch
