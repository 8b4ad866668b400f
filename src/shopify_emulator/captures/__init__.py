"""Real requests and responses captured from live Shopify stores, as package data.

From the public repository airhorns/shopify-draft-proxy (``fixtures/conformance/...``):
customer reads and searches (API 2025-01), order reads (2026-04), and bulk-operation
runs, polls, cancellations, concurrency and validation errors (2026-04). Each file holds
the query, the variables and the exact response; the emulator's conformance tests replay
them, so the stand-in is judged against Shopify and not against the product's client.
"""
