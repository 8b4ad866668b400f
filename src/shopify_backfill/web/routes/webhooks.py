"""Shopify's webhooks: ``POST /webhooks/shopify`` (and ``/webhooks/shopify/privacy`` for
the three privacy topics, whose address an app sets once in its configuration).

The order of checks is the point: the body is read raw and bounded (413 past
``MAX_BODY_BYTES``, before it is read whole), its signature checked against the app's
secret (401), and only then parsed and its headers read (400) and its shop looked up
(404). A good delivery is recorded and answered 200 at once (then applied in the
background: ``web.live``); a repeat is answered 200 and not recorded. Nothing is logged
of a body, only topic, shop, id and outcome.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from shopify_backfill.live import intake
from shopify_backfill.live.signature import verify
from shopify_backfill.web.context import Context, utcnow

log = logging.getLogger(__name__)

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["webhooks"])

PATH = "/webhooks/shopify"
PRIVACY_PATH = "/webhooks/shopify/privacy"


def _refuse(status: int, message: str, request: Request) -> Response:
    log.warning(
        "webhook refused (%s): %s [topic %s, shop %s]",
        status,
        message,
        (request.headers.get("x-shopify-topic") or "-")[:64],
        (request.headers.get("x-shopify-shop-domain") or "-")[:255],
    )
    return JSONResponse({"error": message}, status_code=status)


async def _bounded_body(request: Request) -> bytes | None:
    """The raw body, or ``None`` as soon as it is past the bound."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > intake.MAX_BODY_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > intake.MAX_BODY_BYTES:
            return None
    return bytes(body)


@pages.post(PATH)
@pages.post(PRIVACY_PATH)
async def shopify_webhook(request: Request, context: Context) -> Response:
    body = await _bounded_body(request)
    if body is None:
        limit = intake.MAX_BODY_BYTES // (1024 * 1024)
        return _refuse(413, f"the body is larger than {limit} MiB", request)
    secret = context.services.settings.app_secret.get_secret_value().encode()
    if not verify(secret, body, request.headers.get("x-shopify-hmac-sha256")):
        return _refuse(401, "the X-Shopify-Hmac-Sha256 signature is missing or wrong", request)
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        delivery = intake.read_delivery(headers, body)
        privacy = delivery.topic in intake.PRIVACY_TOPICS
        if privacy != (request.url.path == PRIVACY_PATH):
            where = PRIVACY_PATH if privacy else PATH
            raise intake.Refused(400, f"topic {delivery.topic} is received at {where}")
        outcome = await run_in_threadpool(_record, context, delivery)
    except intake.Refused as refused:
        return _refuse(refused.status, refused.message, request)
    if outcome == "recorded" and context.live is not None:
        context.live.kick()
    log.info(
        "webhook %s for %s (%s): %s",
        delivery.topic,
        delivery.shop_domain,
        delivery.webhook_id,
        outcome,
    )
    return JSONResponse({"status": outcome})


def _record(context: Context, delivery: intake.Delivery) -> str:
    with context.services.engine.begin() as conn:
        return intake.record(conn, delivery, utcnow())
