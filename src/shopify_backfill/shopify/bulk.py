"""Bulk extraction: run a bulk query, poll it, stage its JSONL, reconcile every count.

The failure modes are the ones that made other connectors lose data silently: a job
that ends FAILED/TIMEOUT/EXPIRED, a completed job with no URL, a partial result, a
download cut mid-stream, a file with fewer lines than Shopify says it wrote. Each one
either recovers (re-run, resume from the staged offset, re-query what a partial result
lacks) or raises; a short result never passes as success.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from shopify_backfill.clock import Clock
from shopify_backfill.errors import Terminal
from shopify_backfill.shopify import queries
from shopify_backfill.shopify.client import AdminClient
from shopify_backfill.shopify.errors import (
    BulkOperationError,
    NetworkError,
    ScopeError,
    ShopifyTransient,
)
from shopify_backfill.shopify.staging import MalformedLineError, Staging, StreamState

TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELED", "EXPIRED"})


class BulkOperation(msgspec.Struct, rename="camel"):
    id: str
    status: str
    error_code: str | None = None
    object_count: str = "0"
    root_object_count: str = "0"
    file_size: str | None = None
    url: str | None = None
    partial_data_url: str | None = None


class _UserError(msgspec.Struct):
    message: str
    field: list[str] | None = None
    code: str | None = None


class _RunPayload(msgspec.Struct, rename="camel"):
    bulk_operation: dict[str, str] | None = None
    user_errors: list[_UserError] = msgspec.field(default_factory=list)


class _RunData(msgspec.Struct, rename="camel"):
    bulk_operation_run_query: _RunPayload


class _PollData(msgspec.Struct, rename="camel"):
    bulk_operation: BulkOperation | None = None


class OperationGoneError(BulkOperationError):
    """Shopify answers ``null`` for a recorded job: it was purged, or it belongs to the
    token the store had before it was reconnected (jobs are per token); submit a new one."""


class ReconciliationError(Terminal):
    """What was read disagrees with what Shopify says it wrote: never report success."""


@dataclass(frozen=True)
class BulkPolicy:
    """Timings and persistence of the bulk path."""

    poll_initial: float = 1.0
    poll_max: float = 15.0
    poll_factor: float = 1.5
    max_runs: int = 4
    max_download_attempts: int = 6
    lines_per_commit: int = 2_000


@dataclass(frozen=True)
class BulkStream:
    """One bulk query of the extraction: a name and how to build its text for a filter."""

    kind: str
    build_query: Callable[[str], str]
    search: str
    time_field: str = "created_at"
    """The connection's own name for creation time (``customer_date`` on customers)."""


class BulkRunner:
    """Drives one stream from nothing (or a checkpoint) to a complete, reconciled staging."""

    def __init__(
        self,
        client: AdminClient,
        staging: Staging,
        clock: Clock,
        policy: BulkPolicy | None = None,
        on_progress: Callable[[str, str, int], None] | None = None,
    ) -> None:
        self.client = client
        self.staging = staging
        self.clock = clock
        self.policy = policy or BulkPolicy()
        self._on_progress = on_progress
        self._runs: dict[str, int] = {}
        """Jobs submitted per stream by this runner: the re-run budget is per attempt, so
        a resume after the cause is gone gets a fresh one (the stored ``attempts`` only
        counts, it never blocks)."""

    def start(self, stream: BulkStream) -> None:
        """Submit the stream's job unless one is already recorded (resume keeps it)."""
        state = self.staging.state(stream.kind)
        if state.complete or state.operation_id is not None:
            return
        self._submit(stream, state, since=None)

    def finish(self, stream: BulkStream) -> None:
        """Wait for the job, stage its file and reconcile; re-run as the failure requires."""
        while True:
            state = self.staging.state(stream.kind)
            if state.complete:
                return
            if state.operation_id is None:
                self._submit(stream, state, since=state.partial_since)
                continue
            try:
                operation = self._wait(state.operation_id, stream.kind)
            except OperationGoneError:
                self._forget(stream, state)
                continue
            if operation.status == "COMPLETED":
                self._complete(stream, state, operation)
                continue
            self._recover(stream, state, operation)

    def _submit(self, stream: BulkStream, state: StreamState, *, since: str | None) -> None:
        runs = self._runs.get(stream.kind, 0)
        if runs >= self.policy.max_runs:
            raise BulkOperationError(
                f"the {stream.kind} bulk query failed {runs} times in a row on Shopify's side"
            )
        self._runs[stream.kind] = runs + 1
        search = stream.search
        if since is not None:
            search = f"({search}) AND {stream.time_field}:>='{since}'"
        text = stream.build_query(search)
        while True:
            payload = self.client.data(
                queries.BULK_RUN_MUTATION, {"query": text}, _RunData
            ).bulk_operation_run_query
            codes = {error.code for error in payload.user_errors}
            if "OPERATION_IN_PROGRESS" in codes or "LIMIT_REACHED" in codes:
                self.clock.sleep(self.policy.poll_max)
                continue
            if payload.user_errors or payload.bulk_operation is None:
                messages = "; ".join(error.message for error in payload.user_errors)
                raise Terminal(f"Shopify refused the {stream.kind} bulk query: {messages}")
            break
        fresh = StreamState(
            operation_id=payload.bulk_operation["id"],
            attempts=state.attempts + 1,
            partial_since=since,
        )
        if since is None:
            self.staging.reset(stream.kind, fresh)
        else:
            self.staging.drop_roots_since(stream.kind, since, fresh)

    def _wait(self, operation_id: str, kind: str) -> BulkOperation:
        delay = self.policy.poll_initial
        while True:
            operation = self.poll(operation_id)
            if self._on_progress is not None:
                self._on_progress(kind, operation.status, int(operation.object_count or 0))
            if operation.status in TERMINAL_STATUSES:
                return operation
            self.clock.sleep(delay)
            delay = min(self.policy.poll_max, delay * self.policy.poll_factor)

    def poll(self, operation_id: str) -> BulkOperation:
        data = self.client.data(queries.BULK_POLL_QUERY, {"id": operation_id}, _PollData)
        if data.bulk_operation is None:
            raise OperationGoneError(f"Shopify no longer knows bulk operation {operation_id}")
        return data.bulk_operation

    def _complete(self, stream: BulkStream, state: StreamState, operation: BulkOperation) -> None:
        expected_objects = int(operation.object_count)
        expected_roots = int(operation.root_object_count)
        if operation.url is None:
            if expected_objects > 0:
                raise ReconciliationError(
                    f"the {stream.kind} bulk job completed with {expected_objects} objects "
                    "but no result URL"
                )
            state.complete = True
            self.staging.save_state(stream.kind, state)
            return
        self._download(stream.kind, state, operation.url, operation.id)
        if state.file_lines != expected_objects or state.file_roots != expected_roots:
            self.staging.reset(stream.kind, StreamState(attempts=state.attempts))
            raise ReconciliationError(
                f"the {stream.kind} bulk result has {state.file_lines} lines "
                f"({state.file_roots} roots) but Shopify reported {expected_objects} objects "
                f"({expected_roots} roots); the staged copy was discarded, resume to re-run it"
            )
        duplicates = self.staging.duplicate_roots(stream.kind)
        if duplicates:
            self.staging.reset(stream.kind, StreamState(attempts=state.attempts))
            raise ReconciliationError(
                f"the {stream.kind} bulk result lists {duplicates} records more than once"
            )
        orphans = self.staging.orphan_count(stream.kind)
        if orphans:
            self.staging.reset(stream.kind, StreamState(attempts=state.attempts))
            raise ReconciliationError(
                f"the {stream.kind} bulk result has {orphans} child lines without a parent"
            )
        state.complete = True
        self.staging.save_state(stream.kind, state)

    def _recover(self, stream: BulkStream, state: StreamState, operation: BulkOperation) -> None:
        if operation.error_code == "ACCESS_DENIED":
            # Forget the denied job first: after the re-grant, a resume submits a new one
            # instead of polling this one (denied for good) again.
            self._forget(stream, state)
            raise ScopeError(
                f"Shopify denied the {stream.kind} bulk query (ACCESS_DENIED): the grant lacks "
                "a scope or protected customer data access"
            )
        if operation.partial_data_url:
            self._download(stream.kind, state, operation.partial_data_url, operation.id)
            since = self.staging.last_root_created_at(stream.kind) or state.partial_since
            state.operation_id = None
            state.partial_since = since
            state.offset = 0
            state.file_lines = 0
            state.file_roots = 0
            self.staging.save_state(stream.kind, state)
            return
        self._forget(stream, state)

    def _forget(self, stream: BulkStream, state: StreamState) -> None:
        """Drop the recorded job (and its staged lines, unless they continue a partial
        result) so the next step submits a fresh one."""
        state.operation_id = None
        self.staging.save_state(stream.kind, state)
        if state.partial_since is None:
            self.staging.reset(stream.kind, StreamState(attempts=state.attempts))

    def _download(self, kind: str, state: StreamState, url: str, operation_id: str) -> None:
        failures = 0
        while True:
            reached = state.offset
            try:
                self._stage_from(kind, state, url)
                return
            except (NetworkError, MalformedLineError) as error:
                failures = 1 if state.offset > reached else failures + 1
                if failures >= self.policy.max_download_attempts:
                    if isinstance(error, MalformedLineError):
                        # Not a cut: whole lines that are not JSON (an HTML error page, a
                        # proxy's answer). Named apart, since waiting is not the only fix.
                        raise BulkOperationError(
                            f"the {kind} bulk result file is not JSONL, in {failures} "
                            f"downloads: {error}; if a proxy stands between this machine "
                            "and Shopify's storage, check what it answers"
                        ) from None
                    raise BulkOperationError(
                        f"the {kind} bulk result download failed {failures} times: {error}"
                    ) from None
                self.clock.sleep(min(self.policy.poll_max, 0.5 * 2**failures))
            except ShopifyTransient:
                raise
            except Terminal:
                url = self._fresh_url(operation_id, url)
                failures += 1
                if failures >= self.policy.max_download_attempts:
                    raise

    def _fresh_url(self, operation_id: str, current: str) -> str:
        """Signed URLs expire; a new poll hands out a new one."""
        operation = self.poll(operation_id)
        return operation.url or operation.partial_data_url or current

    def _stage_from(self, kind: str, state: StreamState, url: str) -> None:
        pending: list[bytes] = []
        offset = state.offset
        remainder = b""
        with self.client.download(url, state.offset) as chunks:
            try:
                for chunk in chunks:
                    data = remainder + chunk
                    parts = data.split(b"\n")
                    remainder = parts.pop()
                    for part in parts:
                        offset += len(part) + 1
                        if part.strip():
                            pending.append(part)
                    if len(pending) >= self.policy.lines_per_commit:
                        self.staging.append(kind, pending, offset, state)
                        pending = []
            except NetworkError:
                # Keep every complete line that arrived: the retry resumes after them.
                self.staging.append(kind, pending, offset, state)
                raise
        if remainder.strip():
            offset += len(remainder)
            pending.append(remainder)
        self.staging.append(kind, pending, offset, state)
