"""https as Shopify clients expect it: a verified certificate for SHOP.myshopify.com.

Shopify's Admin API is only reachable over https at the shop's own host name,
``https://{shop}.myshopify.com/admin/api/{version}/graphql.json``
(https://shopify.dev/docs/api/admin-graphql#endpoints), and clients verify the
certificate. These tests serve the emulator with a real uvicorn https server and a
certificate from ``shopify_emulator.tls``: a client trusting only the generated CA and
connecting with SNI/Host ``SHOP.myshopify.com`` (resolved to 127.0.0.1) gets shop data;
a client without the CA, or asking for another host name, fails verification.
"""

from __future__ import annotations

import re
import socket
import ssl
import stat
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from emulator.serve_process import serve_process, until_listening
from emulator_fixtures import EmulatorHandle, serve_on_port
from shopify_emulator.tls import issue_server_certificate

pytest_plugins = ["emulator_fixtures"]

SHOP_QUERY = {"query": "{ shop { id myshopifyDomain } }"}


def post_by_name(
    client: httpx.Client, port: int, shop: str, path: str, token: str, **kwargs: Any
) -> httpx.Response:
    """POST to ``https://shop:port`` with the TCP connection going to 127.0.0.1.

    What ``127.0.0.1 shop`` in ``/etc/hosts`` does: SNI, certificate check and ``Host``
    all name the shop, only the address differs.
    """
    return client.post(
        f"https://127.0.0.1:{port}{path}",
        headers={"Host": f"{shop}:{port}", "X-Shopify-Access-Token": token},
        extensions={"sni_hostname": shop},
        **kwargs,
    )


def test_client_trusting_the_ca_gets_shop_data_by_the_shops_name(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    certificate = issue_server_certificate(emulator.shop_domain, tmp_path / "tls")
    path = emulator.graphql_path
    with serve_on_port(
        emulator.app, ssl_certfile=certificate.cert_file, ssl_keyfile=certificate.key_file
    ) as base:
        assert base.startswith("https://127.0.0.1:")
        port = urlsplit(base).port
        assert port is not None
        trusting = ssl.create_default_context(cafile=str(certificate.ca_file))
        with httpx.Client(verify=trusting) as client:
            response = post_by_name(
                client, port, emulator.shop_domain, path, emulator.token, json=SHOP_QUERY
            )
            local = client.post(
                f"https://localhost:{port}{path}",
                headers={"X-Shopify-Access-Token": emulator.token},
                json=SHOP_QUERY,
            )
        # A fresh client: a pooled connection to 127.0.0.1:port would skip the handshake.
        with (
            httpx.Client(verify=trusting) as client,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            post_by_name(client, port, "other.myshopify.com", path, emulator.token, json=SHOP_QUERY)
        with (
            httpx.Client() as untrusting,
            pytest.raises(  # the default store: no emulator CA
                httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"
            ),
        ):
            post_by_name(
                untrusting, port, emulator.shop_domain, path, emulator.token, json=SHOP_QUERY
            )
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            trusting.wrap_socket(raw, server_hostname=emulator.shop_domain) as tls,
        ):
            names = tls.getpeercert()["subjectAltName"]
    assert response.status_code == 200
    shop = response.json()["data"]["shop"]
    assert shop["id"].startswith("gid://shopify/Shop/")
    assert shop["myshopifyDomain"] == emulator.shop_domain
    assert response.headers["x-shopify-api-version"] == emulator.api_version
    assert local.status_code == 200
    assert set(names) >= {
        ("DNS", emulator.shop_domain),
        ("DNS", "localhost"),
        ("IP Address", "127.0.0.1"),
    }


def test_the_ca_is_kept_and_keys_are_private(tmp_path: Path) -> None:
    """Trusting the CA is a one-time step: a second start reuses it, with a new leaf."""
    first = issue_server_certificate("a-shop.myshopify.com", tmp_path)
    ca_bytes, leaf_bytes = first.ca_file.read_bytes(), first.cert_file.read_bytes()
    second = issue_server_certificate("b-shop.myshopify.com", tmp_path)
    assert second.ca_file.read_bytes() == ca_bytes
    assert second.cert_file.read_bytes() != leaf_bytes
    assert second.hosts == ("b-shop.myshopify.com", "localhost", "127.0.0.1")
    for key in (second.key_file, tmp_path / "emulator-ca.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_serve_tls_prints_the_steps_and_serves_https(tmp_path: Path) -> None:
    """``emulator serve --tls``: the printed CA file, hosts line and https base work."""
    with serve_process(
        "--tls",
        "--tls-dir",
        str(tmp_path / "tls"),
        "--customers",
        "3",
        "--orders",
        "5",
        "--now",
        "2026-12-06T12:00:00Z",
        env={"SHOPIFY_BACKFILL_DATA_DIR": str(tmp_path)},
    ) as served:
        port, token, text = served.port, served.token, served.text
        shop = "emulator-shop.myshopify.com"
        ca_file = Path(re.search(r"TLS CA file:\s+(\S+)", text).group(1))  # type: ignore[union-attr]
        assert f"SSL_CERT_FILE={ca_file}" in text
        assert f"127.0.0.1 {shop}" in text
        assert f"admin API base: https://{shop}:{port}/admin/api/2026-07/" in text
        trusting = ssl.create_default_context(cafile=str(ca_file))
        with httpx.Client(verify=trusting) as client:
            response = until_listening(
                lambda: post_by_name(
                    client,
                    port,
                    shop,
                    "/admin/api/2026-10/graphql.json",
                    token,
                    json={"query": "{ ordersCount(limit: null) { count } }"},
                )
            )
    assert response.json()["data"]["ordersCount"]["count"] == 5
    # The store is dated 2026-12-06: 2026-10 is its newest stable version.
    assert response.headers["x-shopify-api-version"] == "2026-10"
