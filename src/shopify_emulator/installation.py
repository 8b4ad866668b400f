"""The app-level roots a client reads first: ``currentAppInstallation``, ``app``.

Clients check what they were granted before reading anything
(``currentAppInstallation { accessScopes { handle } }``, the GraphQL twin of
``/admin/oauth/access_scopes.json``), and some name their app from ``app { title }``.
Both describe the calling token's installation: its scopes, the app's API key (the
emulator's ``client_id``) and URLs on the shop's domain. Fields not built here (plans,
credits, metafields) are filled by ``fill.py`` like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from graphql import FieldNode

from shopify_emulator.executor import ResolveContext, parse_gid
from shopify_emulator.fill import stable_number

Resolver = Callable[[ResolveContext, dict[str, Any], FieldNode, Any], Any]

APP_TITLE = "shopify-backfill"


def scope_description(handle: str) -> str:
    """``read_orders`` -> ``Read orders`` (Shopify's descriptions name the resource)."""
    verb, _, resource = handle.partition("_")
    action = {"read": "Read", "write": "Modify", "unauthenticated": "Storefront"}.get(verb, verb)
    return f"{action} {resource.replace('_', ' ')}".strip()


def access_scopes(scopes: Iterable[str]) -> list[dict[str, Any]]:
    return [{"handle": scope, "description": scope_description(scope)} for scope in scopes]


def installation_resolvers(client_id: str, shop_domain: str) -> dict[tuple[str, str], Resolver]:
    """Resolvers for the app roots; ``ctx.extras["scopes"]`` holds the token's scopes."""
    app_number = stable_number("app", client_id)
    handle = client_id.lower().replace("_", "-")

    def app(ctx: ResolveContext) -> dict[str, Any]:
        scopes = access_scopes(ctx.extras.get("scopes", ()))
        return {
            "__typename": "App",
            "id": f"gid://shopify/App/{app_number}",
            "apiKey": client_id,
            "title": APP_TITLE,
            "handle": handle,
            "description": "Imports 90 days of Shopify history into an engagement platform.",
            "developerName": APP_TITLE,
            "developerType": "PARTNER",
            "embedded": False,
            "published": False,
            "launchUrl": f"https://{shop_domain}/admin/apps/{handle}",
            "requestedAccessScopes": scopes,
            "availableAccessScopes": scopes,
            "optionalAccessScopes": [],
            "webhookApiVersion": "2026-07",
        }

    def installation(ctx: ResolveContext) -> dict[str, Any]:
        number = stable_number("installation", client_id, shop_domain)
        return {
            "__typename": "AppInstallation",
            "id": f"gid://shopify/AppInstallation/{number}",
            "accessScopes": access_scopes(ctx.extras.get("scopes", ())),
            "app": app(ctx),
            "launchUrl": f"https://{shop_domain}/admin/apps/{handle}",
            "uninstallUrl": None,
            "activeSubscriptions": [],
            "subscriptions": [],
        }

    def current(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
        return installation(ctx)

    def installation_by_id(
        ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any
    ) -> Any:
        found = installation(ctx)
        wanted = args.get("id")
        return found if wanted is None or wanted == found["id"] else None

    def app_by_id(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
        found = app(ctx)
        wanted = args.get("id")
        if wanted is not None and parse_gid(wanted) != ("App", app_number):
            return None
        return found

    def app_by_key(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
        return app(ctx) if args.get("apiKey") == client_id else None

    def app_by_handle(
        ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any
    ) -> Any:
        return app(ctx) if args.get("handle") == handle else None

    def app_installation(
        ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any
    ) -> Any:
        return installation(ctx)

    return {
        ("QueryRoot", "currentAppInstallation"): current,
        ("QueryRoot", "appInstallation"): installation_by_id,
        ("QueryRoot", "app"): app_by_id,
        ("QueryRoot", "appByKey"): app_by_key,
        ("QueryRoot", "appByHandle"): app_by_handle,
        ("App", "installation"): app_installation,
    }
