"""The lab works with no flags: while it is up, `hascreen health` and `hascreen run` find its hosts.yaml by
themselves, from any directory (the repository's own example hosts.yaml included), and print nothing on
stderr; the example hosts.yaml, which names the lab's key and known_hosts, works with --hosts too."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

HASCREEN = str(Path(sys.executable).with_name("hascreen"))
REPO = Path(__file__).resolve().parents[3]


def no_flags_env(lab, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in lab.env.items() if k not in ("HASCREEN_HOSTS", "PYTHONWARNINGS")}
    return dict(env, XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_STATE_HOME=str(tmp_path / "state"))


def healthy_report(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 60.0) -> dict:
    """`hascreen health --json` until the lab reports OK (a previous test may just have healed it)."""
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run([HASCREEN, "health", "--json", *argv], env=env, cwd=cwd, capture_output=True,
                              text=True, timeout=60)
        assert done.stderr == "", done.stderr
        report = json.loads(done.stdout)
        if done.returncode == 0 or time.monotonic() > deadline:
            assert done.returncode == 0, [r for r in report["rows"] if r["state"] != "ok"]
            return report
        time.sleep(1.0)


def test_health_and_run_find_the_running_lab_from_anywhere(lab, tmp_path):
    env = no_flags_env(lab, tmp_path)
    for cwd in (tmp_path, REPO):  # the repository's hosts.yaml is not picked up from the current directory
        report = healthy_report([], env, cwd)
        assert {row["node"] for row in report["rows"]} >= {"node-a", "node-b"}
        assert not [row for row in report["rows"] if "host key" in row["reason"]]
    planned = subprocess.run([HASCREEN, "run", "failover", "--cluster", "db", "--dry-run"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert planned.returncode == 0 and planned.stderr == "", planned.stdout + planned.stderr
    assert "dry run: nothing executed" in planned.stdout and "Plan:" in planned.stdout


def test_the_example_hosts_yaml_reaches_the_lab(lab, tmp_path):
    if lab.dir != Path("/var/lib/hascreen-lab"):
        pytest.skip("the example names /var/lib/hascreen-lab; this lab lives elsewhere")
    report = healthy_report(["--hosts", str(REPO / "hosts.yaml")], no_flags_env(lab, tmp_path), tmp_path)
    assert {row["node"] for row in report["rows"]} >= {"node-a", "node-b"}
