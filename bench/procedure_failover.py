"""Benchmark: the whole-stack failover on the lab, beside the VIP-only switch, and the write outage.

Per round (after `lab heal`: node-a is master again):
- an observer in the root namespace polls node-b's addresses every 2 ms (`ip -n lab-node-b`) and notes
  when the VIP appears there: keepalived's own switch (the MASTER released through its track file, or
  SIGTERM on it without one → VIP on the BACKUP) is the VIP-only figure, what a VIP-only failover would cost;
- the whole-stack switchover is the procedure's steps, from the first (read_only on the old master) to the
  last (the old master re-pointed), and with its verification (the consistency rule);
- a writer on the gateway host inserts a row through the VIP every ~10 ms, reconnecting each time as an
  application's pool would after an error; the write-unavailability window is the longest gap between
  two successful writes while the failover runs.
Ratios printed: whole stack / VIP-only, and write outage / whole stack.

Run as root: .venv/bin/python bench/procedure_failover.py [ROUNDS]   (takes the lab lock, brings the lab up)
"""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import io
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tui.config.hosts import load_hosts  # noqa: E402
from tui.lab import layout  # noqa: E402
from tui.procedures.audit import AuditLog  # noqa: E402
from tui.procedures.cli import run_from_cli  # noqa: E402
from tui.procedures.engine import RunRegistry  # noqa: E402
from tui.ssh.pool import SshPool  # noqa: E402

LOCK = Path("/run/hascreen-lab.lock")


def lab(*args: str, attempts: int = 3) -> None:
    env = dict(os.environ, HASCREEN_LAB_LOCK_HELD="1")
    for _ in range(attempts):
        done = subprocess.run([sys.executable, "-m", "tui.lab", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=180)
        if done.returncode == 0:
            return
        print(f"lab {' '.join(args)}: {done.stderr.strip()} (retrying)", file=sys.stderr)
    raise RuntimeError(f"lab {' '.join(args)} keeps failing")


class VipObserver(threading.Thread):
    def __init__(self, node: str) -> None:
        super().__init__(daemon=True)
        self.netns = layout.netns_name(node)
        self.seen_at: float | None = None
        self.stop = False

    def run(self) -> None:
        deadline = time.monotonic() + 30
        while not self.stop and time.monotonic() < deadline:
            out = subprocess.run(["ip", "-n", self.netns, "-o", "addr", "show", "dev", "eth0"],
                                 capture_output=True, text=True).stdout
            if f"inet {layout.VIP}/" in out:
                self.seen_at = time.time()
                return
            time.sleep(0.002)


class VipWriter(threading.Thread):
    """Inserts through the VIP from the gateway's namespace, one new connection per row, until stopped."""

    def __init__(self, password: str) -> None:
        super().__init__(daemon=True)
        self.password = password
        self.ok_at: list[float] = []
        self.failures = 0
        self.stop = False

    def run(self) -> None:
        env = dict(os.environ, MYSQL_PWD=self.password)
        deadline = time.monotonic() + 120
        row = int(time.time() * 1000) % 1_000_000_000
        while not self.stop and time.monotonic() < deadline:
            row += 1
            done = subprocess.run(
                ["ip", "netns", "exec", layout.netns_name(layout.GATEWAY), "mariadb", "-h", layout.VIP,
                 "-u", WRITER_USER, "--connect-timeout=1", "-e",
                 f"INSERT INTO app.items (id, name) VALUES ({row}, 'bench')"],
                capture_output=True, text=True, env=env)
            if done.returncode == 0:
                self.ok_at.append(time.time())
            else:
                self.failures += 1
            time.sleep(0.01)


WRITER_USER = "hsbench"


def create_writer_account(password: str) -> None:
    sql = (f"CREATE OR REPLACE USER {WRITER_USER}@'10.213.77.%' IDENTIFIED BY '{password}'; "
           f"GRANT INSERT ON app.* TO {WRITER_USER}@'10.213.77.%';")
    env = dict(os.environ, HASCREEN_LAB_LOCK_HELD="1")
    done = subprocess.run([sys.executable, "-c", (
        "import sys; from tui.lab import daemons, lifecycle, layout; "
        "lab = layout.LabDir(layout.lab_dir_from_env()); "
        "daemons.mysql(lifecycle.holder_of(lab, layout.MASTER_NODE), sys.stdin.read())")],
        input=sql, cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"cannot create the writer account: {done.stderr}")


async def one_round(pool: SshPool, hosts, audit_path: Path, password: str) -> dict[str, float]:
    registry = RunRegistry(audit=AuditLog(audit_path), lock_dir=audit_path.parent / "locks")
    observer = VipObserver("node-b")
    writer = VipWriter(password)
    writer.start()
    await asyncio.sleep(0.5)  # the writer is writing before the failover starts
    observer.start()
    out = io.StringIO()
    code = await run_from_cli(pool.runner, hosts, ["failover", "--cluster", "db", "--yes", "--ack-flapping"],
                              out, registry=registry)
    await asyncio.sleep(0.5)
    writer.stop = observer.stop = True
    observer.join(5)
    writer.join(5)
    if code != 0 or observer.seen_at is None:
        raise RuntimeError(f"failover failed (rc {code}, vip seen {observer.seen_at}):\n{out.getvalue()}")
    records = [r for r in registry.audit.records()]
    steps = [r for r in records if r["event"] == "step"]
    result = next(r for r in records if r["event"] == "result")
    audit_path.unlink()
    first_start = steps[0]["ts"] - steps[0]["duration"]
    # the old MASTER released through keepalived's track file (or, without one, its keepalived stopped)
    vip_stop = next(s for s in steps if "pkill -TERM" in s["command"] or "echo 1 >" in s["command"])
    during = [t for t in writer.ok_at if t >= first_start - 0.2]
    before = [t for t in writer.ok_at if t < first_start]
    if not before or len(during) < 2:
        raise RuntimeError(f"the writer did not write through the VIP ({len(writer.ok_at)} rows, "
                           f"{writer.failures} failures)")
    window = max(b - a for a, b in zip([before[-1], *during], during, strict=False))
    return {
        "vip-only": observer.seen_at - vip_stop["ts"],  # keepalived's own switch
        "stack": steps[-1]["ts"] - first_start,  # every step of the whole-stack switchover
        "stack+verify": result["ts"] - first_start,
        "write-outage": window,
        "catch-up": next(s for s in steps if "MASTER_GTID_WAIT" in s["command"]
                         or "POS_WAIT" in s["command"])["duration"],
    }


async def main(rounds: int) -> None:
    hosts = load_hosts(layout.lab_dir_from_env() / "hosts.yaml")
    lookup = {n: dataclasses.replace(h, remote_multiplexer=None) if h.remote_multiplexer == "none" else h
              for n, h in hosts.hosts.items()}
    password = secrets.token_hex(8)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(rounds):
            lab("heal")
            create_writer_account(password)
            pool = SshPool(lookup, known_hosts=layout.lab_dir_from_env() / "known_hosts", ssh_config=[])
            await pool.runner.run("node-a", ["true"])  # connections up before timing, as in the server
            await pool.runner.run("node-b", ["true"])
            await pool.runner.run("gw", ["true"])
            result = await one_round(pool, hosts, Path(tmp) / f"audit-{index}.log", password)
            await pool.close()
            results.append(result)
            print(" ".join(f"{k}={v * 1000:.0f}ms" for k, v in result.items()), flush=True)
    lab("heal")
    for key in results[0]:
        values = [r[key] for r in results]
        print(f"{key:13} median {statistics.median(values) * 1000:6.0f} ms   max {max(values) * 1000:6.0f} ms")
    vip = statistics.median(r["vip-only"] for r in results)
    stack = statistics.median(r["stack"] for r in results)
    outage = statistics.median(r["write-outage"] for r in results)
    print(f"whole stack / VIP-only = {stack / vip:.2f}; write outage / whole stack = {outage / stack:.2f}")


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("needs root (the lab)")
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lab("up")
        try:
            asyncio.run(main(rounds))
        finally:
            lab("down")
