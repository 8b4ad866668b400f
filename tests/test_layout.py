"""The layer contracts in ``pyproject.toml`` hold, and they would catch a forbidden import.

The contracts are import-linter's (``[tool.importlinter]``); ``make lint`` runs them too.
Each breaking case adds one import to a copy of ``src/`` and checks that the named
contract reports it broken (an upward import is also a circle between packages, so more
than one contract may break): a contract that cannot fail would not pass these.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root / "src"), "COLUMNS": "300"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_contracts_hold_on_the_checkout() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    for contract in ("layers", "stand-ins", "pure", "circle"):
        assert contract in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # The job reaching up into the composition root (the old circle).
        (
            "shopify_backfill/backfill/runner.py",
            "from shopify_backfill.wiring import Services",
            "Each layer imports only the layers below it",
        ),
        # The campaigns importing the job they are plugged into.
        (
            "shopify_backfill/campaigns/audit.py",
            "from shopify_backfill.backfill.tables import backfills",
            "Each layer imports only the layers below it",
        ),
        # The Shopify source importing the profile store.
        (
            "shopify_backfill/shopify/extract.py",
            "from shopify_backfill.profiles.schema import metadata",
            "Each layer imports only the layers below it",
        ),
        # The product reaching the emulator outside the one door.
        (
            "shopify_backfill/cli/demo.py",
            "from shopify_emulator.store import ShopStore",
            "The product never imports the stand-ins",
        ),
        # The emulator leaning on the product's client.
        (
            "shopify_emulator/executor.py",
            "from shopify_backfill.shopify.client import AdminClient",
            "The stand-in uses only the product's floor",
        ),
        # The product reaching the Braze stand-in.
        (
            "shopify_backfill/destinations/braze/client.py",
            "from braze_emulator import BrazeWorkspace",
            "The product never imports the stand-ins",
        ),
        # The Braze stand-in leaning on the product's destination.
        (
            "braze_emulator/workspace.py",
            "from shopify_backfill.destinations.braze.packing import MAX_OBJECTS",
            "The Braze stand-in knows nothing of the product",
        ),
        # I/O in the pure mapping.
        (
            "shopify_backfill/mapping/normalize.py",
            "import httpx",
            "The mapping is pure",
        ),
        # The emulator's old circle: a route module importing the app.
        (
            "shopify_emulator/oauth.py",
            "from shopify_emulator.app import create_emulator_app",
            "No import circle between sibling modules",
        ),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "src" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", "utf-8")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [row for row in result.stdout.splitlines() if " BROKEN" in row]
    assert any(row.startswith(contract) for row in broken), result.stdout
