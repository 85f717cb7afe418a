"""Procedures inside the server: `run-procedure NAME [CLUSTER] [ARGS]` opens a procedure window.

The window is a pane whose "program" is the procedures engine itself (the same code and audit log as
`hascreen run`), so a run lives in the server: detaching or losing the client never interrupts it, a
reattach shows its progress from the window's scrollback, and the confirmation is typed into the window
(Enter, or the cluster's name for a disruptive procedure). Ctrl-C asks the run to abort between steps;
once a run has ended, `q` closes the window. Every state change is also broadcast as a `procedure` message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tui.procedures.cli import run_from_cli
from tui.procedures.engine import RunRegistry
from tui.server.hooks import Reply

if TYPE_CHECKING:
    from tui.server.clients import Client
    from tui.server.daemon import Server
    from tui.server.hosts_integration import HostsIntegration

log = logging.getLogger("hascreen.server")


class PaneWriter:
    """A text stream that lands in a pane: what run_from_cli writes to its `out`."""

    def __init__(self, emit: Callable[[bytes], None]) -> None:
        self._emit = emit

    def write(self, text: str) -> int:
        self._emit(text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "replace"))
        return len(text)

    def flush(self) -> None:
        pass


class ProcedurePane:
    """A PaneBackend running one procedure; keys typed into the window answer its prompts."""

    def __init__(self, argv: list[str], integration: ProcedureIntegration) -> None:
        self.argv = argv
        self.integration = integration
        self.label = f"proc:{argv[0]}"
        self.on_output: Callable[[bytes], None] = lambda data: None
        self.on_exit: Callable[[str], None] = lambda reason: None
        self._line = bytearray()
        self._answer: asyncio.Future[str | None] | None = None
        self._task: asyncio.Task | None = None
        self.finished = False
        self.exit_code: int | None = None

    async def start(self, cols: int, rows: int) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        out = PaneWriter(lambda data: self.on_output(data))
        integration = self.integration
        try:
            code = await run_from_cli(integration.runner, integration.config, self.argv, out,
                                      input_fn=self._ask, registry=integration.registry)
        except asyncio.CancelledError:
            out.write("\n[hascreen] the procedure window was closed\n")
            raise
        except Exception as exc:  # a bug in a procedure must not take the server down
            log.exception("procedure %s failed", self.argv)
            out.write(f"\n[hascreen] internal error: {exc}\n")
            code = 2
        self.exit_code = code
        self.finished = True
        out.write(f"\n[exit code {code}; press q to close this window]\n")
        integration.announce(self.argv[0], code)

    async def _ask(self, prompt: str) -> str | None:
        self._line.clear()
        self.on_output(prompt.encode())
        self._answer = asyncio.get_running_loop().create_future()
        try:
            return await self._answer
        finally:
            self._answer = None

    def write(self, data: bytes) -> None:
        if self.finished:
            if data.strip().lower() in (b"q", b"\r", b"\x04"):
                self.on_exit("closed")
            return
        for byte in data:
            if byte == 3:  # Ctrl-C: abort between steps, or cancel a pending prompt
                self._interrupt()
            elif self._answer is None:
                continue  # keys typed while steps run are not a confirmation
            elif byte in (13, 10):
                self.on_output(b"\r\n")
                if not self._answer.done():
                    self._answer.set_result(self._line.decode("utf-8", "replace"))
            elif byte in (127, 8):
                if self._line:
                    self._line.pop()
                    self.on_output(b"\b \b")
            elif byte >= 32:
                self._line.append(byte)
                self.on_output(bytes([byte]))

    def _interrupt(self) -> None:
        if self._answer is not None and not self._answer.done():
            self.on_output(b"^C\r\n")
            self._answer.set_result(None)
            return
        for run in self.integration.registry.active():
            if run.procedure.name == self.argv[0]:
                run.abort()
                self.on_output(b"\r\n[hascreen] abort requested: the run stops before its next step\r\n")

    def resize(self, cols: int, rows: int) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._interrupt()
            self._task.cancel()


class ProcedureIntegration:
    def __init__(self, server: Server, hosts: HostsIntegration) -> None:
        self.server = server
        self.hosts = hosts
        self.registry = RunRegistry()

    @property
    def config(self) -> Any:
        return self.hosts.config

    @property
    def runner(self) -> Any:
        return self.hosts.pool.runner if self.hosts.pool else None

    def welcome(self, client: Client) -> dict[str, Any]:
        from tui.procedures.catalog import procedure_catalog

        try:
            catalog = procedure_catalog()
        except Exception:  # a broken procedures.yaml is reported when a run is started
            return {"procedures": []}
        return {"procedures": sorted(catalog),
                "procedure_info": {name: {"danger": proc.danger, "note": proc.note} for name, proc in catalog.items()}}

    def announce(self, name: str, code: int | None) -> None:
        runs = [run.snapshot() for run in self.registry.runs.values() if run.procedure.name == name]
        if runs:
            self.server.broadcast({"t": "procedure", "run": {**runs[-1], "name": name, "exit_code": code}})

    async def run_procedure(self, client: Client | None, args: list[str]) -> Reply:
        if self.config is None or self.runner is None:
            return Reply(False, self.hosts.error or "no hosts.yaml loaded")
        name, rest = args[0], args[1:]
        argv = [name]
        if rest and not rest[0].startswith("-") and "=" not in rest[0]:
            argv += ["--cluster", rest[0]]
            rest = rest[1:]
        elif len(self.config.clusters) == 1 and "--cluster" not in rest:
            argv += ["--cluster", next(iter(self.config.clusters))]
        # procedure arguments may be given as key=value on the : line, as --key value for `hascreen run`
        for word in rest:
            if "=" in word and not word.startswith("-"):
                key, value = word.split("=", 1)
                argv += [f"--{key}", value]
            else:
                argv.append(word)
        number = await self.server.new_window(name=f"proc:{name}", backend=ProcedurePane(argv, self))
        return Reply(True, f"window {number}: {' '.join(argv)}")


def install_procedures(server: Server, hosts: HostsIntegration) -> ProcedureIntegration:
    integration = ProcedureIntegration(server, hosts)
    server.hooks.welcome.register(integration.welcome)
    server.commands.register("run-procedure", integration.run_procedure)
    return integration
