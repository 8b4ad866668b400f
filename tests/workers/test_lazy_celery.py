"""Celery loads only where a job is queued or a worker starts, not for every command.

Each check runs in a fresh interpreter (this test process may already hold Celery from
other tests), the project's own, so the answer is what ``shopify-backfill --help`` pays.
"""

from __future__ import annotations

import subprocess
import sys

PROBE = "import sys; {imports}; print('celery' in sys.modules)"


def _celery_loaded_after(imports: str) -> bool:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(imports=imports)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip() == "True"


def test_the_cli_and_the_web_app_import_without_celery() -> None:
    assert _celery_loaded_after("import shopify_backfill.cli, shopify_backfill.web.app") is False


def test_the_probe_sees_celery_when_the_worker_module_loads() -> None:
    """The control: the same probe says True once the Celery module is imported."""
    assert _celery_loaded_after("import shopify_backfill.workers.celery_app") is True
