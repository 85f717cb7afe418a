"""The lock through the real client on a real terminal (`hascreen -r` on a pty of the test's own, raw-input
driver): C-a x locks, the lock passphrase typed on the lock screen unlocks, and C-a d typed on the summary
that follows detaches at once (the summary must not swallow the prefix). The session's config names a PAM
service that does not exist and has a lock passphrase, so the passphrase is what unlocks, whoever runs this.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_raw_terminal import PtyClient, wait_until  # noqa: E402

from tui.auth import hash_passphrase

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/ptmx"), reason="needs ptys")
PHRASE = "terminal test phrase"


def test_unlock_then_prefix_d_on_the_summary_detaches(unstarted_live) -> None:
    live = unstarted_live()
    config = live.directory / "config.yaml"
    config.write_text(f"lock:\n  pam_service: hascreen-no-such-service\nlock_passphrase: '{hash_passphrase(PHRASE)}'\n")
    live.env["HASCREEN_CONFIG"] = str(config)
    live.start()
    client = PtyClient(live)
    try:
        wait_until(lambda: "Attached" in live.hascreen("-ls").stdout, "the pty client to attach")
        client.write(b"echo visible-$((6*7))\r")
        wait_until(lambda: b"visible-42" in client.output, "the echo")
        client.write(b"\x01x")
        wait_until(lambda: b"is locked" in client.output, "the lock screen")
        time.sleep(0.5)
        client.write(PHRASE.encode() + b"\r")
        wait_until(lambda: b"Nothing happened" in client.output, "the summary after the unlock")
        time.sleep(0.3)
        client.write(b"\x01d")
        wait_until(lambda: client.process.poll() is not None, "C-a d on the summary to detach")
        client._thread.join(timeout=5)
        assert client.process.returncode == 0
        assert f"[detached from {live.name}]".encode() in client.output
        assert "Detached" in live.hascreen("-ls").stdout
    finally:
        client.close()
