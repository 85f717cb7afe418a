"""What the unlocking user is told, and the idle lock, with a real server in this process (its socket, a
real shell pane, the real health tracker) and a protocol client over the socket. Runs as any user."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tui.health.model import ClusterHealth, HealthRow, State
from tui.health.tracker import HealthTracker
from tui.protocol.framing import encode_frame, read_frame
from tui.protocol.messages import make_command, make_hello
from tui.server.commands import install_core_commands
from tui.server.daemon import Server, ServerOptions
from tui.server.lock_integration import install_lock


class Running:
    def __init__(self, server: Server, task: asyncio.Task, reader, writer) -> None:
        self.tracker: HealthTracker | None = None  # what a health integration would hand the lock
        self.server, self.task, self.reader, self.writer = server, task, reader, writer

    def send(self, message: dict) -> None:
        self.writer.write(encode_frame(message))

    async def expect(self, predicate, what: str, timeout: float = 10.0) -> dict:
        async def find() -> dict:
            while True:
                message = await read_frame(self.reader)
                assert message is not None, f"connection closed while waiting for {what}"
                if predicate(message):
                    return message

        return await asyncio.wait_for(find(), timeout)


@pytest.fixture
async def running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    servers: list[Running] = []

    async def start(config: str = "") -> Running:
        (tmp_path / "config.yaml").write_text(config or "{}\n")
        monkeypatch.setenv("HASCREEN_CONFIG", str(tmp_path / "config.yaml"))
        monkeypatch.setenv("HASCREEN_AUDIT_LOG", str(tmp_path / "audit.log"))
        socket_path = tmp_path / f"{len(servers)}.sum"
        server = Server(ServerOptions(session="sum", socket_path=socket_path, shell=["/bin/sh"]))
        install_core_commands(server)
        holder: list[Running] = []
        install_lock(server, tracker=lambda: holder[0].tracker if holder else None)
        task = asyncio.get_running_loop().create_task(server.run())
        for _ in range(200):
            if socket_path.exists():
                break
            await asyncio.sleep(0.02)
        reader, writer = await asyncio.open_unix_connection(str(socket_path))
        writer.write(encode_frame(make_hello(80, 24, "xterm", "attach")))
        running = Running(server, task, reader, writer)
        holder.append(running)
        servers.append(running)
        await running.expect(lambda m: m["t"] == "welcome", "welcome")
        return running

    yield start
    for running in servers:
        running.writer.close()
        running.server.stop()
        await asyncio.wait_for(running.task, 15)


async def test_summary_lists_health_changes_while_locked(running) -> None:
    session = await running()
    tracker = HealthTracker()
    session.tracker = tracker
    before = time.time()
    tracker.update(ClusterHealth("db", [HealthRow("db", "node-a", "mysql", State.OK, "running")], before - 1))
    earlier = tracker.update(ClusterHealth("db", [HealthRow("db", "node-a", "mysql", State.WARN, "lagging",
                                                            reason="replica 40 s behind")], before))
    assert earlier, "the tracker records the change before the lock"
    session.send(make_command("lock"))
    lock = await session.expect(lambda m: m["t"] == "lock", "the lock")
    assert lock["locked"] is True
    await asyncio.sleep(0.05)
    events = tracker.update(ClusterHealth("db", [HealthRow("db", "node-a", "mysql", State.CRIT, "stopped",
                                                           reason="mysqld not running")], time.time()))
    # the health integration broadcasts what changed; the lock collects it for the summary
    # (health messages carry the recent events, those from before the lock too)
    recent = [{**e.to_dict(), "text": e.describe()} for e in tracker.recent_events(50)]
    assert len(recent) >= 2 and events[0].to_dict() in [{k: v for k, v in r.items() if k != "text"} for r in recent]
    session.server.broadcast({"t": "health", "clusters": [], "events": recent})
    session.send({"t": "unlock", "method": "pam", "ok": True})
    unlocked = await session.expect(lambda m: m["t"] == "lock" and m["locked"] is False, "the unlock")
    summary = unlocked["summary"]
    assert summary["handoff"] is None and summary["nothing"] is False
    assert len(summary["health_events"]) == 1  # the broadcast event and the tracker's are the same change
    assert "db/node-a/mysql: warn→crit: mysqld not running" in summary["health_events"][0]


async def test_nothing_happened_and_idle_lock(running) -> None:
    session = await running("lock:\n  idle_timeout: 2\n")
    lock = await session.expect(lambda m: m["t"] == "lock", "the idle lock")
    assert lock["locked"] is True and lock["by"] == "idle timeout"
    session.send({"t": "unlock", "method": "pam", "ok": True})
    unlocked = await session.expect(lambda m: m["t"] == "lock" and m["locked"] is False, "the unlock")
    summary = unlocked["summary"]
    assert summary["nothing"] is True and summary["health_events"] == [] and summary["notices"] == []
    # unlocking counts as activity: the idle clock starts again instead of locking at once
    with pytest.raises(TimeoutError):
        await session.expect(lambda m: m["t"] == "lock", "no second lock yet", timeout=1.0)
