"""A step's output is shown while the step runs when the Runner can stream (tui.runner.StreamingRunner):
the engine cuts the chunks into lines (a chunk may end mid-line), bounds them
per step, and the printer does not repeat them when the step ends. The output is a real one (a DRBD
resync's status), handed over in small chunks as a slow command would."""

from __future__ import annotations

import io
from collections.abc import Sequence

from tests.unit.procedures.conftest import ScriptedRunner, fixture
from tui.procedures import engine
from tui.procedures.cli import run_from_cli
from tui.runner import OutputCallback, RunResult, StreamingRunner

STEPS = """\
procedures:
  show-resync:
    note: show the resync of the DRBD resource
    danger: safe
    steps:
      - {host: ctl-0, argv: [drbdsetup, status, wwwdata, --verbose, --statistics], note: status}
"""

RESYNC = fixture("cfs-syncsource-8.6pct.txt")


class StreamingScriptedRunner(ScriptedRunner):
    """Answers like ScriptedRunner and hands the answer over in chunks of `chunk` characters; records
    what the procedure window showed after the first chunk (while the command was still running)."""

    def __init__(self, out: io.StringIO, chunk: int = 7) -> None:
        super().__init__()
        self.out = out
        self.chunk = chunk
        self.shown_while_running: str | None = None

    async def run_streaming(self, host: str, argv: Sequence[str], *, on_output: OutputCallback,
                            timeout: float = 10.0, stdin: bytes | None = None) -> RunResult:
        result = await self.run(host, argv, timeout=timeout, stdin=stdin)
        for start in range(0, len(result.stdout), self.chunk):
            on_output("stdout", result.stdout[start:start + self.chunk])
            if self.shown_while_running is None and "\n" in result.stdout[:start + self.chunk]:
                self.shown_while_running = self.out.getvalue()
        on_output("stderr", "a warning without a newline")
        return RunResult(result.exit_code, result.stdout, result.stderr + "a warning without a newline")


async def _run(runner, hosts_config, registry, tmp_path, out) -> int:
    path = tmp_path / "procedures.yaml"
    path.write_text(STEPS)

    async def no_input(prompt: str):
        return None

    return await run_from_cli(runner, hosts_config, ["show-resync", "--cluster", "web", "--procedures", str(path),
                                                     "--yes"], out, input_fn=no_input, registry=registry)


async def test_lines_are_shown_as_they_come_and_not_repeated_at_the_end(hosts_config, registry, tmp_path):
    out = io.StringIO()
    runner = StreamingScriptedRunner(out)
    runner.on("ctl-0", "drbdsetup status wwwdata", RESYNC)
    assert isinstance(runner, StreamingRunner)
    assert await _run(runner, hosts_config, registry, tmp_path, out) == 0
    first_line = RESYNC.splitlines()[0]
    assert runner.shown_while_running is not None and f"    {first_line}\n" in runner.shown_while_running
    assert "✓ rc=0" not in runner.shown_while_running  # the step had not ended yet
    text = out.getvalue()
    for line in RESYNC.rstrip("\n").splitlines():
        assert text.count(f"    {line}\n") == 1, line  # cut at chunk edges, joined again, shown once
    assert "    a warning without a newline\n" in text  # the partial last line comes before the result
    assert text.index("a warning without a newline") < text.index("✓ rc=0")
    events = [e for e in registry.runs[next(iter(registry.runs))].events if e.kind == "step-output"]
    assert [e.data["line"] for e in events if e.data["stream"] == "stdout"] == RESYNC.rstrip("\n").splitlines()
    end = next(e for e in registry.runs[next(iter(registry.runs))].events if e.kind == "step-end")
    assert end.data["streamed"] == len(events) and end.data["streamed_all"] is True


async def test_a_flood_is_bounded_and_the_end_of_the_output_still_shown(hosts_config, registry, tmp_path,
                                                                       monkeypatch):
    monkeypatch.setattr(engine, "STREAMED_LINES_LIMIT", 3)
    out = io.StringIO()
    runner = StreamingScriptedRunner(out, chunk=50)
    runner.on("ctl-0", "drbdsetup status wwwdata", RESYNC)
    assert await _run(runner, hosts_config, registry, tmp_path, out) == 0
    text = out.getvalue()
    lines = RESYNC.rstrip("\n").splitlines()
    assert "… 3 lines shown live; the output ends with:" in text
    assert text.count(f"    {lines[0]}\n") == 2  # once live, once in the tail (the output is short)
    assert f"    {lines[-1]}\n" in text


async def test_a_runner_that_cannot_stream_shows_the_output_when_the_step_ends(world, hosts_config, registry,
                                                                               tmp_path):
    out = io.StringIO()
    world.runner.on("ctl-0", "drbdsetup status wwwdata", RESYNC)
    assert not isinstance(world.runner, StreamingRunner)
    assert await _run(world.runner, hosts_config, registry, tmp_path, out) == 0
    text = out.getvalue()
    assert f"    {RESYNC.splitlines()[0]}\n" in text and text.index(RESYNC.splitlines()[0]) < text.index("✓ rc=0")
