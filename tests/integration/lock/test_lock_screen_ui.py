"""The real Textual client, run as a real user: C-a x shows the lock screen over cleared panes, a wrong
secret is refused, the right one unlocks and the screen comes back. Once through PAM (the user's own
password), once through the passphrase fallback on a host where the PAM service does not exist."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from lock_harness import HERE, PAM_SERVICE, PYTHON, as_user, user_env

from tui.auth import hash_passphrase

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates local users: needs root")
PHRASE = "the quick brown fox unlocks"


@pytest.mark.parametrize("method", ["pam", "passphrase"])
def test_lock_screen_with_the_real_client(users, start_session, method: str) -> None:
    alice = users["alice"]
    if method == "pam":
        service, secret, config = PAM_SERVICE, alice.password, f"lock:\n  pam_service: {PAM_SERVICE}\n"
    else:
        service, secret = "hascreen-no-such-service", PHRASE
        config = f"lock:\n  pam_service: {service}\nlock_passphrase: '{hash_passphrase(PHRASE)}'\n"
    session = start_session(alice, config=config)
    env = user_env(alice, session.shared_root, TERM="xterm-256color")
    result = subprocess.run(as_user(alice, [PYTHON, str(HERE / "ui_lock_driver.py"), str(session.socket),
                                            service], env),
                            input=secret + "\n", capture_output=True, text=True, timeout=90, cwd=str(alice.home))
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert "timeout" not in seen, seen
    assert seen["locked_title"] == "Session ops is locked"
    assert seen["pane_text_while_locked"] == ""
    assert seen["after_wrong"] == "wrong password" and seen["still_locked"] is True
    assert seen["unlocked"] is True
    assert seen["summary"] is True and seen["summary_title"] == f"Unlocked by {alice.name}"
    assert secret not in session.log
    failures = [line for line in session.log.splitlines() if "unlock failed" in line]
    assert len(failures) == 1 and f"via {method}" in failures[0]
