"""One table: every command at every size, warm and cold, against ``python -c pass`` and
the peers, CPU time and peak RSS; and a PNG of the scaling curves.

For each size (1k, 10k, 100k, 1M events by default) a realistic home (``common.py``) is
copied twice: one copy for the reading commands, one for ``note`` (so that reads never
find a snapshot made stale by a note). Each command runs **cold** (the ``cache/`` folder
deleted before every run: a full replay) and **warm** (the snapshot current: the cold run
just before it wrote it). What is measured is the child's CPU time (user + system, from
``wait4``) and its peak RSS, through the small ``rusage`` launcher (see ``rusage.c``).

References, measured in the same rounds: ``python -c pass`` (same interpreter), the
recording floor ``import msgspec, argparse`` under the console script's GC setting, and the
peers (``peers.py``): ``task add`` (peer of ``note``), ``task next`` (of the agenda, ``ls``
and ``show``), ``task count`` (of ``ls --stage replied``, the nearest thing to a count),
all on 10,000 tasks; ``remind -n`` on 2,000 reminders (a second column for the reads).

Every round runs everything once, sizes and references taking turns, so a burst of load
hits all alike; the first round is a warm-up and is not counted; figures are medians.

    python bench/bench_table.py [--sizes 1k,10k,100k,1M] [--runs 7] [--quick]
                                [--tasks 10000] [--reminders 2000] [--plotter PYTHON]

Writes ``bench/out/table.md`` (the table), ``bench/out/table.json`` (the figures) and
``bench/out/scaling.png`` (with matplotlib: here, or in ``--plotter``'s environment).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from common import OUT, CpuMeter, Usage, iter_sizes, rusage_launcher, size_label, working_copy
from peers import remind_file, taskwarrior_data

PASS = "python -c pass"
FLOOR = "import msgspec, argparse"
# The console script's GC setting (coffeechat.daemon.console): off from the start, frozen
# at the end. The floor is measured the same way, or it would pay for collections the
# command does not.
FLOOR_CODE = "import gc; gc.disable(); import msgspec, argparse; gc.freeze()"


@dataclass(frozen=True)
class Command:
    """A coffeechat command of the table and what it is compared with."""

    label: str
    arguments: tuple[str, ...]
    peer: str
    records: bool = False


COMMANDS = (
    Command("note", ("note", "person-7", "bench note"), "task add", records=True),
    Command("coffeechat (agenda)", (), "task next"),
    Command("ls", ("ls",), "task next"),
    Command("ls --stage replied", ("ls", "--stage", "replied"), "task count"),
    Command("show person-7", ("show", "person-7"), "task next"),
)
MODES = ("warm", "cold")


@dataclass
class Entry:
    """One thing measured in every round."""

    name: str
    command: Sequence[str]
    env: dict[str, str] = field(default_factory=dict)
    before: Callable[[], object] | None = None
    runs: list[Usage] = field(default_factory=list)

    def cpu(self) -> float:
        return statistics.median(run.cpu for run in self.runs)

    def rss_mb(self) -> float:
        return statistics.median(run.rss_kb for run in self.runs) / 1024


def measure_rounds(
    meter: CpuMeter, rounds: list[list[Entry]], runs: int, warm_up: bool = True
) -> None:
    """Run every entry once per round, ``runs`` counted rounds after one warm-up (if any)."""
    for number in range(0 if warm_up else 1, runs + 1):
        began = time.perf_counter()
        for group in rounds:
            for entry in group:
                if entry.before is not None:
                    entry.before()
                usage = meter.measure(entry.command, entry.env)
                if number:
                    entry.runs.append(usage)
        label = "warm-up round" if number == 0 else f"round {number}/{runs}"
        print(f"  {label}: {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)


def dropper(cache: Path) -> Callable[[], None]:
    """Return a function deleting a home's ``cache/`` (the snapshot): a cold start."""

    def drop() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    return drop


def build_home(size: int, homes: Path) -> Path:
    """Build (or find) the cached home of ``size`` events in ``homes``, in a process of its
    own (this one's memory stays small)."""
    script = Path(__file__).with_name("common.py")
    found = subprocess.run(
        [sys.executable, str(script), "home", str(size), str(homes)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return Path(found.stdout.strip())


def ratio(value: float | None, reference: float | None) -> str:
    if value is None or not reference:
        return "–"
    return f"{value / reference:.2f}×" if value / reference < 10 else f"{value / reference:.0f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=None, help="default 1k,10k,100k,1M (--quick: 1k,10k)")
    parser.add_argument("--runs", type=int, default=None, help="counted rounds (default 7)")
    parser.add_argument(
        "--quick", action="store_true", help="1 round, no warm-up, small peers, 1k and 10k"
    )
    parser.add_argument("--tasks", type=int, default=None, help="Taskwarrior's tasks (10000)")
    parser.add_argument("--reminders", type=int, default=None, help="remind's (2000)")
    parser.add_argument("--out", type=Path, default=OUT, help="where results go (bench/out)")
    parser.add_argument("--plotter", help="a Python with matplotlib, if this one lacks it")
    options = parser.parse_args()
    quick = options.quick
    sizes = list(iter_sizes(options.sizes or ("1k,10k" if quick else "1k,10k,100k,1M")))
    runs = options.runs or (1 if quick else 7)
    tasks = options.tasks or (1_000 if quick else 10_000)
    reminders = options.reminders or (200 if quick else 2_000)
    out: Path = options.out
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)

    launcher = rusage_launcher(out)
    meter = CpuMeter(launcher, work)
    python = sys.executable
    coffeechat = str(Path(python).with_name("coffeechat"))
    references = {
        PASS: Entry(PASS, [python, "-c", "pass"]),
        FLOOR: Entry(FLOOR, [python, "-c", FLOOR_CODE]),
    }
    notes = []
    task_env = taskwarrior_data(work / "peers", tasks)
    if task_env is None:
        notes.append("Taskwarrior is not installed (apt-get install taskwarrior): no task column.")
    else:
        for name, arguments in (
            ("task add", ["add", "benchmark task"]),
            ("task next", ["next"]),
            ("task count", ["count"]),
        ):
            references[name] = Entry(name, ["task", *arguments], env=task_env)
    reminder_file = remind_file(work / "peers", reminders)
    if reminder_file is None:
        notes.append("remind is not installed (apt-get install remind): no remind column.")
    else:
        references["remind -n"] = Entry("remind -n", ["remind", "-n", str(reminder_file)])
    if launcher is None:
        notes.append(
            "No C compiler: peak RSS includes this benchmark process's own (see rusage.c)."
        )

    measured: dict[tuple[str, int, str], Entry] = {}
    rounds: list[list[Entry]] = [list(references.values())]
    for size in sizes:
        home = build_home(size, out / "homes")
        homes = {
            False: working_copy(home, work / size_label(size) / "read"),
            True: working_copy(home, work / size_label(size) / "record"),
        }
        group = [Entry(PASS, references[PASS].command)]  # pass again, between the sizes
        group[0].runs = references[PASS].runs  # … pooled with the others
        for command in COMMANDS:
            target = homes[command.records]
            argv = [coffeechat, "--home", str(target), *command.arguments]
            for mode in ("cold", "warm"):  # a cold run writes the snapshot the warm one reads
                entry = Entry(
                    f"{command.label} {size_label(size)} {mode}",
                    argv,
                    before=dropper(target / "cache") if mode == "cold" else None,
                )
                measured[command.label, size, mode] = entry
                group.append(entry)
        rounds.append(group)

    began = time.perf_counter()
    print(
        f"measuring {len(COMMANDS)} commands x {len(sizes)} sizes x warm/cold, "
        f"{runs} rounds" + ("" if quick else " (+1 warm-up)"),
        file=sys.stderr,
    )
    measure_rounds(meter, rounds, runs, warm_up=not quick)
    elapsed = time.perf_counter() - began

    pass_cpu, pass_rss = references[PASS].cpu(), references[PASS].rss_mb()
    rows = []
    for command in COMMANDS:
        peer = references.get(command.peer)
        remind = references.get("remind -n")
        for size in sizes:
            for mode in MODES:
                entry = measured[command.label, size, mode]
                cpu, rss = entry.cpu(), entry.rss_mb()
                rows.append(
                    {
                        "command": command.label,
                        "events": size,
                        "snapshot": mode,
                        "cpu_ms": cpu * 1000,
                        "rss_mb": rss,
                        "peer": command.peer,
                        "cpu_x_pass": cpu / pass_cpu,
                        "cpu_x_peer": cpu / peer.cpu() if peer else None,
                        "cpu_x_remind": (
                            cpu / remind.cpu() if remind and not command.records else None
                        ),
                        "rss_x_pass": rss / pass_rss,
                        "rss_x_peer": rss / peer.rss_mb() if peer else None,
                    }
                )
    reference_rows = [
        {"name": name, "cpu_ms": entry.cpu() * 1000, "rss_mb": entry.rss_mb()}
        for name, entry in references.items()
    ]
    table = render(rows, reference_rows, runs, tasks, reminders, notes, elapsed)
    print(table)
    (out / "table.md").write_text(table)
    figures = out / "table.json"
    figures.write_text(
        json.dumps(
            {
                "rows": rows,
                "references": reference_rows,
                "runs": runs,
                "tasks": tasks,
                "reminders": reminders,
            },
            indent=1,
        )
    )
    plot(figures, out / "scaling.png", options.plotter)


def render(
    rows: list[dict[str, object]],
    references: list[dict[str, object]],
    runs: int,
    tasks: int,
    reminders: int,
    notes: list[str],
    elapsed: float,
) -> str:
    """Return the table (Markdown) and its references."""
    lines = [
        f"CPU time (user + system of the command's process) and peak RSS, median of {runs} "
        f"interleaved runs; peers: Taskwarrior on {tasks:,} tasks, remind on {reminders:,} "
        f"reminders. Measured in {elapsed / 60:.1f} min.",
        "",
        "| reference | CPU ms | RSS MB |",
        "| --- | ---: | ---: |",
    ]
    for reference in references:
        lines.append(
            f"| `{reference['name']}` | {reference['cpu_ms']:.1f} | {reference['rss_mb']:.1f} |"
        )
    lines += [
        "",
        "| command | events | snapshot | CPU ms | × pass | × peer | peer | × remind -n "
        "| RSS MB | RSS × pass | RSS × peer |",
        "| --- | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| `{row['command']}` | {size_label(int(str(row['events'])))} | {row['snapshot']} "
            f"| {float(str(row['cpu_ms'])):.1f} | {ratio(_float(row['cpu_x_pass']), 1)} "
            f"| {ratio(_float(row['cpu_x_peer']), 1)} | `{row['peer']}` "
            f"| {ratio(_float(row['cpu_x_remind']), 1)} | {float(str(row['rss_mb'])):.1f} "
            f"| {ratio(_float(row['rss_x_pass']), 1)} | {ratio(_float(row['rss_x_peer']), 1)} |"
        )
    lines += ["", *(f"Note: {note}" for note in notes)]
    return "\n".join(lines).rstrip() + "\n"


def _float(value: object) -> float | None:
    return None if value is None else float(str(value))


def plot(figures: Path, image: Path, plotter: str | None) -> None:
    """Draw the scaling curves with matplotlib: in this interpreter if it has it, else in
    ``plotter`` (bench/run's plotting environment); otherwise say how to get it."""
    script = Path(__file__).with_name("plot.py")
    try:
        import matplotlib  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
    except ImportError:
        if plotter is None:
            print(f"(no matplotlib here: {image} not drawn; bench/run installs it)")
            return
        python = plotter
    else:
        python = sys.executable
    if subprocess.run([python, str(script), str(figures), str(image)]).returncode != 0:
        print(f"(the plot failed: {image} not drawn; the table is in {figures})")
        return
    print(f"plot: {image}; table: {figures.with_suffix('.md')}")


if __name__ == "__main__":
    os.environ.pop("COFFEECHAT_NOW", None)  # the homes end now: the real clock
    main()
