"""Password hashing for dashboard users: scrypt with a per-user random salt.

scrypt is in the standard library and memory-hard, so a leaked table costs an attacker
real hardware per guess. The parameters travel inside the stored string, so they can be
raised later without invalidating existing passwords.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
MIN_LENGTH = 10
MAX_LENGTH = 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=2**26
    )


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or ``None`` when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"the password must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password must have at most {MAX_LENGTH} characters"
    return None


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$key`` with a fresh salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, N, R, P)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time comparison of ``password`` against a stored hash."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != SCHEME:
            return False
        derived = _derive(password[:MAX_LENGTH], _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(derived, _unb64(key))


DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
"""Checked against when the email is unknown, so a login takes as long either way and
does not reveal which addresses have accounts."""
