"""Messages a client connection holds back (`Client.send_later`: a frame the server already drew on the
client's terminal) go out after their delay, or before anything sent to that client sooner, in order; the
client sees them over a real socket."""

from __future__ import annotations

import asyncio
import socket

from tui.protocol.framing import read_frame
from tui.server.clients import Client


async def _connected_client() -> tuple[Client, asyncio.StreamReader, asyncio.StreamWriter]:
    server_side, client_side = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=server_side)
    peer_reader, peer_writer = await asyncio.open_connection(sock=client_side)
    return Client(1, reader, writer, 0, "root", mode="attach"), peer_reader, peer_writer


async def test_a_held_message_goes_before_anything_sent_sooner():
    client, peer, peer_writer = await _connected_client()
    try:
        client.send_later({"t": "rows", "n": 1}, 5.0)
        client.send_later({"t": "rows", "n": 2}, 5.0)
        client.send({"t": "pong"})
        got = [await asyncio.wait_for(read_frame(peer), 1.0) for _ in range(3)]
        assert got == [{"t": "rows", "n": 1}, {"t": "rows", "n": 2}, {"t": "pong"}]
        assert client.held == [] and client.held_handle is None
    finally:
        client.writer.close()
        peer_writer.close()


async def test_a_held_message_goes_out_by_itself_after_its_delay():
    client, peer, peer_writer = await _connected_client()
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        client.send_later({"t": "rows", "n": 1}, 0.05)
        assert await asyncio.wait_for(read_frame(peer), 2.0) == {"t": "rows", "n": 1}
        assert loop.time() - started >= 0.04  # not at once: it waited for its delay
    finally:
        client.writer.close()
        peer_writer.close()
