"""Typed reads from located YAML that record an error (file, line, key path) instead of raising.

The schema code in hosts.py, keymap.py and user_config.py walks its nodes through one `Checker`, which
collects every problem of the file; each read returns None when the value is unusable so the walk can
go on and find the next problem.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Collection, Mapping
from typing import Any

from tui.config.errors import ConfigError
from tui.config.located_yaml import YamlEntry, YamlNode


def did_you_mean(word: str, choices: Collection[str]) -> str:
    """' (did you mean "x"?)' for the closest choice, or "" when nothing is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class Checker:
    """Collects ConfigErrors for one file while its nodes are read."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[ConfigError] = []

    def error(self, line: int, key: str, message: str) -> None:
        self.errors.append(ConfigError(self.file, line, key, message))

    def type_error(self, node: YamlNode, path: str, expected: str) -> None:
        self.error(node.line, path, f"expected {expected}, got {node.describe()}")

    def mapping(
        self,
        node: YamlNode,
        path: str,
        *,
        allowed: Collection[str] | None = None,
        required: Collection[str] = (),
        line: int | None = None,
        hints: Mapping[str, str] | None = None,
    ) -> dict[str, YamlEntry] | None:
        """The entries of a mapping. Unknown keys (when `allowed` is given) get a did-you-mean, or the
        message in `hints`; missing required keys are reported at `line` (the key that holds the mapping)."""
        if node.kind != "map":
            self.type_error(node, path, "a mapping")
            return None
        entries: dict[str, YamlEntry] = node.value
        if allowed is not None:
            for key, entry in entries.items():
                if key in allowed:
                    continue
                if hints and key in hints:
                    self.error(entry.key_line, join_path(path, key), hints[key])
                else:
                    self.error(entry.key_line, join_path(path, key), f"unknown key{did_you_mean(key, allowed)}")
        for key in required:
            if key not in entries:
                self.error(line if line is not None else node.line, join_path(path, key), "missing (required)")
        return entries

    def string(self, node: YamlNode, path: str, *, choices: Collection[str] | None = None) -> str | None:
        """A non-empty string. Numbers are not silently turned into strings: `user: 0` is a mistake."""
        if node.kind != "scalar" or not isinstance(node.value, str):
            expected = "one of " + ", ".join(choices) if choices else "a string"
            self.type_error(node, path, expected)
            return None
        value: str = node.value
        if not value.strip():
            self.error(node.line, path, "must not be empty")
            return None
        if choices is not None and value not in choices:
            self.error(node.line, path, f"{value!r} is not one of {', '.join(choices)}{did_you_mean(value, choices)}")
            return None
        return value

    def word(self, node: YamlNode, path: str, what: str = "a name") -> str | None:
        """A name that is safe on a command line: letters, digits and . _ - (no spaces, no shell syntax)."""
        value = self.string(node, path)
        if value is None:
            return None
        if not all(ch.isalnum() or ch in "._-" for ch in value) or value.startswith("-"):
            self.error(node.line, path, f"{value!r} is not a valid {what}: use letters, digits, '.', '_' or '-'")
            return None
        return value

    def integer(self, node: YamlNode, path: str, low: int, high: int) -> int | None:
        if node.kind != "scalar" or isinstance(node.value, bool) or not isinstance(node.value, int):
            self.type_error(node, path, "an integer")
            return None
        if not low <= node.value <= high:
            self.error(node.line, path, f"{node.value} is out of range {low}..{high}")
            return None
        return node.value

    def number(self, node: YamlNode, path: str, low: float, high: float) -> float | None:
        value = node.value
        if node.kind != "scalar" or isinstance(value, bool) or not isinstance(value, int | float):
            self.type_error(node, path, "a number")
            return None
        if not low <= value <= high:
            self.error(node.line, path, f"{value} is out of range {low:g}..{high:g}")
            return None
        return float(value)

    def boolean(self, node: YamlNode, path: str) -> bool | None:
        if node.kind != "scalar" or not isinstance(node.value, bool):
            self.type_error(node, path, "true or false")
            return None
        return node.value

    def sequence(self, node: YamlNode, path: str) -> tuple[YamlNode, ...] | None:
        if node.kind != "seq":
            self.type_error(node, path, "a list")
            return None
        return node.value

    def string_list(self, node: YamlNode, path: str, *, words: bool = False, min_items: int = 0) -> tuple[str, ...] | None:
        """A list of strings (names when `words`); duplicates are errors since they are always a slip."""
        items = self.sequence(node, path)
        if items is None:
            return None
        values: list[str] = []
        ok = True
        for index, item in enumerate(items):
            item_path = f"{path}[{index}]"
            value = self.word(item, item_path) if words else self.string(item, item_path)
            if value is None:
                ok = False
            elif value in values:
                self.error(item.line, item_path, f"{value!r} is listed twice")
                ok = False
            else:
                values.append(value)
        if ok and len(values) < min_items:
            self.error(node.line, path, f"needs at least {min_items} entries, got {len(values)}")
            return None
        return tuple(values) if ok else None

    def ip_address(self, node: YamlNode, path: str) -> str | None:
        """An IPv4 or IPv6 address, checked by `ipaddress` and returned in its canonical spelling."""
        value = self.string(node, path)
        if value is None:
            return None
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            hint = "; write it without the /prefix (a VIP's prefix length goes in `prefix`)" if "/" in value else ""
            self.error(node.line, path, f"{value!r} is not a valid IP address{hint}")
            return None

    def path_string(self, node: YamlNode, path: str, *, absolute: bool = False) -> str | None:
        value = self.string(node, path)
        if value is None:
            return None
        if "\x00" in value or "\n" in value:
            self.error(node.line, path, "a path cannot contain NUL or newline characters")
            return None
        if absolute and not value.startswith("/"):
            self.error(node.line, path, f"{value!r} must be an absolute path (it is read on the remote host)")
            return None
        return value


def node_value(node: YamlNode) -> Any:
    """A plain Python value (for tests and debugging)."""
    if node.kind == "scalar":
        return node.value
    if node.kind == "seq":
        return [node_value(item) for item in node.value]
    return {key: node_value(entry.node) for key, entry in node.value.items()}
