"""Where hascreen looks for its config files: hosts.yaml, keymaps, the user's keymap and config.yaml, and
where the lab keeps its files (the lab's hosts.yaml is the last place the hosts lookup tries).

Kept apart from the loaders so the lookup orders are written down once and tested on their own.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# keymaps/ sits at the repository root, next to the tui package (an editable install or a checkout).
REPO_KEYMAPS_DIR = PACKAGE_DIR.parent.parent / "keymaps"
# A copy (or symlink) inside the package, for installs that ship the keymaps as package data.
PACKAGE_KEYMAPS_DIR = PACKAGE_DIR / "keymaps"


def user_config_dir() -> Path:
    """$XDG_CONFIG_HOME/hascreen, else ~/.config/hascreen."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hascreen"


def lab_dir() -> Path:
    """Where `hascreen lab up` writes the lab's files: $HASCREEN_LAB_DIR, else /var/lib/hascreen-lab."""
    explicit = os.environ.get("HASCREEN_LAB_DIR")
    return Path(explicit) if explicit else Path("/var/lib/hascreen-lab")


HOSTS_LOOKUP = "--hosts FILE, $HASCREEN_HOSTS, ~/.config/hascreen/hosts.yaml, the running lab's hosts.yaml"


def find_hosts_file(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The hosts.yaml to use: --hosts FILE, $HASCREEN_HOSTS, ~/.config/hascreen/hosts.yaml, and while the
    lab is up (`hascreen lab up` writes it, `lab down` removes it) the lab's hosts.yaml. None: no hosts,
    hascreen is a plain multiplexer.

    An explicit file (or $HASCREEN_HOSTS) is returned even if it does not exist, so that the loader
    reports "cannot read" for it instead of silently falling back to another file. $HASCREEN_HOSTS set
    to the empty string means "no hosts file" (nothing else is looked up). The current directory is not
    searched: a hosts.yaml there is as likely an Ansible inventory, and the repository's example must not
    be polled unasked.
    """
    if explicit:
        return Path(explicit)
    from_env = os.environ.get("HASCREEN_HOSTS")
    if from_env is not None:
        return Path(from_env) if from_env else None
    for candidate in (user_config_dir() / "hosts.yaml", lab_dir() / "hosts.yaml"):
        if candidate.is_file():
            return candidate
    return None


def keymap_search_dirs() -> list[Path]:
    """$HASCREEN_KEYMAPS (one or more dirs, os.pathsep-separated), <repo>/keymaps, tui/config/keymaps."""
    dirs: list[Path] = []
    from_env = os.environ.get("HASCREEN_KEYMAPS")
    if from_env:
        dirs.extend(Path(part) for part in from_env.split(os.pathsep) if part)
    dirs.extend([REPO_KEYMAPS_DIR, PACKAGE_KEYMAPS_DIR])
    return dirs


def available_keymaps() -> list[str]:
    """Names of the keymaps that `load_keymap(name)` can find, e.g. ["screen", "tmux"]."""
    names: set[str] = set()
    for directory in keymap_search_dirs():
        if directory.is_dir():
            names.update(p.stem for p in directory.glob("*.yaml"))
    return sorted(names)


def find_keymap_file(name: str) -> Path | None:
    for directory in keymap_search_dirs():
        candidate = directory / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    return None


def user_keymap_file() -> Path | None:
    """~/.config/hascreen/keymap.yaml if it exists (pass it to load_keymap as user_file)."""
    candidate = user_config_dir() / "keymap.yaml"
    return candidate if candidate.is_file() else None


def user_config_file() -> Path | None:
    """$HASCREEN_CONFIG, else ~/.config/hascreen/config.yaml if it exists."""
    from_env = os.environ.get("HASCREEN_CONFIG")
    if from_env:
        return Path(from_env)
    candidate = user_config_dir() / "config.yaml"
    return candidate if candidate.is_file() else None
