"""Reading a REST list the way Shopify clients do: page after page by the ``Link`` header.

https://shopify.dev/docs/api/usage/pagination-rest: each page names the next one in
``Link: <...>; rel="next"`` (and the one before in ``rel="previous"``).
"""

from __future__ import annotations

import re
from typing import Any

from emulator_fixtures import EmulatorHandle

NEXT = re.compile(r'<([^>]+)>; rel="next"')
PREVIOUS = re.compile(r'<([^>]+)>; rel="previous"')


def walk_pages(
    handle: EmulatorHandle, path: str, key: str, token: str | None = None
) -> list[dict[str, Any]]:
    """Every ``key`` item of ``/admin/api/VERSION/path`` and the pages its links lead to.

    The emulator's clock moves a second before each page, so the REST call-limit bucket
    leaks as it would in real time and a long walk is never answered 429.
    """
    found: list[dict[str, Any]] = []
    url: str | None = f"/admin/api/{handle.api_version}/{path}"
    with handle.client(token) as client:
        while url:
            handle.clock.advance(1.0)
            response = client.get(url)
            assert response.status_code == 200, response.text
            found.extend(response.json()[key])
            match = NEXT.search(response.headers.get("link", ""))
            url = match.group(1) if match else None
    return found
