"""Signing keys, random tokens and CSRF tokens for the partner page.

One secret (``SHOPIFY_BACKFILL_SESSION_SECRET``, or a key generated once into the data
folder) signs the session cookie and derives each session's CSRF token, so a forged
cookie or a token lifted from another session is refused without a database lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from pydantic import SecretStr

from shopify_backfill.config import Settings

SESSION_SALT = "shopify-backfill.session"
LOGIN_SALT = "shopify-backfill.login-csrf"


def session_secret(settings: Settings) -> SecretStr:
    """The configured secret, or one generated once into ``data_dir`` (mode 0600)."""
    if settings.session_secret is not None:
        return settings.session_secret
    path = settings.data_dir / "session.key"
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(48).encode("ascii"))
    return SecretStr(path.read_text(encoding="ascii").strip())


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process wrote it first; read theirs
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def new_token() -> str:
    """A 256-bit random value, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What is stored for a session token, API key or nonce: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Signer:
    """Signs cookie values and derives CSRF tokens from one secret."""

    def __init__(self, secret: SecretStr) -> None:
        self._secret = secret.get_secret_value().encode("utf-8")
        self._session = TimestampSigner(self._secret, salt=SESSION_SALT)
        self._login = TimestampSigner(self._secret, salt=LOGIN_SALT)

    def sign_session(self, token: str) -> str:
        return self._session.sign(token).decode("ascii")

    def unsign_session(self, value: str, max_age: int) -> str | None:
        try:
            return self._session.unsign(value, max_age=max_age).decode("ascii")
        except (BadSignature, SignatureExpired, UnicodeDecodeError):
            return None

    def csrf_for(self, session_token: str) -> str:
        """The CSRF token of one session: an HMAC of its token, useless in any other."""
        return hmac.new(self._secret, b"csrf|" + session_token.encode(), "sha256").hexdigest()

    def check_csrf(self, session_token: str, supplied: str | None) -> bool:
        if not supplied:
            return False
        return hmac.compare_digest(self.csrf_for(session_token), supplied)

    def sign_login(self, nonce: str) -> str:
        return self._login.sign(nonce).decode("ascii")

    def unsign_login(self, value: str, max_age: int) -> str | None:
        try:
            return self._login.unsign(value, max_age=max_age).decode("ascii")
        except (BadSignature, SignatureExpired, UnicodeDecodeError):
            return None
