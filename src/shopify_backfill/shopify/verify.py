"""Proving an access token before it is stored: it answers for this shop, with these scopes."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from shopify_backfill.errors import InputError
from shopify_backfill.shopify import queries
from shopify_backfill.shopify.client import AdminClient
from shopify_backfill.shopify.oauth import fetch_access_scopes, validate_shop_domain
from shopify_backfill.shopify.records import ShopData


def verify_token(
    *,
    shop_domain: str,
    token: SecretStr,
    api_url: str,
    api_version: str,
    transport: httpx.BaseTransport | None = None,
) -> tuple[str, ...]:
    """Prove the token works against this shop and return the scopes it holds."""
    with AdminClient(
        api_url=api_url, token=token, api_version=api_version, transport=transport
    ) as client:
        shop = client.data(queries.SHOP_QUERY, None, ShopData).shop
    domain = validate_shop_domain(shop_domain)
    if shop.myshopify_domain != domain:
        raise InputError(
            f"the token answers for another shop than {domain}; check --shop and the token"
        )
    return fetch_access_scopes(api_url=api_url, token=token, transport=transport)
