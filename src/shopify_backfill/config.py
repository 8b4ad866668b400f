"""Settings, read once from the environment (prefix ``SHOPIFY_BACKFILL_``) and passed down.

Nothing reads the environment anywhere else: interfaces build one ``Settings`` and hand it
to ``wiring``, so tests can build as many independent configurations as they like.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from shopify_backfill.errors import ConfigError
from shopify_backfill.material import SCHEMA_FILE

API_VERSION = "2026-07"
"""The Admin API version every query is written and validated against (SPEC §4)."""

REQUIRED_SCOPES: tuple[str, ...] = ("read_customers", "read_orders", "read_all_orders")
"""Scopes the backfill cannot run without; ``read_all_orders`` lifts Shopify's 60-day cap."""

_MATERIAL_ENV_HINT = "SHOPIFY_BACKFILL_SHOPIFY_MATERIAL_DIR"


class Settings(BaseSettings):
    """Every knob of the service; defaults run the whole loop embedded on one machine."""

    model_config = SettingsConfigDict(
        env_prefix="SHOPIFY_BACKFILL_", env_file=None, extra="forbid", frozen=True
    )

    data_dir: Path = Field(
        default=Path("var"),
        description="Where the embedded database, outbox and caches live.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the profile store; default: SQLite in data_dir.",
    )
    shopify_material_dir: Path | None = Field(
        default=None,
        description="Folder holding another admin-2026-07.graphql; default: the packaged one.",
    )
    api_version: str = API_VERSION

    app_api_key: str = Field(default="shopify-backfill-app", description="OAuth client id.")
    app_secret: SecretStr = Field(
        default=SecretStr("emulator-app-secret"),
        description="OAuth client secret, also the HMAC key for callbacks.",
    )
    app_url: str = Field(
        default="http://127.0.0.1:8000", description="Public base URL of the partner page."
    )
    fernet_key: SecretStr | None = Field(
        default=None,
        description="Key encrypting access tokens at rest; generated into data_dir if unset.",
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="Key signing the partner page's session cookies and CSRF tokens; "
        "generated into data_dir if unset (set it when several web processes serve one store).",
    )
    shopify_api_url: str | None = Field(
        default=None,
        description="Admin API base URL the partner page uses for every shop instead of "
        "https://SHOP (point it at the emulator); never taken from user input.",
    )

    batch_size: int = Field(default=500, ge=1, le=10_000)
    extraction_mode: Literal["auto", "bulk", "paginated"] = "auto"
    bulk_min_orders: int = Field(
        default=2_000,
        ge=0,
        description="Below this many orders in the window, paginate (bulk has a start-up cost).",
    )

    bulk_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="First wait between bulk job polls (grows 1.5x)."
    )
    bulk_poll_max_seconds: float = Field(
        default=15.0, gt=0, le=600, description="Longest wait between bulk job polls."
    )
    lease_seconds: float = Field(
        default=60.0,
        ge=1,
        le=3_600,
        description="Lease of a running backfill, renewed every quarter of it; a dead run is "
        "resumable once it expires (at once when its process is gone from this host).",
    )
    celery_broker_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Broker of the optional Celery worker (the default worker is in-process).",
    )
    celery_queue: str = Field(default="backfill", description="Celery queue of backfill jobs.")
    celery_visibility_timeout: float = Field(
        default=3600,
        gt=0,
        description="Redis broker only: seconds before an unacknowledged task (its worker "
        "died) goes to another worker; keep it above the longest shard.",
    )
    shards: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Slices per stream (and load partitions) of a backfill run by Celery "
        "workers on PostgreSQL; 0 picks one per `shard_orders` orders (2 to 16), 1 runs "
        "the whole backfill in one task.",
    )
    shard_orders: int = Field(
        default=10_000, ge=100, description="Orders per shard when `shards` is 0 (auto)."
    )
    shard_parallelism: int = Field(
        default=4,
        ge=1,
        le=5,
        description="Shards of one backfill queued or running at once: keeps a large store "
        "from filling the queue ahead of small ones, and stays within Shopify's five "
        "bulk queries per app and shop.",
    )
    job_runner: Literal["in_process", "celery"] = Field(
        default="in_process",
        description="Where `backfill start`/`resume` and the partner page run a job: "
        "in_process (a thread of the calling process, no broker: the embedded default) or "
        "celery (queued on the broker for `shopify-backfill worker`; the command returns "
        "at once and `backfill status --watch` follows it).",
    )
    auth_throttle_url: str | None = Field(
        default=None,
        description="Redis URL (redis://host:6379/1, rediss://...) where the partner page "
        "counts failed logins and API-key attempts, shared by every web process; it may be "
        "the Celery broker's Redis (keys are prefixed). Unset: counted in this process's "
        "memory, which is right for one `serve` process and forgets on restart.",
    )
    pacing_redis_url: str | None = Field(
        default=None,
        description="Redis URL where every worker of the deployment keeps each shop's "
        "Shopify cost budget, so N workers on one shop are throttled no more than one; it "
        "may be the Celery broker's Redis (keys are prefixed). Unset: each process paces "
        "itself, which is right for one process per shop.",
    )
    braze_requests_per_window: int = Field(
        default=3000,
        ge=1,
        description="Braze `/users/track` requests allowed per `BRAZE_WINDOW_SECONDS` for "
        "the whole deployment (Braze's default: 3,000 per 3 s per workspace).",
    )
    braze_window_seconds: float = Field(
        default=3.0, gt=0, description="The Braze rate limit's window, in seconds."
    )
    braze_concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Braze requests one process keeps in flight; a worker killed mid-flight "
        "leaves at most 2x this many requests of unknown fate (see docs/braze.md).",
    )
    braze_rate_redis_url: str | None = Field(
        default=None,
        description="Redis URL where every worker counts Braze requests against one limit; "
        "unset: `PACING_REDIS_URL` if set, else each process counts its own.",
    )
    live_apply_in_page: bool = Field(
        default=True,
        description="Apply recorded webhook deliveries in the partner page's background; "
        "false: the page only verifies and records them, and `shopify-backfill live "
        "process` (cron or a worker) applies them.",
    )
    login_limits_per_account: str = Field(
        default="5/minute;20/hour;100/day",
        description="Login attempts allowed per email address, tier by tier (limits "
        "notation); over one, the login is refused until its oldest attempt ages out.",
    )
    login_limits_per_address: str = Field(
        default="20/minute;100/hour;500/day",
        description="Login attempts allowed per client address (looser: offices share one).",
    )
    api_key_limits_per_address: str = Field(
        default="20/minute;100/hour;500/day",
        description="Failed API-key authentications allowed per client address.",
    )
    mail_attempts: int = Field(default=3, ge=1, le=10, description="Tries per email.")
    mail_backoff_seconds: float = Field(
        default=1.0, ge=0, le=300, description="Wait before the 2nd try; doubles each time."
    )

    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65_535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the connection with STARTTLS (port 587)."
    )
    smtp_tls: bool = Field(default=False, description="Implicit TLS from the start (port 465).")
    smtp_ca_file: Path | None = Field(
        default=None,
        description="PEM bundle to verify the SMTP server with, for a private CA; "
        "default: the system's trusted certificates.",
    )
    mail_from: str = "backfill@localhost"

    @model_validator(mode="after")
    def _smtp_security(self) -> Settings:
        """Refuse settings that would send the SMTP password where it can be read."""
        if self.smtp_starttls and self.smtp_tls:
            msg = (
                "set one of SHOPIFY_BACKFILL_SMTP_STARTTLS (port 587) or "
                "SHOPIFY_BACKFILL_SMTP_TLS (port 465), not both"
            )
            raise ValueError(msg)
        if self.smtp_ca_file is not None and not self.smtp_ca_file.is_file():
            msg = (
                f"SHOPIFY_BACKFILL_SMTP_CA_FILE {self.smtp_ca_file} is not a file; "
                "point it at a PEM bundle"
            )
            raise ValueError(msg)
        secured = self.smtp_starttls or self.smtp_tls
        loopback = self.smtp_host in ("127.0.0.1", "::1", "localhost")
        if self.smtp_password is not None and not secured and not loopback:
            msg = (
                f"an SMTP password for {self.smtp_host} would travel unencrypted; "
                "set SHOPIFY_BACKFILL_SMTP_STARTTLS=true (port 587) or "
                "SHOPIFY_BACKFILL_SMTP_TLS=true (port 465)"
            )
            raise ValueError(msg)
        return self

    @field_validator("auth_throttle_url", "pacing_redis_url", "braze_rate_redis_url")
    @classmethod
    def _redis_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "redis+unix://")):
            msg = f"{info.field_name} must be a redis://, rediss:// or redis+unix:// URL"
            raise ValueError(msg)
        return value

    @field_validator(
        "login_limits_per_account", "login_limits_per_address", "api_key_limits_per_address"
    )
    @classmethod
    def _limit_tiers(cls, value: str) -> str:
        try:
            tiers = parse_many(value)
        except ValueError:
            tiers = []
        if not tiers or any(tier.amount < 1 for tier in tiers):
            msg = "write the limits as 'COUNT/PERIOD' tiers separated by ';', e.g. 5/minute;20/hour"
            raise ValueError(msg)
        return value

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            msg = "database_url must be a sqlite:// or postgresql+psycopg:// URL"
            raise ValueError(msg)
        return value

    def resolved_database_url(self) -> str:
        """The profile store URL, defaulting to a WAL SQLite file under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'backfill.db').resolve()}"

    def schema_path(self) -> Path:
        """Path of the real Admin GraphQL schema: the packaged copy unless overridden."""
        if self.shopify_material_dir is None:
            packaged = resources.files("shopify_backfill.material") / SCHEMA_FILE
            if not packaged.is_file():
                raise ConfigError(
                    f"the packaged Shopify schema ({SCHEMA_FILE}) is missing from this "
                    f"installation; reinstall shopify-backfill or set {_MATERIAL_ENV_HINT} "
                    "to a folder that holds it"
                )
            return Path(str(packaged))
        path = self.shopify_material_dir / SCHEMA_FILE
        if not path.is_file():
            raise ConfigError(f"{path} does not exist; set {_MATERIAL_ENV_HINT} correctly")
        return path

    def cache_dir(self) -> Path:
        """Derived-file cache (for example the parsed schema); safe to delete."""
        return self.data_dir / "cache"


_SECRET_WORDS = ("password", "secret", "token", "key")

ENV_PREFIX = "SHOPIFY_BACKFILL_"
OTHER_ENV_NAMES = frozenset({"SHOPIFY_BACKFILL_SHOP_TOKEN"})
"""Variables read by a command option rather than by ``Settings``."""


def unknown_env_names(environ: Mapping[str, str]) -> list[str]:
    """A warning per ``SHOPIFY_BACKFILL_*`` variable no setting reads, with the likely name.

    ``Settings`` ignores unknown variables, so a misspelt ``..._DATABSE_URL`` would
    silently run on the SQLite default; the CLI prints these before it does anything.
    """
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields} | OTHER_ENV_NAMES
    warnings = []
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX) or name.upper() in known:
            continue
        close = difflib.get_close_matches(name.upper(), sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        warnings.append(f"{name} is not a setting and is ignored{hint}")
    return warnings


def describe_settings_error(error: ValidationError) -> str:
    """One line per invalid setting, named as the environment spells it; secrets not echoed."""
    lines = ["invalid settings:"]
    for problem in error.errors():
        location = "_".join(str(part) for part in problem["loc"])
        name = f"SHOPIFY_BACKFILL_{location.upper()}" if location else "settings"
        message = problem["msg"].removeprefix("Value error, ")
        shown = ""
        if location and not any(word in location for word in _SECRET_WORDS):
            value = problem.get("input")
            if isinstance(value, str | int | float | bool):
                shown = f" (got {value!r})"
        lines.append(f"  {name}: {message}{shown}")
    return "\n".join(lines)
