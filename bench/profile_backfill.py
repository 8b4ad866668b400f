"""Where a single-process backfill's time goes, stage by stage (and, with cProfile, by function).

The setup is bench/backfill_e2e.py's: the emulator serves a generated store as its own
process with ``--reuse-bulk-results``, and a first, unmeasured backfill has it render the
window's bulk results, so the measured one downloads files already rendered. The measured
``backfill start --yes --json`` runs in a child process (fresh data folder, SQLite, bulk
mode) with stage timers around the functions listed in ``STAGES``.

The timers are exclusive: each keeps a stack, and time goes to the innermost stage running
on the job's thread (the download's call into the staging file counts as staging, not
download); ``STAGES`` says which function is in which stage. What the job runs outside
every timed function (the runner's batch loop, the lease, the Python glue between stages)
is "other (in the job)"; the process's time before and after the job (interpreter
start-up, imports, the preview, the final status read) is "outside the job". A
``gc.callbacks`` hook says how much of each stage's time CPython's cyclic collector took:
a collection runs inside whichever stage allocated the object that triggered it.

The timers cost a microsecond or two per call, about half a million calls at 45,000
orders, so the script first runs the same backfill without them (spawn to exit, as
bench/backfill_e2e.py measures it) and prints that wall time above the table. cProfile
(``--prof``, a third run, without the stage timers) slows pure-Python code about 1.5x,
so its list (own time, ``--top``) ranks functions; the stage table gives the seconds.

    .venv/bin/python bench/profile_backfill.py --size 25000x100000          # 45,000 orders
    .venv/bin/python bench/profile_backfill.py --size 25000x100000 --prof var/bench/bf.prof
    .venv/bin/python bench/profile_backfill.py --size 75000x300000 --keep var/bench/prof
    .venv/bin/python -m pstats var/bench/bf.prof                             # browse

``--keep`` keeps the generated store and its rendered bulk files, so a second invocation
skips the generation and the warm-up run.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import importlib
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from backfill_e2e import DOMAIN, REPO, _backfill, _connect, _serve
from shopify_backfill.cli import main as cli_main

# (stage, module, attribute path): the functions whose time, minus any timed function they
# call, is the stage's. Module-level functions are patched where their callers look them up.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("preflight", "shopify_backfill.backfill.runner", "checked_preflight"),
    ("bulk submit + poll", "shopify_backfill.shopify.bulk", "BulkRunner._submit"),
    ("bulk submit + poll", "shopify_backfill.shopify.bulk", "BulkRunner._wait"),
    ("download", "shopify_backfill.shopify.bulk", "BulkRunner._stage_from"),
    ("staging", "shopify_backfill.shopify.staging", "Staging.append"),
    ("assembly", "shopify_backfill.shopify.staging", "Staging.roots_after"),
    ("assembly", "shopify_backfill.shopify.staging", "Staging.children"),
    ("decode", "shopify_backfill.shopify.extract", "_customer"),
    ("decode", "shopify_backfill.shopify.extract", "_readable_order"),
    ("mapping", "shopify_backfill.profiles.writes", "map_records"),
    ("identity resolution", "shopify_backfill.profiles.writes", "_Batch._preload"),
    ("identity resolution", "shopify_backfill.profiles.identity", "IdentityIndex.load"),
    ("identity resolution", "shopify_backfill.profiles.identity", "IdentityIndex.resolve_customer"),
    ("identity resolution", "shopify_backfill.profiles.identity", "IdentityIndex.resolve_guest"),
    ("identity resolution", "shopify_backfill.profiles.identity", "IdentityIndex.create"),
    ("identity resolution", "shopify_backfill.profiles.identity", "IdentityIndex.claim_alias"),
    ("attribute diffing", "shopify_backfill.profiles.writes", "_Batch._attributes"),
    ("attribute diffing", "shopify_backfill.profiles.writes", "_Batch._subscription"),
    ("attribute diffing", "shopify_backfill.profiles.identity", "IdentityIndex.note_activity"),
    ("batch planning (rest)", "shopify_backfill.profiles.writes", "_Batch.plan"),
    ("row writes", "shopify_backfill.profiles.writes", "_Batch.write"),
    ("ledger", "shopify_backfill.profiles.writes", "record_datapoints"),
    ("triggers", "shopify_backfill.campaigns.triggers", "record_triggers"),
    ("checkpoint + progress", "shopify_backfill.backfill.runner", "save_progress"),
    ("commits", "sqlalchemy.engine.default", "DefaultDialect.do_commit"),
    ("completion + report", "shopify_backfill.backfill.runner", "_Run._complete"),
)
ORDER = [
    "download",
    "staging",
    "assembly",
    "decode",
    "mapping",
    "identity resolution",
    "attribute diffing",
    "batch planning (rest)",
    "row writes",
    "ledger",
    "triggers",
    "checkpoint + progress",
    "commits",
    "bulk submit + poll",
    "preflight",
    "completion + report",
    "other (in the job)",
    "outside the job",
]


# ---------------------------------------------------------------------------- child side


class StageClock:
    """Exclusive wall time per stage, on the thread that runs the job.

    ``backfill start`` runs the job on the in-process worker's thread while the main
    thread follows its progress, so the clock starts when ``run_backfill`` is entered and
    ignores every other thread (the heartbeat's lease renewals, the follower's polls).
    Everything outside the job - interpreter start-up, imports, the preview, the
    follower's last read, the report - is "outside the job".
    """

    def __init__(self, profiler: cProfile.Profile | None) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(ORDER, 0.0)
        self.calls: dict[str, int] = dict.fromkeys(ORDER, 0)
        self.collecting: dict[str, float] = dict.fromkeys(ORDER, 0.0)
        """Of each stage's seconds, how many CPython's cyclic collector took (on the job)."""
        self.gc_started = 0.0
        self.stack: list[str] = []
        self.mark = 0.0
        self.job: int | None = None
        self.profiler = profiler
        self.born = psutil.Process().create_time()

    def wrap(self, stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() != self.job:
                return function(*args, **kwargs)
            self._switch(stage)
            self.calls[stage] += 1
            try:
                return function(*args, **kwargs)
            finally:
                self._leave()

        return timed

    def job_entry(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """``run_backfill``: the clock (and cProfile, if asked) runs while it does."""

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.job = threading.get_ident()
            self.stack = ["other (in the job)"]
            self.mark = time.perf_counter()
            if self.profiler:
                self.profiler.enable()
            try:
                return function(*args, **kwargs)
            finally:
                if self.profiler:
                    self.profiler.disable()
                self._leave()
                self.job = None

        return timed

    def on_gc(self, phase: str, _info: dict[str, Any]) -> None:
        """``gc.callbacks`` hook: a collection triggered on the job's thread is charged to
        the stage that allocated when it started (it is inside that stage's seconds)."""
        if threading.get_ident() != self.job or not self.stack:
            return
        if phase == "start":
            self.gc_started = time.perf_counter()
        else:
            self.collecting[self.stack[-1]] += time.perf_counter() - self.gc_started

    def _switch(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[self.stack[-1]] += now - self.mark
        self.mark = now
        self.stack.append(stage)

    def _leave(self) -> None:
        now = time.perf_counter()
        self.seconds[self.stack.pop()] += now - self.mark
        self.mark = now

    def close(self) -> dict[str, Any]:
        wall = time.time() - self.born
        self.seconds["outside the job"] = wall - sum(self.seconds.values())
        return {
            "seconds": self.seconds,
            "calls": self.calls,
            "gc": self.collecting,
            "wall": wall,
        }


def install(clock: StageClock, *, stages: bool) -> None:
    """Put a timer around every function in ``STAGES`` (``stages``), where its callers find
    it, and the job's clock around ``run_backfill``."""
    for stage, module_name, path in STAGES if stages else ():
        owner: Any = importlib.import_module(module_name)
        *outer, name = path.split(".")
        for part in outer:
            owner = getattr(owner, part)
        raw = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        if isinstance(raw, classmethod):
            setattr(owner, name, classmethod(clock.wrap(stage, raw.__func__)))
        else:
            setattr(owner, name, clock.wrap(stage, raw))
    inprocess = importlib.import_module("shopify_backfill.workers.inprocess")
    inprocess.run_backfill = clock.job_entry(inprocess.run_backfill)


def run_child(stages_out: Path, prof: Path | None) -> None:
    """Run ``backfill start`` in this process with the timers (and maybe cProfile) on."""
    profiler = cProfile.Profile() if prof else None
    clock = StageClock(profiler)
    gc.callbacks.append(clock.on_gc)
    # Under cProfile the stage timers would only add their own calls to its list.
    install(clock, stages=profiler is None)
    sys.argv = ["shopify-backfill", "backfill", "start", "--shop", DOMAIN, "--yes", "--json"]
    code: int | str | None = 0
    try:
        cli_main()
    except SystemExit as done:
        code = done.code
    result = clock.close()
    result["exit"] = code
    stages_out.write_text(json.dumps(result))
    if profiler and prof:
        profiler.dump_stats(str(prof))
    sys.stdout.flush()


# ---------------------------------------------------------------------------- parent side


def _measured(folder: Path, base: str, prof: Path | None) -> tuple[dict[str, Any], dict[str, Any]]:
    data = folder / ("run-prof" if prof else "run-stages")
    shutil.rmtree(data, ignore_errors=True)
    _connect(data, base)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_BACKFILL_")}
    env.update(
        SHOPIFY_BACKFILL_DATA_DIR=str(data),
        SHOPIFY_BACKFILL_EXTRACTION_MODE="bulk",
        SHOPIFY_BACKFILL_BULK_POLL_SECONDS="0.5",
        SHOPIFY_BACKFILL_BULK_POLL_MAX_SECONDS="2",
    )
    stages_out = data / "stages.json"
    command = [sys.executable, __file__, "child", str(stages_out)]
    if prof:
        command.append(str(prof.resolve()))
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the profiled backfill failed: {done.stderr.decode()[-2000:]}")
    return json.loads(stages_out.read_text()), json.loads(done.stdout)


def print_stages(stages: dict[str, Any], view: dict[str, Any]) -> None:
    wall = stages["wall"]
    orders = view["orders"]["done"]
    print(
        f"{view['customers']['done']} customers, {orders} orders: {wall:.2f} s "
        f"({orders / wall:,.0f} orders/s)\n"
    )
    print("| stage | seconds | share | µs per order | of which cyclic GC, s | timed calls |")
    print("|---|---:|---:|---:|---:|---:|")
    for stage in ORDER:
        seconds = stages["seconds"][stage]
        calls = stages["calls"][stage] or ""
        print(
            f"| {stage} | {seconds:.2f} | {seconds / wall:.1%} | "
            f"{seconds / orders * 1e6:,.0f} | {stages['gc'][stage]:.2f} | {calls} |"
        )
    collected = sum(stages["gc"].values())
    print(f"| total | {wall:.2f} | 100% | {wall / orders * 1e6:,.0f} | {collected:.2f} | |")


def print_top(prof: Path, top: int) -> None:
    stats = pstats.Stats(str(prof))
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[:top]
    total = sum(entry[2] for entry in table.values())
    print(f"\ntop {top} functions by own time (cProfile, {total:.1f} s profiled)\n")
    print("| function | own s | cumulative s | calls |")
    print("|---|---:|---:|---:|")
    for (file, line, name), (_, calls, own, cumulative, _) in rows:
        where = file.split("site-packages/")[-1].split("src/")[-1]
        print(f"| `{where}:{line} {name}` | {own:.2f} | {cumulative:.2f} | {calls:,} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="25000x100000", help="CUSTOMERSxORDERS of the store")
    parser.add_argument("--prof", type=Path, help="also run once under cProfile, write here")
    parser.add_argument("--top", type=int, default=15, help="functions to list from --prof")
    parser.add_argument("--keep", type=Path, help="folder to keep the store and its files in")
    args = parser.parse_args()
    customers, orders = (int(part) for part in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        folder = (args.keep or Path(tmp)) / args.size
        folder.mkdir(parents=True, exist_ok=True)
        emulator, base = _serve(folder, customers, orders)
        try:
            if not list((folder / "shop-bulk").glob("rendered-*.jsonl")):
                shutil.rmtree(folder / "run-warm-bulk", ignore_errors=True)
                _connect(folder / "run-warm-bulk", base)
                _backfill(folder / "run-warm-bulk", "bulk")
            data = folder / "run-plain"
            shutil.rmtree(data, ignore_errors=True)
            _connect(data, base)
            plain = _backfill(data, "bulk")
            print(f"plain backfill (no timers), spawn to exit: {plain['seconds']:.2f} s")
            stages, view = _measured(folder, base, None)
            print_stages(stages, view)
            if args.prof:
                args.prof.parent.mkdir(parents=True, exist_ok=True)
                _measured(folder, base, args.prof)
                print_top(args.prof, args.top)
                print(f"\nwrote {args.prof}")
        finally:
            emulator.terminate()
            emulator.wait(timeout=60)


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        run_child(Path(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else None)
    else:
        main()
