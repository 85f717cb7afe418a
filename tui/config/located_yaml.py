"""YAML parsed into nodes that remember their line: the base of every error message in tui.config.

PyYAML's `safe_load` forgets where values came from and silently keeps the last of two equal mapping
keys. Here the file is composed into PyYAML's node graph and walked by hand: every mapping key and value
keeps its 1-based line, duplicate keys become errors, scalars are resolved by PyYAML's safe constructor
(so `22` is an int and `yes` a bool, exactly as `safe_load` would read them), and problems are collected
rather than raised one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tui.config.errors import ConfigError

# Aliases may share subtrees; a malicious file can expand them exponentially ("billion laughs").
MAX_NODES = 200_000
# No config needs deep nesting; the limit keeps the recursive walk far from Python's recursion limit.
MAX_DEPTH = 64


@dataclass(frozen=True)
class YamlNode:
    """A scalar, sequence or mapping with its line. `value` is the constructed scalar, a tuple of
    YamlNode for a sequence, or a dict key -> YamlEntry (in file order) for a mapping."""

    kind: str  # "scalar" | "seq" | "map"
    line: int
    value: Any
    raw: str = ""  # a scalar's source text, e.g. "none" or "8.4"

    @property
    def is_null(self) -> bool:
        return self.kind == "scalar" and self.value is None

    def describe(self) -> str:
        """A short type name for "expected X, got Y" messages."""
        if self.kind == "seq":
            return "a list"
        if self.kind == "map":
            return "a mapping"
        if self.value is None:
            return "nothing (null)"
        if isinstance(self.value, bool):
            return f"a boolean ({self.raw})"
        if isinstance(self.value, int):
            return f"an integer ({self.raw})"
        if isinstance(self.value, float):
            return f"a number ({self.raw})"
        if isinstance(self.value, str):
            return f"a string ({self.raw!r})"
        return f"a {type(self.value).__name__} ({self.raw})"


@dataclass(frozen=True)
class YamlEntry:
    """One `key: value` pair of a mapping; `key_line` is where the key is written."""

    key: str
    key_line: int
    node: YamlNode


@dataclass
class ParsedYaml:
    root: YamlNode | None
    errors: list[ConfigError] = field(default_factory=list)


def read_config_text(path: Path | str, errors: list[ConfigError]) -> str | None:
    """The file's text, or None after recording why it could not be read."""
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        errors.append(ConfigError(file, 0, "", f"cannot read the file: {exc.strerror or exc}"))
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        errors.append(ConfigError(file, line, "", f"not UTF-8 text (byte 0x{data[exc.start]:02x})"))
        return None


def parse_yaml(text: str, file: str) -> ParsedYaml:
    """Parse one YAML document into located nodes; never raises for bad input."""
    result = ParsedYaml(root=None)
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # a control character such as NUL, found when reading starts
        result.errors.append(_reader_error(exc, text, file))
        return result
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 0
            problem = exc.problem or exc.context or "invalid YAML"
            result.errors.append(ConfigError(file, line, "", f"YAML syntax error: {problem}"))
            return result
        except yaml.reader.ReaderError as exc:
            result.errors.append(_reader_error(exc, text, file))
            return result
        except RecursionError:  # PyYAML composes nested collections recursively
            result.errors.append(ConfigError(file, 0, "", f"YAML nested too deeply (over {MAX_DEPTH} levels)"))
            return result
        except yaml.YAMLError as exc:
            result.errors.append(ConfigError(file, 0, "", f"YAML error: {exc}"))
            return result
        if node is None:
            return result
        walker = _Walker(loader, file, result.errors)
        result.root = walker.convert(node, set(), "")
        return result
    finally:
        loader.dispose()


def _reader_error(exc: yaml.reader.ReaderError, text: str, file: str) -> ConfigError:
    line = text[: exc.position].count("\n") + 1
    return ConfigError(file, line, "", f"YAML syntax error: character U+{exc.character:04X} is not allowed")


class _Walker:
    """Turns PyYAML nodes into YamlNodes, recording problems instead of raising."""

    def __init__(self, loader: yaml.SafeLoader, file: str, errors: list[ConfigError]) -> None:
        self.loader = loader
        self.file = file
        self.errors = errors
        self.count = 0

    def error(self, line: int, key: str, message: str) -> None:
        self.errors.append(ConfigError(self.file, line, key, message))

    def convert(self, node: yaml.Node, on_path: set[int], path: str) -> YamlNode:
        line = node.start_mark.line + 1
        self.count += 1
        if self.count > MAX_NODES:
            if self.count == MAX_NODES + 1:
                self.error(line, path, f"too many values (over {MAX_NODES}); are aliases expanding?")
            return YamlNode("scalar", line, None)
        if len(on_path) >= MAX_DEPTH:
            self.error(line, path, f"nested too deeply (over {MAX_DEPTH} levels)")
            return YamlNode("scalar", line, None)
        if id(node) in on_path:
            self.error(line, path, "an alias refers to itself")
            return YamlNode("scalar", line, None)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, line, path)
        inner = on_path | {id(node)}
        if isinstance(node, yaml.SequenceNode):
            return YamlNode("seq", line, tuple(self.convert(item, inner, f"{path}[{i}]") for i, item in enumerate(node.value)))
        return self.mapping(node, line, inner, path)

    def scalar(self, node: yaml.ScalarNode, line: int, path: str) -> YamlNode:
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.error(line, path, f"bad value {node.value!r}: {getattr(exc, 'problem', None) or exc}")
            value = None
        except ValueError as exc:  # e.g. an impossible timestamp such as 2026-13-45
            self.error(line, path, f"bad value {node.value!r}: {exc}")
            value = None
        return YamlNode("scalar", line, value, raw=node.value)

    def mapping(self, node: yaml.MappingNode, line: int, on_path: set[int], path: str) -> YamlNode:
        entries: dict[str, YamlEntry] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(key_line, path, "a mapping key must be a plain word, not a list or mapping")
                continue
            key = key_node.value
            key_path = f"{path}.{key}" if path else key
            if key == "<<" and key_node.tag == "tag:yaml.org,2002:merge":
                self.error(key_line, key_path, "merge keys (<<) are not supported; write the keys out")
                continue
            value = self.convert(value_node, on_path, key_path)
            if key in entries:
                first = entries[key].key_line
                self.error(key_line, key_path, f"duplicate key: already given on line {first}")
                continue
            entries[key] = YamlEntry(key, key_line, value)
        return YamlNode("map", line, entries)
