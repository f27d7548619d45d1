"""The benchmarks run, in their smallest mode, and write what they promise (bench/README.md).

No timing is asserted: figures on a shared machine say nothing about correctness. What is
checked is that each script runs against the current code and that its report has its rows
(and, where matplotlib is installed, that the plot is a PNG).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def run_bench(script: str, *arguments: str) -> str:
    environment = {key: value for key, value in os.environ.items() if key != "COFFEECHAT_NOW"}
    done = subprocess.run(
        [sys.executable, script, *arguments],
        cwd=BENCH,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_table_has_every_command_at_every_size_warm_and_cold(tmp_path: Path) -> None:
    output = run_bench("bench_table.py", "--quick", "--sizes", "1k", "--out", str(tmp_path))
    table = (tmp_path / "table.md").read_text()
    assert table in output
    rows = json.loads((tmp_path / "table.json").read_text())["rows"]
    commands = ["note", "coffeechat (agenda)", "ls", "ls --stage replied", "show person-7"]
    assert [(row["command"], row["snapshot"]) for row in rows] == [
        (command, mode) for command in commands for mode in ("warm", "cold")
    ]
    assert all(row["events"] == 1_000 and row["cpu_ms"] > 0 for row in rows)
    for command in commands:
        assert f"| `{command}` | 1k | warm |" in table
        assert f"| `{command}` | 1k | cold |" in table
    assert "| `python -c pass` |" in table and "| `import msgspec, argparse` |" in table


def test_the_plot_is_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")  # the bench extra; bench/run installs it apart
    figures = {
        "rows": [
            {"command": "ls", "events": events, "snapshot": mode, "cpu_ms": cpu}
            for events, cpu in ((1_000, 100.0), (10_000, 120.0))
            for mode in ("warm", "cold")
        ],
        "references": [{"name": "python -c pass", "cpu_ms": 10.0, "rss_mb": 9.0}],
        "runs": 1,
        "tasks": 10,
        "reminders": 10,
    }
    (tmp_path / "table.json").write_text(json.dumps(figures))
    run_bench("plot.py", str(tmp_path / "table.json"), str(tmp_path / "scaling.png"))
    assert (tmp_path / "scaling.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_daemon_benchmark_reports_its_figures(tmp_path: Path) -> None:
    output = run_bench(
        "bench_daemon.py",
        *("--sizes", "1k", "--idle", "1", "--notes", "1", "--gap", "0.2", "--settle", "0.5"),
        *("--events", "2", "--punctual", "1", "--delivery-wait", "5", "--out", str(tmp_path)),
    )
    figures = ("start -> READY", "start -> first delivery", "ms CPU a minute", "per appended")
    for figure in (*figures, "append -> POST"):
        assert figure in output
    assert "shorter than the daemon's 5-minute guard" in output
