"""Key names as written in keymaps ("c", "C-c", "^C", "M-x", "tab", "up", "f5") and the raw bytes a
terminal sends for them.

The client reads the terminal as raw bytes (see ARCHITECTURE.md, "Keys: raw bytes to the panes"), so a
binding is matched against bytes, not against Textual's key names. Two spellings that produce the same
bytes are the same key: "C-c" and "^C", "C-i" and "tab", "C-m" and "enter", "C-[" and "escape". Every key
gets one canonical name so that duplicates are caught at load time.
"""

from __future__ import annotations

from dataclasses import dataclass

ESC = b"\x1b"


@dataclass(frozen=True)
class Key:
    """A parsed key: its canonical name and every byte sequence terminals send for it (primary first)."""

    name: str
    sequences: tuple[bytes, ...]

    @property
    def primary(self) -> bytes:
        return self.sequences[0]


class KeyNameError(ValueError):
    """A key name that does not parse; the message says what is accepted."""


def _csi_and_ss3(final: str) -> tuple[bytes, ...]:
    # Cursor keys: CSI in normal mode, SS3 in application cursor mode (vim, less set it).
    return (b"\x1b[" + final.encode(), b"\x1bO" + final.encode())


# Named keys. Where terminals disagree, every common variant is listed so a match never depends on the
# terminal type: xterm, VTE, the Linux console, screen and tmux themselves.
NAMED_KEYS: dict[str, tuple[bytes, ...]] = {
    "tab": (b"\t",),
    "space": (b" ",),
    "backspace": (b"\x7f",),
    "enter": (b"\r",),
    "escape": (ESC,),
    "up": _csi_and_ss3("A"),
    "down": _csi_and_ss3("B"),
    "right": _csi_and_ss3("C"),
    "left": _csi_and_ss3("D"),
    "home": (b"\x1b[H", b"\x1bOH", b"\x1b[1~", b"\x1b[7~"),
    "end": (b"\x1b[F", b"\x1bOF", b"\x1b[4~", b"\x1b[8~"),
    "insert": (b"\x1b[2~",),
    "delete": (b"\x1b[3~",),
    "pageup": (b"\x1b[5~",),
    "pagedown": (b"\x1b[6~",),
    "btab": (b"\x1b[Z",),
    "f1": (b"\x1bOP", b"\x1b[11~", b"\x1b[[A"),
    "f2": (b"\x1bOQ", b"\x1b[12~", b"\x1b[[B"),
    "f3": (b"\x1bOR", b"\x1b[13~", b"\x1b[[C"),
    "f4": (b"\x1bOS", b"\x1b[14~", b"\x1b[[D"),
    "f5": (b"\x1b[15~", b"\x1b[[E"),
    "f6": (b"\x1b[17~",),
    "f7": (b"\x1b[18~",),
    "f8": (b"\x1b[19~",),
    "f9": (b"\x1b[20~",),
    "f10": (b"\x1b[21~",),
    "f11": (b"\x1b[23~",),
    "f12": (b"\x1b[24~",),
}

ALIASES = {
    "return": "enter",
    "ret": "enter",
    "esc": "escape",
    "bspace": "backspace",
    "bs": "backspace",
    "pgup": "pageup",
    "ppage": "pageup",
    "pgdn": "pagedown",
    "npage": "pagedown",
    "ins": "insert",
    "del": "delete",
    "dc": "delete",
    "ic": "insert",
    "shift-tab": "btab",
}

# A control byte that has a named key of its own is called by that name.
_CONTROL_BYTE_NAMES = {0x09: "tab", 0x0D: "enter", 0x1B: "escape", 0x7F: "backspace"}
_CONTROL_SYMBOLS = "@[\\]^_?"


def _control_byte(char: str) -> int | None:
    """The byte of Ctrl+char, as a terminal sends it, or None if Ctrl+char has no byte of its own."""
    if char == "?":
        return 0x7F
    if char == "space":
        return 0x00
    if len(char) != 1:
        return None
    upper = char.upper()
    if "A" <= upper <= "Z" or upper in _CONTROL_SYMBOLS:
        return ord(upper) & 0x1F
    return None


def _name_of_control_byte(byte: int) -> str:
    if byte in _CONTROL_BYTE_NAMES:
        return _CONTROL_BYTE_NAMES[byte]
    if byte == 0:
        return "C-@"
    char = chr(byte | 0x40)
    return "C-" + (char.lower() if char.isalpha() else char)


def parse_key(name: str) -> Key:
    """Parse a keymap key name into its canonical name and byte sequences; raises KeyNameError."""
    if not isinstance(name, str) or name == "":
        raise KeyNameError("a key name must be a non-empty string")
    if name.startswith("M-") and len(name) > 2:
        inner = parse_key(name[2:])
        if inner.primary.startswith(ESC):
            # Alt is sent as an ESC prefix; ESC before an escape sequence is not a distinct key.
            raise KeyNameError(f"{name!r}: Alt (M-) combines only with a character or a C- key")
        return Key("M-" + inner.name, tuple(ESC + seq for seq in inner.sequences))
    control = None
    if name.startswith(("C-", "c-")) and len(name) > 2:
        control = name[2:]
    elif name.startswith("^") and len(name) == 2:
        control = name[1]
    if control is not None:
        byte = _control_byte(control.lower() if control.lower() == "space" else control)
        if byte is None:
            raise KeyNameError(
                f"{name!r}: Ctrl combines with a letter, one of {_CONTROL_SYMBOLS}, or space"
            )
        canonical = _name_of_control_byte(byte)
        if canonical in NAMED_KEYS:
            return Key(canonical, NAMED_KEYS[canonical])
        return Key(canonical, (bytes([byte]),))
    lowered = name.lower()
    lowered = ALIASES.get(lowered, lowered)
    if lowered in NAMED_KEYS:
        return Key(lowered, NAMED_KEYS[lowered])
    if len(name) == 1:
        if name == " ":
            return Key("space", NAMED_KEYS["space"])
        if not name.isprintable():
            byte = ord(name)
            if byte < 0x20 or byte == 0x7F:
                return parse_key(_name_of_control_byte(byte))
            raise KeyNameError(f"{name!r} is not a printable character")
        return Key(name, (name.encode("utf-8"),))
    named = ", ".join(sorted(NAMED_KEYS))
    raise KeyNameError(
        f"{name!r} is not a key name: use one character, C-x (Ctrl), M-x (Alt), or one of {named}"
    )


def key_to_bytes(name: str) -> bytes:
    """The primary bytes for a key name, e.g. "C-c" -> b"\\x03", "up" -> b"\\x1b[A"."""
    return parse_key(name).primary


def describe_bytes(data: bytes) -> str:
    """A key name for raw input bytes when one exists (for help screens and logs), else a repr."""
    for name, sequences in NAMED_KEYS.items():
        if data in sequences:
            return name
    if len(data) == 1 and (data[0] < 0x20 or data[0] == 0x7F):
        return _name_of_control_byte(data[0])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return repr(data)
    if len(text) == 1 and text.isprintable():
        return text
    if len(data) >= 2 and data[:1] == ESC:
        rest = describe_bytes(data[1:])
        if not rest.startswith("b'"):
            return "M-" + rest
    return repr(data)
