"""`SshRunner`: tui.runner's Runner over the pool's shared SSH connections.

Owns running one argv on one host: quoting it with shlex.join for the remote shell, feeding stdin,
the timeout (exit code 124, like coreutils `timeout`), a per-host limit on concurrent commands (so a
burst of health probes never exhausts the server's MaxSessions), and turning connection failures
into `HostUnreachable` with a reason. `run_streaming` also hands each chunk of output to a callback as
it arrives (tui.runner.StreamingRunner), for procedure steps that run for minutes.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import signal
import time
from collections.abc import Sequence

import asyncssh

from tui.runner import HostUnreachable, OutputCallback, RunResult, render_argv

TIMEOUT_EXIT_CODE = 124
# What a shell reports for a command that ended without an exit status (e.g. the channel closed).
NO_STATUS_EXIT_CODE = 255
STREAM_CHUNK = 65536  # bytes read at a time while streaming a command's output


def _decode(data: object) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return str(data)


def _exit_code(exit_status: int | None, exit_signal: tuple | None) -> int:
    if exit_status is not None and exit_status >= 0:
        return exit_status
    if exit_signal:
        name = str(exit_signal[0])
        try:
            return 128 + int(signal.Signals["SIG" + name.removeprefix("SIG")])
        except KeyError:
            return NO_STATUS_EXIT_CODE
    return NO_STATUS_EXIT_CODE


class SshRunner:
    """Runs argv on hosts through an SshPool (see tui.runner.Runner)."""

    def __init__(self, pool, *, max_per_host: int = 4) -> None:
        self._pool = pool
        self._max_per_host = max(1, max_per_host)
        self._limits: dict[str, asyncio.Semaphore] = {}

    def _limit(self, host: str) -> asyncio.Semaphore:
        return self._limits.setdefault(host, asyncio.Semaphore(self._max_per_host))

    async def run(
        self,
        host: str,
        argv: Sequence[str],
        *,
        timeout: float = 10.0,
        stdin: bytes | None = None,
    ) -> RunResult:
        return await self._execute(host, argv, timeout=timeout, stdin=stdin, on_output=None)

    async def run_streaming(
        self,
        host: str,
        argv: Sequence[str],
        *,
        on_output: OutputCallback,
        timeout: float = 10.0,
        stdin: bytes | None = None,
    ) -> RunResult:
        """`run`, handing each chunk of stdout/stderr to on_output as it arrives (tui.runner.StreamingRunner)."""
        return await self._execute(host, argv, timeout=timeout, stdin=stdin, on_output=on_output)

    async def _execute(self, host: str, argv: Sequence[str], *, timeout: float, stdin: bytes | None,
                       on_output: OutputCallback | None) -> RunResult:
        if isinstance(argv, str):
            raise TypeError("argv must be a list of arguments, not a shell string")
        if not argv:
            raise ValueError("argv is empty: nothing to run")
        command = render_argv(argv)
        async with self._limit(host):
            conn = await self._pool.connection(host)
            started = time.monotonic()
            try:
                process = await conn.create_process(command, input=stdin, encoding=None)
            except asyncssh.ChannelOpenError as exc:
                raise HostUnreachable(host, f"cannot open a session channel: {exc.reason}") from exc
            except (asyncssh.Error, OSError) as exc:
                raise HostUnreachable(host, f"connection lost: {exc}") from exc
            try:
                if on_output is None:
                    completed = await process.wait(timeout=timeout)
                    stdout, stderr = _decode(completed.stdout), _decode(completed.stderr)
                else:
                    completed, stdout, stderr = await _wait_streaming(process, timeout, on_output)
            except _StreamTimeout as exc:
                return self._timed_out(process, *exc.partial, command, timeout, started)
            except asyncssh.TimeoutError as exc:
                return self._timed_out(process, _decode(exc.stdout), _decode(exc.stderr), command, timeout, started)
            except (asyncssh.ConnectionLost, asyncssh.DisconnectError, OSError) as exc:
                raise HostUnreachable(host, f"connection lost while running {command}: {exc}") from exc
            if completed.exit_status is None and not completed.exit_signal and conn.is_closed():
                reason = self._pool.lost_reason(host) or "connection closed"
                raise HostUnreachable(host, f"connection lost while running {command}: {reason}")
            return RunResult(
                _exit_code(completed.exit_status, completed.exit_signal),
                stdout,
                stderr,
                time.monotonic() - started,
            )

    @staticmethod
    def _timed_out(process, stdout: str, stderr: str, command: str, timeout: float, started: float) -> RunResult:
        # Best effort: OpenSSH honours the signal request; closing the channel ends the rest.
        with contextlib.suppress(Exception):
            process.send_signal("KILL")
        process.close()
        return RunResult(
            TIMEOUT_EXIT_CODE,
            stdout,
            stderr + f"hascreen: timed out after {timeout:g}s: {command}\n",
            time.monotonic() - started,
        )


class _StreamTimeout(Exception):
    """The streamed command outlived its timeout; `partial` holds (stdout, stderr) read so far."""

    def __init__(self, partial: tuple[str, str]) -> None:
        super().__init__("timed out")
        self.partial = partial


async def _wait_streaming(process, timeout: float, on_output: OutputCallback) -> tuple[object, str, str]:
    """Read stdout and stderr chunk by chunk until both end, reporting each chunk; then the exit status."""
    collected: dict[str, list[str]] = {"stdout": [], "stderr": []}

    async def pump(reader, stream: str) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        while True:
            chunk = await reader.read(STREAM_CHUNK)
            text = decoder.decode(chunk or b"", final=not chunk)
            if text:
                collected[stream].append(text)
                on_output(stream, text)
            if not chunk:
                return

    try:
        async with asyncio.timeout(timeout):
            await asyncio.gather(pump(process.stdout, "stdout"), pump(process.stderr, "stderr"))
            completed = await process.wait()
    except TimeoutError:
        raise _StreamTimeout(("".join(collected["stdout"]), "".join(collected["stderr"]))) from None
    return completed, "".join(collected["stdout"]), "".join(collected["stderr"])
