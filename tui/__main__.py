"""`python -m tui` runs the hascreen command line, through the same entry as the console script."""

from tui.console import console_main

raise SystemExit(console_main())
