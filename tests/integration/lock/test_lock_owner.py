"""A lock never shuts its owner out, with real users: a user without a usable password is asked for a
one-time lock passphrase before the lock; the owner ends a lock with `hascreen -X NAME unlock`, which asks
on the terminal it runs in (`script` gives it one here; the secret goes through that terminal, not argv);
`hascreen passwd` run while the session is locked takes effect without a restart; and only the owner's
uid may end a lock from the command line.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import threading
import time
from dataclasses import dataclass

import pytest
from lock_harness import HERE, PAM_SERVICE, PYTHON, REPO, Session, TestUser, as_user, user_env, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates local users: needs root")
HASCREEN = str(REPO / ".venv" / "bin" / "hascreen")
PHRASE = "walked away for coffee"


def audit_records(user: TestUser) -> list[dict]:
    if not user.audit_log.exists():
        return []
    return [json.loads(line) for line in user.audit_log.read_text().splitlines() if line.strip()]


def on_terminal(user: TestUser, session: Session, *args: str, answers: tuple[str, ...] = ()) -> Typed:
    """`hascreen ARGS` as user on a terminal of its own (script's pty). Each prompt (a line ending in ": ")
    gets the next of `answers` once it has appeared, as a person would type it: getpass flushes what was typed
    before it asked."""
    env = user_env(user, session.shared_root, HASCREEN_DIR=str(session.socket_dir))
    command = shlex.join([HASCREEN, *args])
    process = subprocess.Popen(as_user(user, ["script", "-qec", command, "/dev/null"], env), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd="/")
    output = bytearray()
    done = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        while chunk := os.read(process.stdout.fileno(), 4096):
            output.extend(chunk)
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert process.stdin is not None
    for number, answer in enumerate(answers, start=1):
        wait_until(lambda number=number: output.count(b": ") >= number, 30, f"prompt {number} ({bytes(output)!r})")
        time.sleep(0.2)  # the prompt is written before the echo is turned off
        process.stdin.write(answer.encode() + b"\n")
        process.stdin.flush()
    code = process.wait(timeout=60)
    done.wait(10)
    process.stdin.close()
    lines = [line.strip() for line in bytes(output).decode(errors="replace").replace("\r", "\n").splitlines()]
    return Typed(code, [line for line in lines if line])


@dataclass
class Typed:
    returncode: int
    lines: list[str]


def locked_peer(session: Session, user: TestUser):
    peer = session.connect(user, mode="attach")
    peer.expect(lambda m: m.get("t") == "welcome", "welcome")
    peer.type("echo OWNER-$((7*6))\n")
    peer.expect(lambda m: m.get("t") == "rows" and "OWNER-42" in json.dumps(m), "the echo")
    peer.command("lock")
    peer.expect(lambda m: m.get("t") == "lock" and m.get("locked") is True, "the lock")
    return peer


def test_a_user_without_a_password_is_asked_for_a_lock_passphrase_first(users, start_session) -> None:
    nopw = users["nopw"]
    session = start_session(nopw, config=f"lock:\n  pam_service: {PAM_SERVICE}\n")
    env = user_env(nopw, session.shared_root, TERM="xterm-256color")
    result = subprocess.run(as_user(nopw, [PYTHON, str(HERE / "ui_passwordless_driver.py"), str(session.socket)],
                                    env),
                            input=PHRASE + "\n", capture_output=True, text=True, timeout=120, cwd=str(nopw.home))
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert "timeout" not in seen, seen
    assert seen["asked_first"] is True and seen["pane_text_before_lock"] is True  # asked before anything locked
    assert seen["prompt"] == f"Unlock as {nopw.name} with the lock passphrase:"
    assert seen["after_wrong"] == "wrong password"
    assert [a.split(" ", 1)[1] for a in seen["failed_attempts"]] == [f"{nopw.name} failed to unlock (passphrase)"]
    assert seen["exit"].startswith("[detached from ops]")
    events = [(r["event"], r.get("one_time_passphrase"), r.get("method")) for r in audit_records(nopw)]
    assert events == [("lock", True, None), ("unlock-failed", None, "passphrase"), ("unlock", None, "passphrase")]
    assert PHRASE not in session.log and PHRASE not in nopw.audit_log.read_text()


def test_the_owner_ends_a_lock_with_x_unlock_and_their_password(users, start_session) -> None:
    alice = users["alice"]
    session = start_session(alice, config=f"lock:\n  pam_service: {PAM_SERVICE}\n")
    peer = locked_peer(session, alice)
    wrong = on_terminal(alice, session, "-X", "ops", "unlock", answers=("not-" + alice.password,))
    assert wrong.returncode == 1
    assert wrong.lines == ["Password for hs-test-alice:", "hascreen: not unlocked: wrong password"]
    assert not [m for m in peer.collect(1.0) if m.get("t") == "lock" and m.get("locked") is False]
    peer.collect(0.5)  # the first delay after a failure is one second
    right = on_terminal(alice, session, "-X", "ops", "unlock", answers=(alice.password,))
    assert right.returncode == 0, right.lines
    assert right.lines[-1].endswith("lock ended; 1 of your client unlocked")
    unlocked = peer.expect(lambda m: m.get("t") == "lock" and m.get("locked") is False, "the unlock")
    assert unlocked["summary"]["failed_attempts"] and unlocked["unlocked_by"] == alice.name
    peer.expect(lambda m: m.get("t") == "rows" and "OWNER-42" in json.dumps(m), "the screen again")
    records = audit_records(alice)
    assert [r["event"] for r in records] == ["lock", "unlock-failed", "unlock"]
    assert records[1]["via"] == "hascreen -X unlock" and records[2]["method"] == "pam via hascreen -X unlock"
    assert alice.password not in alice.audit_log.read_text() and alice.password not in session.log


def test_an_owner_with_no_secret_at_all_is_never_shut_out(users, start_session) -> None:
    nopw = users["nopw"]
    session = start_session(nopw, config=f"lock:\n  pam_service: {PAM_SERVICE}\n")
    peer = locked_peer(session, nopw)  # locked by command, without any passphrase: nothing to type
    result = on_terminal(nopw, session, "-X", "ops", "unlock")
    assert result.returncode == 0, result.lines
    assert len(result.lines) == 1 and result.lines[0].endswith(
        "lock ended on your user id alone (no usable password or lock passphrase); 1 of your client unlocked")
    peer.expect(lambda m: m.get("t") == "lock" and m.get("locked") is False, "the unlock")
    assert audit_records(nopw)[-1]["method"] == "uid via hascreen -X unlock"


def test_only_the_owner_ends_a_lock_from_the_command_line(users, start_session) -> None:
    alice, bob = users["alice"], users["bob"]
    session = start_session(alice, config="acl:\n  hs-test-bob: full\n")
    wait_until(lambda: "opened to uids" in session.log, 10, "the socket ACL")
    peer = locked_peer(session, alice)
    control = session.connect(bob, mode="control")
    control.expect(lambda m: m.get("t") == "welcome", "bob's control welcome")
    control.send({"t": "unlock", "method": "uid"})
    refused = control.expect(lambda m: m.get("t") == "lock", "the refusal")
    assert refused["error"] == f"only {alice.name} may end the lock from the command line"
    assert not [m for m in peer.collect(1.0) if m.get("t") == "lock" and m.get("locked") is False]


def test_hascreen_passwd_while_locked_takes_effect_at_once(users, start_session) -> None:
    alice = users["alice"]
    session = start_session(alice, config=f"lock:\n  pam_service: {PAM_SERVICE}\n")
    peer = locked_peer(session, alice)
    peer.send({"t": "unlock", "method": "passphrase", "passphrase": PHRASE})
    before = peer.expect(lambda m: m.get("t") == "lock" and m.get("error"), "no passphrase yet")
    assert "no lock passphrase is set" in before["error"]
    result = on_terminal(alice, session, "passwd", answers=(PHRASE, PHRASE))
    assert result.returncode == 0 and "lock passphrase set" in result.lines[-1], result.lines
    peer.send({"t": "unlock", "method": "passphrase", "passphrase": PHRASE})
    peer.expect(lambda m: m.get("t") == "lock" and m.get("locked") is False, "the unlock with the new passphrase")
    assert "lock passphrase changed" in session.log and PHRASE not in session.log
    assert "passphrase-reread" in [r["event"] for r in audit_records(alice)]


def test_who_has_a_usable_password_is_read_from_the_account(users) -> None:
    """`passwd -S` as each user: alice has one (P), the passwordless user has none, so C-a x asks first."""
    code = ("from tui.auth.pam_check import account_password_status; from tui.auth import own_password_usable; "
            f"print(account_password_status(), own_password_usable({PAM_SERVICE!r}))")

    def status(user: TestUser) -> str:
        env = user_env(user, user.home)
        return subprocess.run(as_user(user, [PYTHON, "-c", code], env), capture_output=True, text=True,
                              timeout=30, cwd="/").stdout.strip()

    assert status(users["alice"]) == "P True"
    assert status(users["nopw"]) in ("L False", "NP False")
