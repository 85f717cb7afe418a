"""Read-only observers only watch, with two real local users: alice owns the session, carol is listed
`read-only`. carol cannot detach anyone (a `-d -r` hello, a control `detach`), cannot reshape alice's
panes by attaching at 1×1, and cannot flood the server or alice's log with scrollback requests and bad
messages; her own view is clipped to her terminal. bob (`full`) may not detach alice's client either while
alice holds the session.
"""

from __future__ import annotations

import statistics
import time

from lock_harness import screen_text, wait_until


def rows_with(text: str):
    return lambda m: m.get("t") == "rows" and text in screen_text([m])


def attached_owner(start_session, alice, config: str):
    session = start_session(alice, config=config)
    wait_until(lambda: "opened to uids" in session.log, 10, "the socket ACL")
    owner = session.connect(alice, mode="attach")
    owner.expect(lambda m: m.get("t") == "welcome", "welcome")
    owner.type("echo OWNER-$((3*4))\n")
    owner.expect(rows_with("OWNER-12"), "the owner's echo")
    return session, owner


def test_an_observer_cannot_detach_anyone(users, start_session) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    session, owner = attached_owner(start_session, alice,
                                    "acl:\n  hs-test-bob: full\n  hs-test-carol: read-only\n")
    # `hascreen -d -r alice/ops` as carol: a hello that asks to detach the others
    thief = session.connect(carol, mode="attach", detach_others=True)
    error = thief.expect(lambda m: m.get("t") == "error", "the refusal")
    assert error["fatal"] and "read-only" in error["message"]
    # a control connection's detach
    control = session.connect(carol, mode="control")
    control.expect(lambda m: m.get("t") == "welcome", "control welcome")
    control.send({"t": "command", "name": "detach", "args": [], "id": 7})
    result = control.expect(lambda m: m.get("t") == "result", "the detach result")
    assert result["ok"] is False and "read-only" in result["message"]
    # what it may do, also by screen's name for it (`hascreen -X alice/ops windows`)
    control.send({"t": "command", "name": "windows", "args": [], "id": 8})
    listed = control.expect(lambda m: m.get("t") == "result" and m.get("id") == 8, "the window list")
    assert listed["ok"] is True and listed["message"].startswith("0")
    # bob has full access but alice holds the session: he may join, not throw her out
    intruder = session.connect(bob, mode="attach", detach_others=True)
    error = intruder.expect(lambda m: m.get("t") == "error", "bob's refusal")
    assert error["fatal"] and "only the holder (hs-test-alice)" in error["message"]
    # an observer's own display client may leave, and only it leaves
    observer = session.connect(carol)
    observer.expect(lambda m: m.get("t") == "welcome", "the observer's welcome")
    observer.command("detach")
    observer.expect(lambda m: m.get("t") == "detached", "the observer's own detach")
    owner.type("echo STILL-$((5*5))\n")
    owner.expect(rows_with("STILL-25"), "the owner, still attached")
    assert not [m for m in owner.seen if m.get("t") == "detached"]


def test_an_observer_at_1x1_does_not_resize_the_owner(users, start_session) -> None:
    alice, carol = users["alice"], users["carol"]
    session, owner = attached_owner(start_session, alice, "acl:\n  hs-test-carol: read-only\n")
    observer = session.connect(carol, cols=1, rows=1)
    observer.expect(lambda m: m.get("t") == "welcome", "the observer's welcome")
    layout = observer.expect(lambda m: m.get("t") == "layout", "the observer's layout")
    # the observer sees a 1×1 window onto the 80×24 session
    assert layout["cols"] == 1 and layout["rows"] == 1
    assert all(r["w"] <= 1 and r["h"] <= 1 for r in layout["regions"])
    observer.send({"t": "resize", "cols": 1, "rows": 2})
    observer.command("resize-region", "-5")
    time.sleep(0.5)
    owner.type("stty size; echo SIZE-$((40+2))\n")
    owner.expect(rows_with("SIZE-42"), "stty's answer")
    assert "24 80" in screen_text(owner.seen)
    assert not [m for m in owner.seen if m.get("t") == "layout" and m.get("rows") != 24]


def test_an_observers_flood_is_rate_limited_and_costs_the_owner_nothing(users, start_session) -> None:
    alice, carol = users["alice"], users["carol"]
    session, owner = attached_owner(start_session, alice, "acl:\n  hs-test-carol: read-only\n")
    owner.type("seq 1 3000\n")
    owner.expect(rows_with("3000"), "history to ask for")
    observer = session.connect(carol)
    observer.expect(lambda m: m.get("t") == "welcome", "the observer's welcome")
    log_before = len(session.log.splitlines())
    started = time.monotonic()
    for index in range(300):
        observer.send({"t": "scrollback", "pane": 1, "start": 0, "count": 1000})
        observer.send({"t": "frobnicate", "n": index})  # a bad message, answered and logged (a little)
    rtts = []
    for _ in range(20):
        sent = time.monotonic()
        owner.send({"t": "ping"})
        owner.expect(lambda m: m.get("t") == "pong", "the owner's pong")
        rtts.append(time.monotonic() - sent)
    pages = [m for m in observer.collect(2.0) if m.get("t") == "scrollback"]
    elapsed = time.monotonic() - started
    # the budget: 400 tokens at once, then 100/s, a 1000-line page costing 101
    assert len(pages) <= 4 + 1.0 * elapsed + 2, f"{len(pages)} pages in {elapsed:.1f} s"
    assert statistics.median(rtts) < 0.1, f"owner's median ping {statistics.median(rtts) * 1000:.0f} ms"
    wait_until(lambda: "suppressed" in session.log or len(session.log.splitlines()) - log_before >= 5, 15,
               "the observer's warnings")
    assert len(session.log.splitlines()) - log_before < 40, "the observer's bad messages flooded the log"
