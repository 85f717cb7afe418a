"""GTID awareness of the MySQL procedures on outputs recorded on the lab's MariaDB 10.11 (lab-* fixtures):
mysql-skip-one moves gtid_slave_pos past the failing GTID found in the relay log, mysql-resync keeps the
replica on GTID at the dump's position, the failover re-points the old master with a password read on
the node (never in an argv), and statements follow the server version (REPLICA/SOURCE vs SLAVE/MASTER)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from tui.health.mysql import parse_variables, server_info
from tui.procedures.builtin.mysql import gtid_after, relay_event_gtid
from tui.procedures.builtin.switchover import Failover
from tui.procedures.cli import run_from_cli
from tui.procedures.cluster_view import build_cluster_view
from tui.procedures.model import RunContext
from tui.procedures.mysql_dialect import Dialect


def fixture(name: str) -> str:
    return (Path(__file__).parent / "fixtures" / name).read_text()


async def cli(world, hosts_config, registry, *words):
    out = io.StringIO()

    async def no_input(prompt: str):
        return None

    code = await run_from_cli(world.runner, hosts_config, list(words), out, input_fn=no_input, registry=registry)
    return code, out.getvalue()


async def test_skip_one_under_mariadb_gtid_moves_gtid_slave_pos_past_the_failing_transaction(
        world, hosts_config, registry):
    world.replica_status = fixture("lab-mariadb-10.11-slave-status-gtid-1062.txt")
    world.replica_variables = "lab-mariadb-10.11-variables-replica-1062.txt"
    r = world.runner
    r.on("ctl-1", "SHOW RELAYLOG EVENTS IN '\"'\"'relay-bin.000002'\"'\"' FROM 670 LIMIT 3",
         fixture("lab-mariadb-10.11-relaylog-events-at-failing-gtid.txt"))

    def moved(host, argv):
        world.replica_status = fixture("lab-mariadb-10.11-slave-status-gtid-healthy.txt")
        return ""

    r.on("ctl-1", "STOP REPLICA; SET GLOBAL gtid_slave_pos", "")
    r.on("ctl-1", "-e 'START REPLICA'", moved)
    code, text = await cli(world, hosts_config, registry, "mysql-skip-one", "--cluster", "web", "--yes")
    assert code == 0, text
    assert "✓ GTID of the failing transaction: 0-1-2" in text
    assert "✓ skip method: gtid_slave_pos 0-1-1 → 0-1-2" in text
    assert world.runner.commands("ctl-1")[-3:-1] == [
        "mysql --defaults-extra-file=/root/.my.cnf -e 'STOP REPLICA; SET GLOBAL gtid_slave_pos='\"'\"'0-1-2'\"'\"''",
        "mysql --defaults-extra-file=/root/.my.cnf -e 'START REPLICA'"]
    assert not [c for c in world.runner.commands() if "skip_counter" in c]  # rejected under GTID (1858/1966)


async def test_skip_one_under_gtid_refuses_when_the_failing_gtid_cannot_be_found(world, hosts_config, registry):
    world.replica_status = fixture("lab-mariadb-10.11-slave-status-gtid-1062.txt")
    world.runner.on("ctl-1", "SHOW RELAYLOG EVENTS", "")  # relay log already purged
    code, text = await cli(world, hosts_config, registry, "mysql-skip-one", "--cluster", "web", "--yes")
    assert code == 1 and "✗ GTID of the failing transaction: not in the error" in text


async def test_resync_keeps_a_gtid_replica_on_gtid_at_the_dumps_position(world, hosts_config, registry):
    world.replica_status = fixture("lab-mariadb-10.11-slave-status-gtid-1062.txt")
    r = world.runner
    r.on("ctl-1", "ssh -o BatchMode=yes -o ConnectTimeout=10 -- 192.168.122.37 true", "")
    for sql in ("STOP REPLICA", "RESET REPLICA", "sh -c", "CHANGE MASTER TO", "rm -f /var/tmp/hascreen-resync-web.sql"):
        r.on("ctl-1", sql, "")
    r.on("ctl-1", "grep -m 2 -E", fixture("lab-mariadb-10.11-dump-gtid-header-grep.txt"))

    def started(host, argv):
        world.replica_status = fixture("lab-mariadb-10.11-slave-status-gtid-healthy.txt")
        return ""

    r.on("ctl-1", "-e 'START REPLICA'", started)
    code, text = await cli(world, hosts_config, registry, "mysql-resync", "--cluster", "web", "--databases",
                           "app", "--yes")
    assert code == 0, text
    assert "✓ replication mode of ctl-1 (kept): mariadb 10.11.19, GTID (Slave_Pos)" in text
    on_replica = world.runner.commands("ctl-1")
    assert "--single-transaction --master-data=2 --gtid --databases app" in next(
        c for c in on_replica if c.startswith("sh -c 'umask 077"))
    change = next(c for c in on_replica if "CHANGE MASTER TO" in c)
    # the position from the dump's header, the mode as before (the lab's replica stays on GTID)
    assert "SET GLOBAL gtid_slave_pos='\"'\"'0-1-1'\"'\"'" in change
    assert change.endswith("MASTER_PORT=3306, MASTER_USE_GTID=slave_pos'") and "MASTER_LOG_FILE" not in change
    assert "✓ replica ctl-1 kept its mode: Slave_Pos" in text


def test_relay_log_gtid_and_the_new_position_of_its_domain():
    assert relay_event_gtid(fixture("lab-mariadb-10.11-relaylog-events-at-failing-gtid.txt")) == "0-1-2"
    assert gtid_after("0-1-1", "0-1-2") == "0-1-2"
    assert gtid_after("0-1-9,1-3-4", "1-3-5") == "0-1-9,1-3-5"  # other domains stay where they are
    with pytest.raises(ValueError):
        gtid_after("0-1-1'; DROP", "0-1-2")


def test_statements_follow_the_server_version():
    mariadb = server_info(parse_variables(fixture("lab-mariadb-10.11-variables-master.txt")))
    assert mariadb.flavor == "mariadb" and mariadb.version == (10, 11, 19) and mariadb.gtid_on
    d = Dialect(mariadb)
    assert (d.stop_replica, d.reset_replica_all, d.show_binlog_status, d.dump_source_data) == (
        "STOP REPLICA", "RESET REPLICA ALL", "SHOW BINLOG STATUS", "--master-data=2")
    assert d.wait_applied(gtid="0-1-5", log_file=None, log_pos=None, timeout=30) == \
        "SELECT MASTER_GTID_WAIT('0-1-5', 30)"
    assert d.applied_ok(fixture("lab-mariadb-10.11-master-gtid-wait-done.txt"), gtid=True)
    assert not d.applied_ok(fixture("lab-mariadb-10.11-master-gtid-wait-timeout.txt"), gtid=True)
    assert d.applied_ok(fixture("lab-mariadb-10.11-master-pos-wait-done.txt"), gtid=False)
    old = Dialect(type(mariadb)("mariadb", (10, 3, 39), {}))
    assert (old.stop_replica, old.show_binlog_status) == ("STOP SLAVE", "SHOW MASTER STATUS")
    for version, words in [((5, 7, 44), ("STOP SLAVE", "CHANGE MASTER TO MASTER_HOST", "--master-data=2",
                                         "MASTER_AUTO_POSITION=1", "sql_slave_skip_counter")),
                           ((8, 0, 22), ("STOP REPLICA", "CHANGE MASTER TO MASTER_HOST", "--master-data=2",
                                         "MASTER_AUTO_POSITION=1", "sql_slave_skip_counter")),
                           ((8, 4, 3), ("STOP REPLICA", "CHANGE REPLICATION SOURCE TO SOURCE_HOST",
                                        "--source-data=2", "SOURCE_AUTO_POSITION=1", "sql_replica_skip_counter"))]:
        mysql = Dialect(type(mariadb)("mysql", version, {"gtid_mode": "ON"}))
        change = mysql.change_source(host="10.0.0.2", port=3306, gtid=True)
        assert (mysql.stop_replica, change.split("=")[0], mysql.dump_source_data, change.split(", ")[-1],
                mysql.skip_counter) == words
    assert Dialect(type(mariadb)("mysql", (8, 4, 3), {})).wait_applied(
        gtid=None, log_file="b.000001", log_pos=4, timeout=5) == "SELECT SOURCE_POS_WAIT('b.000001', 4, 5)"


def test_the_old_master_is_re_pointed_with_a_password_read_on_the_node(tmp_path):
    password_file = tmp_path / "repl"
    cluster = {"name": "db", "members": ["a", "b"], "manager": "keepalived",
               "mysql": {"master": "a", "replicas": ["b"], "replication_user": "repl",
                         "replication_password_file": str(password_file)}}
    ctx = RunContext(None, build_cluster_view(cluster, {"a": {"address": "10.0.0.1"}, "b": {"address": "10.0.0.2"}}))
    ctx.facts["gtid"] = True
    info = server_info(parse_variables(fixture("lab-mariadb-10.11-variables-master.txt")))
    step = Failover()._repoint_old_master(ctx, "a", "b", info)
    assert "'" not in step.argv[2]  # the plan shows the script as it runs, without nested quoting
    script = step.argv[2].replace("| mysql", "| cat #")  # what mysql would read on its stdin
    for password, expected in [("s3cr%et$x`y\"z", 0), ("it's", 3), ("back\\slash", 3)]:
        password_file.write_text(password + "\n")
        done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=10)
        assert done.returncode == expected, done.stderr
        assert password not in step.render() and str(password_file) in step.render()
        if expected == 0:
            assert done.stdout == ("SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos; CHANGE MASTER TO "
                                   "MASTER_HOST='10.0.0.2', MASTER_PORT=3306, MASTER_USER='repl', "
                                   f"MASTER_PASSWORD='{password}', MASTER_USE_GTID=slave_pos; START REPLICA\n")
        else:
            assert "unsupported character in the password file" in done.stderr


async def test_promote_refuses_until_the_dead_master_is_confirmed_down_then_takes_over(world, hosts_config, registry):
    world.runner.down.add("ctl-0")  # the master died; keepalived on ctl-1 took the VIP
    world.holders = {"ctl-1"}
    code, text = await cli(world, hosts_config, registry, "promote", "--cluster", "web", "--yes")
    assert code == 1
    assert "✓ old master ctl-0 does not answer: no answer" in text
    assert "✗ ctl-0 confirmed powered off: not confirmed — make sure ctl-0 is powered off" in text
    assert "--powered-off web" in text
    assert "✓ ctl-1 applied all it received: received 0-1-1, applied 0-1-1" in text
    assert "✓ lag of ctl-1: NULL" not in text and "lag of ctl-1: 0s (not read as 0" in text
    assert not [c for c in world.runner.commands() if "SET GLOBAL" in c or "drbdadm primary" in c]
    code, text = await cli(world, hosts_config, registry, "promote", "--cluster", "web", "--yes",
                           "--powered-off", "web", "--ack-flapping")
    assert code == 0, text
    assert world.drbd_primary == "ctl-1" and world.read_only["ctl-1"] is False
    assert "✓ MySQL on ctl-1 writable: read_only=OFF" in text and "✓ VIP on ctl-1: yes" in text
    assert "Next: (1) when ctl-0 returns, it still believes it is the master" in text
    assert "mysql-resync --cluster web --replica ctl-0" in text


async def test_promote_refuses_a_replica_that_has_not_applied_all_it_received(world, hosts_config, registry):
    world.runner.down.add("ctl-0")
    world.replica_status = fixture("lab-mariadb-10.11-slave-status-gtid-1062.txt")  # received 0-1-2
    world.replica_variables = "lab-mariadb-10.11-variables-replica-1062.txt"  # applied 0-1-1
    code, text = await cli(world, hosts_config, registry, "promote", "--cluster", "web", "--yes",
                           "--powered-off", "web")
    assert code == 1
    assert "✗ ctl-1 applied all it received: received 0-1-2, applied 0-1-1; domain 0: 1 < 2" in text
    assert "✗ SQL thread of ctl-1 without error" in text


async def test_resync_rejoins_a_former_master_on_gtid_with_the_replication_user(world, hosts_config, registry):
    world.replica_status = ""  # ctl-1 replicates from nobody (a former master coming back)
    r = world.runner
    r.on("ctl-1", "ssh -o BatchMode=yes -o ConnectTimeout=10 -- 192.168.122.37 true", "")
    for sql in ("STOP REPLICA", "RESET REPLICA", "sh -c", "rm -f /var/tmp/hascreen-resync-web.sql"):
        r.on("ctl-1", sql, "")
    r.on("ctl-1", "grep -m 2 -E", fixture("lab-mariadb-10.11-dump-gtid-header-grep.txt"))
    code, text = await cli(world, hosts_config, registry, "mysql-resync", "--cluster", "web", "--databases",
                           "app", "--dry-run")
    assert code == 0, text
    assert "✓ replica ctl-1 state: not a replica" in text
    assert "✓ replication mode of ctl-1 (kept): mariadb 10.11.19, GTID (Slave_Pos)" in text
    assert (r"MASTER_USER=\\047repl\\047, MASTER_PASSWORD=\\047%s\\047, MASTER_USE_GTID=slave_pos" in text
            and "pw=$(cat /root/.hascreen-repl)" in text)
    assert "as repl, the password from /root/.hascreen-repl on ctl-1" in text
