"""Malformed input never crashes a loader: every truncation and line deletion of the shipped files
either loads or raises ConfigErrors whose errors all carry a line or name the whole file."""

from pathlib import Path

import pytest

from tui.commands import COMMANDS
from tui.config import ConfigErrors, load_hosts, load_keymap, load_user_config

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "config"


def variants(text: str, step: int):
    for end in range(0, len(text), step):
        yield f"cut{end}", text[:end]
    lines = text.splitlines(keepends=True)
    for index in range(len(lines)):
        yield f"drop{index}", "".join(lines[:index] + lines[index + 1:])
    yield "tabs", text.replace("  ", "\t")
    yield "binary", text[:200] + "\x00\x01\x1b[31m" + text[200:]


def check(loader, path: Path) -> int:
    try:
        loader(path)
    except ConfigErrors as exc:
        assert exc.errors
        for error in exc.errors:
            assert error.file == str(path) and error.message
            assert error.line >= 0
        return len(exc.errors)
    return 0


@pytest.mark.parametrize(
    ("source", "loader"),
    [
        (ROOT / "hosts.yaml", load_hosts),
        (FIXTURES / "hosts" / "valid-full.yaml", load_hosts),
        (ROOT / "keymaps" / "screen.yaml", lambda p: load_keymap(p, known_commands=COMMANDS)),
        (ROOT / "keymaps" / "tmux.yaml", lambda p: load_keymap(p, known_commands=COMMANDS)),
        (FIXTURES / "user" / "valid.yaml", load_user_config),
    ],
    ids=["hosts.yaml", "valid-full", "screen", "tmux", "config.yaml"],
)
def test_mangled_files_load_or_report_errors(tmp_path, source, loader):
    text = source.read_text()
    failures = 0
    for name, mangled in variants(text, step=37):
        path = tmp_path / f"{name}.yaml"
        path.write_text(mangled)
        failures += check(loader, path) > 0
    assert failures > 0  # the mangling does produce errors, so the checks above ran on real errors
