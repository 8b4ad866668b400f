"""The job: preflight -> extract -> map -> load, one committed batch at a time.

``run_backfill`` is the one function every worker calls (in-process thread, Celery task,
the CLI, the demo). Its guarantees come from the transaction shape, not from care:

* each batch's profile writes, after-batch hooks, running counts, progress and the
  extraction checkpoint reached *after* the batch commit together, under a condition
  that this run still holds the lease, so a kill -9 anywhere resumes at the first batch
  not committed, and a run that lost its lease cannot commit anything;
* the extraction mode is decided once and kept in the checkpoint; the window comes from
  the backfill row, never from the clock;
* the completion (report, status, notification, queued email) is one transaction, and
  emails are delivered after it; a mail failure is recorded, never a backfill failure;
* anything that escapes marks the backfill ``failed`` with a readable reason; it is
  resumable from the same checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from shopify_backfill.backfill.completion import complete_backfill, record_failure
from shopify_backfill.backfill.errors import BackfillStateError, Interrupted, LeaseLost
from shopify_backfill.backfill.notify import (
    Delivery,
    Mailer,
    deliver_pending,
    post_notification,
)
from shopify_backfill.backfill.ports import (
    AfterBatchHook,
    CompletionNote,
    Destination,
    DestinationFactory,
    JobServices,
    PacerFactory,
)
from shopify_backfill.backfill.preview import choose_mode, reauthorize_url
from shopify_backfill.backfill.progress import BulkStatus
from shopify_backfill.backfill.remedies import remedy
from shopify_backfill.backfill.shards import is_sharded
from shopify_backfill.backfill.states import (
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    INTERRUPTED_PREFIX,
    Phase,
    Status,
)
from shopify_backfill.backfill.store import (
    BackfillRow,
    Lease,
    acquire_lease,
    finish_completed,
    get_backfill,
    new_owner,
    renew_lease,
    save_progress,
)
from shopify_backfill.clock import Clock, SystemClock
from shopify_backfill.config import Settings
from shopify_backfill.destinations.embedded import EmbeddedDestination
from shopify_backfill.errors import BackfillError, ConfigError, Terminal
from shopify_backfill.profiles.connections import ShopConnection, load_connection
from shopify_backfill.profiles.results import LoadCounts
from shopify_backfill.profiles.writes import LoadContext
from shopify_backfill.shopify.bulk import BulkPolicy
from shopify_backfill.shopify.client import AdminClient
from shopify_backfill.shopify.errors import ScopeError
from shopify_backfill.shopify.extract import Batch, ExtractionCheckpoint, ExtractionMode, Extractor
from shopify_backfill.shopify.preflight import PreflightReport, run_preflight
from shopify_backfill.shopify.retry import RetryObserver, RetryPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    """How to reach Shopify and what to plug in; the defaults are production's."""

    transport: httpx.BaseTransport | None = None
    clock: Clock | None = None
    retry: RetryPolicy | None = None
    bulk_policy: BulkPolicy | None = None
    destination: Destination | None = None
    """Where the records go; ``None`` is the embedded profile store (or, for a backfill
    started with a Braze destination, what ``destinations`` builds for it)."""
    destinations: DestinationFactory | None = None
    """Builds a backfill's chosen Braze destination (the wiring's)."""
    hooks: Sequence[AfterBatchHook] = ()
    completion_notes: Sequence[CompletionNote] = ()
    mailer: Mailer | None = None
    owner: str | None = None
    stop: threading.Event | None = None
    """Set by an interface (the CLI on Ctrl-C) to stop the run at the next batch boundary:
    the batch in hand commits, then the run is recorded as interrupted, resumable."""
    on_retry: RetryObserver | None = None
    """Told before each retry of a Shopify request (the CLI prints it)."""
    pacer: PacerFactory | None = None
    """Builds the run's cost pacer from (shop domain, token); ``None`` paces in process.
    Workers sharing a shop get one bucket mirror from it (``wiring``)."""


def destination_for(options: RunOptions, row: BackfillRow) -> Destination:
    """The destination ``row`` chose at start: Braze through the wiring's factory, else
    the option's (tests) or the embedded store."""
    if row.braze_destination_id is not None:
        if options.destinations is None:
            raise ConfigError(
                f"backfill {row.id} delivers to a Braze destination, and this process was "
                "started without the Braze destination wiring"
            )
        return options.destinations(row.workspace_id, row.braze_destination_id)
    return options.destination or EmbeddedDestination()


@dataclass(frozen=True)
class RunOutcome:
    backfill_id: int
    status: Status
    report: dict[str, Any] | None
    failure_reason: str | None
    exit_code: int
    emails: tuple[Delivery, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "backfill_id": self.backfill_id,
            "status": self.status,
            "failure_reason": self.failure_reason,
            "exit_code": self.exit_code,
            "report": self.report,
            "emails": [
                {"kind": e.kind, "status": e.status, "to": list(e.recipients)} for e in self.emails
            ],
        }


def staging_path(services: JobServices, backfill_id: int) -> Path:
    """The bulk staging file of one backfill, under ``data_dir/staging/``."""
    return services.settings.data_dir / "staging" / f"backfill-{backfill_id}.sqlite"


def drop_staging_file(path: Path) -> None:
    """A bulk staging file and SQLite's companions (WAL, shared memory, journal)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def interrupted_reason(shop_domain: str) -> str:
    return (
        f"{INTERRUPTED_PREFIX} after the last committed batch; nothing is lost, resume it "
        f"with `shopify-backfill backfill resume --shop {shop_domain}`"
    )


def describe(error: BaseException) -> str:
    """A reason a merchant can read; the product's own errors already say what to do."""
    if isinstance(error, KeyboardInterrupt):
        return f"{INTERRUPTED_PREFIX}; resume it to continue from its checkpoint"
    if isinstance(error, BackfillError):
        return str(error) or type(error).__name__
    return f"unexpected {type(error).__name__}: {error}; resume it once the cause is fixed"


def _now() -> datetime:
    return datetime.now(UTC)


def counts_from(raw: dict[str, int]) -> LoadCounts:
    known = {spec.name for spec in fields(LoadCounts)}
    return LoadCounts(**{name: int(value) for name, value in raw.items() if name in known})


def deliver_and_finish(
    services: JobServices, backfill_id: int, *, mailer: Mailer | None = None
) -> tuple[Delivery, ...]:
    """Deliver the backfill's queued emails; a completed one then leaves ``finishing``.

    Also what ``resume`` does for a backfill whose process died after completing but
    before its emails went out. Never raises: mail trouble is recorded on the outbox.
    """
    try:
        deliveries = tuple(
            deliver_pending(
                services.engine, services.settings, backfill_id=backfill_id, mailer=mailer
            )
        )
    except Exception:
        log.exception("backfill %s: email delivery crashed", backfill_id)
        deliveries = ()
    with services.engine.begin() as conn:
        finish_completed(conn, backfill_id, now=_now())
    return deliveries


class Heartbeat:
    """Renews a lease every quarter of its length on its own connection.

    ``renew(conn)`` raises ``LeaseLost`` once another holder took over; the heartbeat
    then stops, and the next write of the run fails the same way."""

    def __init__(
        self,
        engine: sa.Engine,
        name: str,
        seconds: float,
        renew: Callable[[sa.Connection], None],
    ) -> None:
        self._engine = engine
        self._name = name
        self._seconds = seconds
        self._renew = renew
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{name}-lease", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        interval = max(0.25, self._seconds / 4)
        while not self._stop.wait(interval):
            try:
                with self._engine.begin() as conn:
                    self._renew(conn)
            except LeaseLost:
                log.warning("%s: lease lost", self._name)
                return
            except Exception:
                log.exception("%s: lease renewal failed", self._name)


def admin_client(connection: ShopConnection, options: RunOptions, clock: Clock) -> AdminClient:
    """The run's Shopify client: transport, retries and the (possibly shared) pacer."""
    return AdminClient(
        api_url=connection.api_url,
        token=connection.token,
        api_version=connection.api_version,
        transport=options.transport,
        clock=clock,
        retry=options.retry,
        on_retry=options.on_retry,
        pacer=(
            options.pacer(connection.shop_domain, connection.token, clock)
            if options.pacer is not None
            else None
        ),
    )


def checked_preflight(
    client: AdminClient,
    settings: Settings,
    connection: ShopConnection,
    row: BackfillRow,
    transport: httpx.BaseTransport | None,
) -> PreflightReport:
    """The preflight, raising what stops a run: a missing scope (with the re-grant URL)
    or a problem Shopify reports."""
    report = run_preflight(
        client,
        token=connection.token,
        window_start=row.window.start,
        window_end=row.window.end,
        reauthorize_url=reauthorize_url(settings, connection.shop_domain, connection.api_url),
        transport=transport,
    )
    if report.missing_scopes:
        raise ScopeError(
            f"the store's grant lacks {', '.join(report.missing_scopes)}",
            missing=report.missing_scopes,
            reauth_url=report.reauthorize_url,
        )
    if report.problems:
        raise Terminal("; ".join(report.problems))
    return report


def run_backfill(
    services: JobServices, backfill_id: int, options: RunOptions | None = None
) -> RunOutcome:
    """Run (or continue) an ``in_progress`` backfill to completion or failure.

    Raises ``BackfillStateError`` when the backfill is not in progress and
    ``BackfillBusy`` when a live process holds it; everything else is caught, recorded
    on the row and returned in the outcome.
    """
    opts = options or RunOptions()
    owner = opts.owner or new_owner()
    with services.engine.connect() as conn:
        if is_sharded(get_backfill(conn, backfill_id)):
            raise BackfillStateError(
                f"backfill {backfill_id} is split into shards that the workers run; "
                "resume it on the deployment that runs `shopify-backfill worker` "
                "(SHOPIFY_BACKFILL_JOB_RUNNER=celery)"
            )
    with services.engine.begin() as conn:
        lease = acquire_lease(
            conn,
            backfill_id,
            owner=owner,
            now=_now(),
            seconds=services.settings.lease_seconds,
        )
        row = get_backfill(conn, backfill_id)
        connection = load_connection(
            conn,
            services.cipher,
            workspace_id=row.workspace_id,
            shop_domain=row.shop_domain,
        )
        if row.attempts > 1:
            post_notification(
                conn,
                workspace_id=row.workspace_id,
                backfill_id=row.id,
                kind="resumed",
                level="info",
                title=f"Shopify backfill of {row.shop_domain} resumed",
                body="Continuing from the last committed batch; nothing is imported twice.",
                now=_now(),
            )
    return _Run(services, opts, lease, row, connection).execute()


class _Run:
    def __init__(
        self,
        services: JobServices,
        options: RunOptions,
        lease: Lease,
        row: BackfillRow,
        connection: ShopConnection,
    ) -> None:
        self.services = services
        self.connection = connection
        self.settings = services.settings
        self.engine = services.engine
        self.options = options
        self.destination: Destination = destination_for(options, row)
        self.lease = lease
        self.row = row
        self.clock: Clock = options.clock or SystemClock()
        self.counts = counts_from(row.counts)
        progress = row.progress
        progress.attempt = row.attempts
        progress.attempt_started_at = _now()
        progress.done_at_attempt_start = progress.records_done
        progress.bulk = None
        self.progress = progress
        self.ctx = LoadContext(
            workspace_id=row.workspace_id,
            connection_id=connection.id,
            backfill_id=row.id,
            historical=True,
        )

    # -- top level -------------------------------------------------------------------

    def execute(self) -> RunOutcome:
        lease = self.lease
        heartbeat = Heartbeat(
            self.engine,
            f"backfill-{lease.backfill_id}",
            lease.seconds,
            lambda conn: renew_lease(conn, lease, now=_now()),
        )
        try:
            with heartbeat, contextlib.closing(self.destination):
                report = self._stages(heartbeat)
        except LeaseLost as error:
            log.warning("backfill %s stopped: %s", self.row.id, error)
            return RunOutcome(self.row.id, IN_PROGRESS, None, str(error), error.exit_code)
        except BaseException as error:
            reason = describe(error) + remedy(error, self.row.shop_domain)
            if isinstance(error, BackfillError):
                log.error("backfill %s failed: %s", self.row.id, reason)
            else:
                log.exception("backfill %s failed unexpectedly", self.row.id)
            self._record_failure(reason, notify=not isinstance(error, Interrupted))
            emails = self._deliver()
            if not isinstance(error, Exception):
                raise
            code = error.exit_code if isinstance(error, BackfillError) else 70
            return RunOutcome(self.row.id, FAILED, None, reason, code, emails)
        self._drop_staging()
        return RunOutcome(self.row.id, COMPLETED, report, None, 0, self._deliver())

    def _stages(self, heartbeat: Heartbeat) -> dict[str, Any]:
        self._save(phase="preflight")
        with self._client() as client:
            checkpoint = self._preflight(client)
            extractor = Extractor(
                client,
                window_start=self.row.window.start,
                window_end=self.row.window.end,
                staging_path=staging_path(self.services, self.row.id),
                clock=self.clock,
                batch_size=self.settings.batch_size,
                bulk_policy=self.options.bulk_policy
                or BulkPolicy(
                    poll_initial=self.settings.bulk_poll_seconds,
                    poll_max=self.settings.bulk_poll_max_seconds,
                ),
                on_bulk_progress=self._on_bulk_progress,
            )
            self.destination.prepare(self.engine, self.row.id)
            self._stop_if_asked()
            for batch in extractor.batches(checkpoint):
                self._commit(batch)
                self.destination.deliver(self.engine, self.row.id, final=False)
                self._stop_if_asked()
        self.destination.deliver(self.engine, self.row.id, final=True)
        self._save(phase="finishing")
        heartbeat.stop()
        return self._complete()

    # -- stages ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _client(self) -> Iterator[AdminClient]:
        with admin_client(self.connection, self.options, self.clock) as client:
            yield client

    def _preflight(self, client: AdminClient) -> ExtractionCheckpoint:
        report = checked_preflight(
            client, self.settings, self.connection, self.row, self.options.transport
        )
        if self.row.checkpoint:
            checkpoint = ExtractionCheckpoint.decode(self.row.checkpoint)
        else:
            checkpoint = ExtractionCheckpoint(
                mode=choose_mode(self.settings, report.orders_in_window)
            )
        progress = self.progress
        progress.customers_total = report.customers_in_window
        progress.orders_total = report.orders_in_window
        progress.mode = checkpoint.mode
        phase: Phase = "extracting_orders" if checkpoint.customers.done else "extracting_customers"
        self._save(
            phase=phase, checkpoint=checkpoint.encode().decode(), extraction_mode=checkpoint.mode
        )
        return checkpoint

    def _on_bulk_progress(self, kind: str, status: str, objects: int) -> None:
        self.progress.bulk = BulkStatus(kind=kind, status=status, objects=objects)
        self._save(phase="extracting_customers" if kind == "customers" else "extracting_orders")
        self._stop_if_asked()

    def _stop_if_asked(self) -> None:
        """Between batches (or bulk polls) nothing is in flight: a safe place to stop."""
        if self.options.stop is not None and self.options.stop.is_set():
            raise Interrupted(interrupted_reason(self.row.shop_domain))

    def _commit(self, batch: Batch) -> None:
        counts = counts_from(self.counts.as_dict())
        with self.engine.begin() as conn:
            if batch.records:
                result = self.destination.write(conn, self.ctx, batch.records)
                for hook in self.options.hooks:
                    hook(conn, self.ctx, result)
                counts.add(result.counts)
            progress = self.progress
            progress.customers_done = batch.checkpoint.customers.emitted
            progress.orders_done = batch.checkpoint.orders.emitted
            progress.data_points = counts.data_points
            progress.phase = "loading_customers" if batch.kind == "customers" else "loading_orders"
            if batch.kind == "customers" and batch.checkpoint.customers.done:
                progress.phase = "extracting_orders"
            progress.updated_at = _now()
            save_progress(
                conn,
                self.lease,
                progress,
                now=progress.updated_at,
                checkpoint=batch.checkpoint.encode().decode(),
                counts=counts.as_dict(),
            )
        self.counts = counts

    def _complete(self) -> dict[str, Any]:
        now = _now()
        self.progress.updated_at = now
        with self.engine.begin() as conn:
            return complete_backfill(
                conn,
                self.lease,
                self.progress,
                connection_id=self.connection.id,
                completion_notes=self.options.completion_notes,
                now=now,
                destination=self.destination,
            )

    def _record_failure(self, reason: str, *, notify: bool = True) -> None:
        """Mark the run failed (resumable); ``notify`` adds the dashboard note and email,
        which an operator who pressed Ctrl-C does not need."""
        record_failure(self.engine, self.lease, self.row, self.progress, reason, notify=notify)

    # -- helpers -----------------------------------------------------------------------

    def _save(
        self,
        *,
        phase: Phase,
        checkpoint: str | None = None,
        extraction_mode: ExtractionMode | None = None,
    ) -> None:
        self.progress.phase = phase
        self.progress.updated_at = _now()
        with self.engine.begin() as conn:
            save_progress(
                conn,
                self.lease,
                self.progress,
                now=self.progress.updated_at,
                checkpoint=checkpoint,
                extraction_mode=extraction_mode,
            )

    def _deliver(self) -> tuple[Delivery, ...]:
        return deliver_and_finish(self.services, self.row.id, mailer=self.options.mailer)

    def _drop_staging(self) -> None:
        """The staged bulk file is only needed until completion."""
        drop_staging_file(staging_path(self.services, self.row.id))
