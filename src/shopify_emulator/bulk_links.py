"""Signed download links for bulk results, shaped like Shopify's Google Cloud Storage URLs.

Shopify hands out ``url`` and ``partialDataUrl`` as V2-style signed GCS links (see the
captures in ``captures/bulk-operations``)::

    https://storage.googleapis.com/<bucket>/bulk-operation-outputs/<object>
        ?GoogleAccessId=<service account>&Expires=<unix seconds>&Signature=<base64>
        &response-content-disposition=attachment; filename="bulk-ID.jsonl";
            filename*=UTF-8''bulk-ID.jsonl
        &response-content-type=application/jsonl

(values percent-encoded, spaces as ``+``). ``Expires`` is the completion time plus seven
days on every poll of the same operation (the links "expire after seven days":
https://shopify.dev/docs/api/usage/bulk-operations/queries). The emulator serves the
file itself under ``/emulator/bulk-operation-outputs/<id>-result`` (or ``-partial``)
with the same parameters; ``Signature`` is an HMAC-SHA256 (GCS uses the service
account's RSA key; an HMAC is what a single process can verify) over GCS's V2 string to
sign extended with the ``response-*`` overrides, so neither the object, the expiry nor
the headers the download will carry can be changed without the link being refused.

Refusals are GCS's XML ``<Error>`` documents: ``SignatureDoesNotMatch`` (403, with the
``StringToSign`` GCS echoes), ``ExpiredToken`` (400), ``AccessDenied`` (403, a link with
its signing parameters missing: GCS then sees an anonymous caller), ``NoSuchKey`` (404).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode
from xml.sax.saxutils import escape

DOWNLOAD_PREFIX = "/emulator/bulk-operation-outputs/"
DOWNLOAD_ROUTE = "/emulator/bulk-operation-outputs/{name}"
"""Starlette route of the downloads; ``name`` is the object (see ``parse_object``)."""
GOOGLE_ACCESS_ID = "bulk-operation-outputs@shopify-emulator.iam.gserviceaccount.com"
"""The service account the links name (Shopify's: ``assets-us-prod@shopify-tiers...``)."""
CONTENT_TYPE = "application/jsonl"
_OBJECT = re.compile(r"^(\d+)-(result|partial)$")


def object_name(op_id: int, kind: str) -> str:
    return f"{op_id}-{kind}"


def parse_object(name: str) -> tuple[int, str] | None:
    """``(operation id, kind)`` of a download path's last segment; ``None`` if not ours."""
    match = _OBJECT.match(name)
    return (int(match.group(1)), match.group(2)) if match else None


def content_disposition(op_id: int) -> str:
    """Shopify's ``attachment`` disposition: plain and RFC 5987 file names, both ASCII."""
    filename = f"bulk-{op_id}.jsonl"
    return f"attachment; filename=\"{filename}\"; filename*=UTF-8''{filename}"


@dataclass(frozen=True)
class LinkParams:
    """The query parameters of one link, as signed or as a request supplied them."""

    access_id: str
    expires: str
    disposition: str
    content_type: str

    def string_to_sign(self, name: str) -> str:
        """GCS's V2 string to sign (verb, MD5, type, expiry, resource) plus the overrides."""
        overrides = urlencode(
            {
                "response-content-disposition": self.disposition,
                "response-content-type": self.content_type,
            }
        )
        return (
            f"GET\n\n\n{self.expires}\n/bulk-operation-outputs/{name}\n"
            f"{self.access_id}\n{overrides}"
        )


@dataclass(frozen=True)
class Refusal:
    """Why a download was refused, as GCS reports it."""

    code: str
    status: int
    message: str
    detail: tuple[str, str] | None = None
    """An extra element GCS adds (``Details``, ``StringToSign``): (tag, text)."""

    def xml(self) -> str:
        extra = ""
        if self.detail is not None:
            tag, text = self.detail
            extra = f"<{tag}>{escape(text)}</{tag}>"
        return (
            "<?xml version='1.0' encoding='UTF-8'?>"
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>"
            f"{extra}</Error>"
        )


NO_SUCH_KEY = Refusal("NoSuchKey", 404, "The specified key does not exist.")
ANONYMOUS = Refusal(
    "AccessDenied",
    403,
    "Anonymous caller does not have storage.objects.get access to the Google Cloud "
    "Storage object. Permission 'storage.objects.get' denied on resource (or it may "
    "not exist).",
)


class LinkSigner:
    """Signs and checks the download links of one emulator instance (one secret key)."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def signature(self, name: str, params: LinkParams) -> str:
        digest = hmac.new(self.key, params.string_to_sign(name).encode(), hashlib.sha256)
        return base64.b64encode(digest.digest()).decode("ascii")

    def url(self, base_url: str, op_id: int, kind: str, expires: int) -> str:
        """The full signed link to ``kind`` of operation ``op_id``, valid until ``expires``."""
        name = object_name(op_id, kind)
        params = LinkParams(
            GOOGLE_ACCESS_ID, str(expires), content_disposition(op_id), CONTENT_TYPE
        )
        query = urlencode(
            {
                "GoogleAccessId": params.access_id,
                "Expires": params.expires,
                "Signature": self.signature(name, params),
                "response-content-disposition": params.disposition,
                "response-content-type": params.content_type,
            }
        )
        return f"{base_url.rstrip('/')}{DOWNLOAD_PREFIX}{name}?{query}"

    def check(self, name: str, query: dict[str, str], now: float) -> Refusal | None:
        """``None`` when the link is genuine and current, else GCS's refusal."""
        signature = query.get("Signature")
        access_id = query.get("GoogleAccessId")
        expires = query.get("Expires")
        if not signature or not access_id or expires is None:
            return ANONYMOUS
        params = LinkParams(
            access_id,
            expires,
            query.get("response-content-disposition", ""),
            query.get("response-content-type", ""),
        )
        if not hmac.compare_digest(self.signature(name, params), signature):
            return Refusal(
                "SignatureDoesNotMatch",
                403,
                "The request signature we calculated does not match the signature you "
                "provided. Check your Google secret key and signing method.",
                ("StringToSign", params.string_to_sign(name)),
            )
        if not expires.isdigit() or int(expires) < now:
            moment = datetime.fromtimestamp(int(expires) if expires.isdigit() else 0, UTC)
            return Refusal(
                "ExpiredToken",
                400,
                "The provided token has expired.",
                ("Details", f"Request signature expired at: {moment.isoformat()}"),
            )
        return None
