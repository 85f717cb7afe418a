"""The real client draws what the emulator holds, read back from the outer terminal (tmux) around it.

- The 16 ANSI colours leave the client as palette indexes (SGR 31, 35, 91), so the user's terminal theme
  applies; 256-colour and truecolour keep their own forms.
- The terminal's own cursor is the pane's cursor: it follows a move that arrives alone, and hides and shows
  with the program (tmux's #{cursor_x}, #{cursor_y} and #{cursor_flag} of the pane running the client).
- Keys typed one at a time echo exactly (the client writes an echo-sized change itself, ahead of Textual):
  each key shows right after what is already on the line, in its colours, with the cursor after it.
"""

from __future__ import annotations

import re
import time

from tests.e2e.test_screen_e2e import HASCREEN, Tmux, tmux  # noqa: F401 (tmux: a fixture)

ESC = "\x1b"


def wait_for(what, predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(0.1)
        value = predicate()
    assert value, f"{what} within {timeout} s"
    return value


def cursor(session: Tmux, target: str) -> tuple[int, int, bool]:
    x, y, flag = session.run("display-message", "-p", "-t", target,
                          "#{cursor_x} #{cursor_y} #{cursor_flag}").stdout.split()
    return int(x), int(y), flag == "1"


def test_ansi_colours_leave_the_client_as_palette_indexes(tmux: Tmux):  # noqa: F811
    # COLORTERM: the outer terminal takes 24-bit colour, so the client has no reason to approximate it
    tmux.new("one", f"COLORTERM=truecolor {HASCREEN} -S morning; sleep 600")
    tmux.wait_text("one", "0* ")
    tmux.keys("one", r"printf '\033[31mred \033[35mmagenta \033[91mbright\033[0m \033[38;2;1;2;3mrgb\033[0m'; echo",
              "Enter")
    tmux.wait_text("one", "red magenta bright rgb")

    def coloured_line() -> str:
        lines = tmux.run("capture-pane", "-e", "-p", "-t", "one").stdout.splitlines()
        return next((line for line in lines if "bright" in line and "printf" not in line), "")

    line = wait_for("the coloured line", coloured_line)
    assert f"{ESC}[31mred" in line
    assert f"{ESC}[35mmagenta" in line
    assert f"{ESC}[91mbright" in line
    assert f"{ESC}[38;2;1;2;3mrgb" in line


def test_the_terminal_cursor_follows_a_lone_move_and_hides_with_the_program(tmux: Tmux):  # noqa: F811
    tmux.new("one", f"{HASCREEN} -S morning; sleep 600")
    tmux.wait_text("one", "0* ")
    # one command line (a `clear` of its own could run after the next line's typed-ahead echo and leave
    # "hello world" behind the new prompt); each step waits for Enter (not echoed), so the test moves on
    # only once it has seen the previous state
    tmux.keys("one", r"clear; stty -echo; printf 'hello world'; read a; printf '\033[6D'; read a; "
                     r"printf '\033[?25l'; read a; printf '\033[?25h'; read a; stty echo", "Enter")
    screen = tmux.wait_text("one", "\nhello world")
    row = screen.splitlines().index("hello world")
    assert wait_for("the cursor after the text", lambda: cursor(tmux, "one") == (11, row, True))
    tmux.keys("one", "Enter")
    assert wait_for("the cursor moved back by 6", lambda: cursor(tmux, "one") == (5, row, True))
    tmux.keys("one", "Enter")
    assert wait_for("the cursor hidden", lambda: cursor(tmux, "one") == (5, row, False))
    tmux.keys("one", "Enter")
    assert wait_for("the cursor shown again", lambda: cursor(tmux, "one") == (5, row, True))
    tmux.keys("one", "Enter")


def test_keys_typed_one_at_a_time_echo_exactly_with_the_line_s_colours(tmux: Tmux):  # noqa: F811
    tmux.new("one", f"{HASCREEN} -S morning; sleep 600")
    tmux.wait_text("one", "0* ")
    tmux.keys("one", r"clear; printf '\033[31mRED\033[0m'; cat", "Enter")
    screen = tmux.wait_text("one", "\nRED")
    row = screen.splitlines().index("RED")
    assert wait_for("the cursor after RED", lambda: cursor(tmux, "one") == (3, row, True))

    def echoed(typed: str) -> bool:
        """The typed text right after RED and no longer red, nothing else on the line (capture-pane drops
        trailing blanks), the cursor after it."""
        line = tmux.run("capture-pane", "-e", "-p", "-t", "one").stdout.splitlines()[row]
        sgr = rf"(?:{ESC}\[[0-9;]*m)"
        match = re.fullmatch(rf"({sgr}*)RED({sgr}+){re.escape(typed.rstrip())}\s*{sgr}*\s*", line)
        return bool(match and f"{ESC}[31m" in match[1] and re.search(rf"{ESC}\[(?:0|39)m", match[2])
                    and cursor(tmux, "one") == (3 + len(typed), row, True))

    typed = ""
    for key in "echo-\u00e9 1":
        tmux.keys("one", "-l", key)
        typed += key
        assert wait_for(f"the echo of {typed!r}", lambda typed=typed: echoed(typed))
    tmux.keys("one", "C-c")
