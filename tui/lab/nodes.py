"""Turning a network namespace into a "host": the holder process and the node's private mounts.

The holder is PID 1 of the node's pid namespace (also its own uts and mount namespaces). It reaps the
daemons that are started inside and exits after a bounded lifetime, taking every process of the node with
it. The per-node directories of the lab dir are bind-mounted over /run, /tmp, /var/log, ... inside.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

from tui.lab.layout import NODE_BIND_DIRS, NODE_DRBD_SHARED, LabDir, netns_name
from tui.lab.processes import LabError, in_node, pids_by_argv, run

HOLDER_MARK = "hascreen-lab-holder"

# PID 1 of a node: reaps adopted daemons, exits on SIGTERM or when its lifetime is over.
HOLDER_CODE = """
import os, signal, sys, time
end = time.monotonic() + float(sys.argv[1])
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
while time.monotonic() < end:
    signal.sigtimedwait([signal.SIGCHLD], min(30.0, max(0.1, end - time.monotonic())))
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
"""


def prepare_dirs(lab: LabDir, node: str, extra: tuple[str, ...] = ()) -> None:
    """Create the node's private directories (what its /run, /tmp, /var/log ... will be); `extra` ones
    start as a copy of the host's directory (e.g. /etc/ha.d with its resource scripts)."""
    for inside in NODE_BIND_DIRS:
        lab.node_mount_source(node, inside).mkdir(parents=True, exist_ok=True)
    for inside in extra:
        run(["cp", "-a", inside, str(lab.node_mount_source(node, inside))])
    os.chmod(lab.node_mount_source(node, "/tmp"), 0o1777)
    os.chmod(lab.node_mount_source(node, "/root"), 0o700)
    run_dir = lab.node_mount_source(node, "/run")
    for sub in ("sshd", "mysqld", "drbd-shared", "keepalived"):
        (run_dir / sub).mkdir(exist_ok=True)
    (lab.node_mount_source(node, "/var/log") / "mysql").mkdir(exist_ok=True)
    run(["chown", "mysql:mysql", str(run_dir / "mysqld"), str(lab.node_mount_source(node, "/var/lib/mysql")),
         str(lab.node_mount_source(node, "/var/log") / "mysql")])


def start_holder(lab: LabDir, node: str, lifetime_s: int, extra: tuple[str, ...] = ()) -> tuple[int, int]:
    """Start the node's holder; returns (pid of unshare, pid of the holder = the node's PID 1)."""
    script = lab.root / "holder.py"
    if not script.exists():
        script.write_text(f'"""PID 1 of a hascreen lab node."""\n{HOLDER_CODE}')
    argv = ["ip", "netns", "exec", netns_name(node), "unshare", "--uts", "--mount", "--pid", "--fork",
            "--mount-proc", "--propagation", "private",
            "/usr/bin/python3", str(script), str(lifetime_s), HOLDER_MARK, node, str(lab.root)]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            kids = children.read_text().split()
        except OSError:
            kids = []
        if kids and _is_holder(int(kids[0])):
            holder = int(kids[0])
            _setup_mounts(lab, node, holder, extra)
            return proc.pid, holder
        if proc.poll() is not None:
            break
        time.sleep(0.005)
    proc.kill()
    raise LabError(f"{node}: holder did not start (ip netns exec … unshare exited {proc.poll()})")


def _is_holder(pid: int) -> bool:
    try:
        return HOLDER_MARK.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _setup_mounts(lab: LabDir, node: str, holder: int, extra: tuple[str, ...] = ()) -> None:
    # The lab root is first bound to /mnt inside the node, so that sources stay reachable even when the
    # lab dir lies under one of the paths we cover (/tmp, /run ...); /mnt is unmounted at the end.
    q = shlex.quote
    lines = ["set -e", f"hostname {q(node)}", f"mount --bind {q(str(lab.root))} /mnt"]
    for inside in (*NODE_BIND_DIRS, *extra):
        rel = lab.node_mount_source(node, inside).relative_to(lab.root)
        lines.append(f"mount --bind /mnt/{q(str(rel))} {q(inside)}")
    lines.append("mount -t tmpfs -o size=64m,mode=1777 tmpfs /dev/shm")
    rel_shared = lab.drbd_shared.relative_to(lab.root)
    lines.append(f"mount --bind /mnt/{q(str(rel_shared))} {NODE_DRBD_SHARED}")
    lines.append("umount /mnt")
    run(["nsenter", "-t", str(holder), "-m", "-u", "--", "/bin/sh", "-c", "\n".join(lines)])


def find_holders(lab: LabDir | None) -> list[int]:
    """Pids of this lab's holders (or, with None, of any lab dir's: namespace names are global, so two
    labs cannot coexist), found by their mark and lab dir in argv (for cleanup after a crash)."""
    mark = HOLDER_MARK.encode()
    return pids_by_argv(lambda argv: mark in argv and (lab is None or str(lab.root).encode() in argv))


def holder_alive(pid: int) -> bool:
    return _is_holder(pid)


def kill_holder(pid: int, *, wait_s: float = 5.0) -> None:
    """SIGKILL the node's PID 1: the kernel ends every process of the node with it."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and _is_holder(pid):
        time.sleep(0.01)


def node_processes(holder: int) -> list[str]:
    """Command names running in the node (as its own `ps` sees them)."""
    out = in_node(holder, "ps -e -o comm=", check=False).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]
