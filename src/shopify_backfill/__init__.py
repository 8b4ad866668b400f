"""shopify-backfill: import 90 days of Shopify history into an engagement profile store, once."""

from shopify_backfill.config import Settings
from shopify_backfill.errors import BackfillError, Terminal, Transient

__version__ = "0.1.0"

__all__ = ["BackfillError", "Settings", "Terminal", "Transient", "__version__"]
