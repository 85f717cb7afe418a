"""Keystrokes reach the focused pane exactly and in order, whether the server takes a keystroke's frame the
moment it arrives (one small `input` frame while the client's task waits for its next frame) or the task
reads it with other frames: typed one frame at a time, each echo shows exactly what was typed so far; keys
written together with other frames keep their order; a bad keystroke frame is answered as before; an
observer's keys are refused; and a key sent right after a command goes where the command left the focus.
"""

from __future__ import annotations

import asyncio

from tests.integration.server.test_server_protocol import (  # noqa: F401 (session: a fixture)
    connect,
    is_rows,
    read_until,
    screen_text,
    session,
)
from tui.protocol.framing import encode_frame
from tui.protocol.messages import make_command, make_input


def line_at_cursor(pane_rows: dict[int, str], message) -> str:
    return pane_rows.get(message["cursor"][1], "")


async def test_keys_typed_one_frame_at_a_time_echo_exactly(session):  # noqa: F811
    _, _, socket_path = session
    reader, writer, _ = await connect(socket_path)
    pane_rows: dict[int, str] = {}

    def take(message) -> bool:
        if is_rows(message):
            if message["full"]:
                pane_rows.clear()
            pane_rows.update((int(y), "".join(run[0] for run in runs)) for y, runs in message["rows"].items())
        return is_rows(message)

    snapshot = await read_until(reader, lambda m: take(m) and "$ " in line_at_cursor(pane_rows, m))
    start_x = snapshot["cursor"][0]
    before = line_at_cursor(pane_rows, snapshot)[:start_x]
    typed = ""
    for char in "echo typed-\u00e9-ok":
        writer.write(encode_frame(make_input(char.encode())))
        await writer.drain()
        typed += char
        # each key's echo: the prompt line holds exactly what was typed so far, the cursor right after it
        expected = before + typed
        await read_until(reader, lambda m, expected=expected: (
            take(m) and m["cursor"][0] == len(expected)
            and line_at_cursor(pane_rows, m).rstrip() == expected.rstrip()))
    writer.write(encode_frame(make_input(b"\r")))
    await read_until(reader, lambda m: take(m) and any(line.rstrip() == "typed-\u00e9-ok"
                                                      for line in pane_rows.values()))
    writer.close()


async def test_keys_written_together_with_other_frames_keep_their_order(session):  # noqa: F811
    _, _, socket_path = session
    reader, writer, _ = await connect(socket_path)
    await read_until(reader, lambda m: is_rows(m) and m["full"])
    writer.write(encode_frame(make_input(b"echo or")) + encode_frame({"t": "ping"})
                 + encode_frame(make_input(b"der-")) + encode_frame(make_input(b"kept\r")))
    await read_until(reader, lambda m: m["t"] == "pong")
    await read_until(reader, lambda m: is_rows(m) and "\norder-kept" in "\n" + screen_text(m))
    writer.close()


async def test_a_bad_keystroke_frame_alone_is_answered_and_typing_goes_on(session):  # noqa: F811
    _, _, socket_path = session
    reader, writer, _ = await connect(socket_path)
    await read_until(reader, lambda m: is_rows(m) and m["full"])
    await asyncio.sleep(0.2)  # the client's task is waiting for its next frame
    writer.write(encode_frame({"t": "input", "data": "%%%"}))
    error = await read_until(reader, lambda m: m["t"] == "error")
    assert not error["fatal"] and "base64" in error["message"]
    writer.write(encode_frame(make_input(b"echo still-$((2+3))\r")))
    await read_until(reader, lambda m: is_rows(m) and "still-5" in screen_text(m))
    writer.close()


async def test_an_observers_keys_are_refused_and_never_reach_the_pane(session):  # noqa: F811
    _, _, socket_path = session
    reader, writer, _ = await connect(socket_path)
    observer_reader, observer_writer, welcome = await connect(socket_path, readonly=True)
    assert welcome["readonly"]
    await read_until(observer_reader, lambda m: is_rows(m) and m["full"])
    await asyncio.sleep(0.2)
    observer_writer.write(encode_frame(make_input(b"observer-typed")))
    notice = await read_until(observer_reader, lambda m: m["t"] == "notice")
    assert "read-only" in notice["text"]
    writer.write(encode_frame(make_input(b"echo owner-$((3+4))\r")))
    shown = await read_until(reader, lambda m: is_rows(m) and "owner-7" in screen_text(m))
    assert "observer-typed" not in screen_text(shown)
    observer_writer.close()
    writer.close()


async def test_a_key_sent_right_after_a_command_goes_where_the_command_left_the_focus(session):  # noqa: F811
    _, _, socket_path = session
    reader, writer, _ = await connect(socket_path)
    first = await read_until(reader, lambda m: is_rows(m) and m["full"])
    writer.write(encode_frame(make_command("new-window", request_id=1)))
    await writer.drain()
    writer.write(encode_frame(make_input(b"echo in-the-new-$((5+6))\r")))
    result = await read_until(reader, lambda m: m["t"] == "result")
    assert result["ok"], result
    shown = await read_until(reader, lambda m: is_rows(m) and "in-the-new-11" in screen_text(m))
    assert shown["pane"] != first["pane"]
    writer.close()
