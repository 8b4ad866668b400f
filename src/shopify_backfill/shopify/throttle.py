"""The cost bucket's state as Shopify reports it in ``extensions.cost.throttleStatus``.

Its own module because both sides need it and neither may import the other: the response
classifier decodes it, the error classes carry it so the retry loop can wait exactly as
long as the bucket needs, and the pacer plans the next query from it.
"""

from __future__ import annotations

import msgspec


class ThrottleStatus(msgspec.Struct, rename="camel"):
    maximum_available: float
    currently_available: float
    restore_rate: float
