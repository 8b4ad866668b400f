"""OAuth install: consent redirect with Shopify's HMAC, code exchange, granted scopes."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import httpx
from graphql import GraphQLSchema

from emulator_fixtures import EmulatorHandle, fixture_config, start_emulator
from shopify_emulator.oauth import shopify_hmac, verify_hmac

pytest_plugins = ["emulator_fixtures"]

CALLBACK = "https://partner.example.com/shopify/callback"
SECRET = "emulator-app-secret"


def authorize(handle: EmulatorHandle, scope: str, **extra: str) -> httpx.Response:
    params = {
        "client_id": "shopify-backfill-app",
        "scope": scope,
        "redirect_uri": CALLBACK,
        "state": "nonce-123",
        "grant_options[]": "",
        **extra,
    }
    with handle.client() as client:
        return client.get("/admin/oauth/authorize", params=params)


def exchange(
    handle: EmulatorHandle, code: str, secret: str = SECRET, json: bool = False
) -> httpx.Response:
    data = {"client_id": "shopify-backfill-app", "client_secret": secret, "code": code}
    with handle.client() as client:
        if json:
            return client.post("/admin/oauth/access_token", json=data)
        return client.post("/admin/oauth/access_token", data=data)


def test_hmac_algorithm_matches_shopify_documentation_example() -> None:
    params = {
        "code": "0907a61c0c8d55e99db179b68161bc00",
        "hmac": "ignored",
        "shop": "some-shop.myshopify.com",
        "state": "0.6784241404160823",
        "timestamp": "1337178173",
    }
    message = (
        "code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com"
        "&state=0.6784241404160823&timestamp=1337178173"
    )
    import hashlib
    import hmac

    assert (
        shopify_hmac(params, "hush")
        == hmac.new(b"hush", message.encode(), hashlib.sha256).hexdigest()
    )


def test_install_redirects_with_valid_hmac_and_token_works(emulator: EmulatorHandle) -> None:
    response = authorize(emulator, "read_customers,read_orders,read_all_orders")
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(CALLBACK + "?")
    params = dict(parse_qsl(urlsplit(location).query))
    assert set(params) == {"code", "hmac", "host", "shop", "state", "timestamp"}
    assert params["shop"] == emulator.shop_domain
    assert params["state"] == "nonce-123"
    assert verify_hmac(params, SECRET)
    assert not verify_hmac({**params, "shop": "evil.myshopify.com"}, SECRET)
    token = exchange(emulator, params["code"])
    assert token.status_code == 200
    body = token.json()
    assert body["access_token"].startswith("shpat_")
    assert body["scope"] == "read_customers,read_orders,read_all_orders"
    with emulator.client(body["access_token"]) as client:
        scopes = client.get("/admin/oauth/access_scopes.json").json()
    assert scopes == {
        "access_scopes": [
            {"handle": "read_customers"},
            {"handle": "read_orders"},
            {"handle": "read_all_orders"},
        ]
    }
    assert emulator.graphql("{ shop { id } }", token=body["access_token"]).status_code == 200


def test_codes_are_single_use_and_secret_is_checked(emulator: EmulatorHandle) -> None:
    code = dict(parse_qsl(urlsplit(authorize(emulator, "read_orders").headers["location"]).query))[
        "code"
    ]
    wrong = exchange(emulator, code, secret="tampered")
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert exchange(emulator, code, json=True).status_code == 200
    again = exchange(emulator, code)
    assert again.status_code == 400
    assert "already used" in again.json()["error_description"]


def test_expired_code_is_refused(admin_schema: GraphQLSchema) -> None:
    with start_emulator(
        admin_schema, customers=2, orders=2, config=fixture_config(oauth_code_ttl_seconds=1)
    ) as handle:
        location = authorize(handle, "read_orders").headers["location"]
        code = dict(parse_qsl(urlsplit(location).query))["code"]
        handle.runtime.tokens._wall_clock = lambda: 10**12
        refused = exchange(handle, code)
    assert refused.status_code == 400
    assert "expired" in refused.json()["error_description"]


def test_store_without_read_all_orders_grants_less(admin_schema: GraphQLSchema) -> None:
    config = fixture_config(grantable_scopes=("read_customers", "read_orders"))
    with start_emulator(admin_schema, customers=2, orders=2, config=config) as handle:
        location = authorize(handle, "read_customers,read_orders,read_all_orders").headers[
            "location"
        ]
        body = exchange(handle, dict(parse_qsl(urlsplit(location).query))["code"]).json()
    assert body["scope"] == "read_customers,read_orders"


def test_bad_client_or_redirect_is_refused(admin_schema: GraphQLSchema) -> None:
    config = fixture_config(allowed_redirect_uris=("https://partner.example.com/",))
    with start_emulator(admin_schema, customers=2, orders=2, config=config) as handle:
        wrong_client = authorize(handle, "read_orders", client_id="other-app")
        wrong_redirect = authorize(handle, "read_orders", redirect_uri="https://evil.example/cb")
        relative = authorize(handle, "read_orders", redirect_uri="/cb")
        with handle.client() as client:
            no_token = client.get(
                "/admin/oauth/access_scopes.json", headers={"X-Shopify-Access-Token": "x"}
            )
    assert wrong_client.status_code == 400 and "client_id" in wrong_client.text
    assert wrong_redirect.status_code == 400 and "not whitelisted" in wrong_redirect.text
    assert relative.status_code == 400
    assert no_token.status_code == 401


def test_follow_redirects_reaches_the_callback(emulator: EmulatorHandle) -> None:
    def callback(request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(request.url.query.decode()))
        return httpx.Response(200, json={"verified": verify_hmac(params, SECRET)})

    class Router(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.host == "partner.example.com":
                return callback(request)
            return emulator.transport.handle_request(request)

    with httpx.Client(
        transport=Router(), base_url=emulator.base_url, follow_redirects=True
    ) as client:
        response = client.get(
            "/admin/oauth/authorize",
            params={
                "client_id": "shopify-backfill-app",
                "scope": "read_orders",
                "redirect_uri": CALLBACK,
                "state": "s",
            },
        )
    assert response.json() == {"verified": True}


def test_install_grants_any_known_scope_it_asks_for(admin_schema: GraphQLSchema) -> None:
    """Shopify grants the scopes an install requests, beyond what this product needs.

    https://shopify.dev/docs/api/usage/access-scopes lists the authenticated scopes;
    an app asking for ``read_inventory`` or ``read_draft_orders`` gets them on install.
    """
    asked = "read_inventory,read_locations,read_draft_orders,write_products"
    with start_emulator(admin_schema, customers=2, orders=2) as handle:
        location = authorize(handle, asked).headers["location"]
        body = exchange(handle, dict(parse_qsl(urlsplit(location).query))["code"]).json()
        with handle.client() as client:
            handles = client.get(
                "/admin/oauth/access_scopes.json",
                headers={"X-Shopify-Access-Token": body["access_token"]},
            ).json()["access_scopes"]
    assert body["scope"] == asked
    assert [scope["handle"] for scope in handles] == asked.split(",")


def test_unknown_scope_is_refused_as_invalid_scope(admin_schema: GraphQLSchema) -> None:
    """Shopify answers an unknown scope with an ``invalid_scope`` OAuth error, no redirect."""
    with start_emulator(admin_schema, customers=2, orders=2) as handle:
        refused = authorize(handle, "read_orders,read_everything")
    assert refused.status_code == 400
    assert "location" not in refused.headers
    assert "Oauth error invalid_scope: The access scope is invalid: read_everything" in (
        refused.text
    )


def test_every_scope_the_schema_names_is_known() -> None:
    """The shipped 2026-07 schema's descriptions name scopes; each must be grantable."""
    import re

    from shopify_backfill.config import Settings
    from shopify_emulator.scopes import KNOWN_SCOPES, unknown_scopes

    text = Settings().schema_path().read_text(encoding="utf-8")
    named = sorted(set(re.findall(r"\b(?:read|write)_[a-z_]*[a-z]\b", text)))
    assert len(named) > 40
    assert unknown_scopes(named) == []
    assert {"read_orders", "read_all_orders", "read_customers"} <= set(KNOWN_SCOPES)


def test_config_refuses_unknown_scope_names() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="'read_everything' is not a Shopify access scope"):
        fixture_config(seed_token_scopes=("read_orders", "read_everything"))
