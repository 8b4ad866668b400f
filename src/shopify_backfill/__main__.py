"""``python -m shopify_backfill``: the same entry point as the console script."""

from shopify_backfill.cli import main

main()
