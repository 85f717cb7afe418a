"""A protocol client for the lock tests, run as any local user (`runuser -u USER -- python protocol_peer.py`).

It connects to a session socket, says hello (argv: SOCKET MODE [HELLO-EXTRAS as JSON, e.g. cols, rows,
detach_others]), and relays: every frame from the server becomes one JSON line
on stdout; every JSON line on stdin is either a frame to send (`{"send": {...}}`) or a local action:
`{"pam": {"service": S}}` with the password on the next stdin line (checked as this process's own user
through tui.auth; the answer is `{"t": "_pam", "ok": bool}`). Nothing typed is echoed. Stops at EOF.
"""

import asyncio
import contextlib
import json
import sys

from tui.auth import PamUnavailable, verify_own_password
from tui.protocol.framing import FrameDecoder, encode_frame
from tui.protocol.messages import make_hello


def emit(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def main(socket_path: str, mode: str, hello: dict) -> None:
    try:
        reader, writer = await asyncio.open_unix_connection(socket_path)
    except OSError as exc:
        emit({"t": "_connect_failed", "errno": exc.errno, "error": str(exc)})
        return
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)

    async def from_server() -> None:
        decoder = FrameDecoder()
        try:
            while data := await reader.read(65536):
                for message in decoder.feed(data):
                    emit(message)
        except ConnectionError as exc:
            emit({"t": "_reset", "error": str(exc)})
        emit({"t": "_closed"})

    async def from_test() -> None:
        while line := await stdin.readline():
            request = json.loads(line)
            if "send" in request:
                writer.write(encode_frame(request["send"]))
            elif "pam" in request:
                password = (await stdin.readline()).decode().rstrip("\n")
                try:
                    ok = await asyncio.to_thread(verify_own_password, password, request["pam"].get("service"))
                    emit({"t": "_pam", "ok": ok})
                except PamUnavailable as exc:
                    emit({"t": "_pam", "ok": None, "error": str(exc)})
        writer.close()

    server_task = asyncio.create_task(from_server())
    with contextlib.suppress(ConnectionError):
        size = (hello.pop("cols", 80), hello.pop("rows", 24))
        writer.write(encode_frame(make_hello(*size, "xterm", mode, **hello)))
    await from_test()
    server_task.cancel()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "multi",
                     json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}))
