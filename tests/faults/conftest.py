"""The fault suite: real processes on real files and sockets, and what survived.

Each fault test runs a scenario (several devices syncing late, a daemon whose ledger
cannot be written, a channel that hangs …), then counts from what it *observed* (the
log's lines, the posts a real HTTP endpoint received, the state a fresh process folds)
how many of the things it tried survived, were lost, or were duplicated, and records
that through the ``fault_report`` fixture. At the end of the session the figures are
written to ``tests/faults/out/report.md`` (and summarised in the terminal), which the
issue notes quote.

A scenario that loses or duplicates something fails its own assertions too: the report
is what was measured, not a substitute for the tests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPORT_DIR = Path(__file__).parent / "out"


@dataclass
class Figures:
    """What one scenario tried, and what became of it."""

    scenario: str
    tried: int = 0
    survived: int = 0
    lost: int = 0
    duplicated: int = 0
    detail: str = ""


@dataclass
class FaultReport:
    """Figures of every scenario run in this session, in the order they ran."""

    rows: list[Figures] = field(default_factory=list)

    def record(
        self,
        scenario: str,
        *,
        tried: int,
        survived: int,
        lost: int,
        duplicated: int,
        detail: str = "",
    ) -> Figures:
        """Record one scenario's figures; return them so the test can assert on them."""
        figures = Figures(scenario, tried, survived, lost, duplicated, detail)
        self.rows.append(figures)
        return figures

    def count(
        self, scenario: str, expected: list[str], observed: list[str], detail: str = ""
    ) -> Figures:
        """Record figures computed from what was expected and what was observed.

        ``expected`` holds one key per thing tried (an event id, a reminder id); ``observed``
        every key seen (in the log, at the endpoint), repeats included. A key never seen is
        lost; each extra sighting of a key is a duplicate.
        """
        seen: dict[str, int] = {}
        for key in observed:
            seen[key] = seen.get(key, 0) + 1
        lost = sum(1 for key in expected if seen.get(key, 0) == 0)
        duplicated = sum(max(0, seen.get(key, 0) - 1) for key in set(expected))
        survived = len(expected) - lost
        return self.record(
            scenario,
            tried=len(expected),
            survived=survived,
            lost=lost,
            duplicated=duplicated,
            detail=detail,
        )

    def markdown(self) -> str:
        """Return the report as a Markdown table, with totals."""
        lines = [
            "| scenario | tried | survived | lost | duplicated | detail |",
            "| --- | ---: | ---: | ---: | ---: | --- |",
        ]
        for row in self.rows:
            lines.append(
                f"| {row.scenario} | {row.tried} | {row.survived} | {row.lost} "
                f"| {row.duplicated} | {row.detail} |"
            )
        total = Figures(
            "**total**",
            sum(r.tried for r in self.rows),
            sum(r.survived for r in self.rows),
            sum(r.lost for r in self.rows),
            sum(r.duplicated for r in self.rows),
        )
        lines.append(
            f"| {total.scenario} | {total.tried} | {total.survived} | {total.lost} "
            f"| {total.duplicated} | {len(self.rows)} scenarios |"
        )
        return "\n".join(lines) + "\n"


_REPORT = FaultReport()


@pytest.fixture(scope="session")
def fault_report() -> FaultReport:
    """The session's fault report: ``fault_report.count(name, expected, observed)``."""
    return _REPORT


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _REPORT.rows:
        return
    REPORT_DIR.mkdir(exist_ok=True)
    (REPORT_DIR / "report.md").write_text(_REPORT.markdown(), encoding="utf-8")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _REPORT.rows:
        return
    terminalreporter.section("fault suite")
    terminalreporter.write(_REPORT.markdown())
    terminalreporter.write_line(f"written to {os.path.relpath(REPORT_DIR / 'report.md')}")
