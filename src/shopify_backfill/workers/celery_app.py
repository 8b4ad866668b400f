"""The Celery worker: the same job function behind a task, for scale-out deployments.

The app is built from ``Settings`` by ``create_celery_app`` (no module-level instance);
start a worker with ``python -m shopify_backfill.workers.celery_app worker --pool=solo``.
Tasks are acknowledged late and re-queued if the worker dies, which is safe because a
run resumes from its committed checkpoint and the lease keeps two runs apart.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from celery import Celery

from shopify_backfill.backfill.errors import BackfillBusy
from shopify_backfill.backfill.runner import RunOptions, run_backfill
from shopify_backfill.backfill.sharded import advance, run_shard, wants_shards
from shopify_backfill.backfill.store import get_backfill
from shopify_backfill.config import Settings
from shopify_backfill.errors import ConfigError
from shopify_backfill.wiring import build_services
from shopify_backfill.wiring.jobs import job_options
from shopify_backfill.wiring.services import Services

TASK_NAME = "shopify_backfill.run_backfill"
SHARD_TASK = "shopify_backfill.run_shard"


def create_celery_app(settings: Settings) -> Celery:
    """A Celery app whose broker (and result backend) is ``settings.celery_broker_url``."""
    app = Celery(
        "shopify_backfill",
        broker=settings.celery_broker_url,
        backend=result_backend(settings.celery_broker_url),
    )
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        task_default_queue=settings.celery_queue,
        # Redis hands an unacknowledged task to another worker only after this long; a
        # killed worker's shard waits that long (RabbitMQ redelivers when the connection
        # drops). It must exceed the longest task, or a running one is delivered twice
        # (harmless: the shard's lease sends the copy to retry later).
        broker_transport_options={"visibility_timeout": settings.celery_visibility_timeout},
    )

    cache: dict[str, tuple[Services, RunOptions]] = {}

    def services() -> tuple[Services, RunOptions]:
        """One engine and one set of run options (the shared pacer's Redis client among
        them) per worker process, built lazily, after the fork of a pool child."""
        if "services" not in cache:
            built = build_services(settings)
            cache["services"] = (built, job_options(built))
        return cache["services"]

    def enqueue_shard(shard_id: int) -> None:
        app.send_task(SHARD_TASK, args=[shard_id], queue=app.conf.task_default_queue)

    @app.task(name=TASK_NAME, bind=True, max_retries=20)  # type: ignore[untyped-decorator]
    def run_backfill_task(task: Any, backfill_id: int) -> dict[str, Any]:
        built, options = services()
        try:
            with built.engine.connect() as conn:
                row = get_backfill(conn, backfill_id)
            if wants_shards(built, row):
                step = advance(built, backfill_id, options, enqueue_shard)
                return {"backfill_id": backfill_id, "sharded": True, "step": step}
            outcome = run_backfill(built, backfill_id, options)
        except BackfillBusy as busy:
            raise task.retry(exc=busy, countdown=settings.lease_seconds / 2) from busy
        return outcome.to_json()

    @app.task(name=SHARD_TASK, bind=True, max_retries=None)  # type: ignore[untyped-decorator]
    def run_shard_task(task: Any, shard_id: int) -> dict[str, Any]:
        built, options = services()
        try:
            return run_shard(built, shard_id, options, enqueue_shard)
        except BackfillBusy as busy:
            raise task.retry(exc=busy, countdown=settings.lease_seconds / 2) from busy

    return app


def result_backend(broker_url: str) -> str:
    """Results in Redis with a Redis broker; over RabbitMQ, Celery's ``rpc://`` (the old
    ``amqp`` backend is gone from Celery 5). Only ``backfill`` tests read results: the
    job's state is in the database."""
    return broker_url if broker_url.startswith(("redis://", "rediss://")) else "rpc://"


def enqueue_backfill(app: Celery, backfill_id: int) -> Any:
    """Queue a run of an ``in_progress`` backfill; returns Celery's ``AsyncResult``."""
    return app.send_task(TASK_NAME, args=[backfill_id], queue=app.conf.task_default_queue)


def enqueue_with_settings(settings: Settings, backfill_id: int) -> str:
    """Queue a run on the settings' broker and queue; returns the queue's name.

    A broker that cannot be reached is a configuration problem the operator fixes, so it
    is said as one (with the URL's host, never its password), not as a traceback.
    """
    app = create_celery_app(settings)
    try:
        enqueue_backfill(app, backfill_id)
    except Exception as error:  # kombu, redis and Celery's result backend each raise their own
        host = make_url_host(settings.celery_broker_url)
        raise ConfigError(
            f"could not queue the backfill on the Celery broker at {host} "
            f"({type(error).__name__}); start the "
            "broker or fix SHOPIFY_BACKFILL_CELERY_BROKER_URL, then run `backfill resume`"
        ) from None
    finally:
        app.close()
    return settings.celery_queue


def make_url_host(url: str) -> str:
    """``scheme://host:port`` of a broker URL, without credentials."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m shopify_backfill.workers.celery_app worker ...`` with settings from env."""
    app = create_celery_app(Settings())
    args = list(argv if argv is not None else sys.argv[1:]) or ["worker"]
    app.worker_main(args)


if __name__ == "__main__":
    main()
