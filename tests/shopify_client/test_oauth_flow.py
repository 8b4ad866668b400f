"""OAuth against the emulator: the full flow, each rejected tampering, re-authorization."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from shopify_backfill.config import REQUIRED_SCOPES, Settings
from shopify_backfill.profiles.connections import TokenCipher, load_connection, save_connection
from shopify_backfill.profiles.db import create_engine, upgrade
from shopify_backfill.profiles.workspaces import create_workspace
from shopify_backfill.shopify.errors import OAuthError
from shopify_backfill.shopify.oauth import (
    callback_hmac,
    exchange_code,
    install_url,
    new_state,
    verify_callback,
)
from shopify_backfill.shopify.preflight import run_preflight
from shopify_emulator.config import EmulatorConfig

from .conftest import BASE_URL, NOW, WINDOW_START, Emulator

REDIRECT = "https://partner.example/shopify/callback"
SECRET = Settings().app_secret
API_KEY = Settings().app_api_key
SHOP = "emulator-shop.myshopify.com"


def authorize(emulator: Emulator, scopes: tuple[str, ...], state: str) -> dict[str, str]:
    """Follow the install URL to the emulator's consent step; return the callback params."""
    url = install_url(
        shop=SHOP,
        api_key=API_KEY,
        redirect_uri=REDIRECT,
        state=state,
        scopes=scopes,
        authorize_base=BASE_URL,
    )
    with httpx.Client(transport=emulator.transport) as http:
        response = http.get(url)
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return dict(parse_qsl(location.query))


def connect(emulator: Emulator, scopes: tuple[str, ...]) -> tuple[SecretStr, tuple[str, ...]]:
    state = new_state()
    params = authorize(emulator, scopes, state)
    verified = verify_callback(params, secret=SECRET, expected_state=state)
    grant = exchange_code(
        shop=verified.shop,
        code=verified.code,
        api_key=API_KEY,
        secret=SECRET,
        api_url=BASE_URL,
        transport=emulator.transport,
    )
    return grant.access_token, grant.scopes


def test_full_flow_grants_a_working_token(make_emulator: Any) -> None:
    emulator = make_emulator(customers=20, orders=50, seed=1)
    token, scopes = connect(emulator, REQUIRED_SCOPES)
    assert set(REQUIRED_SCOPES) <= set(scopes)
    assert token.get_secret_value().startswith("shpat_")
    with emulator.client(token=token) as client:
        report = run_preflight(
            client,
            token=token,
            window_start=WINDOW_START,
            window_end=NOW,
            reauthorize_url="unused",
            transport=emulator.transport,
        )
    assert report.ok
    assert report.orders_in_window and report.orders_in_window > 0


def test_code_is_single_use(make_emulator: Any) -> None:
    emulator = make_emulator(customers=5, orders=5, seed=1)
    state = new_state()
    params = authorize(emulator, REQUIRED_SCOPES, state)
    verified = verify_callback(params, secret=SECRET, expected_state=state)
    kwargs: dict[str, Any] = {
        "shop": SHOP,
        "code": verified.code,
        "api_key": API_KEY,
        "secret": SECRET,
        "api_url": BASE_URL,
        "transport": emulator.transport,
    }
    exchange_code(**kwargs)
    with pytest.raises(OAuthError, match="refused"):
        exchange_code(**kwargs)


@pytest.fixture
def callback(make_emulator: Any) -> tuple[dict[str, str], str]:
    emulator = make_emulator(customers=5, orders=5, seed=1)
    state = new_state()
    return authorize(emulator, REQUIRED_SCOPES, state), state


def test_valid_callback_is_accepted(callback: tuple[dict[str, str], str]) -> None:
    params, state = callback
    assert verify_callback(params, secret=SECRET, expected_state=state).shop == SHOP


def test_tampered_hmac_is_rejected(callback: tuple[dict[str, str], str]) -> None:
    params, state = callback
    tampered = {**params, "code": params["code"] + "x"}
    with pytest.raises(OAuthError, match="signature"):
        verify_callback(tampered, secret=SECRET, expected_state=state)
    with pytest.raises(OAuthError, match="signature"):
        verify_callback(params, secret=SecretStr("another-app"), expected_state=state)


def test_stale_timestamp_is_rejected(callback: tuple[dict[str, str], str]) -> None:
    params, state = callback
    stale = {**params, "timestamp": str(int(params["timestamp"]) - 3_600)}
    stale["hmac"] = callback_hmac(stale, SECRET)
    with pytest.raises(OAuthError, match="stale"):
        verify_callback(stale, secret=SECRET, expected_state=state)


def test_wrong_state_is_rejected(callback: tuple[dict[str, str], str]) -> None:
    params, _ = callback
    with pytest.raises(OAuthError, match="state"):
        verify_callback(params, secret=SECRET, expected_state=new_state())
    with pytest.raises(OAuthError, match="state"):
        verify_callback(params, secret=SECRET, expected_state=None)


@pytest.mark.parametrize(
    "shop", ["evil.example.com", "shop.myshopify.com.evil.io", "-x.myshopify.com"]
)
def test_foreign_shop_domain_is_rejected(callback: tuple[dict[str, str], str], shop: str) -> None:
    params, state = callback
    forged = {**params, "shop": shop}
    forged["hmac"] = callback_hmac(forged, SECRET)
    with pytest.raises(OAuthError, match="shop domain"):
        verify_callback(forged, secret=SECRET, expected_state=state)


def test_missing_read_all_orders_needs_reauthorization(make_emulator: Any, tmp_path: Path) -> None:
    """An old install lacking read_all_orders is flagged; re-authorizing fixes it."""
    emulator = make_emulator(customers=30, orders=200, seed=4)
    token, scopes = connect(emulator, ("read_customers", "read_orders"))
    assert "read_all_orders" not in scopes

    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    upgrade(engine)
    cipher = TokenCipher.from_settings(Settings(data_dir=tmp_path))
    with engine.begin() as conn:
        workspace = create_workspace(conn, "w")
        save_connection(
            conn,
            cipher,
            workspace_id=workspace,
            shop_domain=SHOP,
            token=token,
            scopes=scopes,
            api_url=BASE_URL,
            api_version="2026-07",
            now=NOW,
        )

    def preflight() -> Any:
        with engine.begin() as conn:
            stored = load_connection(conn, cipher, workspace_id=workspace, shop_domain=SHOP)
        with stored.client(transport=emulator.transport, clock=emulator.clock) as client:
            return run_preflight(
                client,
                token=stored.token,
                window_start=WINDOW_START,
                window_end=NOW,
                reauthorize_url="https://reauth.example",
                transport=emulator.transport,
            )

    before = preflight()
    assert not before.ok
    assert before.missing_scopes == ("read_all_orders",)
    assert before.reauthorize_url == "https://reauth.example"

    token, scopes = connect(emulator, REQUIRED_SCOPES)
    with engine.begin() as conn:
        save_connection(
            conn,
            cipher,
            workspace_id=workspace,
            shop_domain=SHOP,
            token=token,
            scopes=scopes,
            api_url=BASE_URL,
            api_version="2026-07",
        )
        connected_at = conn.execute(sa.text("SELECT connected_at FROM shop_connections")).scalar()
    after = preflight()
    assert after.ok
    assert after.missing_scopes == ()
    assert (after.orders_in_window or 0) > (before.orders_in_window or 0)
    assert str(connected_at).startswith("2026-11-01"), "re-authorizing keeps connected_at"


def test_store_that_refuses_read_all_orders_stays_blocked(make_emulator: Any) -> None:
    config = EmulatorConfig(grantable_scopes=("read_customers", "read_orders"))
    emulator = make_emulator(customers=5, orders=20, seed=4, config=config)
    _, scopes = connect(emulator, REQUIRED_SCOPES)
    assert "read_all_orders" not in scopes


def test_tokens_are_encrypted_at_rest(tmp_path: Path) -> None:
    cipher = TokenCipher.from_settings(Settings(data_dir=tmp_path))
    blob = cipher.encrypt(SecretStr("shpat_secret_value"))
    assert b"shpat_secret_value" not in blob
    assert cipher.decrypt(blob).get_secret_value() == "shpat_secret_value"
    assert (tmp_path / "fernet.key").stat().st_mode & 0o777 == 0o600
