"""Frames carry what the emulator holds, even when nothing but the cursor changed: a cursor that only moves,
hides, shows again or changes shape (DECSCUSR) reaches an attached client. And a flood stays stoppable: C-c
in the flooding pane brings its prompt back while the flood is still being drawn.
"""

from __future__ import annotations

from tests.integration.server.test_server_protocol import (  # noqa: F401 (session: a fixture)
    connect,
    is_rows,
    read_until,
    screen_text,
    session,
)
from tui.protocol.framing import encode_frame
from tui.protocol.messages import make_input


async def test_a_cursor_that_only_moves_reaches_the_client(session):  # noqa: F811
    _, _, socket_path = session
    reader, writer, _ = await connect(socket_path)
    writer.write(encode_frame(make_input(b"printf 'hello world'; sleep 0.5; printf '\\033[6D'; sleep 30\r")))
    drawn = await read_until(reader, lambda m: is_rows(m) and any(
        "".join(run[0] for run in runs).startswith("hello world") for runs in m["rows"].values()))
    x, y, _visible = drawn["cursor"]
    assert x == len("hello world")
    moved = await read_until(reader, lambda m: is_rows(m) and m["cursor"][:2] == [x - 6, y])
    assert not moved["full"] and moved["rows"] == {}  # a frame for the cursor alone
    writer.close()


async def test_hiding_showing_and_reshaping_the_cursor_reach_the_client(session):  # noqa: F811
    _, _, socket_path = session
    reader, writer, _ = await connect(socket_path)
    await read_until(reader, lambda m: is_rows(m) and m["full"])
    writer.write(encode_frame(make_input(
        b"sleep 0.3; printf '\\033[?25l'; sleep 0.5; printf '\\033[?25h\\033[4 q'; sleep 30\r")))
    hidden = await read_until(reader, lambda m: is_rows(m) and m["cursor"][2] is False)
    assert hidden["cursor_shape"] == 0
    shown = await read_until(reader, lambda m: is_rows(m) and m["cursor"][2] is True)
    if shown["cursor_shape"] != 4:  # show and shape arrive in one write, but may be parsed in two frames
        shown = await read_until(reader, lambda m: is_rows(m) and m["cursor_shape"] == 4)
    assert shown["cursor"][2] is True and shown["cursor_shape"] == 4
    writer.close()


async def test_ctrl_c_stops_a_flood_and_the_prompt_comes_back(session):  # noqa: F811
    _, _, socket_path = session
    reader, writer, _ = await connect(socket_path)
    writer.write(encode_frame(make_input(b"PS1='pr''ompt> '; yes flood-flood-flood-flood-flood\r")))
    await read_until(reader, lambda m: is_rows(m) and "flood-flood" in screen_text(m))
    await read_until(reader, lambda m: is_rows(m) and m.get("throttled"), timeout=15)
    writer.write(encode_frame(make_input(b"\x03")))
    await read_until(reader, lambda m: is_rows(m) and "prompt> " in screen_text(m), timeout=15)
    writer.close()
