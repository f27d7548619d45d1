"""The ``coffeechat`` console script: one command, in a process of its own.

A command is over in tens of milliseconds, and Python's cyclic garbage collector is a
noticeable share of that: it runs over every object the imports create (several
times while argparse and msgspec load), then again over all of them while the
interpreter shuts down. So this entry point starts with the collector off and
imports the command line only then; :func:`coffeechat.daemon.cli.main` turns it
back on for every command that is not a recording one (those make a few hundred
objects and no cycles worth collecting). At the end, :func:`gc.freeze` moves what
is left out of the collector's sight, so that shutting down only frees memory.
Measured with ``bench/bench_record.py``: recording one event takes about 5 ms less
(0.4x ``python -c pass``); every other command exits a few milliseconds sooner.

The command line itself is :func:`coffeechat.daemon.cli.main`, which tests and
other programs call directly: it leaves the collector as it finds it, except to
turn it on.

A shell asking for completions runs this same script with ``_ARGCOMPLETE`` in the
environment (:mod:`coffeechat.daemon.cli.completion`); checking for it is all a normal
start pays for completion (``os`` is loaded by every interpreter's start already).
"""

import gc
import os
import sys


def run() -> None:
    """Run the command line with the arguments of this process, then exit."""
    gc.disable()
    if "_ARGCOMPLETE" in os.environ:
        from coffeechat.daemon.cli.completion import complete

        complete()  # answers the shell and exits
    from coffeechat.daemon.cli import main

    status = main()
    gc.freeze()
    sys.exit(status)
