"""Shopify's webhook signature: ``X-Shopify-Hmac-Sha256``, checked before anything else.

Shopify signs the raw request body with the app's client secret (HMAC-SHA256, the
digest base64-encoded, not hex): see "Verify webhooks" in Shopify's app docs
(shopify.dev/docs/apps/build/webhooks/subscribe/https). The comparison is
constant-time, and the body is neither parsed nor decoded before it passes: a forged
delivery costs one HMAC and writes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(secret: bytes, body: bytes) -> str:
    """The header value Shopify sends for ``body`` (the emulator and tests sign with it)."""
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


def verify(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is Shopify's signature of exactly ``body`` under ``secret``."""
    if not header:
        return False
    try:
        given = base64.b64decode(header.strip(), validate=True)
    except ValueError:
        return False
    expected = hmac.new(secret, body, hashlib.sha256).digest()
    return hmac.compare_digest(given, expected)
