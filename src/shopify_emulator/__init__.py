"""A Shopify Admin API stand-in with a deterministic synthetic store."""
