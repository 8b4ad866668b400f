"""What the job needs from the layers around it, stated here so it imports none of them.

The composition root (``wiring``) builds the concrete parts and hands them in: the
services (``JobServices``: any object with these three attributes), the destination the
mapped records go to, the hooks run inside each batch's transaction (the campaigns
trigger engine) and the notes added to the completion report (the audit's resume offer).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from pydantic import SecretStr

from shopify_backfill.clock import Clock
from shopify_backfill.config import Settings
from shopify_backfill.profiles.connections import TokenCipher
from shopify_backfill.profiles.results import LoadResult
from shopify_backfill.profiles.writes import LoadContext
from shopify_backfill.shopify.pacing import Pacer
from shopify_backfill.shopify.records import SourceRecord


class JobServices(Protocol):
    """The settings, the store's engine and the token cipher a run reads and writes with."""

    @property
    def settings(self) -> Settings: ...

    @property
    def engine(self) -> sa.Engine: ...

    @property
    def cipher(self) -> TokenCipher: ...


class Destination(Protocol):
    """Where a batch's records are written, on the batch's own transaction.

    Whatever it writes must commit (or roll back) with the batch's checkpoint, so a
    resume never writes a batch twice; the result's changes feed the after-batch hooks.
    A destination behind a network (Braze) stores what it must send with the batch and
    sends it in ``deliver``, after the commit; the embedded store has nothing to send.
    """

    @property
    def name(self) -> str: ...

    @property
    def data_workspace_id(self) -> int | None:
        """Where the written profiles live, if not the backfill's workspace (the report's
        sightings and issues are read there)."""
        ...

    def write(
        self, conn: sa.Connection, ctx: LoadContext, records: Sequence[SourceRecord]
    ) -> LoadResult: ...

    def prepare(self, engine: sa.Engine, backfill_id: int) -> None:
        """Before the first batch of a run: check access, settle a crashed run's sends."""
        ...

    def deliver(self, engine: sa.Engine, backfill_id: int, *, final: bool) -> None:
        """After a batch commits: send what it stored (raises on a fatal refusal);
        ``final`` once all batches are in, to send what was held back to fill up."""
        ...

    def unfinished(self, conn: sa.Connection, backfill_id: int) -> int:
        """What is stored and not yet delivered (must be 0 to complete)."""
        ...

    def summary(self, conn: sa.Connection, backfill_id: int) -> dict[str, Any] | None:
        """The report's delivery section, or ``None``."""
        ...

    def close(self) -> None: ...


DestinationFactory = Callable[[int, int], Destination]
"""``factory(workspace_id, braze_destination_id)``: the destination a backfill chose at
start, built by the wiring (it holds the cipher and the settings)."""


AfterBatchHook = Callable[[sa.Connection, LoadContext, LoadResult], None]
"""Called inside each batch's transaction, after its writes: what it writes commits (or
rolls back) with the batch. The campaigns trigger engine plugs in here."""

CompletionNote = Callable[[sa.Connection, int, int], str | None]
"""``note(conn, workspace_id, connection_id)``: a follow-up line for the completion report,
notification and email (the campaigns audit offers to resume what it paused)."""

PacerFactory = Callable[[str, SecretStr, Clock], Pacer]
"""``factory(shop_domain, token, clock)``: the cost pacer of a run's Shopify client. The
default paces in the run's process; the wiring shares one bucket mirror per shop across
every worker (``shopify.shared_pacing``) when ``pacing_redis_url`` is set."""
