"""Where session sockets live, who may connect, and how `-ls`/`-r` find sessions.

One socket per session, named like GNU Screen's (`PID.NAME`), in a per-user directory of mode 0700:
`$HASCREEN_DIR`, else `$XDG_RUNTIME_DIR/hascreen`, else `/tmp/hascreen-$UID`. The directory is refused if
another user owns it or it is open to group/others without our ACL. Peers are identified by SO_PEERCRED.
"""

from __future__ import annotations

import os
import socket
import stat
import struct
from dataclasses import dataclass
from pathlib import Path


class SocketDirError(Exception):
    """The socket directory is unusable or unsafe; the message says why and what to do."""


def socket_dir() -> Path:
    if os.environ.get("HASCREEN_DIR"):
        return Path(os.environ["HASCREEN_DIR"])
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "hascreen"
    return Path(f"/tmp/hascreen-{os.getuid()}")


def ensure_socket_dir(path: Path | None = None, *, shared: bool = False) -> Path:
    """Create the directory 0700 (or check it); `shared` allows the group/ACL bits a multi-user session set."""
    path = path or socket_dir()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise SocketDirError(f"{path} is not a directory")
    if info.st_uid != os.getuid():
        raise SocketDirError(f"{path} belongs to uid {info.st_uid}, not to you (uid {os.getuid()})")
    if info.st_mode & 0o077 and not shared:
        from tui.auth import dir_is_shared_by_acl

        # with a POSIX ACL the group bits show the ACL mask: keep a directory hascreen shared on purpose
        if not dir_is_shared_by_acl(path):
            os.chmod(path, 0o700)
    return path


@dataclass(frozen=True)
class PeerCredentials:
    pid: int
    uid: int
    gid: int


def peer_credentials(sock: socket.socket) -> PeerCredentials:
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return PeerCredentials(pid, uid, gid)


def socket_name(pid: int, name: str) -> str:
    return f"{pid}.{name}"


def valid_session_name(name: str) -> bool:
    """A name the socket, `-ls` and every frame can carry: printable Unicode (no bytes that are not UTF-8,
    no control characters), no '/', not hidden, at most 80 characters."""
    return (bool(name) and len(name) <= 80 and "/" not in name and not name.startswith(".")
            and name.isprintable())


def session_sockets(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if not p.name.startswith(".") and p.is_socket())


def match_sessions(directory: Path, wanted: str | None) -> list[Path]:
    """Sockets matching `wanted` as screen does: `PID.NAME`, `NAME`, `PID` or a prefix of the name."""
    sockets = session_sockets(directory)
    if wanted is None:
        return sockets
    exact = [p for p in sockets if p.name == wanted or p.name.split(".", 1)[-1] == wanted
             or p.name.split(".", 1)[0] == wanted]
    if exact:
        return exact
    return [p for p in sockets if p.name.split(".", 1)[-1].startswith(wanted)]
