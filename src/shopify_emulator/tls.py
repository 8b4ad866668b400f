"""A local certificate authority and server certificate for serving the emulator over https.

Clients written for Shopify talk to ``https://SHOP.myshopify.com`` and verify the
certificate; pointing them at ``http://127.0.0.1:8765`` changes the code path under test
(scheme, host, SNI, verification). ``serve --tls`` therefore serves https with a
certificate for the store's ``SHOP.myshopify.com`` (plus ``localhost`` and
``127.0.0.1``) issued by a private CA from ``trustme``; a client then needs exactly two
local changes: trust the CA file (``SSL_CERT_FILE=ca.pem`` for Python/httpx,
``NODE_EXTRA_CA_CERTS`` for Node, ``curl --cacert``) and resolve the shop's host name to
the emulator (``127.0.0.1 SHOP.myshopify.com`` in ``/etc/hosts``).

The CA (certificate and key) is kept in the given directory and reused, so trusting it
is a one-time step; the server certificate is issued afresh on each start for the
current shop domain. Private keys are written readable by the owner only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme

DEFAULT_HOSTS = ("localhost", "127.0.0.1")
CA_FILE = "emulator-ca.pem"
CA_KEY_FILE = "emulator-ca.key"
CERT_FILE = "server.pem"
KEY_FILE = "server.key"
ORGANIZATION = "shopify-backfill emulator"


@dataclass(frozen=True)
class ServerCertificate:
    """Files of one issued server certificate, and the names it is valid for."""

    ca_file: Path
    """The CA certificate (PEM) clients must trust."""
    cert_file: Path
    """Server certificate chain (PEM), for ``uvicorn --ssl-certfile``."""
    key_file: Path
    """Server private key (PEM), for ``uvicorn --ssl-keyfile``."""
    hosts: tuple[str, ...]


def hosts_line(shop_domain: str, address: str = "127.0.0.1") -> str:
    """The ``/etc/hosts`` line that sends the shop's host name to the emulator."""
    return f"{address} {shop_domain}"


def _private(path: Path, data: bytes) -> None:
    path.write_bytes(b"")
    path.chmod(0o600)
    path.write_bytes(data)


def _certificate_authority(directory: Path) -> trustme.CA:
    cert, key = directory / CA_FILE, directory / CA_KEY_FILE
    if cert.is_file() and key.is_file():
        return trustme.CA.from_pem(cert.read_bytes(), key.read_bytes())
    authority = trustme.CA(organization_name=ORGANIZATION)
    _private(key, authority.private_key_pem.bytes())
    cert.write_bytes(authority.cert_pem.bytes())
    return authority


def issue_server_certificate(
    shop_domain: str, directory: Path, extra_hosts: tuple[str, ...] = ()
) -> ServerCertificate:
    """Issue a certificate for ``shop_domain``, localhost and 127.0.0.1 (and ``extra_hosts``).

    Reuses the CA kept in ``directory`` (creating it on first use).
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    authority = _certificate_authority(directory)
    hosts = tuple(dict.fromkeys((shop_domain, *DEFAULT_HOSTS, *extra_hosts)))
    leaf = authority.issue_cert(*hosts, common_name=shop_domain, organization_name=ORGANIZATION)
    cert_file, key_file = directory / CERT_FILE, directory / KEY_FILE
    cert_file.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    _private(key_file, leaf.private_key_pem.bytes())
    return ServerCertificate(
        ca_file=directory / CA_FILE, cert_file=cert_file, key_file=key_file, hosts=hosts
    )
