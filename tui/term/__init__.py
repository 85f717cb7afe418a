"""tui.term: the terminal emulator behind one small interface (see docs/interfaces.md, "tui.term").

pyte 0.8.2 is the engine; `terminal.Terminal` is the only class the server needs, `feeding.FeedQueue` says
how to feed it in bounded slices. Modules: `screen` (cells, modes, alternate screen, rendering), `stream`
(bytes -> screen calls, block fast path), `scrollback` (compact history), `terminal` (the facade).
"""

from tui.term.feeding import FEED_SLICE_BYTES, FeedQueue
from tui.term.scrollback import Run
from tui.term.terminal import Terminal, TerminalModes

__all__ = ["FEED_SLICE_BYTES", "FeedQueue", "Run", "Terminal", "TerminalModes"]
