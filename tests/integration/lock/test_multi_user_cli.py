"""`hascreen -x alice/ops` run by bob in a terminal (tmux is only the terminal): the CLI finds alice's shared
socket directory, the ACL lets bob in, and bob's real client shows alice's screen live."""

from __future__ import annotations

import os
import shlex

import pytest
from lock_harness import REPO, as_user, capture, tmux, user_env, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates local users: needs root")


def test_bob_joins_alices_session_with_x_user_slash_session(users, start_session, terminal) -> None:
    alice, bob = users["alice"], users["bob"]
    session = start_session(alice, config="acl:\n  hs-test-bob: full\n")
    wait_until(lambda: "opened to uids" in session.log, 10, "the socket ACL")
    owner = session.connect(alice, mode="attach")
    owner.expect(lambda m: m.get("t") == "welcome", "welcome")
    owner.type("echo SHARED-$((8*8))\n")
    env = user_env(bob, session.shared_root, TERM="xterm-256color")
    argv = as_user(bob, [str(REPO / ".venv" / "bin" / "hascreen"), "-x", f"{alice.name}/ops"], env,
                   terminal=True)
    tmux("new-session", "-d", "-s", "bob", "-x", "100", "-y", "30", shlex.join(argv) + "; sleep 30")
    wait_until(lambda: "SHARED-64" in capture("bob"), 30, f"alice's screen in bob's client ({capture('bob')!r})")
    tmux("send-keys", "-t", "bob", "echo FROM-BOB-$((2*5))", "Enter")
    owner.expect(lambda m: m.get("t") == "rows" and any("FROM-BOB-10" in "".join(r[0] for r in runs)
                                                        for runs in m.get("rows", {}).values()), "bob's typing")
