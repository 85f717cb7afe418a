"""User-defined procedures from YAML (procedures.yaml): steps, hosts, preflight and verify checks, danger
and confirmation level, validated like hosts.yaml, every error as `file:line: key: message`.

```yaml
procedures:
  restart-web:
    note: restart nginx where the VIP is
    danger: disruptive            # safe (Enter) | disruptive (type the cluster name)
    preflight:
      - vip-single-holder         # also: drbd-no-split-brain, reachable, replica-caught-up: HOST
      - command: {host: holder, argv: [nginx, -t]}
    steps:
      - {host: holder, argv: [systemctl, restart, nginx], note: restart, timeout: 30}
    verify:
      - command: {host: holder, argv: [systemctl, is-active, nginx]}
```

`host` is a cluster member, `holder` (the VIP holder; needs `vip-single-holder` in preflight), `peer`
(the other member) or `all` (the step runs on every member in turn). argv is a list of strings.
Search order: --procedures, $HASCREEN_PROCEDURES, ~/.config/hascreen/procedures.yaml.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.config.errors import ConfigError, ConfigErrors
from tui.config.located_yaml import YamlNode, parse_yaml, read_config_text
from tui.procedures import interlocks
from tui.procedures.model import DISRUPTIVE, SAFE, Check, Procedure, RunContext, Step
from tui.runner import HostUnreachable

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
SIMPLE_CHECKS = ("vip-single-holder", "drbd-no-split-brain", "reachable")
PROCEDURE_KEYS = ("note", "danger", "preflight", "steps", "verify")
STEP_KEYS = ("host", "argv", "note", "timeout", "ok_exit_codes")


def default_procedures_file() -> Path | None:
    explicit = os.environ.get("HASCREEN_PROCEDURES")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    path = Path(base) / "hascreen" / "procedures.yaml"
    return path if path.exists() else None


@dataclass(frozen=True)
class CheckSpec:
    kind: str  # vip-single-holder | drbd-no-split-brain | reachable | replica-caught-up | command
    host: str | None = None
    argv: tuple[str, ...] = ()
    ok_exit_codes: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class StepSpec:
    host: str
    argv: tuple[str, ...]
    note: str = ""
    timeout: float = 60.0
    ok_exit_codes: tuple[int, ...] = (0,)


@dataclass
class UserProcedure(Procedure):
    name: str = ""
    note: str = ""
    danger: str = SAFE
    preflight_specs: list[CheckSpec] = field(default_factory=list)
    step_specs: list[StepSpec] = field(default_factory=list)
    verify_specs: list[CheckSpec] = field(default_factory=list)
    source: str = ""

    def _hosts(self, ctx: RunContext, host: str) -> list[str]:
        if host == "all":
            return list(ctx.cluster.members)
        if host == "holder":
            if "holder" not in ctx.facts:
                raise ValueError(f"{self.name}: 'holder' needs vip-single-holder in preflight")
            return [ctx.facts["holder"]]
        if host == "peer":
            peer = ctx.cluster.peer_of(ctx.facts.get("holder", ""))
            if peer is None:
                raise ValueError(f"{self.name}: 'peer' needs a two-node cluster and vip-single-holder")
            return [peer]
        if host not in ctx.cluster.members:
            raise ValueError(f"{self.name}: host {host} is not a member of {ctx.cluster.name}")
        return [host]

    async def _checks(self, ctx: RunContext, specs: list[CheckSpec]) -> list[Check]:
        checks: list[Check] = []
        for spec in specs:
            if spec.kind == "vip-single-holder":
                checks += await interlocks.vip_single_holder(ctx)
            elif spec.kind == "drbd-no-split-brain":
                checks += await interlocks.drbd_no_split_brain(ctx)
            elif spec.kind == "reachable":
                for host in self._hosts(ctx, spec.host or "all"):
                    checks.append(await interlocks.reachable(ctx, host))
            elif spec.kind == "replica-caught-up":
                for host in self._hosts(ctx, spec.host or "all"):
                    checks.append(await interlocks.replica_caught_up(ctx, host))
            elif spec.kind == "command":
                for host in self._hosts(ctx, spec.host or "all"):
                    name = f"{' '.join(spec.argv)} on {host}"
                    try:
                        result = await ctx.runner.run(host, list(spec.argv), timeout=15.0)
                    except HostUnreachable as exc:
                        checks.append(Check(name, False, "unreachable", exc.reason))
                        continue
                    ok = result.exit_code in spec.ok_exit_codes
                    out = (result.stdout.strip() or result.stderr.strip()).splitlines()
                    checks.append(Check(name, ok, f"rc {result.exit_code}" + (f": {out[0][:120]}" if out else "")))
        return checks

    async def preflight(self, ctx: RunContext) -> list[Check]:
        return await self._checks(ctx, self.preflight_specs)

    async def plan(self, ctx: RunContext) -> list[Step]:
        steps = []
        for spec in self.step_specs:
            for host in self._hosts(ctx, spec.host):
                steps.append(Step(host, list(spec.argv), spec.note, timeout=spec.timeout,
                                  ok_exit_codes=spec.ok_exit_codes))
        return steps

    async def verify(self, ctx: RunContext) -> list[Check]:
        return await self._checks(ctx, self.verify_specs)


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[ConfigError] = []

    def error(self, line: int, key: str, message: str) -> None:
        self.errors.append(ConfigError(self.file, line, key, message))

    def mapping(self, node: YamlNode, key: str) -> dict[str, Any] | None:
        if node.kind != "map":
            self.error(node.line, key, f"expected a mapping, got {node.describe()}")
            return None
        return node.value

    def string(self, node: YamlNode, key: str) -> str | None:
        if node.kind != "scalar" or not isinstance(node.value, str) or not node.value:
            self.error(node.line, key, f"expected a non-empty string, got {node.describe()}")
            return None
        return node.value

    def argv(self, node: YamlNode, key: str) -> tuple[str, ...] | None:
        if node.kind != "seq" or not node.value:
            self.error(node.line, key, f"expected a non-empty list of strings, got {node.describe()}")
            return None
        out = []
        for item in node.value:
            if item.kind != "scalar" or item.value is None or isinstance(item.value, bool | dict | list):
                self.error(item.line, key, f"argv items must be strings, got {item.describe()}")
                return None
            out.append(str(item.value))
        return tuple(out)

    def exit_codes(self, node: YamlNode, key: str) -> tuple[int, ...] | None:
        items = node.value if node.kind == "seq" else (node,)
        codes = []
        for item in items:
            if item.kind != "scalar" or isinstance(item.value, bool) or not isinstance(item.value, int):
                self.error(item.line, key, f"expected exit codes (integers), got {item.describe()}")
                return None
            codes.append(item.value)
        return tuple(codes)

    def check(self, node: YamlNode, key: str) -> CheckSpec | None:
        if node.kind == "scalar" and node.value in SIMPLE_CHECKS:
            return CheckSpec(node.value)
        if node.kind != "map":
            self.error(node.line, key, f"unknown check {node.raw or node.describe()}; known: "
                       + ", ".join((*SIMPLE_CHECKS, "replica-caught-up: HOST", "command: {host, argv}")))
            return None
        entries = node.value
        if len(entries) != 1:
            self.error(node.line, key, "a check is one key: reachable, replica-caught-up or command")
            return None
        (name, entry), = entries.items()
        if name in ("reachable", "replica-caught-up"):
            host = self.string(entry.node, f"{key}.{name}")
            return CheckSpec(name, host=host) if host else None
        if name == "command":
            spec = self.mapping(entry.node, f"{key}.command")
            if spec is None:
                return None
            unknown = [k for k in spec if k not in ("host", "argv", "ok_exit_codes")]
            for k in unknown:
                self.error(spec[k].key_line, f"{key}.command.{k}", "unknown key (known: host, argv, ok_exit_codes)")
            if "argv" not in spec:
                self.error(entry.key_line, f"{key}.command", "argv is missing")
                return None
            argv = self.argv(spec["argv"].node, f"{key}.command.argv")
            host = self.string(spec["host"].node, f"{key}.command.host") if "host" in spec else "all"
            codes = self.exit_codes(spec["ok_exit_codes"].node, f"{key}.command.ok_exit_codes") \
                if "ok_exit_codes" in spec else (0,)
            if argv is None or host is None or codes is None or unknown:
                return None
            return CheckSpec("command", host=host, argv=argv, ok_exit_codes=codes)
        self.error(entry.key_line, f"{key}.{name}", "unknown check; known: "
                   + ", ".join((*SIMPLE_CHECKS, "replica-caught-up", "command")))
        return None

    def checks(self, node: YamlNode, key: str) -> list[CheckSpec]:
        if node.kind != "seq":
            self.error(node.line, key, f"expected a list of checks, got {node.describe()}")
            return []
        out = []
        for index, item in enumerate(node.value):
            spec = self.check(item, f"{key}[{index}]")
            if spec:
                out.append(spec)
        return out

    def step(self, node: YamlNode, key: str) -> StepSpec | None:
        entries = self.mapping(node, key)
        if entries is None:
            return None
        ok = True
        for k, entry in entries.items():
            if k not in STEP_KEYS:
                self.error(entry.key_line, f"{key}.{k}", f"unknown key (known: {', '.join(STEP_KEYS)})")
                ok = False
        for required in ("host", "argv"):
            if required not in entries:
                self.error(node.line, key, f"{required} is missing")
                ok = False
        if not ok:
            return None
        host = self.string(entries["host"].node, f"{key}.host")
        argv = self.argv(entries["argv"].node, f"{key}.argv")
        note = self.string(entries["note"].node, f"{key}.note") if "note" in entries else ""
        timeout = 60.0
        if "timeout" in entries:
            t = entries["timeout"].node
            if t.kind != "scalar" or isinstance(t.value, bool) or not isinstance(t.value, int | float) or t.value <= 0:
                self.error(t.line, f"{key}.timeout", f"expected seconds > 0, got {t.describe()}")
                return None
            timeout = float(t.value)
        codes = self.exit_codes(entries["ok_exit_codes"].node, f"{key}.ok_exit_codes") \
            if "ok_exit_codes" in entries else (0,)
        if host is None or argv is None or note is None or codes is None:
            return None
        return StepSpec(host, argv, note, timeout, codes)

    def procedure(self, name: str, line: int, node: YamlNode) -> UserProcedure | None:
        key = f"procedures.{name}"
        if not NAME_RE.match(name):
            self.error(line, key, "a procedure name is lowercase letters, digits and dashes")
            return None
        entries = self.mapping(node, key)
        if entries is None:
            return None
        before = len(self.errors)
        for k, entry in entries.items():
            if k not in PROCEDURE_KEYS:
                self.error(entry.key_line, f"{key}.{k}", f"unknown key (known: {', '.join(PROCEDURE_KEYS)})")
        danger = SAFE
        if "danger" in entries:
            danger = self.string(entries["danger"].node, f"{key}.danger") or SAFE
            if danger not in (SAFE, DISRUPTIVE):
                self.error(entries["danger"].node.line, f"{key}.danger", "must be safe or disruptive")
        if "steps" not in entries:
            self.error(line, key, "steps is missing")
            return None
        steps_node = entries["steps"].node
        steps = []
        if steps_node.kind != "seq" or not steps_node.value:
            self.error(steps_node.line, f"{key}.steps", f"expected a non-empty list of steps, got {steps_node.describe()}")
        else:
            for index, item in enumerate(steps_node.value):
                step = self.step(item, f"{key}.steps[{index}]")
                if step:
                    steps.append(step)
        preflight = self.checks(entries["preflight"].node, f"{key}.preflight") if "preflight" in entries else []
        verify = self.checks(entries["verify"].node, f"{key}.verify") if "verify" in entries else []
        note = self.string(entries["note"].node, f"{key}.note") if "note" in entries else ""
        if len(self.errors) > before:
            return None
        return UserProcedure(name=name, note=note or "", danger=danger, preflight_specs=preflight,
                             step_specs=steps, verify_specs=verify, source=f"{self.file}:{line}")


def load_user_procedures(path: Path | str, reserved: tuple[str, ...] = ()) -> dict[str, UserProcedure]:
    """Read procedures.yaml; raises ConfigErrors with every problem found."""
    file = str(path)
    errors: list[ConfigError] = []
    text = read_config_text(path, errors)
    if text is None:
        raise ConfigErrors(errors)
    parsed = parse_yaml(text, file)
    reader = _Reader(file)
    reader.errors += parsed.errors
    procedures: dict[str, UserProcedure] = {}
    root = parsed.root
    if root is not None and not parsed.errors:
        top = reader.mapping(root, "")
        if top is not None:
            for k, entry in top.items():
                if k != "procedures":
                    reader.error(entry.key_line, k, "unknown key (known: procedures)")
            if "procedures" in top:
                entries = reader.mapping(top["procedures"].node, "procedures")
                for name, entry in (entries or {}).items():
                    if name in reserved:
                        reader.error(entry.key_line, f"procedures.{name}", "is a built-in procedure name")
                        continue
                    proc = reader.procedure(name, entry.key_line, entry.node)
                    if proc:
                        procedures[name] = proc
    if reader.errors:
        raise ConfigErrors(reader.errors)
    return procedures
