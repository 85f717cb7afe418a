"""The user's config.yaml and the scrypt passphrase format of the lock."""

from pathlib import Path

import pytest

from tui.config import ConfigErrors, UserConfig, hash_passphrase, load_user_config, verify_passphrase
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


def test_passphrase_hash_round_trip():
    stored = hash_passphrase("correct horse", n=2**10)
    assert "correct horse" not in stored
    assert verify_passphrase(stored, "correct horse")
    assert not verify_passphrase(stored, "correct horsE")
    assert hash_passphrase("correct horse", n=2**10) != stored  # a fresh salt every time


@pytest.mark.parametrize("stored", [
    "scrypt$1000$8$1$AAECAwQFBgcICQoLDA0ODw$AAECAwQFBgcICQoLDA0ODw",  # N not a power of two
    "scrypt$16384$8$1$AAEC$AAECAwQFBgcICQoLDA0ODw",  # salt too short
    "scrypt$16384$x$1$AAECAwQFBgcICQoLDA0ODw$AAECAwQFBgcICQoLDA0ODw",
    "bcrypt$16384$8$1$AAECAwQFBgcICQoLDA0ODw$AAECAwQFBgcICQoLDA0ODw",
])
def test_malformed_scrypt_hashes_are_refused(stored):
    with pytest.raises(PassphraseFormatError):
        parse_scrypt_hash(stored)
