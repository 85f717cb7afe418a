"""The user's config.yaml and the scrypt passphrase format of the lock."""

import base64
import hashlib
import os
from pathlib import Path

import pytest

from tui.config import ConfigErrors, UserConfig, load_user_config
from tui.config.passphrase import PassphraseFormatError, parse_scrypt_hash

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "config" / "user"


def test_no_config_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("HASCREEN_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    config = load_user_config()
    assert config == UserConfig()
    assert (config.keymap, config.scroll, config.scrollback) == ("screen", None, 10_000)
    assert config.lock.pam_service == "login" and config.health.panel == "right"


def test_valid_config_is_read_whole(monkeypatch):
    monkeypatch.setenv("HASCREEN_CONFIG", str(FIXTURES / "valid.yaml"))
    config = load_user_config()
    assert (config.keymap, config.scroll, config.scrollback) == ("tmux", "natural", 50000)
    assert (config.health.interval, config.health.panel) == (2.0, "bottom")
    assert (config.lock.pam_service, config.lock.idle_timeout) == ("hascreen", 900)
    assert config.lock.passphrase_scrypt.startswith("scrypt$16384$8$1$")
    assert config.acl == {"alice": "full", "bob": "read-only"}


def test_a_keymap_path_is_resolved_from_the_config_files_directory():
    config = load_user_config(FIXTURES / "keymap-path.yaml")
    assert config.keymap == str(FIXTURES / "../keymaps/base.yaml")
    with pytest.raises(ConfigErrors) as info:
        load_user_config(FIXTURES / "keymap-missing-path.yaml")
    assert str(info.value).startswith(f"{FIXTURES / 'keymap-missing-path.yaml'}:1: keymap: no keymap file at ")


def test_every_error_of_a_malformed_config_is_reported_with_its_line():
    with pytest.raises(ConfigErrors) as info:
        load_user_config(FIXTURES / "malformed.yaml")
    where = [(e.line, e.key) for e in info.value.errors]
    assert where == [
        (1, "keymap"), (2, "scroll"), (3, "scrollback"), (5, "health.intervall"), (6, "health.panel"),
        (8, "lock.passphrase"), (9, "lock.idle_timeout"), (10, "lock.passphrase_scrypt"), (12, "acl.alice"),
    ]
    messages = {e.key: e.message for e in info.value.errors}
    assert messages["health.intervall"] == 'unknown key (did you mean "interval"?)'
    assert "never store the passphrase" in messages["lock.passphrase"]
    assert "hunter2" not in str(info.value)
    assert messages["lock.passphrase_scrypt"] == "expected scrypt$N$r$p$SALT$HASH"


def scrypt_hash(passphrase: str, encode) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(passphrase.encode(), salt=salt, n=2**10, r=8, p=1, dklen=32)
    return f"scrypt$1024$8$1${encode(salt).decode()}${encode(digest).decode()}"


@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_hashes_in_standard_and_urlsafe_base64_are_accepted(encode):
    parsed = parse_scrypt_hash(scrypt_hash("correct horse", encode))
    assert (parsed.n, parsed.r, parsed.p, len(parsed.salt), len(parsed.digest)) == (1024, 8, 1, 16, 32)


def test_top_level_lock_passphrase_as_hascreen_passwd_writes_it(tmp_path):
    stored = scrypt_hash("correct horse", base64.b64encode)
    path = tmp_path / "config.yaml"
    path.write_text(f"lock: {{idle_timeout: 60}}\nlock_passphrase: '{stored}'\n")
    config = load_user_config(path)
    assert config.lock.passphrase_scrypt == stored and config.lock.idle_timeout == 60
    path.write_text(f"lock: {{passphrase_scrypt: '{stored}'}}\nlock_passphrase: '{stored}'\n")
    with pytest.raises(ConfigErrors) as info:
        load_user_config(path)
    assert str(info.value) == f"{path}:2: lock_passphrase: give the hash once: lock.passphrase_scrypt is also set"
    path.write_text("lock_passphrase: correct horse\n")
    with pytest.raises(ConfigErrors) as info:
        load_user_config(path)
    assert "correct horse" not in str(info.value)
    assert str(info.value) == f"{path}:1: lock_passphrase: expected scrypt$N$r$p$SALT$HASH"


@pytest.mark.parametrize("stored", [
    "scrypt$1000$8$1$AAECAwQFBgcICQoLDA0ODw$AAECAwQFBgcICQoLDA0ODw",  # N not a power of two
    "scrypt$16384$8$1$AAEC$AAECAwQFBgcICQoLDA0ODw",  # salt too short
    "scrypt$16384$8$1$AAECAwQFBgcICQoLDA0ODw$not*base64",
    "scrypt$16384$x$1$AAECAwQFBgcICQoLDA0ODw$AAECAwQFBgcICQoLDA0ODw",
    "bcrypt$16384$8$1$AAECAwQFBgcICQoLDA0ODw$AAECAwQFBgcICQoLDA0ODw",
])
def test_malformed_scrypt_hashes_are_refused(stored):
    with pytest.raises(PassphraseFormatError):
        parse_scrypt_hash(stored)


@pytest.mark.parametrize(("text", "show", "startup"), [
    ("health: {panel: left}\n", None, True),
    ("health: {show: auto}\n", None, True),
    ("health: {show: true}\nstartup_message: false\n", True, False),
    ("health: {show: false, bell: true}\n", False, True),
])
def test_health_panel_visibility_and_startup_message(tmp_path, text, show, startup):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    config = load_user_config(path)
    assert (config.health.show, config.startup_message) == (show, startup)


def test_bad_health_show_and_startup_message_are_reported_with_their_lines(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("health:\n  show: sometimes\nstartup_message: quiet\n")
    with pytest.raises(ConfigErrors) as info:
        load_user_config(path)
    assert [(e.line, e.key, e.message) for e in info.value.errors] == [
        (2, "health.show", "expected true, false or auto, got a string ('sometimes')"),
        (3, "startup_message", "expected true or false, got a string ('quiet')"),
    ]
