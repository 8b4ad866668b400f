"""The Braze destination: each batch resolved against the mirror, its changes sent.

``write`` runs in the batch's transaction: ``load_batch`` into the mirror workspace
(identity resolution, attribute diffing, event dedup, consent for created profiles,
data points: SPEC §3, the embedded store's own code), then the changes it reports are
translated into ``/users/track`` objects, packed and stored ``pending`` in the ledger,
all committing with the checkpoint. ``deliver`` runs after the commit and sends what is
pending, several requests in flight, under the deployment's rate limit. So a resume
never maps a batch twice (the checkpoint moved with it) and never sends a request
twice (the ledger says what Braze has).

The platform's own campaigns do not see these changes (the result carries none):
Braze's campaigns are Braze's, and the mirror is a ledger, not a workspace anyone uses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa

from shopify_backfill.destinations.braze import ledger
from shopify_backfill.destinations.braze.client import BrazeClient, DeliveryUnknown
from shopify_backfill.destinations.braze.errors import BrazeRejected
from shopify_backfill.destinations.braze.objects import UserKey, translate
from shopify_backfill.destinations.braze.registry import BrazeTarget
from shopify_backfill.destinations.braze.tables import braze_profiles
from shopify_backfill.mapping.intents import ALIAS_CUSTOMER_ID, ALIAS_EMAIL, ALIAS_PHONE
from shopify_backfill.profiles.dialect import upsert
from shopify_backfill.profiles.results import LoadResult
from shopify_backfill.profiles.schema import aliases, shop_connections
from shopify_backfill.profiles.workspaces import ensure_subscription_groups
from shopify_backfill.profiles.writes import LoadContext, load_batch
from shopify_backfill.shopify.records import SourceRecord

log = logging.getLogger(__name__)

KEY_PREFERENCE: Final = (ALIAS_CUSTOMER_ID, ALIAS_EMAIL, ALIAS_PHONE)
"""A profile is known in Braze by its first alias in this order, as Braze's own Shopify
integration keys users; fixed at the first delivery."""
FALLBACK_LABEL: Final = "shopify_backfill_profile"


class BrazeDestination:
    """One backfill's deliveries to one Braze workspace."""

    name = "braze"

    def __init__(
        self,
        target: BrazeTarget,
        client_factory: Callable[[BrazeTarget], BrazeClient],
        *,
        concurrency: int = 8,
    ) -> None:
        self.target = target
        self._client_factory = client_factory
        self._client: BrazeClient | None = None
        self._concurrency = concurrency
        self._mirror_connections: dict[int, int] = {}
        self.sms_states_skipped = 0

    @property
    def data_workspace_id(self) -> int:
        """Where the report's figures live: the mirror."""
        return self.target.mirror_workspace_id

    # -- in the batch's transaction --------------------------------------------------

    def write(
        self, conn: sa.Connection, ctx: LoadContext, records: Sequence[SourceRecord]
    ) -> LoadResult:
        mirror = LoadContext(
            workspace_id=self.target.mirror_workspace_id,
            connection_id=self._mirror_connection(conn, ctx.connection_id),
            backfill_id=ctx.backfill_id,
            historical=ctx.historical,
            now=ctx.now,
        )
        result = load_batch(conn, mirror, records)
        keys = self._keys(conn, {change.user_id for change in result.changes})
        translation = translate(result.changes, keys, sms_group_id=self.target.sms_group_id)
        self.sms_states_skipped += translation.sms_states_skipped
        ledger.enqueue(
            conn,
            destination_id=self.target.id,
            backfill_id=_backfill(ctx),
            objects=translation.objects,
            max_objects=self.target.max_objects,
            now=ctx.now or datetime.now(UTC),
        )
        return LoadResult(
            counts=result.counts,
            issues=result.issues,
            changes=[],
            data_points_by_category=result.data_points_by_category,
        )

    def _mirror_connection(self, conn: sa.Connection, connection_id: int) -> int:
        """The mirror's twin of the store's connection (same shop and options, no token)."""
        found = self._mirror_connections.get(connection_id)
        if found is not None:
            return found
        source = conn.execute(
            sa.select(shop_connections).where(shop_connections.c.id == connection_id)
        ).one()
        workspace = self.target.mirror_workspace_id
        conn.execute(
            upsert(conn, shop_connections)
            .values(
                workspace_id=workspace,
                shop_domain=source.shop_domain,
                granted_scopes=[],
                api_version=source.api_version,
                api_base_url=source.api_base_url,
                connected_at=source.connected_at,
                access_token_encrypted=None,
                product_identifier=source.product_identifier,
                created_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing(index_elements=["workspace_id", "shop_domain"])
        )
        twin = int(
            conn.execute(
                sa.select(shop_connections.c.id).where(
                    shop_connections.c.workspace_id == workspace,
                    shop_connections.c.shop_domain == source.shop_domain,
                )
            ).scalar_one()
        )
        ensure_subscription_groups(conn, workspace, twin)
        self._mirror_connections[connection_id] = twin
        return twin

    def _keys(self, conn: sa.Connection, user_ids: set[int]) -> dict[int, UserKey]:
        """Each user's Braze alias: stored at its first delivery, chosen now otherwise."""
        if not user_ids:
            return {}
        p = braze_profiles.c
        keys: dict[int, UserKey] = {
            row.user_id: (row.alias_label, row.alias_name)
            for row in conn.execute(
                sa.select(p.user_id, p.alias_label, p.alias_name).where(
                    p.user_id.in_(sorted(user_ids))
                )
            )
        }
        missing = sorted(user_ids - keys.keys())
        if not missing:
            return keys
        held: dict[int, dict[str, str]] = {}
        for row in conn.execute(
            sa.select(aliases.c.user_id, aliases.c.label, aliases.c.name).where(
                aliases.c.user_id.in_(missing)
            )
        ):
            held.setdefault(row.user_id, {})[row.label] = row.name
        new: list[dict[str, Any]] = []
        for user in missing:
            owned = held.get(user, {})
            label = next((label for label in KEY_PREFERENCE if label in owned), None)
            key = (label, owned[label]) if label else (FALLBACK_LABEL, str(user))
            keys[user] = key
            new.append(
                {
                    "user_id": user,
                    "destination_id": self.target.id,
                    "alias_label": key[0],
                    "alias_name": key[1],
                }
            )
        conn.execute(sa.insert(braze_profiles), new)
        return keys

    # -- around the batches ------------------------------------------------------------

    def client(self) -> BrazeClient:
        if self._client is None:
            self._client = self._client_factory(self.target)
        return self._client

    def prepare(self, engine: sa.Engine, backfill_id: int) -> None:
        """Before anything is sent: prove the key, settle what a crash left in flight."""
        self.client().check_key()
        with engine.begin() as conn:
            uncertain = ledger.recover(conn, backfill_id, datetime.now(UTC))
        if uncertain:
            log.warning(
                "backfill %s: %s Braze requests were in flight when the last run stopped; "
                "not resent (they hold events or purchases)",
                backfill_id,
                uncertain,
            )

    def deliver(self, engine: sa.Engine, backfill_id: int, *, final: bool) -> None:
        """Send the pending requests of the backfill (the last, not yet full one only when
        ``final``); raise the first fatal refusal.

        ``concurrency`` requests are on the wire and half as many wait their turn in the
        pool's queue; whenever that half has been answered, the answers are recorded and
        the queue refilled in one transaction. So the senders seldom wait for the
        database (a commit took ~3.5 ms on SQLite, the time of 3 requests at Braze's
        rate; with no queue the backlog benchmark sent ~500 of the ~970 requests/s the
        same client sends through the limiter with no ledger). A deeper queue sent a
        little more but every request in it counts as possibly sent at a crash: at most
        ``2 x concurrency`` requests are ``sending`` at any moment (on the wire, queued,
        answered but not yet recorded), and that is the window a crash leaves to
        ``recover``.
        """
        full = None if final else self.target.max_objects
        client = self.client()
        group = max(1, self._concurrency // 2)
        depth = self._concurrency + group
        queued: dict[Future[tuple[ledger.Settled, BaseException | None]], int] = {}
        answered: list[ledger.Settled] = []
        failure: BaseException | None = None
        exhausted = False
        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="braze") as pool:
            while True:
                room = depth - len(queued)
                claiming = failure is None and not exhausted and (room >= group or not queued)
                if claiming or len(answered) >= group or (answered and not queued):
                    claimed = ledger.settle_and_claim(
                        engine,
                        answered,
                        datetime.now(UTC),
                        backfill_id,
                        room if claiming else 0,
                        full=full,
                    )
                    answered = []
                    if claiming:
                        exhausted = len(claimed) < room
                    for request in claimed:
                        queued[pool.submit(_send, client, request)] = request.id
                if not queued:
                    break
                done, _ = wait(queued, return_when=FIRST_COMPLETED)
                for future in done:
                    del queued[future]
                    outcome, error = future.result()
                    answered.append(outcome)
                    failure = failure or error
                if failure is not None:
                    # Braze refused us: what has not started goes back unsent.
                    for future, request_id in list(queued.items()):
                        if future.cancel():
                            del queued[future]
                            answered.append(ledger.Settled(request_id, "pending", {}))
        if failure is not None:
            raise failure

    def summary(self, conn: sa.Connection, backfill_id: int) -> dict[str, Any]:
        section = ledger.summary(conn, backfill_id)
        section["destination"] = self.target.public()
        return section

    def unfinished(self, conn: sa.Connection, backfill_id: int) -> int:
        return ledger.unfinished(conn, backfill_id)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _send(
    client: BrazeClient, request: ledger.Claimed
) -> tuple[ledger.Settled, BaseException | None]:
    """One request's fate; a fatal error puts it back ``pending`` (Braze refused it, so
    it never arrived) and is returned to stop the delivery."""
    request_id = request.id
    try:
        answer = client.track(request.body, resend_if_unsure=not request.dedupe_sensitive)
    except DeliveryUnknown as unknown:
        return ledger.Settled(request_id, "uncertain", {"message": str(unknown)}), None
    except BrazeRejected as rejected:
        return ledger.Settled(request_id, "rejected", {"message": str(rejected)}), None
    except Exception as error:  # returned, raised by the caller after settling
        return ledger.Settled(request_id, "pending", {}), error
    detail: dict[str, Any] = {"status": answer.status}
    if answer.errors:
        detail["errors"] = answer.errors[: ledger.MAX_ERRORS_KEPT]
    return ledger.Settled(request_id, "sent", detail), None


def _backfill(ctx: LoadContext) -> int:
    if ctx.backfill_id is None:
        raise ValueError("the Braze destination delivers backfills only")
    return ctx.backfill_id
