"""Protocol framing and message validation: malformed, truncated and oversized frames, version mismatch."""

import asyncio
import json
import struct

import pytest

from tui.protocol.framing import (
    MAX_FRAME,
    PROTOCOL_VERSION,
    FrameDecoder,
    FrameError,
    encode_frame,
    read_frame,
)
from tui.protocol.messages import (
    MessageError,
    decode_bytes,
    input_frame,
    input_message_of,
    make_hello,
    make_input,
    validate_client_message,
)


def test_round_trip_in_arbitrary_pieces():
    messages = [make_hello(80, 24, "xterm", "new"), make_input(b"\x01c\xff\x00"), {"t": "ping"}]
    stream = b"".join(encode_frame(m) for m in messages)
    decoder = FrameDecoder()
    out = []
    for i in range(0, len(stream), 3):
        out += decoder.feed(stream[i : i + 3])
    assert out == messages
    assert decode_bytes(out[1]["data"]) == b"\x01c\xff\x00"
    assert decoder.pending == 0


@pytest.mark.parametrize("data", [b"a", b"\x01c\xff\x00", b"\x1b[A", "\u00e9\u732b".encode(), bytes(range(256)), b""])
def test_a_keystrokes_frame_built_directly_is_the_one_encode_frame_makes(data):
    assert input_frame(data) == encode_frame(make_input(data))
    assert decode_bytes(FrameDecoder().feed(input_frame(data))[0]["data"]) == data


@pytest.mark.parametrize("data", [b"a", b"ab", b"abc", b"\x01c\xff\x00", "\u00e9\u732b".encode(), bytes(range(256)), b""])
def test_the_servers_keystroke_reading_gives_what_the_general_path_gives(data):
    body = input_frame(data)[4:]
    assert input_message_of(body) == validate_client_message(json.loads(body)) == make_input(data)


@pytest.mark.parametrize("body", [
    b'{"t": "input", "data": "YQ=="}',  # spaced: valid JSON, not input_frame's bytes
    b'{"t":"input","data":"YQ==","more":1}',
    b'{"t":"input","data":"YQ"}',  # no padding
    b'{"t":"input","data":"Y==="}',
    b'{"t":"input","data":"YQ==YQ=="}',  # padding inside
    b'{"t":"input","data":"YQ\\u003d="}',
    b'{"t":"input","data":"YQ=="}\n',
    b'{"t":"paste","data":"YQ=="}',
])
def test_any_other_body_goes_the_general_way(body):
    assert input_message_of(body) is None


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"\xff\xfe", "not UTF-8 JSON"),
        (b"{not json", "not UTF-8 JSON"),
        (b"[1, 2]", "string 't'"),
        (b'{"t": 5}', "string 't'"),
        (b'{"x": "hello"}', "string 't'"),
    ],
)
def test_malformed_bodies_are_rejected_with_a_reason(body, reason):
    with pytest.raises(FrameError, match=reason):
        FrameDecoder().feed(struct.pack(">I", len(body)) + body)


def test_oversized_frame_is_refused_before_reading_it():
    with pytest.raises(FrameError, match="exceeds"):
        FrameDecoder().feed(struct.pack(">I", MAX_FRAME + 1))


def test_encode_refuses_oversized_messages():
    with pytest.raises(FrameError):
        encode_frame({"t": "notice", "text": "x" * (MAX_FRAME + 10)})


async def test_truncated_frame_on_a_stream_is_an_error_but_clean_eof_is_not():
    reader = asyncio.StreamReader()
    reader.feed_data(encode_frame({"t": "ping"})[:-2])
    reader.feed_eof()
    with pytest.raises(FrameError, match="closed inside"):
        await read_frame(reader)
    empty = asyncio.StreamReader()
    empty.feed_eof()
    assert await read_frame(empty) is None


@pytest.mark.parametrize(
    "message, reason",
    [
        ({"t": "bogus"}, "unknown message type"),
        ({"t": "input"}, "missing field 'data'"),
        ({"t": "input", "data": "!!notbase64"}, "not base64"),
        ({"t": "resize", "cols": 0, "rows": 10}, "out of range"),
        ({"t": "resize", "cols": True, "rows": 10}, "not bool"),
        ({"t": "command", "name": "split", "args": [1]}, "must be strings"),
        ({"t": "command", "name": "split", "args": "-v"}, "must be list"),
        ({"t": "hello", "version": PROTOCOL_VERSION, "cols": 80, "rows": 24, "term": "x", "mode": "evil"},
         "mode must be"),
    ],
)
def test_invalid_messages_name_the_problem(message, reason):
    with pytest.raises(MessageError, match=reason):
        validate_client_message(message)
