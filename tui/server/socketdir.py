"""Where session sockets live, who may connect, and how `-ls`/`-r` find sessions.

One socket per session, named like GNU Screen's (`PID.NAME`), in a per-user directory of mode 0700:
`$HASCREEN_DIR`, else `$XDG_RUNTIME_DIR/hascreen`, else `/tmp/hascreen-$UID`. An existing directory is
refused, with the reason, if it is a symlink, another user owns it, or it is open to group/others other than
through the POSIX ACL hascreen sets for a shared session; it is never chmod'ed. The server's log in it
(`.NAME.log`) is opened with O_NOFOLLOW: a planted symlink is removed, never followed. Peers are identified
by SO_PEERCRED.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import struct
from collections.abc import Callable
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


def ensure_socket_dir(path: Path | None = None) -> Path:
    """Create the directory 0700, or check that an existing one is ours and closed to everyone else.

    Raises SocketDirError saying why and what to do; nothing is ever chmod'ed, since a directory someone
    else could write to may already hold their sockets or symlinks."""
    path = path or socket_dir()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise SocketDirError(f"cannot create the socket directory {path}: {exc.strerror or exc}") from None
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        raise SocketDirError(f"the socket directory {path} is a symbolic link; refusing it")
    if not stat.S_ISDIR(info.st_mode):
        raise SocketDirError(f"the socket directory {path} is not a directory")
    if info.st_uid != os.getuid():
        raise SocketDirError(f"the socket directory {path} belongs to uid {info.st_uid}, not to you "
                             f"(uid {os.getuid()}); refusing it")
    if info.st_mode & 0o077:
        from tui.auth import dir_is_shared_by_acl

        # with a POSIX ACL the group bits show the ACL mask: a directory hascreen shared on purpose is fine
        if not dir_is_shared_by_acl(path):
            raise SocketDirError(f"the socket directory {path} is mode {stat.S_IMODE(info.st_mode):04o}: other "
                                 f"users may write to it; it must be yours and 0700 (chmod 700 {path} if you "
                                 f"trust what is in it, or use another directory)")
    return path


def open_private_log(path: Path, on_removed: Callable[[str], None] | None = None) -> int:
    """A file descriptor for appending to the server log `path` (0600, ours), never through a symlink.

    A symlink or any other non-regular file planted at `path` is removed (the directory is ours, so only we
    can remove it) and a fresh file is created exclusively; `on_removed` is told what was removed. The caller
    owns the descriptor."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK
    for _ in range(3):
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            try:
                fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue  # someone made it in between: look again
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENXIO, errno.EISDIR):
                raise
            _remove_planted(path, on_removed)
            continue
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid() and info.st_nlink == 1:
            os.set_blocking(fd, True)
            return fd
        os.close(fd)
        _remove_planted(path, on_removed)
    raise SocketDirError(f"cannot open the log {path} safely: something keeps replacing it")


def _remove_planted(path: Path, on_removed: Callable[[str], None] | None) -> None:
    info = path.lstat()
    if stat.S_ISDIR(info.st_mode):
        raise SocketDirError(f"the log path {path} is a directory; remove it")
    what = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "a file that was not a private regular file"
    path.unlink()
    if on_removed is not None:
        on_removed(f"removed {what} found at {path} instead of following it")


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
