"""Every binding of keymaps/screen.yaml listed in issue 2, pressed through Pilot in the real client against a
real server, checked by what the user sees: tab bar names, regions, text in the panes, the detach exit.
"""

from __future__ import annotations

from tui.client.copy_mode import CopyMode
from tui.client.dialogs import HelpScreen, Prompt, WindowList


async def make_windows(console, count: int) -> None:
    for _ in range(count):
        before = len(console.tab_names)
        await console.prefix("c")
        await console.wait(lambda before=before: len(console.tab_names) == before + 1, "a new window")
    await console.wait_text("$")


async def test_c_creates_a_window_and_ctrl_c_too(live):
    async with live.console() as console:
        assert len(console.tab_names) == 1
        await console.prefix("c")
        await console.wait(lambda: len(console.tab_names) == 2 and console.active == 1, "window 1, active")
        await console.prefix("ctrl+c")
        await console.wait(lambda: len(console.tab_names) == 3 and console.active == 2, "window 2, active")


async def test_typed_keys_reach_the_shell(live):
    async with live.console() as console:
        await console.run("echo $((6*7))", "42")


async def test_A_renames_the_window(live):
    async with live.console() as console:
        await console.prefix("A")
        await console.wait(lambda: isinstance(console.app.screen, Prompt), "the rename prompt")
        await console.type("logs")
        await console.wait(lambda: console.tab_names == ["logs"], "the window named logs")


async def test_n_space_p_backspace_cycle_windows(live):
    async with live.console() as console:
        await make_windows(console, 2)  # windows 0 1 2, 2 active
        await console.prefix("n")
        await console.wait(lambda: console.active == 0, "next wraps to 0")
        await console.prefix("space")
        await console.wait(lambda: console.active == 1, "space: next is 1")
        await console.prefix("p")
        await console.wait(lambda: console.active == 0, "previous is 0")
        await console.prefix("backspace")
        await console.wait(lambda: console.active == 2, "backspace: previous wraps to 2")


async def test_digits_select_windows_and_ctrl_a_toggles_last(live):
    async with live.console() as console:
        await make_windows(console, 2)
        await console.prefix("0")
        await console.wait(lambda: console.active == 0, "window 0")
        await console.prefix("2")
        await console.wait(lambda: console.active == 2, "window 2")
        await console.prefix("ctrl+a")
        await console.wait(lambda: console.active == 0, "C-a C-a: back to the last window, 0")
        await console.prefix("9")  # no window 9: the server says so and nothing changes
        await console.wait(lambda: any("9" in notice for notice in console.app.notices), "a notice about 9")
        assert console.active == 0


async def test_quote_opens_the_window_list(live):
    async with live.console() as console:
        await make_windows(console, 1)
        await console.prefix("quotation_mark")
        await console.wait(lambda: isinstance(console.app.screen, WindowList), "the window list")
        await console.press("up", "enter")
        await console.wait(lambda: console.active == 0 and not console.app.ui_open, "window 0 chosen from the list")


async def test_apostrophe_selects_by_name(live):
    async with live.console() as console:
        await console.prefix("A")
        await console.wait(lambda: isinstance(console.app.screen, Prompt), "the rename prompt")
        await console.type("first")
        await make_windows(console, 1)
        await console.prefix("apostrophe")
        await console.wait(lambda: isinstance(console.app.screen, Prompt), "the select prompt")
        await console.type("first")
        await console.wait(lambda: console.active == 0, "window 'first' selected by name")


async def test_k_kills_after_confirmation(live):
    async with live.console() as console:
        await make_windows(console, 1)
        await console.prefix("k")
        await console.wait(lambda: console.app.ui_open, "the confirmation")
        await console.press("n")
        await console.settle()
        assert len(console.tab_names) == 2
        await console.prefix("k")
        await console.wait(lambda: console.app.ui_open, "the confirmation")
        await console.press("y")
        await console.wait(lambda: len(console.tab_names) == 1, "window 1 killed")


async def test_S_and_bar_split_tab_moves_X_and_Q_remove(live):
    async with live.console() as console:
        await console.prefix("S")
        await console.wait(lambda: len(console.regions) == 2, "two regions after S")
        top, bottom = sorted(console.regions, key=lambda region: region.y)
        assert top.y < bottom.y and top.x == bottom.x  # top and bottom
        await console.prefix("vertical_line")
        await console.wait(lambda: len(console.regions) == 3, "three regions after |")
        assert len({region.x for region in console.regions}) == 2  # a side-by-side pair appeared
        focused = console.app.pane_area.focused_region
        await console.prefix("tab")
        await console.wait(lambda: console.app.pane_area.focused_region != focused, "focus on the next region")
        await console.prefix("X")
        await console.wait(lambda: len(console.regions) == 2, "X removed a region")
        await console.prefix("Q")
        await console.wait(lambda: len(console.regions) == 1, "Q left only one region")


async def test_d_detaches_and_the_session_lives_on(live):
    async with live.console() as console:
        await console.prefix("d")
        await console.wait(lambda: console.app.exit_info is not None, "the detach")
        assert console.app.exit_info.message == f"[detached from {live.name}]"
        assert console.app.exit_info.code == 0
    listing = live.hascreen("-ls").stdout
    assert live.name in listing and "Detached" in listing


async def test_copy_mode_copies_and_bracket_pastes(live):
    async with live.console() as console:
        await console.run("echo copy-me-$((40+2))", "copy-me-42")
        await console.prefix("left_square_bracket")
        await console.wait(lambda: isinstance(console.app.screen, CopyMode), "copy mode")
        copy = console.app.screen
        await console.wait(lambda: copy.line_count > 0, "the scrollback length")
        await console.press("slash")
        await console.wait(lambda: isinstance(console.app.screen, Prompt), "the search prompt")
        await console.type("copy-me-42")
        await console.wait(lambda: "found" in copy.message, "the search result")
        await console.press("enter")
        await console.wait(lambda: not console.app.ui_open, "copy mode left")
        assert console.app.paste_buffer == "copy-me-42"
        await console.type("echo ", enter=False)
        await console.prefix("right_square_bracket")
        await console.press("enter")
        await console.wait(lambda: console.text.count("copy-me-42") >= 3, "the pasted text echoed")


async def test_question_mark_shows_every_binding(live):
    async with live.console() as console:
        await console.prefix("question_mark")
        await console.wait(lambda: isinstance(console.app.screen, HelpScreen), "the help screen")
        help_text = console.app.screen.help_text().plain
        for binding in console.app.keymap.bindings.values():
            assert binding.note in help_text and binding.command_line in help_text
        await console.press("escape")
        await console.wait(lambda: not console.app.ui_open, "help closed")


async def test_colon_runs_a_command_with_completion(live):
    async with live.console() as console:
        await console.prefix("colon")
        await console.wait(lambda: isinstance(console.app.screen, Prompt), "the command prompt")
        await console.type("rename-win", enter=False)
        await console.press("tab")
        prompt_input = console.app.screen.query_one("Input")
        assert prompt_input.value == "rename-window "
        await console.type("from-prompt")
        await console.wait(lambda: console.tab_names == ["from-prompt"], "the rename through the prompt")


async def test_a_sends_a_literal_ctrl_a(live):
    async with live.console() as console:
        await console.run("stty -echoctl; od -c", "od -c")
        await console.prefix("a")
        await console.press("enter", "ctrl+d")
        await console.wait_text("001", what="od showing the C-a byte (octal 001)")


async def test_l_redraws_from_the_server(live):
    async with live.console() as console:
        await console.run("echo redraw-$((1+1))", "redraw-2")
        area = console.app.pane_area
        pane = area.focused_pane
        pane.rows.clear()  # lose the client's copy; only the server can bring it back
        pane.segments.clear()
        assert "redraw-2" not in console.text
        await console.prefix("l")
        await console.wait_text("redraw-2", what="the redrawn screen")


async def test_an_unbound_key_shows_a_notice(live):
    async with live.console() as console:
        await console.prefix("z")
        await console.wait(lambda: any("not bound" in notice for notice in console.app.notices), "the notice")


async def test_copy_mode_selects_from_cell_to_cell(live):
    async with live.console() as console:
        await console.run("echo alpha beta gamma; echo second line", "second line")
        await console.prefix("left_square_bracket")
        await console.wait(lambda: isinstance(console.app.screen, CopyMode), "copy mode")
        copy = console.app.screen
        await console.wait(lambda: copy.line_count > 0, "the scrollback length")
        await console.press("slash")
        await console.wait(lambda: isinstance(console.app.screen, Prompt), "the search prompt")
        await console.type("beta")
        await console.wait(lambda: "found" in copy.message, "the search result")
        await console.press("space", "down", "left")  # from 'b' of beta to the cell before 'beta' below
        await console.press("space")  # the second mark copies and leaves
        await console.wait(lambda: not console.app.ui_open, "copy mode left")
        assert console.app.paste_buffer == "beta gamma\nsecond"


async def test_x_locks_the_session_and_ctrl_d_detaches_from_the_lock_screen(live):
    from tui.auth import own_password_usable
    from tui.client.lock_screen import LockPassphrasePrompt, LockScreen

    async with live.console() as console:
        await console.run("echo secret-$((3+4))", "secret-7")
        await console.prefix("x")
        if not own_password_usable(console.app.welcome.get("pam_service")):
            # a user without a usable password (root as `*` here) is asked for a one-time passphrase first
            await console.wait(lambda: isinstance(console.app.screen, LockPassphrasePrompt), "the passphrase prompt")
            await console.type("one-time-phrase")
            await console.type("one-time-phrase")
        await console.wait(lambda: isinstance(console.app.screen, LockScreen), "the lock screen")
        await console.wait(lambda: "secret-7" not in console.text, "the pane contents gone from the client")
        await console.press("ctrl+d")
        await console.wait(lambda: console.app.exit_info is not None, "the detach from the lock screen")
        assert console.app.exit_info.message.startswith(f"[detached from {live.name}]")


async def test_the_window_list_follows_changes_while_it_is_open(live):
    async with live.console() as console:
        await console.prefix("quotation_mark")
        await console.wait(lambda: isinstance(console.app.screen, WindowList), "the window list")
        window_list = console.app.screen
        assert len(window_list.windows) == 1
        live.hascreen("-X", live.name, "new-window", "-n", "late")
        await console.wait(lambda: [w.get("name") for w in window_list.windows] == ["sh", "late"],
                           "the new window in the open list")
        await console.wait(lambda: console.active == 1, "the late window in front (new-window selects it)")
        await console.press("enter")  # the highlight stayed on window 0, where it was
        await console.wait(lambda: console.active == 0, "window 0 chosen from the updated list")
