"""The `hascreen` console script and `python -m tui`: the command line run through tui.entry.

A module of its own so that tui.entry stays below everything (the server and the lab import it first) and
nothing imports back up to the command line.
"""

from __future__ import annotations

import sys

from tui.entry import run_entry


def console_main() -> int:
    """The `hascreen` console script."""
    from tui.cli import main  # after tui.entry's import has filtered the dependencies' warnings

    argv = sys.argv[1:]
    # a crash of `hascreen health` is UNKNOWN (3) for the monitoring system that called it
    return run_entry(main, argv, crash_status=3 if argv[:1] == ["health"] else 1)
