"""The client's end of the connection when the server's goodbye crosses a write of the client's: the server
sends `detached` and hangs up, the client writes something before it has read that (a resize, a key), the
write fails (EPIPE), and the client still leaves with screen's "[detached from NAME]" rather than a lost
connection. The peer here is a scripted server on a real unix socket, so that the crossing is certain.
"""

from __future__ import annotations

import socket
import struct
import tempfile
import threading
from pathlib import Path

from tui.client.app import HascreenApp
from tui.commands import COMMANDS
from tui.config import load_keymap
from tui.protocol.framing import PROTOCOL_VERSION, decode_body, encode_frame


def read_frame_from(sock: socket.socket) -> dict:
    def exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = sock.recv(count - len(data))
            assert chunk, "the client closed the connection"
            data += chunk
        return data

    (length,) = struct.unpack(">I", exactly(4))
    return decode_body(exactly(length))


async def test_a_detach_that_crosses_a_write_of_the_client_still_says_detached():
    directory = Path(tempfile.mkdtemp(prefix="hs-conn-", dir="/tmp"))
    path = directory / "1.cross"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    listener.settimeout(10)
    hung_up = threading.Event()
    seen: list[dict] = []

    def scripted_server() -> None:
        connection, _ = listener.accept()
        connection.settimeout(10)
        with connection:
            seen.append(read_frame_from(connection))  # the hello
            connection.sendall(encode_frame({"t": "welcome", "version": PROTOCOL_VERSION, "session": "cross",
                                             "holder": "", "readonly": False}))
            seen.append(read_frame_from(connection))  # the client's detach command
            connection.sendall(encode_frame({"t": "detached", "reason": "detached"}))
        hung_up.set()

    thread = threading.Thread(target=scripted_server, daemon=True)
    thread.start()
    app = HascreenApp(path, load_keymap("screen", known_commands=COMMANDS), "attach", "cross")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(200):
                if app.connected.is_set():
                    break
                await pilot.pause(0.02)
            assert app.connected.is_set(), "no welcome"
            app.send_command("detach")
            # the server answers and hangs up while this client's loop is held here, so the client writes
            # before it has read the goodbye
            assert hung_up.wait(10), "the scripted server did not hang up"
            app.send({"t": "resize", "cols": 80, "rows": 20})
            for _ in range(200):
                if app.exit_info is not None:
                    break
                await pilot.pause(0.02)
    finally:
        thread.join(5)
        listener.close()
        path.unlink(missing_ok=True)
        directory.rmdir()
    assert [m["t"] for m in seen] == ["hello", "command"] and seen[1]["name"] == "detach"
    assert app.exit_info is not None and app.exit_info.code == 0, app.exit_info
    assert app.exit_info.message == "[detached from cross]"
