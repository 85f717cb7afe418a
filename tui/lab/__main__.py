"""`python -m tui.lab up|down|status|break SCENARIO|heal` runs the lab command line."""

from tui.lab.cli import main

raise SystemExit(main(None))
