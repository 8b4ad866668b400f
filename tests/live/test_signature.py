"""Shopify's webhook signature: base64 HMAC-SHA256 of the raw body with the app secret."""

from __future__ import annotations

import base64
import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from shopify_backfill.live.signature import sign, verify

SECRET = b"app-secret"


def test_the_signature_is_the_base64_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"id":820982911946154508}'
    expected = base64.b64encode(hmac.new(SECRET, body, hashlib.sha256).digest()).decode()
    assert sign(SECRET, body) == expected
    assert verify(SECRET, body, expected)
    assert verify(SECRET, body, f"  {expected}\n"), "header whitespace is not the signature"


@given(st.binary(max_size=200), st.integers(min_value=0, max_value=199))
def test_any_changed_byte_or_other_secret_fails(body: bytes, index: int) -> None:
    header = sign(SECRET, body)
    assert not verify(b"other-secret", body, header)
    if body:
        at = index % len(body)
        changed = body[:at] + bytes([body[at] ^ 1]) + body[at + 1 :]
        assert not verify(SECRET, changed, header)
    assert not verify(SECRET, body + b" ", header)


def test_missing_or_malformed_headers_fail_without_raising() -> None:
    body = b"{}"
    for header in (None, "", "not base64!", sign(SECRET, body).encode().hex()):
        assert not verify(SECRET, body, header)
