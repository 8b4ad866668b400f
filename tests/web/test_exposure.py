"""``serve`` refuses public secrets on a public URL (hardening defect 5)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from shopify_backfill.config import Settings
from shopify_backfill.errors import ConfigError
from shopify_backfill.web.exposure import is_loopback, refuse_public_defaults

GOOD_APP_SECRET = "shpss_" + "a" * 32
GOOD_SESSION = "s" * 48


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://localhost:8000", True),
        ("http://[::1]:8000", True),
        ("https://127.5.0.1", True),
        ("https://partners.example.com", False),
        ("http://10.0.0.5:8000", False),
        ("https://localhost.example.com", False),
    ],
)
def test_loopback_is_only_this_machine(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


def test_local_defaults_are_kept_on_loopback(tmp_path: Path) -> None:
    refuse_public_defaults(settings(tmp_path))


def test_public_url_with_the_well_known_secret_is_refused(tmp_path: Path) -> None:
    public = settings(
        tmp_path,
        app_url="https://partners.example.com",
        session_secret=SecretStr(GOOD_SESSION),
    )
    with pytest.raises(ConfigError, match="SHOPIFY_BACKFILL_APP_SECRET") as caught:
        refuse_public_defaults(public)
    assert "SESSION_SECRET" not in str(caught.value)
    assert "emulator-app-secret" not in str(caught.value), "never echo a secret"


@pytest.mark.parametrize("session", [None, "short"])
def test_public_url_without_a_strong_session_secret_is_refused(
    tmp_path: Path, session: str | None
) -> None:
    public = settings(
        tmp_path,
        app_url="https://partners.example.com",
        app_secret=SecretStr(GOOD_APP_SECRET),
        session_secret=SecretStr(session) if session else None,
    )
    with pytest.raises(ConfigError, match="SHOPIFY_BACKFILL_SESSION_SECRET") as caught:
        refuse_public_defaults(public)
    assert "token_urlsafe" in str(caught.value)


def test_public_url_with_real_secrets_is_served(tmp_path: Path) -> None:
    refuse_public_defaults(
        settings(
            tmp_path,
            app_url="https://partners.example.com",
            app_secret=SecretStr(GOOD_APP_SECRET),
            session_secret=SecretStr(GOOD_SESSION),
        )
    )


def test_serve_exits_78_with_one_line_before_listening(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_BACKFILL_")}
    env["SHOPIFY_BACKFILL_DATA_DIR"] = str(tmp_path)
    env["SHOPIFY_BACKFILL_APP_URL"] = "https://partners.example.com"
    result = subprocess.run(
        [sys.executable, "-m", "shopify_backfill", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 78, result.stderr
    assert "refusing to serve" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "backfill.db").exists(), "refused before touching the store"
