"""One shell script per host per poll: every probe command of a poll as a delimited section of one `sh -c`.

Opening an SSH channel costs more client CPU than parsing its answer, so a poll sends each host a single
script instead of one command per layer. Each section is an argv (quoted with `shlex.join`, as the Runner
does) run under coreutils `timeout`; the script prints, per section, a start marker, the command's stdout
unchanged, an end marker with its exit code, then its stderr. The markers carry a random per-poll token,
so no output line can pose as one. A section may be conditional: it runs only when an earlier one failed
(the DRBD 9 text status after a failed JSON status, MySQL 8.4's statement names after a syntax error).

`build_script(sections, timeout) -> argv` and `split_output(sections, result) -> {name: RunResult | None}`
are what the probes use: every section gets its own RunResult (exit code, stdout, stderr), so the pure
parsers read exactly what a separate command would have given them; a section that did not run because
its condition was not met maps to None; one the script never finished (a timed-out or killed script)
gets exit code 124 or 255 with the reason in stderr. `plan_of(argv)` and `render_outputs` are the
inverse, for programs that play the hosts' side (the replaying test runner, the bench's SSH fleet).
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tui.runner import RunResult

TIMEOUT_EXIT_CODE = 124
LOST_EXIT_CODE = 255
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_ALWAYS = "-"
# `s NAME CONDITION ARGV...`: CONDITION is "-" or the name of an earlier section that must have failed.
# stdout goes straight to the script's stdout (fd 3); stderr is captured and printed after the end marker.
_PRELUDE = """exec 3>&1
s() { n=$1; c=$2; shift 2
if [ "$c" != - ]; then eval "[ \\"\\${r_$c:-0}\\" = 0 ]" && return 0; fi
printf '\\n%s%s\\n' "$M" "$n"
e=$(timeout -k 1 "$T" "$@" 2>&1 >&3); r=$?
eval "r_$n=$r"
printf '\\n%s%s:exit %s\\n%s\\n' "$M" "$n" "$r" "$e"
}"""


@dataclass(frozen=True)
class Section:
    """One command of a host's script; `after_failure_of` makes it run only when that section failed."""

    name: str
    argv: tuple[str, ...]
    after_failure_of: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"section name {self.name!r} must match {_NAME.pattern}")
        if not self.argv:
            raise ValueError(f"section {self.name}: empty argv")


@dataclass(frozen=True)
class ScriptPlan:
    """A script as a host sees it: its marker, per-section timeout and sections (for simulated hosts)."""

    marker: str
    timeout: float
    sections: tuple[Section, ...]


def build_script(sections: Sequence[Section], timeout: float, *, token: str | None = None) -> list[str]:
    """The argv (`sh -c SCRIPT`) that runs every section in order, each bounded by `timeout` seconds."""
    names = [s.name for s in sections]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate section names: {names}")
    for section in sections:
        if section.after_failure_of is not None and section.after_failure_of not in names[:names.index(section.name)]:
            raise ValueError(f"section {section.name}: {section.after_failure_of} must come before it")
    marker = f"## hascreen-{token or secrets.token_hex(6)}:"
    lines = [f"M={shlex.quote(marker)}; T={timeout:g}", _PRELUDE]
    lines += [shlex.join(["s", s.name, s.after_failure_of or _ALWAYS, *s.argv]) for s in sections]
    return ["sh", "-c", "\n".join(lines)]


def _pattern(marker: str) -> re.Pattern[str]:
    m = re.escape(marker)
    return re.compile(rf"\n{m}(\w+)\n(.*?)\n{m}\1:exit (\d+)\n(.*?)\n(?=\n{m}|\Z)", re.S)


def split_output(sections: Sequence[Section], result: RunResult, marker: str) -> dict[str, RunResult | None]:
    """Each section's own RunResult from the script's combined output; None for a conditional section
    that had no reason to run. A section the script never finished reads as failed with the reason."""
    found: dict[str, RunResult] = {}
    for match in _pattern(marker).finditer(result.stdout):
        name, stdout, code, stderr = match.groups()
        found[name] = RunResult(int(code), stdout, stderr, result.duration)
    started = set(re.findall(rf"^{re.escape(marker)}(\w+)$", result.stdout, re.M))
    if result.exit_code == TIMEOUT_EXIT_CODE:
        cut = f"the host's script timed out before this section finished ({_last_line(result.stderr)})"
        cut_code = TIMEOUT_EXIT_CODE
    else:
        cut = f"the host's script ended (exit {result.exit_code}) before this section: {_last_line(result.stderr)}"
        cut_code = LOST_EXIT_CODE
    outputs: dict[str, RunResult | None] = {}
    codes: dict[str, int] = {}
    for section in sections:
        if section.name in found:
            outputs[section.name] = found[section.name]
            codes[section.name] = found[section.name].exit_code
        elif (section.after_failure_of is not None and section.name not in started
              and codes.get(section.after_failure_of, 1) == 0):
            outputs[section.name] = None  # its condition was not met: it had no reason to run
        else:
            outputs[section.name] = RunResult(cut_code, "", cut, result.duration)
            codes[section.name] = cut_code
    return outputs


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:160] if lines else "no message"


def marker_of(argv: Sequence[str]) -> str:
    """The marker of a script made by `build_script` (its first line assigns it)."""
    first = argv[2].split("\n", 1)[0]
    return shlex.split(first.split(";", 1)[0].split("=", 1)[1])[0]


def plan_of(argv: Sequence[str]) -> ScriptPlan | None:
    """Read back a script made by `build_script` (None for any other argv): what a simulated host runs."""
    if len(argv) != 3 or list(argv[:2]) != ["sh", "-c"] or not argv[2].startswith("M="):
        return None
    head, _, rest = argv[2].partition("\n")
    timeout = float(head.rsplit("T=", 1)[1])
    body = rest[len(_PRELUDE):].strip("\n")
    sections = []
    pending = ""
    for line in body.split("\n"):
        pending = f"{pending}\n{line}" if pending else line
        try:
            words = shlex.split(pending)
        except ValueError:  # a quoted argument spans lines: read on
            continue
        pending = ""
        sections.append(Section(words[1], tuple(words[3:]), None if words[2] == _ALWAYS else words[2]))
    return ScriptPlan(marker_of(argv), timeout, tuple(sections))


def should_run(section: Section, exit_codes: Mapping[str, int]) -> bool:
    """Whether the script runs `section`, given the exit codes of the sections before it."""
    return section.after_failure_of is None or exit_codes.get(section.after_failure_of, 0) != 0


def render_outputs(plan: ScriptPlan, outputs: Sequence[tuple[str, RunResult]]) -> str:
    """What the script prints for these sections' results, byte for byte (for simulated hosts)."""
    parts = []
    for name, result in outputs:
        parts.append(f"\n{plan.marker}{name}\n{result.stdout}\n{plan.marker}{name}:exit {result.exit_code}\n"
                     f"{result.stderr.rstrip(chr(10))}\n")
    return "".join(parts)
