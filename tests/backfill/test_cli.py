"""The CLI as real subprocesses: the demo, a start race, refusals and exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .served import CLI, REPO, cli_env, connect_served, run_cli, serve_emulator


def flat(text: str) -> str:
    """Rich wraps error messages at the terminal width; compare them unwrapped."""
    return " ".join(text.split())


def test_demo_json_is_a_machine_readable_report(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = run_cli(
        [
            "demo",
            "--customers",
            "60",
            "--orders",
            "200",
            "--seed",
            "3",
            "--json",
            "--data-dir",
            str(folder),
        ],
        cli_env(tmp_path / "unused"),
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "completed"
    report = data["report"]
    assert report["orders"]["imported"] > 0
    assert report["events"] == report["orders"]["imported"]
    assert report["data_points"]["total"] == sum(report["data_points"]["by_category"].values())
    assert data["preview"]["orders_in_window"] == (
        report["orders"]["imported"]
        + report["orders"]["skipped_test"]
        + report["orders"]["unattributable"]
        + report["orders"]["quarantined"]
    )
    assert [n["kind"] for n in data["notifications"]] == ["started", "completed"]
    [email] = data["emails"]
    assert email["status"] == "written"
    assert Path(email["delivered_to"]).is_file()
    assert Path(email["delivered_to"]).parent == (folder / "outbox").resolve()
    assert "[Completed] done" in flat(result.stderr), (
        "plain progress lines go to stderr with --json"
    )


def test_demo_text_prints_the_report_and_can_run_twice(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "var")
    outputs = []
    for _ in range(2):
        result = run_cli(["demo", "--customers", "30", "--orders", "80", "--seed", "4"], env)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    for output in outputs:
        assert "Shopify historical backfill of emulator-shop.myshopify.com: completed" in output
        assert "no SMTP host configured, written to" in output
        # The preview's customer count is the window's; the report's also has its buyers.
        assert "created in the window; the buyers of its orders are imported too" in output
    runs = list((tmp_path / "var" / "demo").iterdir())
    assert len(runs) == 2, "each demo gets its own folder"


def test_concurrent_starts_make_one_backfill_and_a_second_start_is_refused(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with serve_emulator(tmp_path / "emu", customers=40, orders=150, seed=12) as served:
        connect_served(data, served)
        env = cli_env(data, extraction_mode="paginated")
        args = [*CLI, "backfill", "start", "--shop", served.domain, "--yes", "--json"]
        racers = [
            subprocess.Popen(
                args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        results = [(p.wait(timeout=300), *p.communicate()) for p in racers]
        codes = sorted(code for code, _, _ in results)
        assert codes == [0, 69], results
        loser = flat(next(err for code, _, err in results if code == 69))
        # The loser finds the winner running, or (a fast run on a small store) done.
        refusal = "cannot start: the backfill of emulator-shop.myshopify.com "
        assert f"{refusal}is already" in loser or f"{refusal}already completed" in loser, loser
        winner = next(out for code, out, _ in results if code == 0)
        assert json.loads(winner)["status"] == "completed"

        again = run_cli(["backfill", "start", "--shop", served.domain, "--yes"], env)
        assert again.returncode == 69
        assert "already completed" in flat(again.stderr)
        assert "only once" in flat(again.stderr)

        resume = run_cli(["backfill", "resume", "--shop", served.domain], env)
        assert resume.returncode == 69
        assert "nothing to resume" in flat(resume.stderr)

        status = run_cli(["backfill", "status", "--shop", served.domain, "--json"], env)
        assert status.returncode == 0
        view = json.loads(status.stdout)
        assert view["status"] == "completed" and view["attempts"] == 1
        assert view["report"]["orders"]["imported"] > 0


def test_start_without_yes_off_a_terminal_is_refused_clearly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serve_emulator(tmp_path / "emu", customers=10, orders=20, seed=1) as served:
        connect_served(data, served)
        env = cli_env(data)
        result = run_cli(["backfill", "start", "--shop", served.domain], env)
        assert result.returncode == 65
        assert "pass --yes" in flat(result.stderr)
        status = run_cli(["backfill", "status", "--shop", served.domain, "--json"], env)
        assert json.loads(status.stdout)["status"] == "not_started"


def test_unknown_shop_and_workspace_name_the_fix(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "data")
    bad = run_cli(["backfill", "status", "--shop", "Not A Shop"], env)
    assert bad.returncode == 65
    assert "myshopify.com" in flat(bad.stderr)
    missing = run_cli(
        ["backfill", "preview", "--shop", "acme.myshopify.com", "--workspace", "nope"], env
    )
    assert missing.returncode == 65
    assert "no workspace named 'nope'" in flat(missing.stderr)
