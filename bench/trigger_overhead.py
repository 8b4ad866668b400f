"""Benchmark: what the campaign trigger engine costs the load path, on SQLite and PostgreSQL.

Same synthetic records and batches as ``bench/load_batch.py`` (reused: ``run_load`` with
its after-batch hook). Per backend, in the same process and interleaved round by round
so that machine noise hits every scenario alike:

* baseline: ``load_batch`` alone, no hook;
* silent: the engine as the runner registers it, eight active campaigns (one per trigger
  type), default workspace (historical data triggers nothing: one small query per batch);
* seed-compatible, evaluate only: the engine's reads and matching on every change, without
  writing the outbox (its own share of the cost);
* seed-compatible: same campaigns, ``trigger_historical`` on: every change is evaluated
  and most trigger one or more messages (the worst case: an outbox row per purchase,
  per order event, per attribute change...);
* live: the same records loaded as live data in a silent workspace (they all trigger).

Each run loads into a fresh, empty database, the scenario order rotating every round; the
fastest of ``--rounds`` is reported (on a shared machine the fastest round is the least
disturbed one), with the overhead against the baseline of the same backend.

    .venv/bin/python bench/trigger_overhead.py                     # 2,000 customers, both
    .venv/bin/python bench/trigger_overhead.py --backend sqlite --rounds 5 --json out.json
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from load_batch import backend_engine, decode_records, new_workspace, run_load, synthetic_payload
from shopify_backfill.campaigns import add_campaigns, parse_spec, trigger_hook
from shopify_backfill.campaigns.tables import triggered_messages
from shopify_backfill.campaigns.triggers import triggered_by
from shopify_backfill.profiles import LoadContext, LoadResult
from shopify_backfill.profiles.schema import (
    aliases,
    backfill_sightings,
    custom_events,
    datapoint_ledger,
    purchases,
    user_subscriptions,
    users,
    workspaces,
)
from shopify_backfill.shopify.records import Customer, Order

START = "2026-01-01T00:00:00Z"
Hook = Callable[[sa.Connection, LoadContext, LoadResult], None] | None


@dataclass(frozen=True)
class Scenario:
    label: str
    hook: Hook
    trigger_historical: bool = False
    live: bool = False


def evaluate_only(conn: sa.Connection, ctx: LoadContext, result: LoadResult) -> None:
    """The engine's reads and matching without the outbox insert: its own share."""
    triggered_by(conn, ctx, result.changes)


SCENARIOS = (
    Scenario("baseline: load_batch, no hook", None),
    Scenario("silent backfill (default)", trigger_hook),
    Scenario("seed-compatible, evaluate only", evaluate_only, trigger_historical=True),
    Scenario("seed-compatible backfill", trigger_hook, trigger_historical=True),
    Scenario("live data (all trigger)", trigger_hook, live=True),
)


@dataclass(frozen=True)
class Result:
    backend: str
    scenario: str
    records: int
    seconds: float
    messages: int
    stored_rows: int = 0
    """Rows the load itself stored (profiles, aliases, events, purchases, ...)."""

    @property
    def per_second(self) -> float:
        return self.records / self.seconds


def campaign_set(shop_domain: str) -> list[dict[str, object]]:
    """One active campaign per trigger type, all matching the synthetic data."""
    triggers: list[tuple[str, dict[str, object]]] = [
        ("Tags changed", {"type": "change_custom_attribute_value", "attribute": "shopify_tags"}),
        ("Converted", {"type": "perform_conversion_event", "conversion": "purchase"}),
        (
            "Ordered again",
            {
                "type": "perform_exception_event",
                "event_name": "shopify_created_order",
                "campaign": "Post-purchase",
            },
        ),
        (
            "Opt-in",
            {"type": "update_subscription_status", "channel": "email", "state": "subscribed"},
        ),
        (
            "Group opt-in",
            {
                "type": "update_subscription_group_status",
                "group": f"{shop_domain} - Email marketing",
                "state": "subscribed",
            },
        ),
        ("Welcome", {"type": "add_email_address"}),
        ("Post-purchase", {"type": "make_purchase"}),
        (
            "Order follow-up",
            {"type": "perform_custom_event", "event_name": "shopify_created_order"},
        ),
    ]
    return [{"name": name, "start_at": START, "trigger": trigger} for name, trigger in triggers]


def prepare(engine: Engine, scenario: Scenario, name: str) -> LoadContext:
    context = new_workspace(engine, name)
    with engine.begin() as conn:
        conn.execute(
            sa.update(workspaces)
            .where(workspaces.c.id == context.workspace_id)
            .values(trigger_historical=scenario.trigger_historical)
        )
        specs = [parse_spec(data) for data in campaign_set(f"{name}.myshopify.com")]
        add_campaigns(conn, context.workspace_id, specs)
    if scenario.live:
        return replace(context, backfill_id=None, historical=False)
    return context


def outbox_size(engine: Engine, workspace_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(triggered_messages.c.workspace_id == workspace_id)
            ).scalar_one()
        )


LOAD_TABLES = (
    users,
    aliases,
    custom_events,
    purchases,
    user_subscriptions,
    backfill_sightings,
    datapoint_ledger,
)


def stored_rows(engine: Engine, workspace_id: int) -> int:
    """Rows the load wrote for one workspace: the yardstick for the outbox's rows."""
    with engine.connect() as conn:
        return sum(
            int(
                conn.execute(
                    sa.select(sa.func.count()).where(table.c.workspace_id == workspace_id)
                ).scalar_one()
            )
            for table in LOAD_TABLES
        )


def measure(
    backend: str, records: Sequence[Customer | Order], batch_size: int, rounds: int
) -> list[Result]:
    timings: dict[str, list[float]] = {s.label: [] for s in SCENARIOS}
    messages: dict[str, int] = {}
    stored: dict[str, int] = {}
    for number in range(rounds):
        # Each run gets an empty database and the order rotates every round: loading into
        # a store that earlier scenarios already filled is slower, which would otherwise
        # always count against the scenarios measured last.
        shift = number % len(SCENARIOS)
        for index, scenario in enumerate(SCENARIOS[shift:] + SCENARIOS[:shift]):
            with backend_engine(backend) as engine:
                context = prepare(engine, scenario, f"round{number}-s{index}")
                seconds, _ = run_load(
                    engine, context, records, batch_size=batch_size, after_batch=scenario.hook
                )
                timings[scenario.label].append(seconds)
                messages[scenario.label] = outbox_size(engine, context.workspace_id)
                stored[scenario.label] = stored_rows(engine, context.workspace_id)
    return [
        Result(backend, label, len(records), min(values), messages[label], stored[label])
        for label, values in timings.items()
    ]


def print_table(results: Sequence[Result]) -> None:
    """Overhead against the same backend's baseline, and what it costs per row written.

    ``us/row`` is microseconds per row: for the baseline, its time over the rows the load
    stores; for a scenario that writes messages, its extra time over the outbox rows. When
    the two are alike, the overhead is the load's own write cost applied to more rows.
    """
    base = {r.backend: r for r in results if r.scenario.startswith("baseline")}
    header = (
        f"{'backend':<10} {'scenario':<32} {'records':>8} {'seconds':>8} {'records/s':>10} "
        f"{'overhead':>9} {'outbox rows':>12} {'load rows':>10} {'us/row':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in results:
        reference = base[row.backend]
        overhead = (row.seconds - reference.seconds) / reference.seconds * 100
        shown = "-" if row is reference else f"{overhead:+.1f}%"
        if row is reference:
            per_row = f"{row.seconds / row.stored_rows * 1e6:.1f}" if row.stored_rows else "-"
        elif row.messages:
            per_row = f"{(row.seconds - reference.seconds) / row.messages * 1e6:.1f}"
        else:
            per_row = "-"
        print(
            f"{row.backend:<10} {row.scenario:<32} {row.records:>8} {row.seconds:>8.2f} "
            f"{row.per_second:>10.0f} {shown:>9} {row.messages:>12} {row.stored_rows:>10} "
            f"{per_row:>7}"
        )


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)

    records = decode_records(synthetic_payload(args.customers))
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    started = time.perf_counter()
    results: list[Result] = []
    for backend in backends:
        results.extend(measure(backend, records, args.batch_size, args.rounds))
    print(
        f"{len(records)} records ({args.customers} customers, {len(records) - args.customers} "
        f"orders), batches of {args.batch_size}, fastest of {args.rounds} interleaved rounds, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {time.perf_counter() - started:.0f} s total\n"
    )
    print_table(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                [{**asdict(r), "records_per_second": r.per_second} for r in results], indent=2
            )
        )
    return results


if __name__ == "__main__":
    main()
