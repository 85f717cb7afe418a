"""Configuration errors that point at the exact place: file, line and key.

Every loader in tui.config collects all the problems of a file before it gives up, so a user fixes a
hosts.yaml or keymap in one pass instead of one error per run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigError:
    """One problem in a config file. `line` is 1-based; 0 means the file as a whole."""

    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line > 0 else self.file
        if self.key:
            return f"{where}: {self.key}: {self.message}"
        return f"{where}: {self.message}"


class ConfigErrors(Exception):
    """All the problems found in one load, in file order; str() prints one per line."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.file, e.line))
        super().__init__("\n".join(str(e) for e in self.errors))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)
