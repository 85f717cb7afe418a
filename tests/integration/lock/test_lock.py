"""The lock through the public surface: real users, PAM through a real service file, sessions run as those
users, and protocol clients connected over the real socket as each user (the server identifies them by
SO_PEERCRED, so every peer really runs under its own uid).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from lock_harness import PYTHON, Session, TestUser, screen_text, user_env, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates local users: needs root")


def is_lock(locked: bool):
    return lambda m: m.get("t") == "lock" and m.get("locked") is locked


def rows_with(text: str):
    return lambda m: m.get("t") == "rows" and text in screen_text([m])


def audit_records(user: TestUser) -> list[dict]:
    if not user.audit_log.exists():
        return []
    return [json.loads(line) for line in user.audit_log.read_text().splitlines() if line.strip()]


def test_locked_client_receives_no_pane_rows(users, start_session) -> None:
    alice = users["alice"]
    session: Session = start_session(alice)
    peer = session.connect(alice, mode="attach")
    peer.expect(lambda m: m.get("t") == "welcome", "welcome")
    peer.type("echo SEEN-$((6*7))\n")
    peer.expect(rows_with("SEEN-42"), "the echo before the lock")
    # output that appears only after the lock: it must never reach the locked client
    peer.type("sleep 1; echo HIDDEN-$((7*8))\n")
    peer.command("lock")
    peer.expect(is_lock(True), "the lock message")
    cleared = peer.expect(lambda m: m.get("t") == "rows", "the clearing frame")
    assert cleared["full"] is True and cleared["rows"] == {}
    while_locked = peer.collect(2.5)
    assert not [m for m in while_locked if m.get("t") == "rows"], "rows reached a locked client"
    # history is pane content too
    peer.send({"t": "scrollback", "pane": cleared["pane"], "start": 0, "count": 100})
    answer = peer.expect(lambda m: m.get("t") == "scrollback", "the scrollback answer")
    assert answer["lines"] == [] and answer["total"] == 0
    # keys do not reach the pane while locked
    peer.type("echo TYPED-WHILE-LOCKED\n")
    assert peer.check_password(alice.password) is True
    peer.send({"t": "unlock", "method": "pam", "ok": True})
    peer.expect(is_lock(False), "the unlock message")
    snapshot = peer.expect(rows_with("HIDDEN-56"), "the screen after unlocking")
    assert "TYPED-WHILE-LOCKED" not in screen_text([snapshot])
    assert [r["event"] for r in audit_records(alice)] == ["lock", "unlock"]


def test_wrong_passwords_are_refused_rate_limited_and_never_logged(users, start_session) -> None:
    alice = users["alice"]
    session = start_session(alice, config="lock:\n  max_attempts_per_minute: 3\n")
    peer = session.connect(alice, mode="attach")
    peer.expect(lambda m: m.get("t") == "welcome", "welcome")
    peer.command("lock")
    peer.expect(is_lock(True), "the lock message")
    wrong = "not-" + alice.password
    assert peer.check_password(wrong) is False
    assert peer.check_password(alice.password) is True  # the real PAM stack answers both ways
    peer.send({"t": "unlock", "method": "pam", "ok": False})
    refused = peer.expect(lambda m: m.get("t") == "lock" and m.get("error"), "the refusal")
    assert refused["locked"] is True and refused["error"] == "wrong password" and refused["retry_after"] > 0
    # a right password right after a wrong one waits out the delay: the server keeps the count per uid
    peer.send({"t": "unlock", "method": "pam", "ok": True})
    limited = peer.expect(lambda m: m.get("t") == "lock" and m.get("error"), "the rate-limit refusal")
    assert limited["locked"] is True and "too many wrong attempts" in limited["error"]
    # the delay grows with each failure
    retry = wait_for_retry(peer, limited["retry_after"])
    peer.send({"t": "unlock", "method": "pam", "ok": False})
    second = peer.expect(lambda m: m.get("t") == "lock" and m.get("error"), "the second refusal")
    assert second["retry_after"] > refused["retry_after"], (second, refused, retry)
    log = session.log
    assert "unlock failed for hs-test-alice" in log and "rate limited" in log
    assert alice.password not in log and wrong not in log
    failed = [r for r in audit_records(alice) if r["event"] == "unlock-failed"]
    assert len(failed) == 2 and all(alice.password not in json.dumps(r) for r in failed)


def wait_for_retry(peer, seconds: float) -> float:
    """Let the rate limiter's delay pass (bounded: the delay itself is at most a few seconds here)."""
    assert seconds < 10
    peer.collect(seconds + 0.2)
    return seconds


def test_passphrase_fallback_is_checked_by_the_server(users, start_session) -> None:
    from tui.auth import hash_passphrase

    alice = users["alice"]
    phrase = "correct horse battery staple"
    session = start_session(alice, config=f"lock_passphrase: '{hash_passphrase(phrase)}'\n")
    peer = session.connect(alice, mode="attach")
    peer.expect(lambda m: m.get("t") == "welcome", "welcome")
    peer.command("lock")
    lock = peer.expect(is_lock(True), "the lock message")
    assert lock["methods"] == ["pam", "passphrase"]
    peer.send({"t": "unlock", "method": "passphrase", "passphrase": "wrong horse"})
    assert peer.expect(lambda m: m.get("t") == "lock" and m.get("error"), "the refusal")["error"] == "wrong password"
    peer.collect(1.3)  # the first delay is one second
    peer.send({"t": "unlock", "method": "passphrase", "passphrase": phrase})
    peer.expect(is_lock(False), "the unlock")
    assert phrase not in session.log and "wrong horse" not in session.log


def test_unlisted_user_is_refused(users, start_session) -> None:
    alice, dave = users["alice"], users["dave"]
    session = start_session(alice, config="acl:\n  hs-test-bob: full\n")
    wait_until(lambda: "opened to uids" in session.log, 10, "the socket ACL")
    # dave cannot even reach the socket: the directory is open to bob only
    peer = session.connect(dave)
    failed = peer.expect(lambda m: m.get("t") == "_connect_failed", "the refused connect")
    assert failed["errno"] == 13  # EACCES
    # and were the directory opened too wide by mistake, the server still refuses dave by his uid
    subprocess.run(["setfacl", "-m", f"u:{dave.uid}:rx", str(session.socket_dir)], check=True, timeout=10)
    subprocess.run(["setfacl", "-m", f"u:{dave.uid}:rw", str(session.socket)], check=True, timeout=10)
    peer = session.connect(dave)
    error = peer.expect(lambda m: m.get("t") == "error", "the server's refusal")
    assert error["fatal"] is True and "hs-test-dave may not attach" in error["message"]
    wait_until(lambda: f"refused uid {dave.uid} (hs-test-dave)" in session.log, 10, "the refusal in the log")
    assert not [m for m in peer.seen if m.get("t") in ("welcome", "rows", "layout")]


def test_read_only_observer_can_neither_type_nor_run_commands(users, start_session) -> None:
    alice, carol = users["alice"], users["carol"]
    session = start_session(alice, config="acl:\n  hs-test-carol: read-only\n")
    wait_until(lambda: "opened to uids" in session.log, 10, "the socket ACL")
    owner = session.connect(alice, mode="attach")
    owner.expect(lambda m: m.get("t") == "welcome", "welcome")
    owner.type("echo VISIBLE-$((5*5))\n")
    owner.expect(rows_with("VISIBLE-25"), "the owner's echo")
    observer = session.connect(carol)
    welcome = observer.expect(lambda m: m.get("t") == "welcome", "carol's welcome")
    assert welcome["readonly"] is True
    observer.expect(rows_with("VISIBLE-25"), "the live screen for the observer")
    observer.type("echo CAROL-WAS-HERE\n")
    observer.send({"t": "paste", "text": "echo CAROL-PASTED\n"})
    observer.command("new-window")
    observer.command("stuff", "echo CAROL-STUFFED\\n")
    observer.command("lock")
    notices = [m for m in observer.collect(1.5) if m.get("t") == "notice"]
    assert len(notices) >= 5 and all("read-only" in n["text"] for n in notices)
    owner.type("echo OWNER-AFTER\n")
    after = owner.expect(rows_with("OWNER-AFTER"), "the owner's second echo")
    everything = screen_text(owner.seen + [after])
    assert "CAROL" not in everything
    # one window: carol's new-window never ran; and the session is not locked
    control = session.connect(alice, mode="control")
    control.expect(lambda m: m.get("t") == "welcome", "control welcome")
    control.send({"t": "command", "name": "list-windows", "args": [], "id": 1})
    result = control.expect(lambda m: m.get("t") == "result", "list-windows")
    assert len(result["message"].splitlines()) == 1
    assert not [m for m in owner.seen if m.get("t") == "lock"]


def test_handoff_is_recorded_and_summarised(users, start_session) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    session = start_session(alice, config="acl:\n  hs-test-bob: full\n  hs-test-carol: read-only\n")
    wait_until(lambda: "opened to uids" in session.log, 10, "the socket ACL")
    owner = session.connect(alice, mode="attach")
    owner.expect(lambda m: m.get("t") == "welcome", "welcome")
    owner.type("echo HANDOFF-$((9*9))\n")
    owner.expect(rows_with("HANDOFF-81"), "the owner's echo")
    owner.command("lock")
    owner.expect(is_lock(True), "the lock")
    # something happens while locked: a window opens and closes (the server broadcasts a notice)
    owner_control = session.connect(alice, mode="control")
    owner_control.expect(lambda m: m.get("t") == "welcome", "control welcome")
    owner_control.send({"t": "command", "name": "new-window", "args": ["-n", "blip", "true"], "id": 1})
    owner_control.expect(lambda m: m.get("t") == "result", "new-window")
    owner.expect(lambda m: m.get("t") == "notice" and "closed" in m.get("text", ""), "the closed notice")
    # bob comes in: he sees the lock, not the screen
    successor = session.connect(bob)
    welcome = successor.expect(lambda m: m.get("t") == "welcome", "bob's welcome")
    assert welcome["holder"] == alice.name and welcome["locked"] is True
    lock = successor.expect(is_lock(True), "the lock for bob")
    assert lock["by"] == alice.name and lock["holder"] == alice.name
    assert not [m for m in successor.collect(1.0) if m.get("t") == "rows" and m.get("rows")]
    # carol (read-only) cannot take over, even with a verified password
    observer = session.connect(carol)
    observer.expect(is_lock(True), "the lock for carol")
    observer.send({"t": "unlock", "method": "pam", "ok": True})
    assert "read-only" in observer.expect(lambda m: m.get("t") == "lock" and m.get("error"), "refusal")["error"]
    # bob's own client checks bob's own password, as bob; his first try is wrong
    assert successor.check_password(alice.password) is False
    successor.send({"t": "unlock", "method": "pam", "ok": False})
    assert successor.expect(lambda m: m.get("t") == "lock" and m.get("error"), "the refusal")["error"] == "wrong password"
    successor.collect(1.3)  # the first delay after a failure is one second
    assert successor.check_password(bob.password) is True
    successor.send({"t": "unlock", "method": "pam", "ok": True})
    unlocked = successor.expect(is_lock(False), "the unlock for bob")
    summary = unlocked["summary"]
    assert summary["handoff"] == {"from": alice.name, "to": bob.name}
    assert summary["locked_by"] == alice.name and summary["nothing"] is False
    assert any("blip" in notice and "closed" in notice for notice in summary["notices"])
    assert [a.split(" ", 1)[1] for a in summary["failed_attempts"]] == [f"{bob.name} failed to unlock (pam)"]
    layout = successor.expect(lambda m: m.get("t") == "layout", "the layout after the handoff")
    assert layout["holder"] == bob.name
    successor.expect(rows_with("HANDOFF-81"), "the screen for bob")
    # alice's walked-away terminal stays locked: it is told who holds the session now, and gets no rows
    still = owner.expect(lambda m: m.get("t") == "lock", "the holder update for alice")
    assert still["locked"] is True and still["holder"] == bob.name and "summary" not in still
    successor.type("echo BOB-TYPED-$((6*6))\n")
    successor.expect(rows_with("BOB-TYPED-36"), "bob's echo")
    leaked = [m for m in owner.collect(1.5) if m.get("t") == "rows" and m.get("rows")]
    assert not leaked, "a locked client was shown the session after someone else unlocked"
    handoffs = [r for r in audit_records(alice) if r["event"] == "handoff"]
    assert len(handoffs) == 1
    record = handoffs[0]
    assert record["text"] == f"handoff {alice.name} → {bob.name}"
    assert record["from"] == alice.name and record["to"] == bob.name and record["ts"] > 0
    assert bob.password not in alice.audit_log.read_text()
    # alice comes back and unlocks her own terminal: the session is handed back, her summary tells her
    owner.send({"t": "unlock", "method": "pam", "ok": True})
    back = owner.expect(is_lock(False), "the unlock for alice")
    assert back["summary"]["handoff"] == {"from": bob.name, "to": alice.name}
    assert any(f"{bob.name} failed to unlock" in a for a in back["summary"]["failed_attempts"])
    owner.expect(rows_with("BOB-TYPED-36"), "alice's screen after her own unlock")
    assert [r["event"] for r in audit_records(alice)][-2:] == ["handoff", "handoff"]


def test_a_locked_client_detached_by_the_new_holder_is_gone(users, start_session) -> None:
    alice, bob = users["alice"], users["bob"]
    session = start_session(alice, config="acl:\n  hs-test-bob: full\n")
    wait_until(lambda: "opened to uids" in session.log, 10, "the socket ACL")
    owner = session.connect(alice, mode="attach")
    owner.expect(lambda m: m.get("t") == "welcome", "welcome")
    owner.command("lock")
    owner.expect(is_lock(True), "the lock")
    successor = session.connect(bob)
    successor.expect(is_lock(True), "the lock for bob")
    successor.send({"t": "unlock", "method": "pam", "ok": True})
    successor.expect(is_lock(False), "the unlock for bob")
    # bob detaches the other client (`hascreen -d` from his side): alice's locked terminal leaves, still locked
    control = session.connect(bob, mode="control")
    control.expect(lambda m: m.get("t") == "welcome", "control welcome")
    control.send({"t": "command", "name": "detach", "args": [], "id": 1})
    control.expect(lambda m: m.get("t") == "result", "detach")
    gone = owner.expect(lambda m: m.get("t") == "detached", "alice's client detached")
    assert not [m for m in owner.seen if m.get("t") == "rows" and m.get("rows") and m is not gone
                and owner.seen.index(m) > owner.seen.index(next(x for x in owner.seen if x.get("t") == "lock"))]


def test_pam_check_runs_as_each_user_only_for_their_own_password(users) -> None:
    """A non-root process can verify its own user's password but not another user's (why the client checks)."""
    bob, carol = users["bob"], users["carol"]
    code = ("import sys; from tui.auth import verify_own_password; "
            "print(verify_own_password(sys.stdin.readline().rstrip('\\n'), 'hascreen-test'))")
    def check(user: TestUser, password: str) -> str:
        env = user_env(user, user.home)
        argv = ["runuser", "-u", user.name, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()],
                PYTHON, "-c", code]
        return subprocess.run(argv, input=password + "\n", capture_output=True, text=True, timeout=30,
                              cwd="/").stdout.strip()

    assert check(bob, bob.password) == "True"
    assert check(bob, carol.password) == "False"
    assert check(carol, carol.password) == "True"
