"""The backfill fixtures (an in-process emulator, isolated services) and a Braze stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from backfill.conftest import make_services, make_shop
from braze_emulator import BrazeWorkspace, create_app
from shopify_emulator.transport import EmulatorTransport

__all__ = ["BRAZE_KEY", "BRAZE_URL", "Braze", "make_services", "make_shop"]

BRAZE_KEY = "braze-test-key-1"
BRAZE_URL = "https://rest.stand-in.braze.test"


class Braze:
    """A stand-in Braze workspace reached in process."""

    def __init__(self, **kwargs: Any) -> None:
        self.workspace = BrazeWorkspace(**kwargs)
        self.workspace.add_key(BRAZE_KEY)
        self.transport: httpx.BaseTransport = EmulatorTransport(create_app(self.workspace))

    def close(self) -> None:
        self.transport.close()


@pytest.fixture
def make_braze() -> Iterator[Any]:
    opened: list[Braze] = []

    def factory(**kwargs: Any) -> Braze:
        braze = Braze(**kwargs)
        opened.append(braze)
        return braze

    yield factory
    for braze in opened:
        braze.close()
