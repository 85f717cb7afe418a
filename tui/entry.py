"""How every hascreen process starts: the console script, `python -m tui`, `python -m tui.server` and
`python -m tui.lab` all go through `run_entry` (the console script is tui.console).

It owns what reaches the user's terminal from below hascreen's own messages:
- warnings (e.g. cryptography's DSA deprecation, raised while asyncssh is imported) are filtered before
  anything else is imported; an explicit `python -W …` or $PYTHONWARNINGS still wins, for developers;
- log records of libraries and of hascreen's own modules go to the log file, never to stderr (Python's
  "last resort" handler would print them);
- an unexpected exception becomes one line on stderr naming the log file, which gets the traceback.
Expected failures (bad config, unreachable hosts, refusals) are reported by the commands themselves.
"""

from __future__ import annotations

import sys
import warnings


def quiet_dependency_warnings() -> None:
    """No warning reaches the terminal unless the user asked for warnings (-W or $PYTHONWARNINGS)."""
    if not sys.warnoptions:
        warnings.simplefilter("ignore")


quiet_dependency_warnings()  # at import: before anything imports asyncssh or cryptography

import logging  # noqa: E402
import os  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_file() -> Path:
    """$HASCREEN_LOG, else $XDG_STATE_HOME/hascreen/hascreen.log (~/.local/state/hascreen/hascreen.log)."""
    from_env = os.environ.get("HASCREEN_LOG")
    if from_env:
        return Path(from_env)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "hascreen" / "hascreen.log"


class _LazyFileHandler(logging.Handler):
    """Appends to the log file, creating it (0600, directory 0700) only when something is logged."""

    def __init__(self, path: Path) -> None:
        super().__init__(logging.WARNING)
        self.path = path
        self.setFormatter(logging.Formatter(LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record) + "\n"
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, text.encode("utf-8", "replace"))
            finally:
                os.close(fd)
        except OSError:
            pass  # a log that cannot be written must not turn into output on the terminal


def route_logging_to_file(path: Path | None = None) -> Path:
    """Every log record at WARNING and above goes to the log file; nothing goes to stderr."""
    path = path or log_file()
    root = logging.getLogger()
    if not any(isinstance(h, _LazyFileHandler) for h in root.handlers):
        root.addHandler(_LazyFileHandler(path))
    logging.lastResort = None  # a record no handler takes is dropped, not printed
    return path


def report_crash(exc: BaseException, path: Path) -> str:
    """Write the traceback to the log; the one line for the terminal."""
    logging.getLogger("hascreen").error("unexpected error in %s\n%s", " ".join(sys.argv),
                                        "".join(traceback.format_exception(exc)).rstrip())
    return f"hascreen: internal error: {type(exc).__name__}: {exc} (details in {path})"


def run_entry(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None,
              crash_status: int = 1) -> int:
    """Run a command line's main with clean output: the exit status, never a traceback."""
    path = route_logging_to_file()
    try:
        return int(main(argv) or 0)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:  # `hascreen health | head`: the reader is gone, nothing left to say
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        except OSError:
            pass
        return 141
    except Exception as exc:
        print(report_crash(exc, path), file=sys.stderr)
        return crash_status

