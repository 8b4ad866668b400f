"""SMTP over TLS against a real aiosmtpd server: STARTTLS, implicit TLS, verification.

The server's certificate is self-signed, made for 127.0.0.1 at test time: trusted only
through ``smtp_ca_file``, which is how a private mail relay is configured; without it the
mailer must refuse to talk (``smtplib`` alone would not check the certificate at all).
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from shopify_backfill.backfill.notify import SmtpMailer
from shopify_backfill.config import Settings, describe_settings_error

PASSWORD = "tls-only-password"


class TlsInbox:
    """Keeps each accepted message with whether its session was encrypted."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bool]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.received.append((list(envelope.rcpt_tos), encrypted))
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
    ok = isinstance(auth, LoginPassword) and auth.password == PASSWORD.encode()
    return AuthResult(success=ok)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(IPv4Address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.pem", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@contextmanager
def _smtp_server(**options: Any) -> Iterator[tuple[TlsInbox, int]]:
    inbox, port = TlsInbox(), _free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=_authenticator, **options
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[TlsInbox, int]]:
    """Plain port that requires STARTTLS before anything, and TLS before AUTH."""
    with _smtp_server(
        tls_context=_server_context(certificate), require_starttls=True, auth_require_tls=True
    ) as server:
        yield server


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "backfill@platform.example"
    message["To"] = "merchant@example.com"
    message["Subject"] = "Shopify backfill completed"
    message.set_content("done")
    return message


def _settings(port: int, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_username": "backfill",
        "smtp_password": PASSWORD,
        **overrides,
    }
    return Settings(**values)


def test_starttls_with_the_servers_ca_delivers_encrypted(
    starttls_server: tuple[TlsInbox, int], certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    inbox, port = starttls_server
    mailer = SmtpMailer(_settings(port, tmp_path, smtp_starttls=True, smtp_ca_file=certificate[0]))
    where = mailer.send(_message())
    assert where == f"smtp+starttls://127.0.0.1:{port}"
    assert inbox.received == [(["merchant@example.com"], True)]


def test_an_unverified_certificate_is_refused_before_the_password_is_sent(
    starttls_server: tuple[TlsInbox, int], tmp_path: Path
) -> None:
    inbox, port = starttls_server
    mailer = SmtpMailer(_settings(port, tmp_path, smtp_starttls=True))
    with pytest.raises(ssl.SSLCertVerificationError):
        mailer.send(_message())
    assert inbox.received == []


def test_without_starttls_the_server_refuses_and_nothing_is_delivered(
    starttls_server: tuple[TlsInbox, int], tmp_path: Path
) -> None:
    inbox, port = starttls_server
    mailer = SmtpMailer(_settings(port, tmp_path))
    with pytest.raises(smtplib.SMTPException):
        mailer.send(_message())
    assert inbox.received == []


def test_implicit_tls_delivers_encrypted(certificate: tuple[Path, Path], tmp_path: Path) -> None:
    # aiosmtpd only counts STARTTLS as TLS for AUTH; this port is TLS from the start (the
    # handler checks the transport's TLS state).
    with _smtp_server(ssl_context=_server_context(certificate), auth_require_tls=False) as (
        inbox,
        port,
    ):
        settings = _settings(port, tmp_path, smtp_tls=True, smtp_ca_file=certificate[0])
        assert SmtpMailer(settings).send(_message()) == f"smtps://127.0.0.1:{port}"
    assert inbox.received == [(["merchant@example.com"], True)]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"smtp_host": "mail.example.com", "smtp_password": PASSWORD},
            "would travel unencrypted",
        ),
        ({"smtp_starttls": True, "smtp_tls": True}, "not both"),
        ({"smtp_ca_file": "/nonexistent/ca.pem"}, "is not a file"),
    ],
)
def test_unsafe_or_broken_smtp_settings_are_refused(
    overrides: dict[str, Any], expected: str, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(data_dir=tmp_path, **overrides)
    text = describe_settings_error(caught.value)
    assert expected in text
    assert PASSWORD not in text


def test_the_cli_names_the_bad_setting_and_never_echoes_a_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_BACKFILL_")}
    env.update(
        SHOPIFY_BACKFILL_DATA_DIR=str(tmp_path),
        SHOPIFY_BACKFILL_SMTP_PORT="0",
        SHOPIFY_BACKFILL_SMTP_HOST="mail.example.com",
        SHOPIFY_BACKFILL_SMTP_PASSWORD=PASSWORD,
    )
    command = [sys.executable, "-m", "shopify_backfill", "backfill", "status", "--shop", "a.b"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 78, done.stderr
    assert "Traceback" not in done.stderr
    assert "SHOPIFY_BACKFILL_SMTP_PORT: Input should be greater than or equal to 1" in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
