"""One backfill shared by many workers: plan, extract in slices, partition, load, finish.

The stages (docs/backfill.md, "Sharded runs"):

1. **plan** - preflight once, choose the mode, cut each stream's window into slices of
   even work (``slicing``), and record one extraction shard per slice;
2. **extract** - each shard runs its own bulk operation (or paginated reader) over its
   slice and stages the records in the shared database, its checkpoint committed with
   each batch of staged rows; nothing crosses machines through a local file;
3. **partition** - when every slice is staged, records are grouped so that no two
   groups can touch one profile (``profiles.partition``) and the groups are spread over
   the load shards;
4. **load** - each load shard writes its records in the single-process order, through
   the same destination and after-batch hooks, checkpoint committed with each batch;
5. **finish** - the coordinator sums the shards' counts and completes the backfill with
   the same report, notification and email as a single-process run, once.

``advance`` is the barrier between stages: every shard calls it after it commits, and it
decides under a row lock on the backfill what comes next, so "the last shard done" is
decided by the database that holds the shards' results, never by a counter elsewhere.
It is idempotent: a redelivered or duplicated call finds the work already done.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import msgspec
import sqlalchemy as sa

from shopify_backfill.backfill.completion import complete_backfill, record_failure
from shopify_backfill.backfill.errors import BackfillBusy, BackfillStateError, LeaseLost
from shopify_backfill.backfill.ports import Destination, JobServices
from shopify_backfill.backfill.preview import choose_mode
from shopify_backfill.backfill.remedies import remedy
from shopify_backfill.backfill.runner import (
    Heartbeat,
    RunOptions,
    admin_client,
    checked_preflight,
    counts_from,
    deliver_and_finish,
    describe,
    drop_staging_file,
)
from shopify_backfill.backfill.shards import (
    LOAD_KIND,
    LoadCheckpoint,
    NewShard,
    ShardLease,
    ShardRow,
    add_shards,
    claim_shard,
    get_shard,
    is_sharded,
    list_shards,
    load_checkpoint,
    mark_queued,
    release_shard,
    save_shard,
    shard_progress,
)
from shopify_backfill.backfill.slicing import plan_slices
from shopify_backfill.backfill.states import IN_PROGRESS, Phase
from shopify_backfill.backfill.store import (
    BackfillRow,
    acquire_lease,
    get_backfill,
    new_owner,
    save_progress,
)
from shopify_backfill.backfill.tables import backfills, shard_records
from shopify_backfill.clock import Clock, SystemClock
from shopify_backfill.config import Settings
from shopify_backfill.destinations.embedded import EmbeddedDestination
from shopify_backfill.mapping import map_records
from shopify_backfill.mapping.intents import MappingOptions
from shopify_backfill.profiles.connections import ShopConnection, load_connection
from shopify_backfill.profiles.partition import assign_partitions, record_keys
from shopify_backfill.profiles.results import LoadCounts
from shopify_backfill.profiles.writes import LoadContext
from shopify_backfill.shopify.bulk import BulkPolicy
from shopify_backfill.shopify.extract import (
    ExtractionCheckpoint,
    ExtractionMode,
    Extractor,
    Kind,
    StreamCheckpoint,
)
from shopify_backfill.shopify.records import Customer, Order, SourceRecord, UnreadableRecord

log = logging.getLogger(__name__)

KIND_RANK: Final[dict[str, int]] = {"customers": 0, "orders": 1}
RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01"})
"""Serialization failure and deadlock: the batch is rolled back whole and written again."""
MAX_BATCH_RETRIES: Final = 8

Enqueue = Callable[[int], None]
"""``enqueue(shard_id)``: hand one shard to the workers (a Celery task in production)."""


class ShardPlan(msgspec.Struct):
    sharded: int
    """How many slices per stream and load partitions the backfill was cut into."""
    mode: ExtractionMode


def shard_count(settings: Settings, orders_in_window: int | None) -> int:
    """Slices per stream: the setting, or one per ``shard_orders`` orders (2 to 16)."""
    if settings.shards > 0:
        return settings.shards
    orders = orders_in_window or 0
    return max(2, min(16, -(-orders // settings.shard_orders)))


def wants_shards(services: JobServices, row: BackfillRow) -> bool:
    """Shard on PostgreSQL unless set to 1 or already run in one process (kept so).

    A backfill delivered to Braze runs in one process: Braze's rate limit, not the
    database, bounds it, and one sender per backfill keeps the delivery ledger's crash
    window to one process's requests in flight.
    """
    if is_sharded(row):
        return True
    if row.braze_destination_id is not None:
        return False
    if services.engine.dialect.name != "postgresql" or services.settings.shards == 1:
        return False
    return row.checkpoint is None


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Context:
    services: JobServices
    options: RunOptions
    enqueue: Enqueue

    @property
    def engine(self) -> sa.Engine:
        return self.services.engine

    @property
    def clock(self) -> Clock:
        return self.options.clock or SystemClock()

    def connection(self, row: BackfillRow) -> ShopConnection:
        with self.engine.connect() as conn:
            return load_connection(
                conn,
                self.services.cipher,
                workspace_id=row.workspace_id,
                shop_domain=row.shop_domain,
            )


# -- the barrier ---------------------------------------------------------------------------


def advance(services: JobServices, backfill_id: int, options: RunOptions, enqueue: Enqueue) -> str:
    """Do or queue whatever the backfill needs next; returns what it did (for logs).

    Safe to call any number of times from any worker: every decision is taken under
    ``SELECT ... FOR UPDATE`` on the backfill row and re-checked against the shards.
    """
    ctx = _Context(services, options, enqueue)
    with ctx.engine.connect() as conn:
        row = get_backfill(conn, backfill_id)
        planned = bool(list_shards(conn, backfill_id))
    if row.status != IN_PROGRESS:
        if row.progress.phase == "finishing":
            # Completed or failed, but the worker died before its emails went out: the
            # redelivered task sends them (the outbox makes that once per email).
            deliver_and_finish(services, backfill_id, mailer=options.mailer)
            return f"delivered the emails of the {row.status} backfill"
        return f"nothing to do: the backfill is {row.status}"
    if not planned:
        try:
            _plan(ctx, row)
        except Exception as error:
            _fail(ctx, row, describe(error) + remedy(error, row.shop_domain))
            return "planning failed"
    queued: list[int] = []
    decision = "partitioned"
    while decision == "partitioned":
        queued, decision, failed = _decide(ctx, backfill_id)
    if decision == "failed":
        shard = failed[0]
        _fail(ctx, row, f"{shard.label} failed: {shard.failure_reason}")
    elif decision == "finish":
        _finish(ctx, row)
    return f"{decision}; queued {len(queued)} shard(s)"


def _decide(ctx: _Context, backfill_id: int) -> tuple[list[int], str, list[ShardRow]]:
    """One locked look at the shards: queue what is pending, or partition (committed on
    its own, and the caller looks again), or say "failed" / "finish" / "waiting".

    The partition is decided in the same transaction as everything else: decided in an
    earlier one, a shard finishing in between would let this one see every extraction
    done and no load shard, i.e. nothing left, and finish an empty backfill."""
    queued: list[int] = []
    with ctx.engine.begin() as conn:
        row = _locked(conn, backfill_id)
        if row.status != IN_PROGRESS:
            return [], "over", []
        shards = list_shards(conn, backfill_id)
        failed = [shard for shard in shards if shard.state == "failed"]
        extract = [shard for shard in shards if shard.stage == "extract"]
        load = [shard for shard in shards if shard.stage == "load"]
        parallelism = ctx.services.settings.shard_parallelism
        if failed:
            return [], "failed", failed
        if any(shard.state != "done" for shard in extract):
            queued = _next(extract, parallelism)
            _set_phase(conn, row, "extracting_orders", shards)
        elif not load:
            # Committed before any load shard is queued: a queued shard must exist for
            # the worker that receives it.
            _partition(ctx, conn, row, extract)
            _set_phase(conn, row, "loading_orders", list_shards(conn, backfill_id))
            return [], "partitioned", []
        elif any(shard.state != "done" for shard in load):
            queued = _next(load, parallelism)
            _set_phase(conn, row, "loading_orders", shards)
        else:
            return [], "finish", []
        mark_queued(conn, queued, now=_now())
        # Sent before the commit (the shards themselves are committed already): a worker
        # dying here rolls the marks back and the redelivered task queues them again (a
        # duplicate message finds its shard leased or done); sent after it, a death in
        # between would leave shards marked queued that no message carries. A worker that
        # gets the message first waits on the marks' row locks, then claims the shard.
        for shard_id in queued:
            ctx.enqueue(shard_id)
    return queued, "waiting", []


def _locked(conn: sa.Connection, backfill_id: int) -> BackfillRow:
    conn.execute(
        sa.select(backfills.c.id).where(backfills.c.id == backfill_id).with_for_update()
    ).scalar_one()
    return get_backfill(conn, backfill_id)


def _next(shards: Sequence[ShardRow], parallelism: int) -> list[int]:
    """Pending shards up to ``parallelism`` in flight for this backfill: a large store
    never has more than that many tasks in the queue, so other stores' shards, queued
    meanwhile, are served between its own (round-robin by arrival)."""
    in_flight = sum(1 for shard in shards if shard.state in ("queued", "running"))
    free = max(0, parallelism - in_flight)
    return [shard.id for shard in shards if shard.state == "pending"][:free]


def _set_phase(
    conn: sa.Connection, row: BackfillRow, phase: Phase, shards: Sequence[ShardRow]
) -> None:
    progress = shard_progress(row.progress, shards)
    progress.phase = phase
    progress.updated_at = _now()
    conn.execute(
        sa.update(backfills)
        .where(backfills.c.id == row.id)
        .values(progress=progress.to_json(), updated_at=progress.updated_at)
    )


# -- plan ----------------------------------------------------------------------------------


def _plan(ctx: _Context, row: BackfillRow) -> None:
    settings = ctx.services.settings
    connection = ctx.connection(row)
    with admin_client(connection, ctx.options, ctx.clock) as client:
        report = checked_preflight(client, settings, connection, row, ctx.options.transport)
        mode = choose_mode(settings, report.orders_in_window)
        parts = shard_count(settings, report.orders_in_window)
        slices = plan_slices(client, row.window.start, row.window.end, parts)
    shards = [
        NewShard("extract", kind, position, piece.start, piece.end, piece.expected)
        for kind in ("customers", "orders")
        for position, piece in enumerate(slices[kind])
    ]
    now = _now()
    with ctx.engine.begin() as conn:
        locked = _locked(conn, row.id)
        if locked.status != IN_PROGRESS or list_shards(conn, row.id):
            return
        add_shards(conn, row.id, shards, now=now)
        progress = locked.progress
        progress.customers_total = report.customers_in_window
        progress.orders_total = report.orders_in_window
        progress.mode = mode
        progress.phase = "extracting_orders"
        progress.attempt_started_at = now
        progress.updated_at = now
        conn.execute(
            sa.update(backfills)
            .where(backfills.c.id == row.id)
            .values(
                checkpoint=msgspec.json.encode(ShardPlan(parts, mode)).decode(),
                extraction_mode=mode,
                progress=progress.to_json(),
                updated_at=now,
            )
        )


# -- one shard -----------------------------------------------------------------------------


def run_shard(
    services: JobServices, shard_id: int, options: RunOptions, enqueue: Enqueue
) -> dict[str, Any]:
    """Run one shard to done (or failed), then advance its backfill.

    Raises ``BackfillBusy`` while another live worker holds the shard (the task retries
    later); a shard that fails records its reason, and ``advance`` fails the backfill.
    """
    ctx = _Context(services, options, enqueue)
    with ctx.engine.connect() as conn:
        shard = get_shard(conn, shard_id)
        if shard is None:
            return {"shard": shard_id, "state": "gone"}
        row = get_backfill(conn, shard.backfill_id)
    if row.status != IN_PROGRESS or shard.state in ("done", "failed"):
        # A redelivered task whose shard is over: the worker may have died after the
        # shard's commit but before (or inside) the step that followed it.
        advance(services, row.id, options, enqueue)
        return {"shard": shard_id, "state": shard.state}
    with ctx.engine.begin() as conn:
        lease = claim_shard(
            conn,
            shard_id,
            owner=options.owner or new_owner(),
            now=_now(),
            seconds=services.settings.lease_seconds,
        )
        shard = get_shard(conn, shard_id) or shard
    heartbeat = Heartbeat(
        ctx.engine,
        f"shard-{shard_id}",
        lease.seconds,
        lambda conn: save_shard(conn, lease, now=_now()),
    )
    state = "done"
    try:
        with heartbeat:
            if shard.stage == "extract":
                _extract(ctx, row, shard, lease)
            else:
                _load(ctx, row, shard, lease)
        with ctx.engine.begin() as conn:
            release_shard(conn, lease, state="done", now=_now())
    except LeaseLost as error:
        log.warning("shard %s stopped: %s", shard_id, error)
        return {"shard": shard_id, "state": "lost"}
    except Exception as error:
        reason = describe(error) + remedy(error, row.shop_domain)
        log.error("shard %s (%s) failed: %s", shard_id, shard.label, reason)
        state = "failed"
        try:
            with ctx.engine.begin() as conn:
                release_shard(conn, lease, state="failed", now=_now(), reason=reason)
        except LeaseLost:
            return {"shard": shard_id, "state": "lost"}
    advance(services, row.id, options, enqueue)
    return {"shard": shard_id, "state": state}


# -- extract -------------------------------------------------------------------------------


def _staging_path(ctx: _Context, shard: ShardRow) -> Path:
    folder = ctx.services.settings.data_dir / "staging"
    return folder / f"backfill-{shard.backfill_id}-shard-{shard.id}.sqlite"


def _fresh_checkpoint(mode: ExtractionMode, kind: str) -> ExtractionCheckpoint:
    """A checkpoint of one stream: the other one is marked done, so it is never read."""
    return ExtractionCheckpoint(
        mode=mode,
        customers=StreamCheckpoint(done=kind != "customers"),
        orders=StreamCheckpoint(done=kind != "orders"),
    )


def _extract(ctx: _Context, row: BackfillRow, shard: ShardRow, lease: ShardLease) -> None:
    mode: ExtractionMode = row.extraction_mode or "bulk"
    kind: Kind = "customers" if shard.kind == "customers" else "orders"
    staging = _staging_path(ctx, shard)
    checkpoint = (
        ExtractionCheckpoint.decode(shard.checkpoint)
        if shard.checkpoint
        else _fresh_checkpoint(mode, kind)
    )
    seq = shard.done
    if mode == "bulk" and checkpoint.stream(kind).emitted_seq and not staging.exists():
        # The bulk file was staged on another machine (or lost): its sequence numbers
        # mean nothing here. Staged rows are only a copy of Shopify's data, so start the
        # slice again from a fresh bulk operation.
        checkpoint, seq = _fresh_checkpoint(mode, kind), 0
        with ctx.engine.begin() as conn:
            conn.execute(sa.delete(shard_records).where(shard_records.c.shard_id == shard.id))
            save_shard(conn, lease, now=_now(), checkpoint=None, done=0)
    settings = ctx.services.settings
    if shard.slice_start is None or shard.slice_end is None:
        raise BackfillStateError(f"{shard.label} has no time slice; re-plan the backfill")
    connection = ctx.connection(row)
    with admin_client(connection, ctx.options, ctx.clock) as client:
        extractor = Extractor(
            client,
            window_start=shard.slice_start,
            window_end=shard.slice_end,
            staging_path=staging,
            clock=ctx.clock,
            batch_size=settings.batch_size,
            bulk_policy=ctx.options.bulk_policy
            or BulkPolicy(
                poll_initial=settings.bulk_poll_seconds, poll_max=settings.bulk_poll_max_seconds
            ),
        )
        for batch in extractor.batches(checkpoint):
            rows = list(_staged_rows(row.id, shard.id, seq, kind, mode, batch.records))
            seq += len(rows)
            with ctx.engine.begin() as conn:
                if rows:
                    conn.execute(sa.insert(shard_records), rows)
                save_shard(
                    conn, lease, now=_now(), checkpoint=batch.checkpoint.encode().decode(), done=seq
                )
    drop_staging_file(staging)


def _number(gid: str) -> int:
    tail = gid.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() and len(tail) < 19 else 0


def _staged_rows(
    backfill_id: int,
    shard_id: int,
    first_seq: int,
    kind: Kind,
    mode: ExtractionMode,
    records: Sequence[SourceRecord],
) -> Iterator[dict[str, Any]]:
    """The batch as rows of ``shard_records``, each with the keys it could resolve by.

    The sort key reproduces the single-process order: bulk files list roots by
    ``createdAt`` (the queries' ``sortKey: CREATED_AT``), pages by id (``sortKey: ID``).
    """
    mapped = map_records(records, MappingOptions())
    for offset, (record, intent) in enumerate(zip(records, mapped, strict=True)):
        if isinstance(record, UnreadableRecord):
            record_type, created, gid = "unreadable", "", record.id
        else:
            record_type = "customer" if isinstance(record, Customer) else "order"
            created, gid = record.created_at, record.id
        yield {
            "backfill_id": backfill_id,
            "shard_id": shard_id,
            "seq": first_seq + offset,
            "kind_rank": KIND_RANK[kind],
            "sort_time": created if mode == "bulk" else "",
            "num_id": _number(gid),
            "record_type": record_type,
            "body": msgspec.json.encode(record),
            "identity_keys": msgspec.json.encode(record_keys(intent)).decode(),
        }


_customer_decoder = msgspec.json.Decoder(Customer)
_order_decoder = msgspec.json.Decoder(Order)
_unreadable_decoder = msgspec.json.Decoder(UnreadableRecord)


def _decode(record_type: str, body: bytes) -> SourceRecord:
    if record_type == "customer":
        return _customer_decoder.decode(body)
    if record_type == "order":
        return _order_decoder.decode(body)
    return _unreadable_decoder.decode(body)


# -- partition -----------------------------------------------------------------------------


_ORDER: Final = (
    shard_records.c.kind_rank,
    shard_records.c.sort_time,
    shard_records.c.num_id,
    shard_records.c.shard_id,
    shard_records.c.seq,
)


def _partition(
    ctx: _Context, conn: sa.Connection, row: BackfillRow, extract: Sequence[ShardRow]
) -> list[ShardRow]:
    """Group the staged records, give each group a load shard, record the load shards."""
    plan = msgspec.json.decode(row.checkpoint or "{}", type=ShardPlan)
    query = (
        sa.select(shard_records.c.shard_id, shard_records.c.seq, shard_records.c.identity_keys)
        .where(shard_records.c.backfill_id == row.id)
        .order_by(*_ORDER)
    )
    ids: list[tuple[int, int]] = []
    keys: list[list[str]] = []
    for staged in conn.execute(query):
        ids.append((staged.shard_id, staged.seq))
        keys.append(msgspec.json.decode(staged.identity_keys, type=list[str]))
    parts = max(1, min(plan.sharded, len(ids)))
    placed = assign_partitions(conn, row.workspace_id, keys, parts)
    _record_partitions(conn, row.id, ids, placed)
    sizes = [0] * parts
    for part in placed:
        sizes[part] += 1
    add_shards(
        conn,
        row.id,
        [NewShard("load", LOAD_KIND, part, expected=sizes[part]) for part in range(parts)],
        now=_now(),
    )
    return [shard for shard in list_shards(conn, row.id) if shard.stage == "load"]


PARTITION_CHUNK: Final = 50_000
"""Records whose load shard one statement sets."""


def _record_partitions(
    conn: sa.Connection, backfill_id: int, ids: Sequence[tuple[int, int]], placed: Sequence[int]
) -> None:
    """Set ``load_shard`` on every staged record: on PostgreSQL one ``UPDATE ... FROM
    unnest(...)`` per 50,000 records (a statement per record cost seconds per 100,000)."""
    if conn.dialect.name != "postgresql":
        update = (
            sa.update(shard_records)
            .where(
                shard_records.c.backfill_id == backfill_id,
                shard_records.c.shard_id == sa.bindparam("b_shard"),
                shard_records.c.seq == sa.bindparam("b_seq"),
            )
            .values(load_shard=sa.bindparam("b_part"))
        )
        rows = [
            {"b_shard": shard_id, "b_seq": seq, "b_part": part}
            for (shard_id, seq), part in zip(ids, placed, strict=True)
        ]
        if rows:
            conn.execute(update, rows)
        return
    statement = sa.text(
        "UPDATE shard_records AS r SET load_shard = v.part "
        "FROM unnest(CAST(:shards AS bigint[]), CAST(:seqs AS bigint[]), "
        "CAST(:parts AS integer[])) AS v(shard_id, seq, part) "
        "WHERE r.backfill_id = :backfill AND r.shard_id = v.shard_id AND r.seq = v.seq"
    )
    for start in range(0, len(ids), PARTITION_CHUNK):
        chunk = ids[start : start + PARTITION_CHUNK]
        conn.execute(
            statement,
            {
                "backfill": backfill_id,
                "shards": [shard_id for shard_id, _ in chunk],
                "seqs": [seq for _, seq in chunk],
                "parts": list(placed[start : start + PARTITION_CHUNK]),
            },
        )


# -- load ----------------------------------------------------------------------------------


def _retryable(error: sa.exc.DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def _load(ctx: _Context, row: BackfillRow, shard: ShardRow, lease: ShardLease) -> None:
    settings = ctx.services.settings
    connection = ctx.connection(row)
    destination = ctx.options.destination or EmbeddedDestination()
    load_ctx = LoadContext(
        workspace_id=row.workspace_id,
        connection_id=connection.id,
        backfill_id=row.id,
        historical=True,
    )
    checkpoint = load_checkpoint(shard)
    counts = counts_from(shard.counts)
    while True:
        query = (
            sa.select(*_ORDER, shard_records.c.record_type, shard_records.c.body)
            .where(
                shard_records.c.backfill_id == row.id,
                shard_records.c.load_shard == shard.position,
            )
            .order_by(*_ORDER)
            .limit(settings.batch_size)
        )
        if checkpoint.after is not None:
            query = query.where(sa.tuple_(*_ORDER) > sa.tuple_(*checkpoint.after))
        with ctx.engine.connect() as conn:
            staged = conn.execute(query).all()
        if not staged:
            return
        records = [_decode(item.record_type, item.body) for item in staged]
        last = staged[-1]
        customers = sum(1 for item in staged if item.kind_rank == 0)
        done = LoadCheckpoint(
            after=(last.kind_rank, last.sort_time, last.num_id, last.shard_id, last.seq),
            customers=checkpoint.customers + customers,
            orders=checkpoint.orders + len(staged) - customers,
        )
        counts = _write_batch(ctx, lease, destination, load_ctx, records, counts, done)
        checkpoint = done


def _write_batch(
    ctx: _Context,
    lease: ShardLease,
    destination: Destination,
    load_ctx: LoadContext,
    records: Sequence[SourceRecord],
    counts: LoadCounts,
    checkpoint: LoadCheckpoint,
) -> LoadCounts:
    """One batch and its checkpoint in one transaction, retried whole on a deadlock or a
    serialization failure (nothing of a rolled-back attempt remains)."""
    for attempt in range(1, MAX_BATCH_RETRIES + 1):
        total = counts_from(counts.as_dict())
        try:
            with ctx.engine.begin() as conn:
                result = destination.write(conn, load_ctx, records)
                for hook in ctx.options.hooks:
                    hook(conn, load_ctx, result)
                total.add(result.counts)
                save_shard(
                    conn,
                    lease,
                    now=_now(),
                    checkpoint=msgspec.json.encode(checkpoint).decode(),
                    done=checkpoint.customers + checkpoint.orders,
                    counts=total.as_dict(),
                )
            return total
        except sa.exc.DBAPIError as error:
            if not _retryable(error) or attempt == MAX_BATCH_RETRIES:
                raise
            log.info("shard %s: batch retried after %s", lease.shard_id, error.orig)
            time.sleep(random.uniform(0.05, 0.2) * attempt)
    raise AssertionError("unreachable")


# -- finish or fail ------------------------------------------------------------------------


def _finish(ctx: _Context, row: BackfillRow) -> None:
    """Sum the shards, complete the backfill (once), drop the staged records, mail."""
    owner = new_owner()
    now = _now()
    try:
        with ctx.engine.begin() as conn:
            lease = acquire_lease(
                conn, row.id, owner=owner, now=now, seconds=ctx.services.settings.lease_seconds
            )
        with ctx.engine.begin() as conn:
            shards = list_shards(conn, row.id)
            loads = [shard for shard in shards if shard.stage == "load"]
            if not loads or any(shard.state != "done" for shard in shards):
                # Never complete what is not all loaded; give the lease back.
                log.error("backfill %s: finish asked before every shard was done", row.id)
                conn.execute(
                    sa.update(backfills)
                    .where(backfills.c.id == row.id, backfills.c.lease_owner == owner)
                    .values(lease_owner=None, lease_expires_at=None)
                )
                return
            total = LoadCounts()
            for shard in shards:
                if shard.stage == "load":
                    total.add(counts_from(shard.counts))
            fresh = get_backfill(conn, row.id)
            progress = shard_progress(fresh.progress, shards)
            progress.phase = "finishing"
            progress.updated_at = now
            save_progress(conn, lease, progress, now=now, counts=total.as_dict())
            complete_backfill(
                conn,
                lease,
                progress,
                connection_id=fresh.connection_id or 0,
                completion_notes=ctx.options.completion_notes,
                now=now,
            )
    except (BackfillBusy, BackfillStateError, LeaseLost) as error:
        log.info("backfill %s: another worker finishes it (%s)", row.id, error)
        return
    with ctx.engine.begin() as conn:
        conn.execute(sa.delete(shard_records).where(shard_records.c.backfill_id == row.id))
    deliver_and_finish(ctx.services, row.id, mailer=ctx.options.mailer)


def _fail(ctx: _Context, row: BackfillRow, reason: str) -> None:
    """Fail the backfill with a shard's reason (once), resumable, notified."""
    try:
        with ctx.engine.begin() as conn:
            lease = acquire_lease(
                conn,
                row.id,
                owner=new_owner(),
                now=_now(),
                seconds=ctx.services.settings.lease_seconds,
            )
            progress = get_backfill(conn, row.id).progress
    except (BackfillBusy, BackfillStateError):
        return
    record_failure(ctx.engine, lease, row, progress, reason)
    deliver_and_finish(ctx.services, row.id, mailer=ctx.options.mailer)
