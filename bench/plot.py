"""Draw ``bench/out/table.json`` (written by ``bench_table.py``) as scaling curves.

CPU time against the number of events, log-log: one line per command (warm solid, cold
dashed), the peers and ``python -c pass`` as horizontal lines (they do not grow with the
home). Needs matplotlib, which is in the ``bench`` extra only (never a runtime dependency):
``bench/run`` installs it into an environment of its own.

    python bench/plot.py bench/out/table.json bench/out/scaling.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib  # type: ignore[import-not-found, unused-ignore]

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]  # after use()


def draw(figures: dict[str, Any], image: Path) -> None:
    """Draw the figures into ``image`` (PNG)."""
    rows = figures["rows"]
    sizes = sorted({row["events"] for row in rows})
    figure, axes = plt.subplots(figsize=(12.5, 6.5), dpi=110)
    commands = list(dict.fromkeys(row["command"] for row in rows))
    colours = plt.get_cmap("tab10")
    for number, command in enumerate(commands):
        for mode, style in (("warm", "-"), ("cold", "--")):
            points = sorted(
                (row["events"], row["cpu_ms"])
                for row in rows
                if row["command"] == command and row["snapshot"] == mode
            )
            if points:
                axes.plot(
                    [events for events, _ in points],
                    [cpu for _, cpu in points],
                    style,
                    marker="o",
                    markersize=4,
                    color=colours(number),
                    label=f"{command} ({mode})",
                )
    references = {reference["name"]: reference["cpu_ms"] for reference in figures["references"]}
    reference_styles = {
        "python -c pass": ("black", ":"),
        "task add": ("tab:gray", "-."),
        "task next": ("tab:brown", "-."),
        "task count": ("tab:olive", "-."),
        "remind -n": ("tab:pink", "-."),
    }
    for name, (colour, style) in reference_styles.items():
        if name in references:
            label = name
            if name.startswith("task"):
                label += f" ({figures['tasks']:,} tasks)"
            elif name.startswith("remind"):
                label += f" ({figures['reminders']:,} reminders)"
            axes.axhline(
                references[name],
                color=colour,
                linestyle=style,
                linewidth=1.2,
                label=f"{label}: {references[name]:.1f} ms",
            )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(sizes, [_label(size) for size in sizes])
    axes.minorticks_off()
    axes.set_xlabel("events in the home (contacts = events / 50)")
    axes.set_ylabel("CPU time per run, ms (user + system; log scale)")
    axes.set_title(
        f"coffeechat: CPU time against the size of the home (median of {figures['runs']} runs)"
    )
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    figure.tight_layout()
    figure.savefig(image)


def _label(events: int) -> str:
    if events % 1_000_000 == 0:
        return f"{events // 1_000_000}M"
    return f"{events // 1_000}k" if events % 1_000 == 0 else str(events)


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit("usage: python bench/plot.py TABLE.json IMAGE.png")
    draw(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))


if __name__ == "__main__":
    main()
