"""An installed wheel runs the main job with nothing beside it.

The wheel is built from a copy of the sources, installed into a fresh virtual
environment and run from a folder outside the checkout, with no
``SHOPIFY_BACKFILL_*`` variable set: the schema and templates must come from the
installed package data, not from ``../shared`` or the working tree. The fresh environment
borrows the third-party libraries of the test environment through a ``.pth`` line (it is
offline), but not the editable install of the product.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
def test_the_built_wheel_runs_the_demo_outside_the_checkout(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    dist = tmp_path / "dist"
    pip = (sys.executable, "-m", "pip")
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, source, cwd=source)
    (wheel,) = dist.glob("shopify_backfill-*.whl")

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(
        run(
            python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path
        ).strip()
    )
    (site / "borrowed-libraries.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(*pip, "--python", python, "install", "--no-deps", "-q", wheel, cwd=tmp_path)

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_BACKFILL_")}
    env.pop("PYTHONPATH", None)
    where = run(
        python,
        "-c",
        "import shopify_backfill, shopify_emulator; "
        "print(shopify_backfill.__file__); print(shopify_emulator.__file__)",
        cwd=outside,
        env=env,
    )
    assert all(line.startswith(str(site)) for line in where.split()), where
    schema = run(
        python,
        "-c",
        "from shopify_backfill.config import Settings; print(Settings().schema_path())",
        cwd=outside,
        env=env,
    ).strip()
    assert schema.startswith(str(site)), f"the schema is read from {schema}, not the wheel"

    out = run(
        venv / "bin" / "shopify-backfill",
        "demo",
        "--customers",
        "40",
        "--orders",
        "160",
        "--json",
        cwd=outside,
        env=env,
    )
    result = json.loads(out)
    assert result["status"] == "completed"
    assert result["report"]["orders"]["imported"] > 0
    assert Path(result["data_dir"]).is_relative_to(outside)
