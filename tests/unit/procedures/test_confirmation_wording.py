"""What the procedure window asks when a refused run is forced right after a failover: the flapping
warning itself, never `! None`."""

from __future__ import annotations

import io

from tests.unit.procedures.conftest import fixture
from tui.procedures.cli import run_from_cli


async def _cli(world, hosts_config, registry, *words, answers=()):
    out = io.StringIO()
    replies = list(answers)

    async def input_fn(prompt: str):
        out.write(prompt)
        return replies.pop(0) if replies else None

    code = await run_from_cli(world.runner, hosts_config, list(words), out, input_fn=input_fn, registry=registry)
    return code, out.getvalue()


async def test_forcing_a_refused_run_within_the_flap_period_states_the_flapping(world, hosts_config, registry):
    code, text = await _cli(world, hosts_config, registry, "failover", "--cluster", "web", "--yes")
    assert code == 0, text
    world.replica_status = fixture("pmp-delay-001-lag-10s.txt")  # the preflight now refuses
    code, text = await _cli(world, hosts_config, registry, "failover", "--cluster", "web", "--force",
                            answers=["web", "no"])
    assert code == 1
    assert "REFUSED: " in text
    assert "the last failover of web (by " in text
    assert "was 0 min ago (within 60 min): acknowledge flapping" in text
    assert "None" not in text
