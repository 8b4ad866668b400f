"""Shopify's published API facts that the product needs at run time, as package data.

``admin-2026-07.graphql`` is the Admin GraphQL schema, version 2026-07, as SDL, generated
from a live introspection of a development store on 2026-07-13 (published in the public
repository airhorns/shopify-draft-proxy, ``config/admin-graphql/2026-07/schema.graphql``).
Every query the product sends is validated against it, and the emulator executes it. It
ships inside the package so that a clone anywhere, or an installed wheel, needs nothing
beside it; ``SHOPIFY_BACKFILL_SHOPIFY_MATERIAL_DIR`` can point at another copy.
"""

SCHEMA_FILE = "admin-2026-07.graphql"
