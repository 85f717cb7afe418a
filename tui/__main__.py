"""`python -m tui` runs the hascreen command line."""

from tui.cli import main

raise SystemExit(main())
