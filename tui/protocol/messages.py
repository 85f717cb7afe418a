"""Message types of the hascreen protocol and their validation.

Every frame is a JSON object with a string field `t` (its type). Client→server messages are validated here
before the server acts on them, so a malformed one is rejected with a reason instead of raising deep inside
the server. Server→client messages are built with the `make_*` helpers so both sides agree on field names.

A run of cells is `[text, fg, bg, attrs]`: fg/bg are "default", a colour name ("red", "brightblue") or six hex
digits ("ff8700"); attrs is a bitmask of the ATTR_* flags below. A wide character appears once in `text` and
covers two cells.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from tui.protocol.framing import PROTOCOL_VERSION, clean_strings, frame_of

MAX_DEPTH = 8  # no client message nests deeper; a deeper one is refused before anything walks it
MAX_ID = 128  # characters of a command's request id (an int or a string, echoed in its result)

ATTR_BOLD = 1
ATTR_DIM = 2
ATTR_ITALIC = 4
ATTR_UNDERLINE = 8
ATTR_REVERSE = 16
ATTR_STRIKE = 32
ATTR_BLINK = 64
# each attribute bit and the SGR parameter that sets it
ATTR_SGR = ((ATTR_BOLD, 1), (ATTR_DIM, 2), (ATTR_ITALIC, 3), (ATTR_UNDERLINE, 4), (ATTR_BLINK, 5),
            (ATTR_REVERSE, 7), (ATTR_STRIKE, 9))


class MessageError(ValueError):
    """A well-framed message whose content is wrong (unknown type, missing or mistyped field)."""


# Client → server: type -> {field: required python type}
CLIENT_MESSAGES: dict[str, dict[str, type | tuple[type, ...]]] = {
    # first message on every connection
    "hello": {"version": int, "cols": int, "rows": int, "term": str, "mode": str},
    # raw bytes for the focused pane, base64 in `data`
    "input": {"data": str},
    # a named command from tui.commands, e.g. {"name": "split", "args": ["-v"]}
    "command": {"name": str, "args": list},
    # the size of the client's pane area (without tab bar, status line and side panels)
    "resize": {"cols": int, "rows": int},
    # mouse event over a pane, coordinates relative to the pane
    "mouse": {"pane": int, "kind": str, "button": int, "x": int, "y": int},
    # text to paste into the focused pane (bracketed if the program asked for it). A paste longer than
    # PASTE_PART_BYTES comes in parts: every part but the last has "more": true, and the program gets them
    # as one paste (one bracket pair); the server passes on at most PASTE_LIMIT bytes of it and says so
    "paste": {"text": str},
    # copy mode asks for scrollback lines [start, start+count) of a pane; 0 is the oldest line
    "scrollback": {"pane": int, "start": int, "count": int},
    # unlock attempt: the client already verified the user's password through PAM as that user
    # (method pam, ok), or sends a passphrase (method passphrase); `hascreen -X NAME unlock` of an owner
    # without any usable secret sends method uid
    "unlock": {"method": str},
    # lock with a one-time passphrase ({"passphrase": str}), from a client whose user has no usable password
    "lock": {"passphrase": str},
    # where the client's terminal shows the panes, so the server may draw an echo-sized change straight onto
    # it (tui.server.direct): `on` while its main screen (the panes) is what it shows; x, y: its pane area's
    # first cell; fd and rdev: the file descriptor it draws on and that terminal's device number; gen: counts
    # the declarations; truecolor: its terminal shows 24-bit colour as it is
    "direct": {"gen": int, "on": bool, "x": int, "y": int, "fd": int, "rdev": int, "truecolor": bool},
    "ping": {},
}

HELLO_MODES = ("attach", "new", "multi", "control")
PASTE_PART_BYTES = 1 << 20  # UTF-8 bytes per paste part: even escaped as JSON it stays far below MAX_FRAME
PASTE_LIMIT = 64 << 20  # the most of one paste (UTF-8 bytes) the server passes to the program  # -r, a fresh session, -x, -X/-ls (no display)


def validate_client_message(message: dict[str, Any]) -> dict[str, Any]:
    """Check a client message; returns it with every string made valid Unicode (lone surrogates → U+FFFD),
    so that nothing a client sends can make a later frame unencodable. The message is changed in place."""
    try:
        cleaned = clean_strings(message, MAX_DEPTH)
    except ValueError:
        raise MessageError(f"message nested deeper than {MAX_DEPTH} levels") from None
    message.clear()
    message.update(cleaned)
    kind = message.get("t")
    fields = CLIENT_MESSAGES.get(kind)  # type: ignore[arg-type]
    if fields is None:
        raise MessageError(f"unknown message type {kind!r}")
    for name, expected in fields.items():
        if name not in message:
            raise MessageError(f"{kind}: missing field {name!r}")
        value = message[name]
        if isinstance(value, bool) and expected is int:
            raise MessageError(f"{kind}: field {name!r} must be int, not bool")
        if not isinstance(value, expected):
            raise MessageError(f"{kind}: field {name!r} must be {getattr(expected, '__name__', expected)}")
    if kind == "hello" and message["mode"] not in HELLO_MODES:
        raise MessageError(f"hello: mode must be one of {', '.join(HELLO_MODES)}")
    if kind in ("hello", "resize") and not (1 <= message["cols"] <= 1000 and 1 <= message["rows"] <= 1000):
        raise MessageError(f"{kind}: size {message['cols']}x{message['rows']} out of range 1..1000")
    if kind == "command" and not all(isinstance(arg, str) for arg in message["args"]):
        raise MessageError("command: args must be strings")
    if kind == "command" and "id" in message:
        request_id = message["id"]
        if isinstance(request_id, bool) or not isinstance(request_id, int | str) or (
                isinstance(request_id, str) and len(request_id) > MAX_ID):
            raise MessageError(f"command: id must be an int or a string of at most {MAX_ID} characters")
    if kind == "input":
        decode_bytes(message["data"])
    if kind == "direct" and not (message["gen"] >= 0 and 0 <= message["x"] <= 1000 and 0 <= message["y"] <= 1000
                                 and 0 <= message["fd"] < 65536 and message["rdev"] >= 0):
        raise MessageError("direct: gen, x, y, fd or rdev out of range")
    if kind == "paste" and not isinstance(message.get("more", False), bool):
        raise MessageError("paste: field 'more' must be a boolean")
    return message


def encode_bytes(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_bytes(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise MessageError(f"input: data is not base64: {exc}") from None


# ---- client-side builders -------------------------------------------------------------------------------


def make_hello(cols: int, rows: int, term: str, mode: str, **extra: Any) -> dict[str, Any]:
    """extra: session (str), user (str), detach_others (bool), readonly (bool), client_pid (int)."""
    return {"t": "hello", "version": PROTOCOL_VERSION, "cols": cols, "rows": rows, "term": term, "mode": mode,
            **extra}


def make_input(data: bytes) -> dict[str, Any]:
    return {"t": "input", "data": encode_bytes(data)}


def input_frame(data: bytes) -> bytes:
    """encode_frame(make_input(data)), built without the JSON encoder: it is on the path of every keystroke,
    and base64 holds nothing JSON would escape."""
    return frame_of(b'{"t":"input","data":"' + base64.b64encode(data) + b'"}')


# the body `input_frame` builds: base64 whose padding is only at its end, so any match decodes
_INPUT_BODY = re.compile(rb'\{"t":"input","data":"((?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)"\}')


def input_message_of(body: bytes) -> dict[str, Any] | None:
    """The valid `input` message of a frame body exactly as `input_frame` builds it, read without the JSON
    decoder and the generic validation (the server's keystroke path); None for any other body, which then
    goes the general way."""
    match = _INPUT_BODY.fullmatch(body)
    return {"t": "input", "data": match[1].decode("ascii")} if match else None


def make_paste_parts(text: str) -> list[dict[str, Any]]:
    """One paste as messages of at most PASTE_PART_BYTES each (cut between characters, never inside one)."""
    parts = []
    start = 0
    step = PASTE_PART_BYTES // 4  # characters: at most four UTF-8 bytes each
    while True:
        piece = text[start : start + step]
        start += len(piece)
        more = start < len(text)
        parts.append({"t": "paste", "text": piece, **({"more": True} if more else {})})
        if not more:
            return parts


def make_command(name: str, *args: str, request_id: int | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"t": "command", "name": name, "args": list(args)}
    if request_id is not None:
        message["id"] = request_id
    return message


# ---- server → client ------------------------------------------------------------------------------------
# welcome   {session, version, server_pid, user, holder}
# error     {message, fatal}                      fatal: the server closes the connection after it
# layout    {windows: [{index, name, active, activity, bell, title}], active_window,
#            regions: [{pane, x, y, w, h, focused}], cols, rows}   regions tile the pane area of the client
# rows      {pane, rows: {"y": [run, ...]}, cursor: [x, y, visible], cursor_shape (DECSCUSR 0-6), full,
#            throttled, modes: {...}}   rows may be empty: a frame that only moves, hides or reshapes the cursor
# result    {id, ok, message}                     answer to a command that carried an id
# notice    {text, level}                          level: info|warn|crit, shown in the status line
# scrollback {pane, start, total, lines: [[run, ...], ...]}
# health    {clusters: [...], events: [...]}       see tui.health
# procedure {run: {...}}                           see tui.procedures
# lock      {locked, by, since, holder, methods, pam_service, [error, retry_after, unlocked_by, summary]}
#           per client: `locked` says whether THIS client is locked; while it is, it gets no `rows` frames
# detached  {reason}                               the server is done with this client
# pong      {}


def make_error(message: str, fatal: bool = False) -> dict[str, Any]:
    return {"t": "error", "message": message, "fatal": fatal}


def make_notice(text: str, level: str = "info") -> dict[str, Any]:
    return {"t": "notice", "text": text, "level": level}


def make_result(request_id: Any, ok: bool, message: str = "") -> dict[str, Any]:
    return {"t": "result", "id": request_id, "ok": ok, "message": message}
