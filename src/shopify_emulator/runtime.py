"""What every route of one emulator app shares, in its own module.

``app.py`` builds it and the route modules (``oauth``, ``rest``) read it from
``request.app.state.runtime``; keeping the type here is what lets those modules import
it without importing the app that imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, validate
from starlette.requests import Request

from shopify_emulator.bulk import BulkOperations, visible_since
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.executor import Executor
from shopify_emulator.faults import FaultInjector
from shopify_emulator.store import ShopStore
from shopify_emulator.throttle import AnswerTally, Clock, CostBuckets, RequestBuckets
from shopify_emulator.tokens import Grant, TokenStore
from shopify_emulator.versions import VersionSet, configured_versions, versions_at
from shopify_emulator.webhook_delivery import WebhookDispatcher
from shopify_emulator.webhook_subscriptions import WebhookSubscriptions

DOCUMENT_CACHE_LIMIT = 256
"""Query texts whose parsed, validated document a runtime keeps."""


@dataclass
class EmulatorRuntime:
    """Everything the routes share; one per app, reachable as ``app.state.runtime``."""

    store: ShopStore
    schema: GraphQLSchema
    config: EmulatorConfig
    executor: Executor
    tokens: TokenStore
    costs: CostBuckets
    requests: RequestBuckets
    bulk: BulkOperations
    faults: FaultInjector
    clock: Clock
    wall_clock: Callable[[], float]
    seed_grant: Grant
    subscriptions: WebhookSubscriptions
    webhooks: WebhookDispatcher
    plan: str = field(default="standard")
    documents: dict[str, tuple[DocumentNode, list[GraphQLError]]] = field(default_factory=dict)
    """Parsed and validated documents by query text (see ``checked_document``)."""
    answers: AnswerTally = field(default_factory=AnswerTally)
    """Authenticated Admin API requests answered and refused by the bucket (``/emulator/stats``)."""

    def checked_document(self, query: str) -> tuple[DocumentNode, list[GraphQLError]]:
        """The parsed document and its validation errors; ``GraphQLError`` on bad syntax.

        Validating against the 4,000-type schema costs 10-20 ms a request, about a tenth
        of a 250-order page, and clients repeat the same few texts (a paginated
        extraction sends one text thousands of times). Documents are never modified
        after parsing, so requests may share them; the memo is bounded.
        """
        found = self.documents.get(query)
        if found is None:
            document = parse(query)
            found = (document, validate(self.schema, document))
            if len(self.documents) >= DOCUMENT_CACHE_LIMIT:
                self.documents.clear()
            self.documents[query] = found
        return found

    def versions(self) -> VersionSet:
        """The versions served now: the configured set, else Shopify's on the store's date.

        Computed per call (it is a few string operations) so a store whose clock moves
        serves what Shopify served on its new date.
        """
        pinned = self.config.api_versions
        return configured_versions(pinned) if pinned is not None else versions_at(self.store.now)

    def resolve_version(self, version: str) -> str | None:
        """Version actually served: unsupported old versions fall forward, unknown -> None."""
        return self.versions().resolve(version)

    def grant_for(self, request: Request) -> Grant | None:
        return self.tokens.lookup(request.headers.get("x-shopify-access-token"))

    def visible_since(self, grant: Grant) -> Any:
        return visible_since(self.store.now, grant.allows("read_all_orders"))
