"""Keymaps: keymaps/screen.yaml (prefix C-a, the default), keymaps/tmux.yaml (C-b), and the user's
~/.config/hascreen/keymap.yaml on top, loaded into one validated `Keymap`.

A binding maps a key pressed after the prefix to a command line of tui.commands, with a note for the
help screen. This package may not import tui.commands (layer rule), so the caller passes the known
commands in: `load_keymap("screen", known_commands=tui.commands.COMMANDS)`.

File format (docs/config.md has the full description):

    prefix: C-a
    scroll: normal            # or natural: the mouse wheel is reversed
    bindings:
      c:   {command: new-window, note: create a window with a shell}
      '0': {command: select-window 0, note: switch to window 0}
      s:   none               # unbind (mostly useful in the user's file)
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tui.config.checker import Checker, did_you_mean, join_path
from tui.config.errors import ConfigError, ConfigErrors
from tui.config.keys import NAMED_KEYS, KeyNameError, parse_key
from tui.config.located_yaml import YamlEntry, YamlNode, parse_yaml, read_config_text
from tui.config.paths import available_keymaps, find_keymap_file, keymap_search_dirs

SCROLL_MODES = ("normal", "natural")
TOP_LEVEL_KEYS = ("prefix", "scroll", "bindings")
BINDING_KEYS = ("command", "note")

KnownCommands = Mapping[str, Any] | Collection[str]


@dataclass(frozen=True)
class Binding:
    """One key after the prefix → one command line; `file`/`line` say where it was bound."""

    key: str  # canonical key name, e.g. "C-c", "tab", '"'
    command_line: str
    note: str
    file: str
    line: int
    sequences: tuple[bytes, ...] = ()  # the raw bytes terminals send for `key`

    @property
    def command(self) -> str:
        return shlex.split(self.command_line)[0]

    @property
    def args(self) -> tuple[str, ...]:
        return tuple(shlex.split(self.command_line)[1:])


@dataclass(frozen=True)
class KeyMatch:
    """The result of matching input bytes that follow the prefix.

    binding: the bound command, or None; consumed: how many bytes the key took (0 when incomplete);
    incomplete: the bytes are the start of a longer key (e.g. a lone ESC) — wait briefly for more."""

    binding: Binding | None
    consumed: int
    incomplete: bool = False


@dataclass(frozen=True)
class Keymap:
    prefix: str  # canonical key name, e.g. "C-a"
    prefix_byte: bytes  # the single byte the prefix sends, e.g. b"\x01"
    bindings: dict[str, Binding]  # canonical key name -> binding, in file order
    scroll: str = "normal"  # "normal" | "natural"
    name: str = ""  # "screen", "tmux" or the file's stem
    files: tuple[str, ...] = ()  # the files it was loaded from, base first

    @cached_property
    def _by_bytes(self) -> dict[bytes, Binding]:
        return {seq: binding for binding in self.bindings.values() for seq in binding.sequences}

    @cached_property
    def _all_sequences(self) -> tuple[bytes, ...]:
        every = {seq for seqs in NAMED_KEYS.values() for seq in seqs} | set(self._by_bytes)
        return tuple(sorted(every, key=len, reverse=True))

    def lookup(self, data: bytes) -> Binding | None:
        """The binding for exactly these key bytes."""
        return self._by_bytes.get(data)

    def match(self, data: bytes, *, final: bool = False) -> KeyMatch:
        """Match the start of `data` (the bytes read after the prefix) against the bindings.

        When `data` could still grow into a longer key (a lone ESC may be the start of an arrow key),
        the result is `incomplete` unless `final` is set: the caller waits its escape time for more
        bytes, then calls again with final=True."""
        if not data:
            return KeyMatch(None, 0, incomplete=True)
        if not final and any(len(seq) > len(data) and seq.startswith(data) for seq in self._all_sequences):
            return KeyMatch(None, 0, incomplete=True)
        for seq in self._all_sequences:
            if data.startswith(seq):
                return KeyMatch(self._by_bytes.get(seq), len(seq))
        # An unbound key: consume one character (a whole UTF-8 sequence) so the caller can move on.
        return KeyMatch(None, _utf8_char_length(data))

    def help_rows(self) -> list[tuple[str, str, str]]:
        """(key, command line, note) for every binding, for the `help` screen."""
        return [(b.key, b.command_line, b.note) for b in self.bindings.values()]


def _utf8_char_length(data: bytes) -> int:
    first = data[0]
    length = 1 if first < 0xC0 else 2 if first < 0xE0 else 3 if first < 0xF0 else 4
    return min(length, len(data))


def _arg_limits(known: KnownCommands, name: str) -> tuple[int, int | None] | None:
    """(min, max) arguments of a command when the caller gave them: a (min, max) tuple, or an object with
    min_args/max_args such as tui.commands.CommandSpec. None when only the names are known."""
    if not isinstance(known, Mapping):
        return None
    spec = known[name]
    if isinstance(spec, tuple) and len(spec) == 2:
        return spec
    low, high = getattr(spec, "min_args", None), getattr(spec, "max_args", 0)
    if isinstance(low, int):
        return low, high
    return None


def resolve_keymap(name_or_path: str | os.PathLike[str]) -> Path | None:
    """A keymap name ("screen", "tmux") from the search dirs, or a path to a file."""
    text = os.fspath(name_or_path)
    if "/" in text or text.endswith((".yaml", ".yml")):
        return Path(text).expanduser()
    return find_keymap_file(text)


@dataclass
class _FileBindings:
    """What one keymap file says, before the base and user files are merged."""

    prefix: tuple[str, bytes] | None = None
    scroll: str | None = None
    bindings: dict[str, Binding | None] = field(default_factory=dict)  # None: unbind


def _check_command(checker: Checker, node: YamlNode, path: str, known: KnownCommands) -> str | None:
    line = checker.string(node, path)
    if line is None:
        return None
    try:
        words = shlex.split(line)
    except ValueError as exc:
        checker.error(node.line, path, f"cannot parse {line!r}: {exc}")
        return None
    if not words:
        checker.error(node.line, path, "empty command")
        return None
    name, args = words[0], words[1:]
    if name not in known:
        checker.error(node.line, path, f"unknown command {name!r}{did_you_mean(name, list(known))}")
        return None
    limits = _arg_limits(known, name)
    if limits is not None:
        low, high = limits
        if len(args) < low or (high is not None and len(args) > high):
            expected = f"{low}" if low == high else f"{low}..{'any' if high is None else high}"
            usage = getattr(known[name], "usage", "") if isinstance(known, Mapping) else ""
            hint = f"; usage: {usage}" if usage else ""
            checker.error(node.line, path, f"{name} takes {expected} argument(s), got {len(args)}{hint}")
            return None
    return shlex.join(words)


def _check_binding(checker: Checker, entry: YamlEntry, known: KnownCommands) -> tuple[str, Binding | None] | None:
    path = join_path("bindings", entry.key)
    try:
        key = parse_key(entry.key)
    except KeyNameError as exc:
        checker.error(entry.key_line, path, str(exc))
        return None
    node = entry.node
    if node.is_null or (node.kind == "scalar" and node.value == "none"):
        return key.name, None
    if node.kind == "scalar" and isinstance(node.value, str):
        checker.error(node.line, path, f'a binding needs a note: write {{command: {node.value}, note: "..."}}')
        return None
    fields = checker.mapping(node, path, allowed=BINDING_KEYS, required=BINDING_KEYS, line=entry.key_line)
    if fields is None:
        return None
    command = note = None
    if "command" in fields:
        command = _check_command(checker, fields["command"].node, join_path(path, "command"), known)
    if "note" in fields:
        note = checker.string(fields["note"].node, join_path(path, "note"))
    if command is None or note is None:
        return None
    return key.name, Binding(key.name, command, note.strip(), checker.file, entry.key_line, key.sequences)


def _check_prefix(checker: Checker, node: YamlNode) -> tuple[str, bytes] | None:
    name = checker.string(node, "prefix")
    if name is None:
        return None
    try:
        key = parse_key(name)
    except KeyNameError as exc:
        checker.error(node.line, "prefix", str(exc))
        return None
    byte = key.primary
    # The client watches the raw input for one byte; ESC starts every escape sequence (arrows, mouse).
    if len(byte) != 1 or not (byte[0] < 0x20 or byte[0] == 0x7F) or byte == b"\x1b":
        checker.error(node.line, "prefix", f"{name!r} cannot be the prefix: use a Ctrl key such as C-a or C-b")
        return None
    return key.name, byte


def _read_keymap_file(path: Path, known: KnownCommands, *, is_base: bool, errors: list[ConfigError]) -> _FileBindings:
    file = str(path)
    result = _FileBindings()
    text = read_config_text(path, errors)
    if text is None:
        return result
    parsed = parse_yaml(text, file)
    errors.extend(parsed.errors)
    checker = Checker(file)
    root = parsed.root
    if root is None:
        if is_base and not parsed.errors:
            checker.error(0, "", "the keymap is empty: it needs prefix and bindings")
        errors.extend(checker.errors)
        return result
    required = ("prefix", "bindings") if is_base else ()
    top = checker.mapping(root, "", allowed=TOP_LEVEL_KEYS, required=required, line=1)
    if top is not None:
        if "prefix" in top:
            result.prefix = _check_prefix(checker, top["prefix"].node)
        if "scroll" in top:
            result.scroll = checker.string(top["scroll"].node, "scroll", choices=SCROLL_MODES)
        if "bindings" in top:
            bindings_node = top["bindings"].node
            entries = {} if bindings_node.is_null and not is_base else checker.mapping(bindings_node, "bindings")
            seen: dict[str, YamlEntry] = {}
            for entry in (entries or {}).values():
                checked = _check_binding(checker, entry, known)
                if checked is None:
                    continue
                name, binding = checked
                if name in seen:
                    first = seen[name]
                    same = "" if first.key == entry.key else f" ({first.key!r} and {entry.key!r} are the same key)"
                    checker.error(
                        entry.key_line, join_path("bindings", entry.key),
                        f"duplicate binding: {name} is already bound on line {first.key_line}{same}",
                    )
                    continue
                seen[name] = entry
                result.bindings[name] = binding
    errors.extend(checker.errors)
    return result


def load_keymap(
    name_or_path: str | os.PathLike[str] = "screen",
    user_file: str | os.PathLike[str] | None = None,
    *,
    known_commands: KnownCommands,
) -> Keymap:
    """Load a keymap by name ("screen", "tmux") or path, then apply `user_file` on top of it.

    The user's file may set prefix and scroll and add, replace or (with `none`) remove bindings.
    Raises ConfigErrors with every problem of both files, each naming file, line and key.
    """
    path = resolve_keymap(name_or_path)
    if path is None:
        dirs = ", ".join(str(d) for d in keymap_search_dirs())
        known = ", ".join(available_keymaps()) or "none found"
        raise ConfigErrors([ConfigError(
            os.fspath(name_or_path), 0, "", f"no such keymap (known: {known}; searched {dirs})",
        )])
    errors: list[ConfigError] = []
    base = _read_keymap_file(path, known_commands, is_base=True, errors=errors)
    files = [str(path)]
    layers = [base]
    if user_file is not None:
        files.append(str(user_file))
        layers.append(_read_keymap_file(Path(user_file), known_commands, is_base=False, errors=errors))
    if errors:
        raise ConfigErrors(errors)
    prefix = scroll = None
    bindings: dict[str, Binding] = {}
    for layer in layers:
        prefix = layer.prefix or prefix
        scroll = layer.scroll or scroll
        for name, binding in layer.bindings.items():
            if binding is None:
                bindings.pop(name, None)
            else:
                bindings[name] = binding
    assert prefix is not None  # the base file requires it and had no errors
    return Keymap(
        prefix=prefix[0], prefix_byte=prefix[1], bindings=bindings, scroll=scroll or "normal",
        name=path.stem, files=tuple(files),
    )
