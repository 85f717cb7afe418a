"""The whole-stack failover on the lab's pacemaker profile (corosync + Pacemaker move the VIP; hascreen
moves DRBD and MySQL around it): failover then failback five times in a row, the VIP, the DRBD Primary and
the writable MySQL sampled every 100 ms on both nodes (never on two at once), a write through the VIP
before each switch present on the new master, the consistency row ok after each.

Rebuilds the session lab with `up --profile pacemaker` and restores the default profile afterwards."""

from __future__ import annotations

import time

import pytest
from procedure_lab_state import LayerSampler, active_spans, overlaps, switch_and_check


@pytest.fixture(scope="module")
def pacemaker_lab(lab):
    try:
        lab.must("up", "--profile", "pacemaker", timeout=180)
        yield lab
    finally:
        lab.must("up", timeout=180)


async def test_pacemaker_failover_and_failback_five_times(pacemaker_lab, healthy, cli, app_writer):
    sampler = LayerSampler(healthy)
    sampler.start()
    texts = []
    try:
        time.sleep(0.5)
        for _ in range(5):
            texts.append(await switch_and_check(healthy, cli, app_writer, "node-b", keepalived=False))
            texts.append(await switch_and_check(healthy, cli, app_writer, "node-a", keepalived=False))
        time.sleep(0.3)
    finally:
        samples = sampler.stop()
    for layer in ("vip", "writable", "drbd"):
        assert not overlaps(samples, layer), overlaps(samples, layer)
        assert active_spans(samples[("node-a", layer)]) and active_spans(samples[("node-b", layer)])
    assert "[node-a] crm_resource --move --resource vip --node node-b" in texts[0]
    assert "[node-b] crm_resource --move --resource vip --node node-a" in texts[1]
