"""DRBD procedures on recorded outputs: split-brain recovery (evidence, victim choice, order of commands,
verification of the resync), connect/promote refusals, and the 16-step replacement runbook with its
manual checklist items answered through the CLI."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

from tui.procedures.cli import run_from_cli


def fixture(name: str) -> str:
    return (Path(__file__).parent / "fixtures" / name).read_text()


# A DRBD 8.4 cluster: procedures read /proc/drbd and find the resource's minor with `drbdadm sh-minor`.
SPLIT = {"n1": "splitbrain-node1-standalone-secondary-unknown.txt",
         "n2": "splitbrain-node2-standalone-primary-unknown.txt"}
HEALED = "linbit-ug84-three-minors-connected.txt"


def store_world(world):
    state = {"healed": False}
    r = world.runner
    for node in SPLIT:
        answer = (lambda n: lambda h, a: fixture(HEALED if state["healed"] else SPLIT[n]))(node)
        r.on(node, "cat /proc/drbd", answer)
        r.on(node, "drbdadm sh-minor r0", "0\n")  # what sh-minor prints: the minor number
        r.on(node, "true", "")
    r.on("n1", "ip -o addr show dev eth0", fixture("k0s-ip-4-oneline-grep-eth0-controller1-no-vip.txt"))
    r.on("n2", "ip -o addr show dev eth0", fixture("k0s-ip-4-oneline-grep-eth0-controller0-holds-vip.txt"))
    r.on("*", "drbdadm secondary r0", "")
    r.on("*", "drbdadm connect --discard-my-data r0", "")

    def connect(host, argv):
        state["healed"] = True
        return ""

    r.on("n2", "drbdadm connect r0", connect)
    return state


def store_config():
    cluster = {"name": "store", "members": ["n1", "n2"], "manager": "heartbeat",
               "drbd": {"resources": ["r0"], "version": "8.4"},
               "vip": {"address": "192.168.122.200", "interface": "eth0", "gateway": "192.168.122.1"}}
    return SimpleNamespace(clusters={"store": cluster}, hosts={})


async def cli(world, registry, *words, answers=()):
    out = io.StringIO()
    replies = list(answers)

    async def input_fn(prompt: str):
        return replies.pop(0) if replies else None

    code = await run_from_cli(world.runner, store_config(), list(words), out, input_fn=input_fn, registry=registry)
    return code, out.getvalue()


async def test_split_brain_shows_evidence_and_refuses_without_a_victim(world, registry):
    store_world(world)
    code, text = await cli(world, registry, "drbd-split-brain", "--cluster", "store", "--yes")
    assert code == 1
    assert "✓ DRBD r0 is in split brain: n1:Secondary/StandAlone n2:Primary/StandAlone" in text
    assert "evidence r0 on n1: role Secondary, connection StandAlone, disk UpToDate, out-of-sync 76 KiB" in text
    assert "evidence r0 on n2: role Primary, connection StandAlone, disk UpToDate, out-of-sync 100 KiB" in text
    assert "pick --victim from n1, n2" in text
    assert "✗ victim chosen: not given" in text and "None" not in text
    assert not [c for c in world.runner.commands() if "connect" in c]


async def test_split_brain_refuses_the_vip_holder_as_victim(world, registry):
    store_world(world)
    code, text = await cli(world, registry, "drbd-split-brain", "--cluster", "store", "--victim", "n2", "--yes")
    assert code == 1 and "the victim serves clients" in text


async def test_split_brain_recovery_runs_victim_first_and_verifies_the_resync(world, registry):
    state = store_world(world)
    code, text = await cli(world, registry, "drbd-split-brain", "--cluster", "store", "--victim", "n1", "--yes")
    assert code == 0, text
    writes = [(h, " ".join(a)) for h, a in world.runner.calls if a[:2] in (["drbdadm", "secondary"],
                                                                           ["drbdadm", "connect"])]
    assert writes == [("n1", "drbdadm secondary r0"), ("n1", "drbdadm connect --discard-my-data r0"),
                      ("n2", "drbdadm connect r0")]
    assert state["healed"]
    assert "✓ DRBD r0 on n1 uptodate" in text and "✓ DRBD r0 no split brain" in text


async def test_connect_is_refused_in_split_brain_and_promote_refused_while_peer_primary(world, registry):
    state = store_world(world)
    code, text = await cli(world, registry, "drbd-connect", "--cluster", "store", "--node", "n1", "--yes")
    assert code == 1 and "split brain: StandAlone on n1 and n2" in text
    state["healed"] = True
    world.runner.on("n2", "cat /proc/drbd", fixture("splitbrain-node2-standalone-primary-unknown.txt"))
    code, text = await cli(world, registry, "drbd-promote", "--cluster", "store", "--node", "n1", "--yes")
    assert code == 1 and "✗ DRBD r0 peer n2 not Primary: Primary — two primaries: demote the peer first" in text
    assert not [c for c in world.runner.commands() if "primary" in c.split()]


async def test_replacement_runbook_walks_16_steps_with_checks_between_manual_items(world, registry):
    store_world(world)["healed"] = True
    roles = {"n1": "Primary", "n2": "Secondary"}

    def status(node):
        def answer(host, argv):
            text = fixture(HEALED)
            return text if roles[node] == "Secondary" else text.replace(
                "ro:Secondary/Secondary", "ro:Primary/Secondary", 1)
        return answer

    for node in ("n1", "n2"):
        world.runner.on(node, "cat /proc/drbd", status(node))
    world.runner.on("n1", "ip -o addr show dev eth0", fixture("k0s-ip-4-oneline-grep-eth0-controller0-holds-vip.txt"))
    world.runner.on("n2", "ip -o addr show dev eth0", fixture("k0s-ip-4-oneline-grep-eth0-controller1-no-vip.txt"))
    code, text = await cli(world, registry, "drbd-replace-node", "--cluster", "store", "--dry-run")
    assert code == 0, text
    for number in range(1, 17):
        assert f"({number}) " in text, number
    assert "[n1] /usr/share/heartbeat/hb_standby all" in text
    # 'done' for items 1-3, then decline item 6: the run stops there and says where to continue.
    code, text = await cli(world, registry, "drbd-replace-node", "--cluster", "store", "--yes",
                           answers=["done"] * 3 + ["no"])
    assert code == 2
    assert "✓ DRBD r0 on n2 uptodate" in text  # the automatic checks (4), (5) ran between the items
    assert "manual step not confirmed" in text
    assert "continue with --from-step 6" in text
    assert not [c for c in world.runner.commands() if "hb_standby" in c]  # stopped before step 8


async def test_replacement_runbook_completes_when_every_item_is_done(world, registry):
    store_world(world)["healed"] = True
    roles = {"n1": "Primary", "n2": "Secondary"}

    def status(node):
        def answer(host, argv):
            text = fixture(HEALED)
            return text if roles[node] == "Secondary" else text.replace(
                "ro:Secondary/Secondary", "ro:Primary/Secondary", 1)
        return answer

    def addr(node):
        def answer(host, argv):
            if roles[node] == "Primary":
                return fixture("k0s-ip-4-oneline-grep-eth0-controller0-holds-vip.txt" if node == "n1"
                               else "k0s-ip-4-oneline-grep-eth0-controller1-after-failover.txt")
            return fixture("k0s-ip-4-oneline-grep-eth0-controller1-no-vip.txt")
        return answer

    def standby(host, argv):
        roles.update(n1="Secondary", n2="Primary")
        return ""

    for node in ("n1", "n2"):
        world.runner.on(node, "cat /proc/drbd", status(node))
        world.runner.on(node, "ip -o addr show dev eth0", addr(node))
    world.runner.on("n1", "hb_standby all", standby)
    world.runner.on("n2", "arping -U", fixture("arping-U-c3-vxlan0-gratuitous-no-replies.txt"))
    code, text = await cli(world, registry, "drbd-replace-node", "--cluster", "store", "--yes",
                           answers=["done"] * 9)
    assert code == 0, text
    assert roles == {"n1": "Secondary", "n2": "Primary"}
    assert "✓ DRBD r0 on n2 primary" in text and "✓ DRBD r0 on n1 secondary" in text
    assert text.count("☐ MANUAL") == 9
