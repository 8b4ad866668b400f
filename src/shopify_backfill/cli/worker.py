"""``shopify-backfill worker``: start a Celery worker that runs backfill jobs.

The operator's way in to scale-out: settings come from the environment as for every
other command, the options are the two a deployment tunes (how many jobs at once, which
queues). Several workers only make sense over PostgreSQL: SQLite is the embedded,
single-process default, so a worker refuses a concurrency above one on it, and a second
worker on the same SQLite file is refused while the first runs (a lock file beside the
database), rather than letting two writers queue behind SQLite's single write lock.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from shopify_backfill.config import Settings
from shopify_backfill.errors import ConfigError

SCALE_OUT_NEEDS_POSTGRESQL = (
    "scale-out needs PostgreSQL: set SHOPIFY_BACKFILL_DATABASE_URL="
    "postgresql+psycopg://USER@HOST/DB for every worker; SQLite is the embedded"
    " single-process default"
)


def sqlite_path(database_url: str) -> Path | None:
    """The database file of a SQLite URL (``None`` for PostgreSQL or an in-memory SQLite)."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        return None
    if not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


@contextmanager
def single_sqlite_worker(database: Path) -> Iterator[None]:
    """Hold ``<database>.worker-lock`` for the worker's life; refuse if another holds it."""
    lock_path = database.with_name(database.name + ".worker-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as busy:
            raise ConfigError(
                f"another worker already runs on the SQLite database {database}; "
                + SCALE_OUT_NEEDS_POSTGRESQL
            ) from busy
        yield
    finally:
        os.close(handle)


def worker_arguments(
    *, concurrency: int, queues: list[str], loglevel: str, hostname: str | None
) -> list[str]:
    """Celery's own ``worker`` arguments for these options.

    One job at a time runs in the solo pool (no fork: the process that took the job is
    the one that runs it, so a SIGKILL loses nothing the late ack does not redeliver);
    more use prefork children, one per job. Gossip and mingle are off: workers never
    coordinate through each other (a job's state lives in the database), and mingle
    costs every start a round of waiting for replies.
    """
    pool = "solo" if concurrency == 1 else "prefork"
    arguments = [
        "worker",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        f"--loglevel={loglevel}",
        "-Q",
        ",".join(queues),
        "--without-gossip",
        "--without-mingle",
    ]
    # Celery's default name is celery@host for every worker of a machine; on RabbitMQ the
    # second one then dies on its control queue ("cannot obtain exclusive access to
    # locked queue celery@host.celery.pidbox"). The process id keeps them apart.
    arguments += ["--hostname", hostname or f"backfill{os.getpid()}@%h"]
    return arguments


def _queues(text: str | None, default: str) -> list[str]:
    names = [name.strip() for name in (text or default).split(",") if name.strip()]
    if not names:
        raise ConfigError("--queues is empty; give queue names such as backfill")
    return names


def worker(
    concurrency: Annotated[
        int, typer.Option(help="Backfill jobs this worker runs at once.", min=1, max=64)
    ] = 1,
    queues: Annotated[
        str | None,
        typer.Option(help="Queues to consume, comma-separated (default: the settings' queue)."),
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
    hostname: Annotated[
        str | None,
        typer.Option(help="Worker name, e.g. worker1@%h (default: backfill<pid>@<host>)."),
    ] = None,
) -> None:
    """Start a Celery worker that runs the backfill jobs queued on the broker."""
    settings = Settings()
    names = _queues(queues, settings.celery_queue)
    if loglevel.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"--loglevel {loglevel!r} is not DEBUG, INFO, WARNING, ERROR or CRITICAL")
    database = sqlite_path(settings.resolved_database_url())
    if database is not None and concurrency > 1:
        raise ConfigError(f"--concurrency {concurrency} on SQLite: " + SCALE_OUT_NEEDS_POSTGRESQL)
    arguments = worker_arguments(
        concurrency=concurrency, queues=names, loglevel=loglevel.upper(), hostname=hostname
    )
    # Celery is imported here, not at the top: every other command (and --help) would
    # otherwise pay for loading it although only this one starts a worker.
    from shopify_backfill.workers.celery_app import create_celery_app  # noqa: PLC0415

    app = create_celery_app(settings)
    if database is None:
        app.worker_main(arguments)
        return
    with single_sqlite_worker(database):
        app.worker_main(arguments)
