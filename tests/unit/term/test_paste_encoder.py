"""A paste that arrives in parts is encoded exactly as if it had come whole: one bracket pair, CR LF and LF
as CR, and no ESC [ 201 ~ inside, even where a part boundary splits them."""

import random

import pytest

from tui.term.terminal import PasteEncoder, Terminal


@pytest.mark.parametrize("bracketed", [True, False])
def test_parts_encode_like_the_whole(bracketed: bool) -> None:
    rng = random.Random(5)
    alphabet = ["a", "\r", "\n", "\x1b", "[", "2", "0", "1", "~", "é", "😀"]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        cuts = sorted(rng.sample(range(len(text) + 1), min(len(text) + 1, rng.randint(0, 6))))
        encoder = PasteEncoder(bracketed)
        out, last = b"", 0
        for cut in cuts:
            out += encoder.feed(text[last:cut])
            last = cut
        out += encoder.feed(text[last:], final=True)
        whole = PasteEncoder(bracketed).feed(text, final=True)
        assert out == whole, (text, cuts)
        if bracketed:
            assert out.startswith(b"\x1b[200~") and out.endswith(b"\x1b[201~") and out.count(b"\x1b[201~") == 1


def test_terminal_encode_paste_is_the_one_part_case() -> None:
    term = Terminal(20, 5)
    term.feed(b"\x1b[?2004h")
    assert term.encode_paste("x\r\ny\x1b[201~") == b"\x1b[200~x\ry\x1b[201~"
    encoder = term.paste_encoder()
    assert encoder.feed("x\r") + encoder.feed("\ny\x1b[20") + encoder.feed("1~z", final=True) == \
        b"\x1b[200~x\ryz\x1b[201~"
