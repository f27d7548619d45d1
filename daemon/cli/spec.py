"""How a command declares itself to the command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from coffeechat.daemon.cli.app import App


class Command:
    """One command: its help, how to configure its parser, and what it runs.

    ``run(app, args)`` returns the exit status (None for 0).
    """

    __slots__ = ("configure", "description", "help", "run")

    def __init__(
        self,
        help: str,
        configure: Callable[[argparse.ArgumentParser], None],
        run: Callable[[App, argparse.Namespace], int | None],
        description: str | None = None,
    ) -> None:
        self.help = help
        self.configure = configure
        self.run = run
        self.description = description
