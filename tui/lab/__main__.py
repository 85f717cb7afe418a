"""`python -m tui.lab up|down|status|break SCENARIO|heal` runs the lab command line (clean output, as
every entry point: see tui.entry)."""

from tui.entry import run_entry
from tui.lab.cli import main

raise SystemExit(run_entry(main))
