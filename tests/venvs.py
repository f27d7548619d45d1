"""Fresh virtual environments with wheels built from this checkout, offline.

A wheel is built with ``--no-build-isolation`` (setuptools comes from the test
environment) and installed into a new environment that borrows the test environment's
dependencies through a ``.pth`` file, so nothing is downloaded.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path


def build_wheel(source: Path, out: Path) -> Path:
    """Build the wheel of the project at ``source`` into an empty ``out``; return its path."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("*.whl")  # one project per folder
    return built


def fresh_environment(folder: Path, wheels: list[Path]) -> tuple[Path, Path]:
    """Make a virtual environment with ``wheels`` installed; return (python, site-packages)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(folder), "platbase": str(folder)}))
    # Borrow the dependencies (msgspec, pluggy …) from the test environment; the
    # borrowed folder's own .pth files (the editable coffeechat) are not run.
    (site / "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")
    python = folder / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--target",
            str(site),
            *map(str, wheels),
        ],
        check=True,
        capture_output=True,
    )
    return python, site
