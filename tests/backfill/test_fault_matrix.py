"""Every fault the emulator can inject, at every phase it applies to: fail (or survive), fix
what the message says, resume, and end with the store of a clean run (issue 13, defect 1).

Each case injects one fault through the emulator's own switches (its fault plan, its
token admin routes) at one phase of the run: before it starts (preflight), once both bulk
jobs are submitted (bulk wait), on the result downloads, after the first paginated page,
or after the first committed batch (loading). A fault the client is built to absorb
(some 5xx, resets, latency, one failed bulk job, a cut download) must leave a correct
store in one run. A fault that stops the run must exit with its documented code and a
reason naming what to do; the test then does exactly that (clears the fault, re-grants
the scope, reconnects the store) and a resume, through the same calls as the CLI's
``backfill resume``, must complete with the same store as an undisturbed run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
import sqlalchemy as sa
from graphql import GraphQLSchema
from typer.testing import CliRunner

from emulator_fixtures import serve_on_port
from shop_fixtures import (
    FAST_BULK,
    STORE_NOW,
    Shop,
    close_shop,
    connect,
    open_shop,
    save_verified_token,
    start_and_run,
)
from shopify_backfill.backfill import requests
from shopify_backfill.backfill.runner import RunOptions, RunOutcome, run_backfill
from shopify_backfill.backfill.store import BackfillRow, get_backfill
from shopify_backfill.cli import app as cli_app
from shopify_backfill.config import REQUIRED_SCOPES
from shopify_backfill.profiles.results import LoadResult
from shopify_backfill.profiles.writes import LoadContext
from shopify_backfill.shopify.retry import RetryPolicy
from shopify_backfill.wiring import Services, build_services
from shopify_emulator.app import create_emulator_app
from shopify_emulator.config import EmulatorConfig, FaultPlan
from shopify_emulator.store import ShopStore

from .conftest import fast_settings
from .served import Served, connect_served
from .snapshots import store_snapshot

ADMIN = {"X-Emulator-Admin": EmulatorConfig().admin_secret}
DOWNLOADS = ("/emulator/bulk-operation-outputs/",)
MATRIX_RETRY = RetryPolicy(max_attempts=3, base_delay=0.005, max_delay=0.02)
"""Few, short retries: a fault that is always on fails fast; a sparse one is still absorbed."""
SHOP_SIZE = {"customers": 30, "orders": 70, "seed": 13}

Mode = Literal["bulk", "paginated"]
Phase = Literal["preflight", "bulk_wait", "download", "paginated_read", "loading"]
Remedy = Literal["clear", "regrant", "regrant_same_token", "reconnect"]


@dataclass(frozen=True)
class Case:
    fault: str
    phase: Phase
    mode: Mode
    plan: dict[str, Any] = field(default_factory=dict)
    """The emulator fault plan switched on at ``phase``."""
    exit_code: int | None = None
    """``None``: the run must survive the fault in one go."""
    says: tuple[str, ...] = ()
    """Words the failure reason must contain: what went wrong and what to do."""
    remedy: Remedy = "clear"
    revoke: bool = False
    """Revoke the store's token at ``phase`` (the app was uninstalled)."""
    scopes: tuple[str, ...] | None = None
    """Connect with a token holding only these scopes (an old install)."""

    @property
    def id(self) -> str:
        return f"{self.fault}-{self.phase}"


RESUME = ("shopify-backfill backfill resume --shop",)
RECONNECT = ("shopify-backfill connect --shop", *RESUME)
REGRANT = ("re-authorize", "--oauth", *RESUME)
ALWAYS_5XX = {"server_error_rate": 1.0, "seed": 5}
ALWAYS_RESET = {"reset_rate": 1.0, "seed": 5}
SOME_5XX = {"server_error_rate": 0.2, "seed": 11}
SOME_RESETS = {"reset_rate": 0.2, "seed": 11}


def _bulk_outcome(outcome: str, times: int) -> dict[str, Any]:
    return {"bulk_outcomes": (outcome,) * times}


CASES = [
    # Per-request faults, always on: the run stops (75), the fix is to wait, then resume.
    *(
        Case(name, phase, mode, plan, exit_code=75, says=RESUME)
        for name, plan in (("5xx", ALWAYS_5XX), ("reset", ALWAYS_RESET))
        for phase, mode in (
            ("preflight", "bulk"),
            ("bulk_wait", "bulk"),
            ("paginated_read", "paginated"),
            ("loading", "bulk"),
        )
    ),
    Case("5xx", "download", "bulk", {**ALWAYS_5XX, "paths": DOWNLOADS}, 75, RESUME),
    Case("reset", "download", "bulk", {**ALWAYS_RESET, "paths": DOWNLOADS}, 75, RESUME),
    Case("throttle", "preflight", "bulk", {"force_throttle": True}, 75, RESUME),
    Case("throttle", "paginated_read", "paginated", {"force_throttle": True}, 75, RESUME),
    # Sparse faults the retries absorb: one run, a correct store.
    Case("some_5xx", "preflight", "paginated", SOME_5XX),
    Case("some_resets", "preflight", "paginated", SOME_RESETS),
    Case("some_5xx", "download", "bulk", {**SOME_5XX, "paths": DOWNLOADS}),
    Case("latency", "preflight", "bulk", {"latency_seconds": 0.01}),
    Case("latency", "paginated_read", "paginated", {"latency_seconds": 0.01}),
    # Downloads cut mid-body: resumed by range while they progress; a dead link stops.
    Case("cut_download", "download", "bulk", {"download_cut_after_bytes": 16384}),
    Case("cut_download_dead", "download", "bulk", {"download_cut_after_bytes": 0}, 75, RESUME),
    # Bulk jobs that end badly once are re-run; every run ending badly stops the run.
    *(
        Case(f"bulk_{o}_once", "bulk_wait", "bulk", _bulk_outcome(o, 1))
        for o in ("FAILED", "TIMEOUT", "EXPIRED", "PARTIAL")
    ),
    *(
        Case(f"bulk_{o}", "bulk_wait", "bulk", _bulk_outcome(o, 12), 75, RESUME)
        for o in ("FAILED", "TIMEOUT", "EXPIRED", "PARTIAL")
    ),
    Case(
        "bulk_ACCESS_DENIED",
        "bulk_wait",
        "bulk",
        _bulk_outcome("ACCESS_DENIED", 1),
        77,
        REGRANT,
        remedy="regrant",
    ),
    Case(
        "bulk_ACCESS_DENIED_same_token",
        "bulk_wait",
        "bulk",
        _bulk_outcome("ACCESS_DENIED", 1),
        77,
        REGRANT,
        remedy="regrant_same_token",
    ),
    # The merchant's side: a revoked token, a grant without a needed scope.
    *(
        Case(
            "revoked_token",
            phase,
            mode,
            exit_code=77,
            says=RECONNECT,
            remedy="reconnect",
            revoke=True,
        )
        for phase, mode in (
            ("preflight", "bulk"),
            ("paginated_read", "paginated"),
            ("loading", "bulk"),
        )
    ),
    Case(
        "missing_scope",
        "preflight",
        "bulk",
        exit_code=77,
        says=(*REGRANT, "read_all_orders"),
        remedy="regrant",
        scopes=tuple(s for s in REQUIRED_SCOPES if s != "read_all_orders"),
    ),
]


class Trigger:
    """Switches the case's fault on once, at its phase, through the emulator's admin API."""

    def __init__(self, shop: Shop, case: Case) -> None:
        self.shop = shop
        self.case = case
        self.fired = False
        self.submitted = 0

    def fire(self) -> None:
        if self.fired:
            return
        self.fired = True
        if self.case.plan:
            set_faults(self.shop, **self.case.plan)
        if self.case.revoke:
            with admin_client(self.shop) as client:
                answer = client.post("/emulator/tokens/revoke", json={"token": self.shop.token})
            assert answer.status_code == 200, answer.text

    def after_batch(self, _conn: sa.Connection, _ctx: LoadContext, result: LoadResult) -> None:
        if self.case.phase == "loading" and result.counts.data_points:
            self.fire()


class WatchingTransport(httpx.BaseTransport):
    """The emulator's transport, firing the trigger when the run reaches the case's phase."""

    def __init__(self, inner: httpx.BaseTransport, trigger: Trigger) -> None:
        self.inner = inner
        self.trigger = trigger

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        phase = self.trigger.case.phase
        body = request.content if request.method == "POST" else b""
        if phase == "bulk_wait" and b"bulkOperationRunQuery" in body:
            self.trigger.submitted += 1
            if self.trigger.submitted == 2:
                self.trigger.fire()
        elif phase == "paginated_read" and b"pageInfo" in body and b"bulkOperation" not in body:
            self.trigger.fire()
        return response

    def close(self) -> None:
        self.inner.close()


class Borrowed(httpx.BaseTransport):
    """The shop's transport, left open when a short-lived admin client closes."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)


def admin_client(shop: Shop) -> httpx.Client:
    return httpx.Client(transport=Borrowed(shop.transport), base_url=shop.api_url, headers=ADMIN)


def set_faults(shop: Shop, **plan: Any) -> None:
    with admin_client(shop) as client:
        answer = client.post("/emulator/faults", json=FaultPlan(**plan).model_dump(mode="json"))
    assert answer.status_code == 200, answer.text


def mint_token(shop: Shop, scopes: tuple[str, ...]) -> str:
    with admin_client(shop) as client:
        answer = client.post("/emulator/tokens", json={"scopes": list(scopes), "kind": "oauth"})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def reconnect(services: Services, shop: Shop, row: BackfillRow, token: str) -> None:
    """What ``shopify-backfill connect --shop S --token T`` does for a connected store."""
    with services.engine.begin() as conn:
        save_verified_token(conn, services, shop, row.workspace_id, token)


def resume(services: Services, row: BackfillRow, options: Any) -> RunOutcome:
    """The calls ``shopify-backfill backfill resume`` makes; its exit code is the outcome's."""
    with services.engine.begin() as conn:
        fresh = requests.resume(conn, get_backfill(conn, row.id), now=datetime.now(UTC))
    return run_backfill(services, fresh.id, options)


def snapshot(services: Services, backfill_id: int) -> dict[str, Any]:
    with services.engine.connect() as conn:
        return store_snapshot(conn, backfill_id)


@pytest.fixture(scope="module")
def references(
    admin_schema: GraphQLSchema, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[Mode], dict[str, Any]]]:
    """The store an undisturbed run leaves, per extraction mode (computed once each)."""
    made: dict[str, dict[str, Any]] = {}
    folder = tmp_path_factory.mktemp("references")

    def reference(mode: Mode) -> dict[str, Any]:
        if mode not in made:
            services = build_services(fast_settings(folder / mode, **matrix_settings(mode)))
            shop = open_shop(admin_schema, **SHOP_SIZE)
            try:
                row = connect(services, shop)
                outcome = start_and_run(services, row, shop.options(retry=MATRIX_RETRY))
                assert outcome.exit_code == 0, outcome.failure_reason
                made[mode] = snapshot(services, row.id)
            finally:
                close_shop(shop)
                services.dispose()
        return made[mode]

    yield reference


def matrix_settings(mode: Mode) -> dict[str, Any]:
    return {"extraction_mode": mode, "batch_size": 10}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_fault_then_fix_then_resume_gives_the_clean_store(
    case: Case,
    admin_schema: GraphQLSchema,
    tmp_path: Path,
    references: Callable[[Mode], dict[str, Any]],
) -> None:
    expected = references(case.mode)
    config = EmulatorConfig(plan="enterprise")
    shop = open_shop(admin_schema, config=config, **SHOP_SIZE)
    services = build_services(fast_settings(tmp_path / "data", **matrix_settings(case.mode)))
    try:
        token = mint_token(shop, case.scopes) if case.scopes is not None else None
        row = connect(services, shop, token=token)
        trigger = Trigger(shop, case)
        options = shop.options(
            transport=WatchingTransport(shop.transport, trigger),
            retry=MATRIX_RETRY,
            bulk_policy=FAST_BULK,
            hooks=(trigger.after_batch,),
        )
        if case.phase in ("preflight", "download") or "bulk_outcomes" in case.plan:
            # A forced bulk outcome is drawn when a job is created, so it is set up front.
            trigger.fire()
        outcome = start_and_run(services, row, options)
        assert trigger.fired, f"the fault was never switched on at {case.phase}"
        if case.exit_code is None:
            assert outcome.exit_code == 0, outcome.failure_reason
            assert snapshot(services, row.id) == expected
            return
        assert outcome.exit_code == case.exit_code, outcome.failure_reason
        reason = outcome.failure_reason or ""
        assert "\n" not in reason
        for words in case.says:
            assert words in reason, reason
        assert shop.domain in reason, reason

        set_faults(shop)
        if case.remedy == "regrant_same_token":
            # Re-granted on the same token (an install whose scopes were updated in place).
            shop.runtime.tokens.mint(REQUIRED_SCOPES, "custom_app", token=shop.token)
        if case.remedy in ("regrant", "reconnect"):
            reconnect(services, shop, row, mint_token(shop, REQUIRED_SCOPES))
        final = resume(services, row, options)
        assert final.exit_code == 0, final.failure_reason
        assert snapshot(services, row.id) == expected
    finally:
        services.dispose()
        close_shop(shop)


def test_cli_resume_exits_75_while_bulk_jobs_fail_then_0_once_they_succeed(
    admin_schema: GraphQLSchema,
    tmp_path: Path,
    references: Callable[[Mode], dict[str, Any]],
) -> None:
    """The audited path end to end: ``backfill resume`` itself, its exit codes and text."""
    expected = references("bulk")
    store = ShopStore.generate(None, now=STORE_NOW, **SHOP_SIZE)
    app = create_emulator_app(store, schema=admin_schema, config=EmulatorConfig(plan="enterprise"))
    runtime = app.state.runtime
    data = tmp_path / "data"
    env = {
        "SHOPIFY_BACKFILL_DATA_DIR": str(data),
        "SHOPIFY_BACKFILL_EXTRACTION_MODE": "bulk",
        "SHOPIFY_BACKFILL_BATCH_SIZE": "10",
        "SHOPIFY_BACKFILL_BULK_POLL_SECONDS": "0.02",
        "SHOPIFY_BACKFILL_BULK_POLL_MAX_SECONDS": "0.1",
        "COLUMNS": "400",
    }
    try:
        with serve_on_port(app) as base:
            served = Served(api_url=base, token=runtime.seed_grant.token, domain=store.shop_domain)
            row = connect_served(data, served)
            runtime.faults.replace(FaultPlan(bulk_outcomes=("FAILED",) * 40))
            services = build_services(fast_settings(data, **matrix_settings("bulk")))
            try:
                first = start_and_run(services, row, RunOptions(bulk_policy=FAST_BULK))
            finally:
                services.dispose()
            assert first.exit_code == 75, first.failure_reason
            command = ["backfill", "resume", "--shop", store.shop_domain]
            still = CliRunner().invoke(cli_app, command, env=env)
            assert still.exit_code == 75, still.output
            assert f"shopify-backfill backfill resume --shop {store.shop_domain}" in " ".join(
                still.output.split()
            )
            runtime.faults.replace(FaultPlan())
            done = CliRunner().invoke(cli_app, command, env=env)
            assert done.exit_code == 0, done.output
        services = build_services(fast_settings(data))
        try:
            assert snapshot(services, row.id) == expected
        finally:
            services.dispose()
    finally:
        runtime.bulk.shutdown()
        store.close()
