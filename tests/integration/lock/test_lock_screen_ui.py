"""The real Textual client, run as a real user: C-a x shows the lock screen over cleared panes, a wrong
password is refused through PAM, the user's own password unlocks and the screen comes back."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import HERE, PAM_SERVICE, PYTHON, as_user, user_env

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates local users: needs root")


def test_lock_screen_with_the_real_client(users, start_session) -> None:
    alice = users["alice"]
    session = start_session(alice, config=f"lock:\n  pam_service: {PAM_SERVICE}\n")
    env = user_env(alice, session.shared_root, TERM="xterm-256color")
    result = subprocess.run(as_user(alice, [PYTHON, str(HERE / "ui_lock_driver.py"), str(session.socket),
                                            PAM_SERVICE], env),
                            input=alice.password + "\n", capture_output=True, text=True, timeout=90,
                            cwd=str(alice.home))
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert "timeout" not in seen, seen
    assert seen["locked_title"] == "Session ops is locked"
    assert seen["pane_text_while_locked"] == ""
    assert seen["after_wrong"] == "wrong password" and seen["still_locked"] is True
    assert seen["unlocked"] is True
    assert seen["summary"] is True and seen["summary_title"] == f"Unlocked by {alice.name}"
    assert alice.password not in session.log
