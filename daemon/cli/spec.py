"""How a command declares itself to the command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from coffeechat.daemon.cli.app import App


class Command(NamedTuple):
    """One command: its help, how to configure its parser, and what it runs.

    ``run(app, args)`` returns the exit status (None for 0).
    """

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[App, argparse.Namespace], int | None]
    description: str | None = None
