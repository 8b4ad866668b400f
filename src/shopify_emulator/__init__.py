"""A Shopify Admin API stand-in with a deterministic synthetic store.

A sibling of the product, not part of it: tests, benchmarks and the demo talk to it over
HTTP or its in-process httpx transport, the way they would talk to Shopify. The product
reaches it only through ``shopify_backfill.cli.standin``; it uses only the product's floor
(settings, errors) and the shared schema loader. Docs: ``docs/emulator.md`` (the API
surface, cost, throttling, faults) and ``docs/emulator-store.md`` (the data side); tests:
``tests/emulator/``; layout rules: ``docs/layout.md``.
"""
