"""Keys as bytes, in both directions, for the client.

- `encode_key(key, character, app_cursor)`: a Textual key event (Pilot tests, or the fallback path) to the bytes
  a terminal would have sent, honouring application cursor mode (DECCKM) of the focused pane.
- `decode_keys(data)`: raw terminal bytes to Textual key names, used only while a UI element (a prompt, a list,
  copy mode) has the focus; panes get the bytes themselves and never go through this.
- `describe_key(data)`: a short human name of one key's bytes ("C-x", "tab", "^[[A") for notices.

The tables below are the xterm defaults; the keymap's own names are resolved by tui.config when it offers a
helper, else by `key_name_to_bytes` here.
"""

from __future__ import annotations

# Textual key name -> bytes in normal cursor mode
_CURSOR_KEYS = {"up": b"A", "down": b"B", "right": b"C", "left": b"D", "home": b"H", "end": b"F"}
_TILDE_KEYS = {"insert": 2, "delete": 3, "pageup": 5, "pagedown": 6, "f5": 15, "f6": 17, "f7": 18, "f8": 19,
               "f9": 20, "f10": 21, "f11": 23, "f12": 24}
_SS3_FKEYS = {"f1": b"P", "f2": b"Q", "f3": b"R", "f4": b"S"}
_PLAIN = {"enter": b"\r", "tab": b"\t", "escape": b"\x1b", "backspace": b"\x7f", "space": b" ",
          "shift+tab": b"\x1b[Z", "ctrl+space": b"\x00", "ctrl+@": b"\x00"}
# xterm modifier parameter: 1 + shift(1) + alt(2) + ctrl(4)
_MODIFIER_BITS = {"shift": 1, "alt": 2, "meta": 2, "ctrl": 4}


def _ctrl_byte(char: str) -> bytes | None:
    """C-a..C-z, C-[ C-\\ C-] C-^ C-_ and C-? as the single control byte."""
    if len(char) != 1:
        return None
    upper = char.upper()
    if "A" <= upper <= "Z" or upper in "[\\]^_@":
        return bytes([ord(upper) & 0x1F])
    if char == "?":
        return b"\x7f"
    return None


_CHAR_NAMES = {
    "quotation_mark": '"', "apostrophe": "'", "question_mark": "?", "colon": ":", "semicolon": ";",
    "left_square_bracket": "[", "right_square_bracket": "]", "vertical_line": "|", "backslash": "\\",
    "exclamation_mark": "!", "at": "@", "number_sign": "#", "dollar_sign": "$", "percent_sign": "%",
    "circumflex_accent": "^", "ampersand": "&", "asterisk": "*", "left_parenthesis": "(",
    "right_parenthesis": ")", "minus": "-", "underscore": "_", "plus": "+", "equals_sign": "=",
    "left_curly_bracket": "{", "right_curly_bracket": "}", "less_than_sign": "<", "greater_than_sign": ">",
    "comma": ",", "full_stop": ".", "slash": "/", "grave_accent": "`", "tilde": "~",
}


def encode_key(key: str, character: str | None = None, app_cursor: bool = False) -> bytes:
    """Bytes for one Textual key event; b"" if the key has no terminal encoding."""
    if key in _PLAIN:
        return _PLAIN[key]
    *mods, base = key.split("+") if key != "+" else ["+"]
    modifier = 1 + sum(_MODIFIER_BITS.get(mod, 0) for mod in mods)
    if base in _CURSOR_KEYS:
        final = _CURSOR_KEYS[base]
        if modifier > 1:
            return b"\x1b[1;%d" % modifier + final
        return (b"\x1bO" if app_cursor else b"\x1b[") + final
    if base in _TILDE_KEYS:
        number = _TILDE_KEYS[base]
        return b"\x1b[%d;%d~" % (number, modifier) if modifier > 1 else b"\x1b[%d~" % number
    if base in _SS3_FKEYS:
        final = _SS3_FKEYS[base]
        return b"\x1b[1;%d" % modifier + final if modifier > 1 else b"\x1bO" + final
    char = _CHAR_NAMES.get(base, base if len(base) == 1 else None)
    if char is None and base in _PLAIN:
        body = _PLAIN[base]
    elif char is not None:
        body = char.encode()
        if "ctrl" in mods:
            control = _ctrl_byte(char)
            if control is None:
                return b""
            body = control
        elif "shift" in mods and len(char) == 1:
            body = char.upper().encode()
    elif character and not mods:
        return character.encode("utf-8", "replace")
    else:
        return b""
    if "alt" in mods or "meta" in mods:
        return b"\x1b" + body
    return body


def to_application_cursor(data: bytes) -> bytes:
    """Re-encode plain cursor keys (ESC [ A..D, H, F) as the application cursor mode sends them (ESC O A...).

    The client's own terminal stays in normal cursor mode, so when the focused pane's program has asked for
    application cursor keys (DECCKM: vim, less, htop), the arrows are translated on the way, as screen does."""
    if b"\x1b[" not in data:
        return data
    out = []
    for chunk in split_key_sequences(data):
        if len(chunk) == 3 and chunk[:2] == b"\x1b[" and chunk[2:] in (b"A", b"B", b"C", b"D", b"H", b"F"):
            chunk = b"\x1bO" + chunk[2:]
        out.append(chunk)
    return b"".join(out)


# ---- raw bytes -> Textual key names (UI elements only) ------------------------------------------------

_CSI_FINAL = {b"A": "up", b"B": "down", b"C": "right", b"D": "left", b"H": "home", b"F": "end",
              b"Z": "shift+tab", b"P": "f1", b"Q": "f2", b"R": "f3", b"S": "f4"}
_TILDE_NUMBERS = {1: "home", 2: "insert", 3: "delete", 4: "end", 5: "pageup", 6: "pagedown", 7: "home",
                  8: "end", 15: "f5", 17: "f6", 18: "f7", 19: "f8", 20: "f9", 21: "f10", 23: "f11", 24: "f12"}
_CONTROL_NAMES = {0x0D: "enter", 0x0A: "enter", 0x09: "tab", 0x1B: "escape", 0x7F: "backspace",
                  0x08: "backspace", 0x00: "ctrl+@"}


def _modifier_prefix(param: int) -> str:
    bits = max(param - 1, 0)
    return "".join(name + "+" for name, bit in (("ctrl", 4), ("alt", 2), ("shift", 1)) if bits & bit)


def split_key_sequences(data: bytes) -> list[bytes]:
    """Split raw input into one chunk per key: a char, a control byte, ESC + char, or an escape sequence."""
    keys: list[bytes] = []
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == 0x1B and i + 1 < len(data):
            nxt = data[i + 1]
            if nxt == ord("["):  # CSI: parameters then a final byte 0x40..0x7e
                j = i + 2
                while j < len(data) and not 0x40 <= data[j] <= 0x7E:
                    j += 1
                keys.append(data[i : j + 1])
                i = j + 1
                continue
            if nxt == ord("O") and i + 2 < len(data):  # SS3
                keys.append(data[i : i + 3])
                i += 3
                continue
            length = _utf8_length(data[i + 1]) if data[i + 1] >= 0x80 else 1
            keys.append(data[i : i + 1 + length])  # alt + one character
            i += 1 + length
            continue
        length = _utf8_length(byte) if byte >= 0x80 else 1
        keys.append(data[i : i + length])
        i += length
    return keys


def _utf8_length(lead: int) -> int:
    if lead >= 0xF0:
        return 4
    if lead >= 0xE0:
        return 3
    if lead >= 0xC0:
        return 2
    return 1


def decode_key(chunk: bytes) -> tuple[str, str | None] | None:
    """One key's bytes (from split_key_sequences) to (Textual key name, character); None if unknown."""
    if not chunk:
        return None
    if chunk[0] == 0x1B and len(chunk) >= 3 and chunk[1:2] in (b"[", b"O"):
        final = chunk[-1:]
        params = chunk[2:-1].decode("ascii", "replace").split(";")
        modifier = int(params[1]) if len(params) > 1 and params[1].isdigit() else 1
        if final == b"~" and params[0].isdigit():
            name = _TILDE_NUMBERS.get(int(params[0]))
        else:
            name = _CSI_FINAL.get(final)
        if name is None:
            return None
        return _modifier_prefix(modifier) + name, None
    if chunk[0] == 0x1B and len(chunk) > 1:
        inner = decode_key(chunk[1:])
        return ("alt+" + inner[0], None) if inner else None
    if len(chunk) == 1 and chunk[0] in _CONTROL_NAMES:
        return _CONTROL_NAMES[chunk[0]], chunk.decode("ascii")
    if len(chunk) == 1 and chunk[0] < 0x20:
        return "ctrl+" + chr(chunk[0] + 0x60), chunk.decode("ascii")
    text = chunk.decode("utf-8", "replace")
    if text == " ":
        return "space", " "
    name = next((name for name, char in _CHAR_NAMES.items() if char == text), text)
    return name, text


def decode_keys(data: bytes) -> list[tuple[str, str | None]]:
    return [key for key in map(decode_key, split_key_sequences(data)) if key is not None]


def describe_key(chunk: bytes) -> str:
    """A human name for one key's bytes, in screen's style (C-x, M-x) for notices like 'C-a z: unbound'."""
    decoded = decode_key(chunk)
    if decoded is None:
        return repr(chunk.decode("utf-8", "replace"))
    name, _char = decoded
    if name.startswith("ctrl+") and len(name) == 6:
        return "C-" + name[-1]
    if name.startswith("alt+") and len(name) == 5:
        return "M-" + name[-1]
    return {"space": "space"}.get(name, _CHAR_NAMES.get(name, name))


# ---- keymap key names -> bytes (fallback when tui.config offers no helper) ----------------------------

_NAMED_KEYS = {"space": b" ", "tab": b"\t", "enter": b"\r", "return": b"\r", "escape": b"\x1b", "esc": b"\x1b",
               "backspace": b"\x7f", "bs": b"\x7f", "delete": b"\x1b[3~", "up": b"\x1b[A", "down": b"\x1b[B",
               "right": b"\x1b[C", "left": b"\x1b[D", "home": b"\x1b[H", "end": b"\x1b[F",
               "pageup": b"\x1b[5~", "pagedown": b"\x1b[6~", "ppage": b"\x1b[5~", "npage": b"\x1b[6~"}


def key_name_to_bytes(name: str) -> list[bytes]:
    """Every byte sequence a keymap key name ("c", "C-a", "^A", "M-x", "tab", "up") can arrive as."""
    if name in _NAMED_KEYS:
        variants = [_NAMED_KEYS[name]]
        if name == "backspace":
            variants.append(b"\x08")
        if name in ("up", "down", "right", "left", "home", "end"):
            variants.append(b"\x1bO" + _NAMED_KEYS[name][-1:])
        return variants
    lowered = name.lower()
    for prefix in ("c-", "ctrl-", "ctrl+", "^"):
        if lowered.startswith(prefix) and len(name) == len(prefix) + 1:
            control = _ctrl_byte(name[-1])
            return [control] if control else []
    for prefix in ("m-", "alt-", "alt+", "meta-"):
        if lowered.startswith(prefix) and len(name) > len(prefix):
            return [b"\x1b" + variant for variant in key_name_to_bytes(name[len(prefix):])]
    if len(name) == 1:
        return [name.encode()]
    return []
