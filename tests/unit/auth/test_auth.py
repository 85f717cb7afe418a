"""tui.auth's pure parts: the rate limiter, scrypt passphrases, the lock/acl config, ACL specs and names.
(PAM itself, users and sockets are exercised for real in tests/integration/lock.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tui.auth import (
    AttemptLimiter,
    PamUnavailable,
    SocketAccessError,
    default_pam_service,
    hash_passphrase,
    load_lock_settings,
    resolve_acl,
    shared_socket_dir,
    socket_dir_for_user,
    split_user_session,
    verify_own_password,
    verify_passphrase,
)
from tui.auth.passphrase import passwd_command, write_passphrase_hash
from tui.auth.socket_access import acl_spec
from tui.config.errors import ConfigErrors


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_delay_doubles_and_success_clears() -> None:
    clock = FakeClock()
    limiter = AttemptLimiter(max_per_minute=10, base_delay=1.0, max_delay=8.0, clock=clock)
    assert limiter.wait_for("bob") == 0.0
    assert limiter.failure("bob") == 1.0
    assert limiter.failure("bob") == 2.0
    assert limiter.failure("bob") == 4.0
    assert limiter.failure("bob") == 8.0
    assert limiter.failure("bob") == 8.0  # capped
    assert limiter.wait_for("alice") == 0.0  # per key
    clock.now += 8.0
    assert limiter.wait_for("bob") == 0.0
    limiter.success("bob")
    assert limiter.failure("bob") == 1.0


def test_limiter_caps_failures_per_minute() -> None:
    clock = FakeClock()
    limiter = AttemptLimiter(max_per_minute=3, base_delay=0.0, clock=clock)
    for _ in range(3):
        limiter.failure("bob")
        clock.now += 1
    assert limiter.failures_in_window("bob") == 3
    assert limiter.wait_for("bob") == pytest.approx(57.0)  # the oldest failure leaves the window at +60 s
    clock.now += 57.0
    assert limiter.wait_for("bob") == 0.0


def test_passphrase_hash_round_trip_and_malformed_hashes() -> None:
    encoded = hash_passphrase("correct horse", n=2**10)
    assert encoded.startswith("scrypt$1024$8$1$") and "correct" not in encoded
    assert verify_passphrase("correct horse", encoded)
    assert not verify_passphrase("correct hors", encoded)
    assert hash_passphrase("x", n=2**10) != hash_passphrase("x", n=2**10)  # salted
    for bad in ("", "scrypt$", "md5$1$2$3$a$b", encoded.replace("$1024$", "$1000$"),
                encoded.replace("$1024$", "$1073741824$"), encoded[:-4] + "!!!!"):
        assert verify_passphrase("correct horse", bad) is False


def test_write_passphrase_hash_keeps_the_rest_of_the_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("acl:\n  bob: full\nlock_passphrase: 'old'\nlock:\n  idle_timeout: 60\n")
    encoded = hash_passphrase("new passphrase", n=2**10)
    write_passphrase_hash(config, encoded)
    settings = load_lock_settings(config)
    assert settings.acl == {"bob": "full"} and settings.idle_timeout == 60
    assert settings.passphrase_hash == encoded
    assert oct(config.stat().st_mode & 0o777) == "0o600"


def test_passwd_command_asks_twice(tmp_path: Path, capsys) -> None:
    config = tmp_path / "hascreen" / "config.yaml"
    answers = iter(["long enough phrase", "long enough phrase"])
    assert passwd_command(["--config", str(config)], ask=lambda prompt: next(answers)) == 0
    assert verify_passphrase("long enough phrase", load_lock_settings(config).passphrase_hash or "")
    assert "long enough phrase" not in config.read_text() + capsys.readouterr().out
    answers = iter(["long enough phrase", "different phrase!"])
    assert passwd_command(["--config", str(config)], ask=lambda prompt: next(answers)) == 1
    assert passwd_command(["--config", str(config)], ask=lambda prompt: "short") == 1


def test_settings_errors_name_line_and_key_and_never_echo_a_clear_passphrase(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("acl:\n  bob: admin\n  'bad name!': full\nlock:\n  idle_timeout: soon\n  colour: red\n"
                      "lock_passphrase: hunter2\n")
    with pytest.raises(ConfigErrors) as caught:
        load_lock_settings(config)
    text = str(caught.value)
    assert f"{config}:2: acl.bob: expected full or read-only" in text
    assert f"{config}:3: acl.bad name!: not a valid user name" in text
    assert f"{config}:5: lock.idle_timeout: expected seconds" in text
    assert f"{config}:6: lock.colour: unknown key" in text
    assert f"{config}:7: lock_passphrase: not an scrypt hash" in text
    assert "hunter2" not in text


def test_settings_defaults(tmp_path: Path) -> None:
    assert load_lock_settings(tmp_path / "absent.yaml").acl == {}
    (tmp_path / "empty.yaml").write_text("")
    settings = load_lock_settings(tmp_path / "empty.yaml")
    assert (settings.acl, settings.idle_timeout, settings.max_attempts_per_minute) == ({}, 0.0, 5)
    (tmp_path / "other.yaml").write_text("health_panel: left\nacl: {bob: read-only}\n")
    assert load_lock_settings(tmp_path / "other.yaml").acl == {"bob": "read-only"}


def test_user_session_names_and_directories(monkeypatch: pytest.MonkeyPatch) -> None:
    assert split_user_session("alice/ops") == ("alice", "ops")
    assert split_user_session("alice/") == ("alice", None)
    assert split_user_session("ops") == (None, "ops")
    assert split_user_session(None) == (None, None)
    with pytest.raises(SocketAccessError):
        split_user_session("/ops")
    monkeypatch.delenv("HASCREEN_SHARED_ROOT", raising=False)
    assert socket_dir_for_user("root") == Path("/tmp/hascreen-0")
    monkeypatch.setenv("HASCREEN_SHARED_ROOT", "/srv/x")
    assert shared_socket_dir(1234) == Path("/srv/x/hascreen-1234")
    with pytest.raises(SocketAccessError, match="no such user"):
        socket_dir_for_user("no-such-user-hs")
    assert resolve_acl({"root": "full", "no-such-user-hs": "read-only"}) == ({0: "full"}, ["no-such-user-hs"])


def test_acl_spec_opens_exactly_the_listed_users() -> None:
    me = os.getuid()
    assert acl_spec({}, directory=True) == "u::rwx,g::---,o::---"
    assert acl_spec({1001: "full", 1002: "read-only", me: "full"}, directory=True) == \
        "u::rwx,g::---,o::---,u:1001:r-x,u:1002:r-x,m::r-x"
    assert acl_spec({1001: "full"}, directory=False) == "u::rw-,g::---,o::---,u:1001:rw-,m::rw-"


def test_pam_service_default_and_missing_service(tmp_path: Path) -> None:
    assert default_pam_service(tmp_path) == "login"
    (tmp_path / "screen").write_text("auth required pam_unix.so\n")
    assert default_pam_service(tmp_path) == "screen"
    with pytest.raises(PamUnavailable):
        verify_own_password("whatever", "no-such-service", pam_dir=tmp_path)
    with pytest.raises(PamUnavailable):
        verify_own_password("whatever", "../etc/passwd", pam_dir=tmp_path)
