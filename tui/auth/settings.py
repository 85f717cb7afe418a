"""The lock and multi-user part of the user config (~/.config/hascreen/config.yaml, or $HASCREEN_CONFIG):

    acl:                      # who else may attach (like screen's acladd, tmux's server-access)
      bob: full               # full: types, runs commands, may unlock (and so take over) the session
      carol: read-only        # read-only: sees everything live, keys never reach panes or commands
    lock:
      pam_service: login      # default: screen's ("screen" if /etc/pam.d/screen exists, else "login")
      idle_timeout: 900       # seconds without input before the session locks itself; 0 or absent: never
      max_attempts_per_minute: 5
    lock_passphrase: 'scrypt$16384$8$1$...'   # set by `hascreen passwd`, for hosts without PAM

Other top-level keys belong to other parts of hascreen and are left alone. Errors name file, line and key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tui.config.errors import ConfigError, ConfigErrors
from tui.config.located_yaml import YamlNode, parse_yaml, read_config_text
from tui.config.paths import user_config_file

ACCESS_LEVELS = ("full", "read-only")
_USER_NAME = re.compile(r"[a-z_][a-z0-9_.-]*\$?", re.IGNORECASE)


@dataclass(frozen=True)
class LockSettings:
    acl: dict[str, str] = field(default_factory=dict)  # user name → "full" | "read-only"
    pam_service: str | None = None  # None: default_pam_service()
    idle_timeout: float = 0.0
    max_attempts_per_minute: int = 5
    passphrase_hash: str | None = None
    source: Path | None = None


def load_lock_settings(path: Path | None = None) -> LockSettings:
    """Read the settings; no config file gives the defaults. Raises ConfigErrors listing every problem."""
    path = path or user_config_file()
    if path is None:
        return LockSettings()
    errors: list[ConfigError] = []
    text = read_config_text(path, errors)
    if text is None:
        if not Path(path).exists():
            return LockSettings(source=Path(path))
        raise ConfigErrors(errors)
    parsed = parse_yaml(text, str(path))
    errors.extend(parsed.errors)
    root = parsed.root
    if root is None or root.is_null:
        if errors:
            raise ConfigErrors(errors)
        return LockSettings(source=Path(path))
    if root.kind != "map":
        raise ConfigErrors([*errors, ConfigError(str(path), root.line, "", "the config must be a mapping")])
    file = str(path)
    entries = root.value
    acl: dict[str, str] = {}
    if "acl" in entries and not entries["acl"].node.is_null:
        node = entries["acl"].node
        if node.kind != "map":
            errors.append(ConfigError(file, node.line, "acl", f"expected a mapping user: full|read-only, got "
                                                               f"{node.describe()}"))
        else:
            for name, entry in node.value.items():
                level = entry.node.value if entry.node.kind == "scalar" else None
                if not _USER_NAME.fullmatch(name):
                    errors.append(ConfigError(file, entry.key_line, f"acl.{name}", "not a valid user name"))
                elif level not in ACCESS_LEVELS:
                    errors.append(ConfigError(file, entry.node.line, f"acl.{name}",
                                              f"expected full or read-only, got {entry.node.describe()}"))
                else:
                    acl[name] = level
    pam_service, idle_timeout, max_attempts = None, 0.0, 5
    if "lock" in entries and not entries["lock"].node.is_null:
        node = entries["lock"].node
        if node.kind != "map":
            errors.append(ConfigError(file, node.line, "lock", f"expected a mapping, got {node.describe()}"))
        else:
            for name, entry in node.value.items():
                value = entry.node.value if entry.node.kind == "scalar" else None
                key = f"lock.{name}"
                if name == "pam_service":
                    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
                        errors.append(ConfigError(file, entry.node.line, key,
                                                  f"expected a PAM service name, got {entry.node.describe()}"))
                    else:
                        pam_service = value
                elif name == "idle_timeout":
                    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                        errors.append(ConfigError(file, entry.node.line, key,
                                                  f"expected seconds (0 = never), got {entry.node.describe()}"))
                    else:
                        idle_timeout = float(value)
                elif name == "max_attempts_per_minute":
                    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
                        errors.append(ConfigError(file, entry.node.line, key,
                                                  f"expected 1..100, got {entry.node.describe()}"))
                    else:
                        max_attempts = value
                else:
                    errors.append(ConfigError(file, entry.key_line, key,
                                              "unknown key (known: pam_service, idle_timeout, "
                                              "max_attempts_per_minute)"))
    passphrase_hash = None
    if "lock_passphrase" in entries and not entries["lock_passphrase"].node.is_null:
        from tui.auth.passphrase import is_passphrase_hash

        node: YamlNode = entries["lock_passphrase"].node
        if not isinstance(node.value, str) or not is_passphrase_hash(node.value):
            # never echo the value: someone may have typed a clear-text passphrase here
            errors.append(ConfigError(file, node.line, "lock_passphrase",
                                      "not an scrypt hash; set it with `hascreen passwd`"))
        else:
            passphrase_hash = node.value
    if errors:
        raise ConfigErrors(errors)
    return LockSettings(acl, pam_service, idle_timeout, max_attempts, passphrase_hash, Path(path))
