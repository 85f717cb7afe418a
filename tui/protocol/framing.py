"""Framing of the client/server protocol: 4-byte big-endian length, then one UTF-8 JSON object.

Owns the size limit and every way a frame can be malformed. A bad frame raises `FrameError`, which the
server turns into dropping that one client with a logged reason: it never takes the server down. Every
message encodes: a string that is not valid Unicode (a lone surrogate, e.g. from a non-UTF-8 file name
decoded with surrogateescape) is sent with U+FFFD in its place (`clean_text`).
"""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

PROTOCOL_VERSION = 1
MAX_FRAME = 8 * 1024 * 1024  # a full 500x200 snapshot with styles is well under 2 MiB
_HEADER = struct.Struct(">I")
FRAME_HEADER = _HEADER.size  # bytes before each frame's body
# one encoder for every frame: json.dumps with options builds a new JSONEncoder per call
_to_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
MIN_FRAME_RATE = 32 * 1024  # bytes/s a frame in progress must average, beyond its base timeout


class FrameError(Exception):
    """A frame that cannot be accepted: oversized, truncated, not JSON, or not a typed object."""


def clean_text(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD (valid surrogate pairs are joined)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def clean_strings(value: Any, max_depth: int = 64) -> Any:
    """A copy of a JSON-like value with every string (keys too) passed through `clean_text`; ValueError when
    it nests deeper than `max_depth`."""
    if max_depth < 0:
        raise ValueError("nested too deeply")
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: clean_strings(v, max_depth - 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_strings(v, max_depth - 1) for v in value]
    return value


def encode_frame(message: dict[str, Any]) -> bytes:
    try:
        body = _to_json(message).encode("utf-8")
    except UnicodeEncodeError:
        body = _to_json(clean_strings(message)).encode("utf-8")
    return frame_of(body)


def frame_of(body: bytes) -> bytes:
    """The frame of an already encoded JSON body."""
    if len(body) > MAX_FRAME:
        raise FrameError(f"frame of {len(body)} bytes exceeds the {MAX_FRAME}-byte limit")
    return _HEADER.pack(len(body)) + body


def decode_body(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FrameError(f"frame is not UTF-8 JSON: {exc}") from None
    except RecursionError:
        raise FrameError("frame is nested too deeply") from None
    if not isinstance(message, dict) or not isinstance(message.get("t"), str):
        raise FrameError("frame is not an object with a string 't' (message type)")
    return message


class FrameDecoder:
    """Incremental decoder for byte streams that arrive in arbitrary pieces."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buffer = bytearray()
        self._max_frame = max_frame

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        if not self._buffer:
            body = whole_frame_body(data, self._max_frame)
            if body is not None:
                return [decode_body(body)]  # one whole frame, as most reads bring: no copies through the buffer
        self._buffer += data
        messages = []
        while len(self._buffer) >= _HEADER.size:
            (length,) = _HEADER.unpack_from(self._buffer)
            if length > self._max_frame:
                raise FrameError(f"frame of {length} bytes exceeds the {self._max_frame}-byte limit")
            if len(self._buffer) < _HEADER.size + length:
                break
            body = bytes(self._buffer[_HEADER.size : _HEADER.size + length])
            del self._buffer[: _HEADER.size + length]
            messages.append(decode_body(body))
        return messages

    @property
    def pending(self) -> int:
        return len(self._buffer)


def whole_frame_body(data: bytes, max_frame: int = MAX_FRAME) -> bytes | None:
    """The body of `data` when `data` is exactly one whole frame of at most `max_frame` bytes, else None."""
    if len(data) < _HEADER.size:
        return None
    (length,) = _HEADER.unpack_from(data)
    if length > max_frame or len(data) != _HEADER.size + length:
        return None
    return data[_HEADER.size :]


async def read_frame(reader: asyncio.StreamReader, max_frame: int = MAX_FRAME,
                     frame_timeout: float | None = None) -> dict[str, Any] | None:
    """Read one frame; None on a clean EOF between frames. A truncated frame raises FrameError. With a
    `frame_timeout`, so does a frame in progress that stalls: no byte of it for `frame_timeout` seconds, or
    not complete within `frame_timeout` plus its length at MIN_FRAME_RATE. Waiting between frames is
    unbounded; a half-sent frame is not."""
    body = await read_frame_body(reader, max_frame, frame_timeout)
    return None if body is None else decode_body(body)


async def read_frame_body(reader: asyncio.StreamReader, max_frame: int = MAX_FRAME,
                          frame_timeout: float | None = None) -> bytes | None:
    """read_frame without the decoding: the frame's body as it came (it took FRAME_HEADER + len(body) bytes
    of the stream)."""
    try:
        header = await reader.readexactly(_HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise FrameError("connection closed inside a frame header") from None
    (length,) = _HEADER.unpack(header)
    if length > max_frame:
        raise FrameError(f"frame of {length} bytes exceeds the {max_frame}-byte limit")
    try:
        if frame_timeout is None:
            body = await reader.readexactly(length)
        else:
            body = await _read_body(reader, length, frame_timeout)
    except asyncio.IncompleteReadError:
        raise FrameError(f"connection closed inside a {length}-byte frame") from None
    return body


async def _read_body(reader: asyncio.StreamReader, length: int, frame_timeout: float) -> bytes:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + frame_timeout + length / MIN_FRAME_RATE
    body = bytearray()
    while len(body) < length:
        try:
            # a timeout scope, not wait_for: wait_for runs the read as a task of its own, which costs three
            # turns of the loop even when the body is already buffered (a keystroke's frame always is)
            async with asyncio.timeout_at(min(loop.time() + frame_timeout, deadline)):
                chunk = await reader.read(length - len(body))
        except TimeoutError:
            raise FrameError(f"a {length}-byte frame stalled after {len(body)} bytes") from None
        if not chunk:
            raise asyncio.IncompleteReadError(bytes(body), length)
        body += chunk
    return bytes(body)
