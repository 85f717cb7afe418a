"""Fixtures of the procedure lab tests: a healthy lab before and after each test, and `cli`, which runs
`hascreen run` words through `run_from_cli` with the real SshPool (as users do) and a private audit log.
pytest runs with --import-mode=importlib (no sys.path changes), so this directory is put on sys.path here."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from tui.config.hosts import load_hosts
from tui.procedures.audit import AuditLog
from tui.procedures.cli import run_from_cli
from tui.procedures.engine import RunRegistry
from tui.ssh.pool import SshPool

sys.path.insert(0, str(Path(__file__).resolve().parent))

from procedure_lab_state import assert_invariants, drbd_primaries, make_app_writer, vip_holders  # noqa: E402


@pytest.fixture
def healthy(lab):
    lab.must("heal")
    assert vip_holders(lab) == {"node-a"} and drbd_primaries(lab) == {"node-a"}
    yield lab
    assert_invariants(lab)
    lab.must("heal")


@pytest.fixture
async def cli(lab, tmp_path):
    hosts = load_hosts(lab.hosts_yaml)
    pool = SshPool(hosts.hosts, known_hosts=lab.known_hosts, ssh_config=[], connect_timeout=5.0)
    registry = RunRegistry(audit=AuditLog(tmp_path / "audit.log"), lock_dir=tmp_path / "locks")

    async def run(*words: str, answers=()) -> tuple[int, str]:
        out = io.StringIO()
        replies = list(answers)

        async def input_fn(prompt: str):
            return replies.pop(0) if replies else None

        code = await run_from_cli(pool.runner, hosts, list(words), out, input_fn=input_fn, registry=registry)
        return code, out.getvalue()

    run.registry = registry
    yield run
    await pool.close()


@pytest.fixture(scope="module")
def app_writer(lab):
    """An application account, writing rows through the VIP from the gateway host."""
    return make_app_writer(lab)
