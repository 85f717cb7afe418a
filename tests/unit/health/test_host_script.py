"""The one-script-per-host format, run by the real /bin/sh: each section's stdout, stderr and exit code come
back exactly as a command of its own would give them; fallbacks run only after a failure; a hung section
is ended by its own timeout; a script cut short marks the sections it never finished. The replaying
runner's rendering must match what the shell prints."""

from __future__ import annotations

import subprocess

import pytest

from tui.health.host_script import Section, build_script, marker_of, plan_of, render_outputs, split_output
from tui.runner import RunResult

SECTIONS = [
    Section("plain", ("echo", "hello world")),
    Section("failing", ("sh", "-c", "echo out; echo 'it broke' >&2; exit 3")),
    Section("after_failing", ("echo", "fallback ran"), after_failure_of="failing"),
    Section("after_plain", ("echo", "must not run"), after_failure_of="plain"),
    Section("no_newline", ("printf", "%s", "last line ## hascreen-fake:plain")),
    Section("quoted", ("printf", "%s\n", "it's \"quoted\"; $HOME `x`")),
    Section("missing", ("no-such-program-here",)),
    Section("hung", ("sleep", "5")),
]


def run_sh(argv: list[str], timeout: float = 10) -> RunResult:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    return RunResult(done.returncode, done.stdout, done.stderr)


def test_every_section_reads_like_a_command_of_its_own() -> None:
    argv = build_script(SECTIONS, 0.5)
    outputs = split_output(SECTIONS, run_sh(argv), marker_of(argv))
    assert outputs["plain"] == RunResult(0, "hello world\n", "")
    assert outputs["failing"] == RunResult(3, "out\n", "it broke")
    assert outputs["after_failing"] == RunResult(0, "fallback ran\n", "")
    assert outputs["after_plain"] is None  # its condition (a failure of "plain") was not met
    assert outputs["no_newline"] == RunResult(0, "last line ## hascreen-fake:plain", "")
    assert outputs["quoted"].stdout == "it's \"quoted\"; $HOME `x`\n"
    assert outputs["missing"].exit_code == 127 and "no-such-program-here" in outputs["missing"].stderr
    assert outputs["hung"].exit_code == 124  # ended by the section's own timeout, not the whole script's


def test_a_script_cut_short_marks_what_it_never_finished() -> None:
    sections = [Section("first", ("echo", "done")), Section("slow", ("sleep", "5")), Section("never", ("true",))]
    argv = build_script(sections, 5)
    done = subprocess.run(["timeout", "0.5", *argv], capture_output=True, text=True)
    outputs = split_output(sections, RunResult(124, done.stdout, "hascreen: timed out after 0.5s\n"), marker_of(argv))
    assert outputs["first"] == RunResult(0, "done\n", "")
    assert outputs["slow"].exit_code == 124 and "timed out" in outputs["slow"].stderr
    assert outputs["never"].exit_code == 124
    lost = split_output(sections, RunResult(255, "", "sh: killed\n"), marker_of(argv))
    assert all(r.exit_code == 255 and "sh: killed" in r.stderr for r in lost.values())


def test_the_simulated_host_prints_what_the_shell_prints() -> None:
    sections = [s for s in SECTIONS if s.name != "hung"]
    argv = build_script(sections, 2)
    real = run_sh(argv).stdout
    plan = plan_of(argv)
    assert plan is not None and plan.sections == tuple(sections) and plan.timeout == 2
    replayed = []
    codes: dict[str, int] = {}
    for section in plan.sections:
        if section.after_failure_of and codes.get(section.after_failure_of) == 0:
            continue
        result = run_sh(["timeout", "2", *section.argv])
        if section.name == "missing":  # coreutils `timeout` words the error itself, as in the script
            result = RunResult(127, "", real.split("exit 127\n", 1)[1].split("\n", 1)[0] + "\n")
        codes[section.name] = result.exit_code
        replayed.append((section.name, result))
    assert render_outputs(plan, replayed) == real


def test_malformed_sections_are_refused() -> None:
    with pytest.raises(ValueError):
        Section("bad name; rm -rf /", ("true",))
    with pytest.raises(ValueError):
        build_script([Section("a", ("true",)), Section("a", ("false",))], 1)
    with pytest.raises(ValueError):
        build_script([Section("b", ("true",), after_failure_of="a"), Section("a", ("true",))], 1)
    assert plan_of(["sh", "-c", "echo hi"]) is None
