"""The only place that turns Settings into concrete adapters (engine, cipher, ...).

Interfaces (CLI, web, workers) call ``build_services`` once and pass the result down;
nothing else creates engines or reads key files, so tests can build isolated services
side by side. Below this layer nobody knows ``Services`` itself: the job takes the
``JobServices`` protocol it defines (settings, engine, cipher), and the lower layers take
the one part they use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy.engine import Engine, make_url

from shopify_backfill.config import Settings
from shopify_backfill.errors import ConfigError, InputError, Transient
from shopify_backfill.profiles.connections import TokenCipher
from shopify_backfill.profiles.db import create_engine, upgrade
from shopify_backfill.profiles.schema import workspaces
from shopify_backfill.profiles.workspaces import create_workspace

DEFAULT_WORKSPACE = "default"


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    cipher: TokenCipher

    def dispose(self) -> None:
        self.engine.dispose()


@dataclass(frozen=True)
class SettingNames:
    """How the person running the command spelt the two storage settings, for messages:
    the environment variables by default, the demo's options when it was given them."""

    data_dir: str = "SHOPIFY_BACKFILL_DATA_DIR"
    database_url: str = "SHOPIFY_BACKFILL_DATABASE_URL"


class StoreUnreachable(Transient):
    """The profile store's server did not answer; the same command may work later."""


def build_services(
    settings: Settings, *, read_only: bool = False, names: SettingNames | None = None
) -> Services:
    """Engine migrated to the latest schema, and the token cipher.

    ``read_only`` (``backfill status``) creates nothing: a data folder with no SQLite
    store yet means nothing is connected, and no key file is generated for it. Opening
    failures (unwritable folder, unreachable server, missing database) become one line
    naming the setting and the cause.
    """
    names = names or SettingNames()
    url = settings.resolved_database_url()
    if read_only:
        _refuse_missing_store(settings, url)
    else:
        _make_folder(settings.data_dir, names.data_dir)
    setting = (
        f"{names.database_url}={_shown(url)}"
        if settings.database_url
        else f"{names.data_dir}={settings.data_dir}"
    )
    try:
        engine = create_engine(url)
    except OSError as error:
        raise ConfigError(
            f"cannot create the profile store of {setting}: {_cause(error)}; give a writable folder"
        ) from None
    try:
        upgrade(engine)
    except sa.exc.OperationalError as error:
        engine.dispose()
        raise _open_error(setting, url, error) from None
    return Services(settings=settings, engine=engine, cipher=_cipher(settings, read_only))


def _cipher(settings: Settings, read_only: bool) -> TokenCipher:
    key_file = settings.data_dir / "fernet.key"
    if read_only and settings.fernet_key is None and not key_file.exists():
        # Reading status decrypts nothing; a throwaway key avoids creating the key file.
        return TokenCipher(SecretStr(Fernet.generate_key().decode()))
    try:
        return TokenCipher.from_settings(settings)
    except OSError as error:
        raise ConfigError(
            f"cannot write the token key file {key_file}: {_cause(error)}; "
            "give a writable SHOPIFY_BACKFILL_DATA_DIR or set SHOPIFY_BACKFILL_FERNET_KEY"
        ) from None


def _refuse_missing_store(settings: Settings, url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return
    if parsed.database != ":memory:" and not Path(parsed.database).exists():
        raise InputError(
            f"no profile store in {settings.data_dir} yet, so no store is connected; connect "
            "one with `shopify-backfill connect --shop STORE.myshopify.com --token shpat_...` "
            "(or `--oauth`), or point SHOPIFY_BACKFILL_DATA_DIR at the folder that holds it"
        )


def _make_folder(folder: Path, name: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(
            f"{name}={folder} cannot be created: {_cause(error)}; give a writable folder"
        ) from None


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _cause(error: OSError) -> str:
    if isinstance(error, FileExistsError | NotADirectoryError):
        return f"a part of {error.filename} is a file, not a folder"
    return error.strerror or str(error)


def _open_error(setting: str, url: str, error: sa.exc.OperationalError) -> Exception:
    """The driver's first line, without SQLAlchemy's background link."""
    detail = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
    detail = detail.removeprefix("connection failed: ")
    if make_url(url).get_backend_name() == "sqlite":
        return ConfigError(
            f"cannot open the profile store of {setting}: {detail}; give a writable folder"
        )
    lowered = detail.lower()
    if "does not exist" in lowered or "authentication" in lowered or "password" in lowered:
        return ConfigError(
            f"cannot open the profile store {setting}: {detail}; create the database or fix the URL"
        )
    return StoreUnreachable(
        f"cannot reach the profile store {setting}: {detail}; start PostgreSQL there or fix "
        "the URL, then run the command again"
    )


def workspace_id_by_name(conn: sa.Connection, name: str, *, create: bool = True) -> int:
    """The id of the (oldest) workspace called ``name``; the CLI works in one by name."""
    found = conn.execute(
        sa.select(workspaces.c.id).where(workspaces.c.name == name).order_by(workspaces.c.id)
    ).first()
    if found is not None:
        return int(found[0])
    if not create:
        raise InputError(
            f"no workspace named {name!r}: no store is connected to it yet; connect one with "
            f"`shopify-backfill connect --shop STORE.myshopify.com --token shpat_...` (or "
            f"`--oauth`), adding `--workspace {name!r}` for a workspace other than the default"
        )
    return create_workspace(conn, name)
