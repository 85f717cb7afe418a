"""Regenerate the health and procedure SVGs in screenshots/ from the real app on the real lab (needs root).

It brings the lab up, starts a server with the lab's hosts.yaml, opens the cluster's windows, attaches the
Textual client with run_test and drives it with Pilot like a user, saving App.save_screenshot() for:

    screenshots/health-healthy.svg              the health panel on a healthy cluster
    screenshots/health-<scenario>.svg           the panel in each alarm state (after `hascreen lab break`)
    screenshots/health-window.svg               the full-screen health window (C-a W)
    screenshots/procedure-palette.svg           the procedures palette (C-a P)
    screenshots/procedure-plan.svg              failover: preflight ✓ and the exact plan, awaiting "db"
    screenshots/procedure-completed.svg         the same run after its steps and verification
    screenshots/procedure-refused.svg           failover refused in preflight (the replica is stopped)
    screenshots/procedure-victim.svg            the palette asks drbd-split-brain for its victim (the members)
    screenshots/alarm-80-columns.svg            80 columns, 10 windows, a replica stopped: the tab bar keeps ✗ CRIT

Run: .venv/bin/python scripts/screenshots_ops.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from screenshots import HASCREEN, ROOT, SIZE, Driver, Session  # noqa: E402
from tui.client.app import HascreenApp  # noqa: E402
from tui.commands import COMMANDS  # noqa: E402
from tui.config import load_keymap  # noqa: E402
from tui.lab.layout import LabDir, lab_dir_from_env  # noqa: E402

ALARMS = ["replica-conflict", "vrrp-auth-mismatch", "drbd-split-brain", "kill-keepalived"]
ALARM_NODE = {"kill-keepalived": "node-a"}


def lab(*args: str) -> None:
    result = subprocess.run([HASCREEN, "lab", *args], capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise SystemExit(f"hascreen lab {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


class OpsSession(Session):
    def __init__(self, hosts: Path) -> None:
        super().__init__()
        self.env.update(HASCREEN_HOSTS=str(hosts), HASCREEN_HEALTH_INTERVAL="1")

    def start(self) -> None:
        super().start()
        # both nodes side by side: window 1 (node-a) left, window 2 (node-b) right
        for command in (["open-cluster", "db"], ["select-window", "1"], ["split", "-v"], ["focus-next"],
                        ["select-window", "2"], ["focus-prev"]):
            result = self.hascreen("-X", self.name, *command)
            if result.returncode != 0:
                raise SystemExit(f"{' '.join(command)}: {result.stderr}")


@contextlib.asynccontextmanager
async def attached(session: OpsSession, size: tuple[int, int] = (SIZE[0] + 30, SIZE[1] + 4)) -> AsyncIterator[Driver]:
    app = HascreenApp(session.socket(), load_keymap("screen", known_commands=COMMANDS), "attach", session.name)
    async with app.run_test(size=size) as pilot:
        driver = Driver(app, pilot)
        await driver.wait(lambda: "node-b" in driver.app.tab_bar.names, "the cluster's windows")
        yield driver


def health_rows(driver: Driver) -> list[dict]:
    message = driver.app.health or {}
    return [row for cluster in message.get("clusters", []) for row in cluster.get("rows", [])]


async def wait_health(driver: Driver, want_crit: bool, timeout: float = 60) -> None:
    def done() -> bool:
        rows = health_rows(driver)
        crit = any(row.get("state") == "crit" for row in rows)
        return bool(rows) and (crit if want_crit else all(row.get("state") == "ok" for row in rows))

    await driver.wait(done, "crit health" if want_crit else "all-ok health", timeout)


def save(driver: Driver, name: str) -> None:
    path = driver.app.save_screenshot(filename=f"{name}.svg", path=str(ROOT / "screenshots"))
    print(f"wrote {Path(path).relative_to(ROOT)}")


async def command(driver: Driver, line: str) -> None:
    await driver.prefix("colon")
    await driver.wait(lambda: driver.app.ui_open, "the command prompt")
    await driver.type(line)


async def shoot(only: set[str]) -> None:
    hosts = LabDir(lab_dir_from_env()).hosts_yaml
    session = OpsSession(hosts)
    session.start()
    try:
        async with attached(session) as driver:
            await wait_health(driver, want_crit=False)
            if not only or "health-healthy" in only:
                save(driver, "health-healthy")
            for scenario in ALARMS:
                if only and f"health-{scenario}" not in only:
                    continue
                lab("break", scenario, *([ALARM_NODE[scenario]] if scenario in ALARM_NODE else []))
                try:
                    await wait_health(driver, want_crit=True)
                    await driver.pilot.pause(1.5)  # one more poll, so every layer shows the fault
                    save(driver, f"health-{scenario}")
                finally:
                    lab("heal")
                await wait_health(driver, want_crit=False)
            if not only or "health-window" in only:
                await driver.prefix("W")
                await driver.wait(lambda: type(driver.app.screen).__name__ == "HealthWindow", "the health window")
                await driver.pilot.pause(0.5)
                save(driver, "health-window")
                await driver.keys("escape")
            if not only or "procedure-palette" in only:
                await driver.prefix("P")
                await driver.wait(lambda: type(driver.app.screen).__name__ == "ProcedurePalette", "the palette")
                await driver.pilot.pause(0.3)
                save(driver, "procedure-palette")
                if not only or "procedure-victim" in only:
                    names = driver.app.screen.names
                    await driver.keys(*["down"] * names.index("drbd-split-brain"), "enter")
                    await driver.wait(lambda: type(driver.app.screen).__name__ == "ParamChoice", "the victim")
                    await driver.pilot.pause(0.3)
                    save(driver, "procedure-victim")
                await driver.keys("escape")
            if not only or only & {"procedure-plan", "procedure-completed"}:
                await command(driver, "run-procedure failover db")
                await driver.wait(lambda: "type the cluster name" in driver.text(), "the confirmation prompt", 60)
                save(driver, "procedure-plan")
                await driver.type("db")
                await driver.wait(lambda: "Result:" in driver.text(), "the result", 120)
                save(driver, "procedure-completed")
                await driver.type("q", enter=False)
                lab("heal")  # the failover left node-a's keepalived stopped: back to the starting point
            if not only or "procedure-refused" in only:
                await wait_health(driver, want_crit=False)
                lab("break", "replica-stopped")
                try:
                    await command(driver, "run-procedure failover db")
                    await driver.wait(lambda: "REFUSED" in driver.text(), "the refusal", 60)
                    save(driver, "procedure-refused")
                finally:
                    lab("heal")
        if not only or "alarm-80-columns" in only:
            await alarm_at_80_columns(session)
    finally:
        session.stop()


async def alarm_at_80_columns(session: OpsSession) -> None:
    """A small terminal, ten windows and a replica stopped by a duplicate key: the alarm is still shown."""
    while len(session.hascreen("-X", session.name, "list-windows").stdout.splitlines()) < 10:
        session.hascreen("-X", session.name, "new-window")
    session.hascreen("-X", session.name, "select-window", "2")
    lab("break", "replica-conflict")
    try:
        async with attached(session, size=(80, 24)) as driver:
            await wait_health(driver, want_crit=True)
            await driver.wait(lambda: driver.app.tab_bar.crit > 0, "the alarm in the tab bar")
            await driver.pilot.pause(1.5)
            save(driver, "alarm-80-columns")
    finally:
        lab("heal")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[])
    args = parser.parse_args()
    lab("up")
    try:
        asyncio.run(shoot(set(args.only)))
    finally:
        lab("down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
