"""Benchmark: the failover procedure's own overhead on the lab, beyond the HA manager's switch.

An observer in the root namespace polls node-b's addresses every 2 ms (`ip -n lab-node-b`) and notes
when the VIP appears there: that is keepalived's own switch. The procedure's overhead is the time from
that moment to its result (VIP seen by the wait step, arping answered, verification done). Goal: ≤ 0.5 s.
keepalived's switch time (SIGTERM on the MASTER → VIP on the BACKUP) is printed for scale; tmux has no
counterpart here, so the ratio printed is overhead / switch.

Run as root: .venv/bin/python bench/procedure_failover.py [ROUNDS]   (takes the lab lock, brings the lab up)
"""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import io
import os
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


async def one_round(pool: SshPool, hosts, audit_path: Path) -> dict[str, float]:
    registry = RunRegistry(audit=AuditLog(audit_path), lock_dir=audit_path.parent / "locks")
    observer = VipObserver("node-b")
    observer.start()
    out = io.StringIO()
    code = await run_from_cli(pool.runner, hosts, ["failover", "--cluster", "db", "--yes", "--ack-flapping"],
                              out, registry=registry)
    observer.stop = True
    observer.join(5)
    if code != 0 or observer.seen_at is None:
        raise RuntimeError(f"failover failed (rc {code}, vip seen {observer.seen_at}):\n{out.getvalue()}")
    records = [r for r in registry.audit.records()]
    steps = {r["step"]: r for r in records if r["event"] == "step"}
    result = next(r for r in records if r["event"] == "result")
    audit_path.unlink()
    stop_done = steps[1]["ts"]
    return {
        "switch": observer.seen_at - stop_done,  # keepalived's own switch
        "overhead": result["ts"] - observer.seen_at,  # ours: detect + arping + verify
        "detect": steps[2]["ts"] - observer.seen_at,
        "arping": steps[3]["duration"],
        "verify": result["ts"] - steps[3]["ts"],
    }


async def main(rounds: int) -> None:
    hosts = load_hosts(layout.lab_dir_from_env() / "hosts.yaml")
    lookup = {n: dataclasses.replace(h, remote_multiplexer=None) if h.remote_multiplexer == "none" else h
              for n, h in hosts.hosts.items()}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(rounds):
            lab("heal")
            pool = SshPool(lookup, known_hosts=layout.lab_dir_from_env() / "known_hosts", ssh_config=[])
            await pool.runner.run("node-a", ["true"])  # connections up before timing, as in the server
            await pool.runner.run("node-b", ["true"])
            await pool.runner.run("gw", ["true"])
            result = await one_round(pool, hosts, Path(tmp) / f"audit-{index}.log")
            await pool.close()
            results.append(result)
            print(" ".join(f"{k}={v * 1000:.0f}ms" for k, v in result.items()), flush=True)
    lab("heal")
    for key in ("switch", "overhead", "detect", "arping", "verify"):
        values = [r[key] for r in results]
        print(f"{key:9} median {statistics.median(values) * 1000:6.0f} ms   max {max(values) * 1000:6.0f} ms")
    overhead = statistics.median(r["overhead"] for r in results)
    switch = statistics.median(r["switch"] for r in results)
    print(f"overhead / keepalived switch = {overhead / switch:.2f}; goal overhead ≤ 500 ms: "
          f"{'met' if max(r['overhead'] for r in results) <= 0.5 else 'NOT met'}")


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
