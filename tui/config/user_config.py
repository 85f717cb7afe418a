"""The user's ~/.config/hascreen/config.yaml ($HASCREEN_CONFIG overrides the path): keymap, scrolling,
scrollback, the health panel (where, and whether every attach shows it), screen's startup message, the
lock and the session ACL. Validated like hosts.yaml: all errors at
once, each with file:line: key. A missing file means the defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from tui.config.checker import Checker, join_path
from tui.config.errors import ConfigErrors
from tui.config.keymap import SCROLL_MODES
from tui.config.located_yaml import YamlNode, parse_yaml, read_config_text
from tui.config.passphrase import PassphraseFormatError, parse_scrypt_hash
from tui.config.paths import available_keymaps, user_config_file

PANEL_PLACES = ("left", "right", "bottom")
ACL_LEVELS = ("full", "read-only")
TOP_KEYS = ("keymap", "scroll", "scrollback", "health", "lock", "acl", "lock_passphrase", "startup_message")
HEALTH_KEYS = ("interval", "panel", "bell", "show")
LOCK_KEYS = ("pam_service", "idle_timeout", "passphrase_scrypt")
LOCK_HINTS = {
    "passphrase": "never store the passphrase: give passphrase_scrypt (see docs/config.md)",
    "password": "never store a password: the lock checks your login password through PAM",
}


@dataclass(frozen=True)
class HealthSettings:
    interval: float | None = None  # seconds; None: hosts.yaml's defaults.health_interval
    panel: str = "right"  # left | right | bottom
    bell: bool = False  # ring the terminal bell when a row turns crit
    show: bool | None = None  # the panel on every attach; None (`auto`): when hosts.yaml has clusters


@dataclass(frozen=True)
class LockSettings:
    pam_service: str = "login"
    idle_timeout: int = 0  # seconds of no input before the session locks itself; 0 = never
    passphrase_scrypt: str | None = None  # scrypt$N$r$p$SALT$HASH; for hosts without PAM (tui.auth checks it)


@dataclass(frozen=True)
class UserConfig:
    keymap: str = "screen"  # a keymap name or an absolute path
    scroll: str | None = None  # normal | natural; None: the keymap's own setting
    scrollback: int = 10_000  # lines of history per pane
    health: HealthSettings = field(default_factory=HealthSettings)
    lock: LockSettings = field(default_factory=LockSettings)
    acl: dict[str, str] = field(default_factory=dict)  # local user -> full | read-only
    startup_message: bool = True  # the one-line hint (version, C-a ? for help) when a session starts
    file: str | None = None


def load_user_config(path: str | os.PathLike[str] | None = None) -> UserConfig:
    """Load config.yaml (by default $HASCREEN_CONFIG or ~/.config/hascreen/config.yaml); the defaults
    when there is none. Raises ConfigErrors listing every problem."""
    found = Path(path) if path is not None else user_config_file()
    if found is None:
        return UserConfig()
    file = str(found)
    errors: list = []
    text = read_config_text(found, errors)
    if text is None:
        raise ConfigErrors(errors)
    parsed = parse_yaml(text, file)
    checker = Checker(file)
    config = _read(checker, parsed.root, found) if parsed.root is not None else UserConfig(file=file)
    errors = parsed.errors + checker.errors
    if errors:
        raise ConfigErrors(errors)
    return config


def _keymap(checker: Checker, node: YamlNode, base_dir: Path) -> str | None:
    value = checker.string(node, "keymap")
    if value is None:
        return None
    if "/" in value or value.endswith((".yaml", ".yml")):
        candidate = Path(os.path.expanduser(value))
        candidate = candidate if candidate.is_absolute() else base_dir / candidate
        if not candidate.is_file():
            checker.error(node.line, "keymap", f"no keymap file at {candidate}")
            return None
        return str(candidate)
    known = available_keymaps()
    if value not in known:
        checker.error(node.line, "keymap", f"unknown keymap {value!r}; known: {', '.join(known)}, or a path")
        return None
    return value


def _scrypt_hash(checker: Checker, node: YamlNode, path: str) -> str | None:
    stored = checker.string(node, path)
    if stored is None:
        return None
    try:
        parse_scrypt_hash(stored)
    except PassphraseFormatError as exc:
        checker.error(node.line, path, str(exc))
        return None
    return stored


def _auto_or_boolean(checker: Checker, node: YamlNode, path: str) -> tuple[bool, bool | None]:
    """(valid, value): true, false, or `auto` (None)."""
    if node.kind == "scalar" and node.value == "auto":
        return True, None
    if node.kind == "scalar" and isinstance(node.value, bool):
        return True, node.value
    checker.type_error(node, path, "true, false or auto")
    return False, None


def _read(checker: Checker, root: YamlNode, path: Path) -> UserConfig:
    top = checker.mapping(root, "", allowed=TOP_KEYS) or {}
    values: dict[str, object] = {"file": str(path)}
    if "keymap" in top:
        values["keymap"] = _keymap(checker, top["keymap"].node, path.resolve().parent)
    if "scroll" in top:
        values["scroll"] = checker.string(top["scroll"].node, "scroll", choices=SCROLL_MODES)
    if "scrollback" in top:
        values["scrollback"] = checker.integer(top["scrollback"].node, "scrollback", 0, 1_000_000)
    if "health" in top:
        fields = checker.mapping(top["health"].node, "health", allowed=HEALTH_KEYS) or {}
        health: dict[str, object] = {}
        if "interval" in fields:
            health["interval"] = checker.number(fields["interval"].node, "health.interval", 0.5, 3600)
        if "panel" in fields:
            health["panel"] = checker.string(fields["panel"].node, "health.panel", choices=PANEL_PLACES)
        if "bell" in fields:
            health["bell"] = checker.boolean(fields["bell"].node, "health.bell")
        show_ok = True
        if "show" in fields:
            show_ok, health["show"] = _auto_or_boolean(checker, fields["show"].node, "health.show")
        if show_ok and None not in (v for k, v in health.items() if k != "show"):
            values["health"] = HealthSettings(**health)  # type: ignore[arg-type]
    if "startup_message" in top:
        values["startup_message"] = checker.boolean(top["startup_message"].node, "startup_message")
    if "lock" in top:
        fields = checker.mapping(top["lock"].node, "lock", allowed=LOCK_KEYS, hints=LOCK_HINTS) or {}
        lock: dict[str, object] = {}
        if "pam_service" in fields:
            lock["pam_service"] = checker.word(fields["pam_service"].node, "lock.pam_service", "PAM service")
        if "idle_timeout" in fields:
            lock["idle_timeout"] = checker.integer(fields["idle_timeout"].node, "lock.idle_timeout", 0, 7 * 86400)
        if "passphrase_scrypt" in fields:
            lock["passphrase_scrypt"] = _scrypt_hash(checker, fields["passphrase_scrypt"].node, "lock.passphrase_scrypt")
        if None not in lock.values():
            values["lock"] = LockSettings(**lock)  # type: ignore[arg-type]
    if "lock_passphrase" in top:
        # Where `hascreen passwd` (tui.auth) writes the hash: one top-level line it can replace in place.
        entry = top["lock_passphrase"]
        stored = _scrypt_hash(checker, entry.node, "lock_passphrase")
        current = values.get("lock") or LockSettings()
        if isinstance(current, LockSettings) and current.passphrase_scrypt is not None:
            checker.error(entry.key_line, "lock_passphrase", "give the hash once: lock.passphrase_scrypt is also set")
        elif stored is not None and isinstance(current, LockSettings):
            values["lock"] = replace(current, passphrase_scrypt=stored)
    if "acl" in top:
        fields = checker.mapping(top["acl"].node, "acl") or {}
        acl: dict[str, str] = {}
        for user, entry in fields.items():
            key_path = join_path("acl", user)
            name = checker.word(YamlNode("scalar", entry.key_line, user, user), key_path, "user name")
            level = checker.string(entry.node, key_path, choices=ACL_LEVELS)
            if name is not None and level is not None:
                acl[name] = level
        values["acl"] = acl
    return UserConfig(**{k: v for k, v in values.items() if v is not None})  # type: ignore[arg-type]
