"""mysql-skip-one and mysql-resync on recorded outputs: refusals, exact plans, coordinates captured from
a real dump header or a stopped replica's status, no secrets in any argv, rollback hints."""

from __future__ import annotations

import io
from pathlib import Path

from tui.procedures.cli import run_from_cli
from tui.runner import RunResult


def fixture(name: str) -> str:
    return (Path(__file__).parent / "fixtures" / name).read_text()


async def cli(world, hosts_config, registry, *words):
    out = io.StringIO()

    async def no_input(prompt: str):
        return None

    code = await run_from_cli(world.runner, hosts_config, list(words), out, input_fn=no_input, registry=registry)
    return code, out.getvalue()


async def test_skip_one_refuses_a_healthy_replica_and_a_stop_without_error(world, hosts_config, registry):
    code, text = await cli(world, hosts_config, registry, "mysql-skip-one", "--cluster", "web", "--yes")
    assert code == 1 and "✗ SQL thread stopped: IO Yes, SQL Yes" in text
    world.replica_status = fixture("pmp-running-003-sql-thread-stopped-no-error.txt")
    code, text = await cli(world, hosts_config, registry, "mysql-skip-one", "--cluster", "web", "--yes")
    assert code == 1 and "no error to skip" in text
    assert not [c for c in world.runner.commands() if "skip_counter" in c]


async def test_skip_one_shows_the_error_warns_skips_and_verifies(world, hosts_config, registry):
    world.replica_status = fixture("blog-sql-error-1062-duplicate-entry.txt")

    def skipped(host, argv):
        world.replica_status = fixture("pmp-running-001-healthy.txt")
        return ""

    world.runner.on("ctl-1", "sql_slave_skip_counter=1", "")
    world.runner.on("ctl-1", "START REPLICA SQL_THREAD", skipped)
    code, text = await cli(world, hosts_config, registry, "mysql-skip-one", "--cluster", "web", "--yes")
    assert code == 0, text
    assert "✓ Last_SQL_Error present: 1062: Error 'Duplicate entry '6213' for key 'PRIMARY''" in text
    assert "(drift)" in text
    assert "✓ skip method: sql_slave_skip_counter=1 (file/position replica)" in text
    # the server answers as MariaDB 10.11 (recorded variables): REPLICA wording
    assert world.runner.commands("ctl-1")[-3:-1] == [
        "mysql --defaults-extra-file=/root/.my.cnf -e 'SET GLOBAL sql_slave_skip_counter=1'",
        "mysql --defaults-extra-file=/root/.my.cnf -e 'START REPLICA SQL_THREAD'",
    ]
    assert "✓ replica ctl-1 caught up" in text


def resync_world(world):
    world.replica_status = fixture("blog-sql-error-1062-duplicate-entry.txt")
    r = world.runner
    r.on("ctl-1", "ssh -o BatchMode=yes -o ConnectTimeout=10 -- 192.168.122.37 true", "")
    r.on("ctl-1", "STOP REPLICA", "")
    r.on("ctl-1", "RESET REPLICA", "")
    r.on("ctl-1", "sh -c", "")
    r.on("ctl-1", "grep -m 2 -E", fixture("captured-mariadb-10.11-dump-header-grep.txt"))
    r.on("ctl-1", "-e 'CHANGE MASTER TO", "")
    r.on("ctl-1", "rm -f /var/tmp/hascreen-resync-web.sql", "")

    def started(host, argv):
        world.replica_status = fixture("pmp-running-001-healthy.txt")
        return ""

    r.on("ctl-1", "-e 'START REPLICA'", started)


async def test_resync_from_master_streams_the_dump_between_hosts_and_uses_its_coordinates(world, hosts_config,
                                                                                         registry):
    resync_world(world)
    code, text = await cli(world, hosts_config, registry, "mysql-resync", "--cluster", "web", "--databases",
                           "shop", "--yes")
    assert code == 0, text
    on_replica = world.runner.commands("ctl-1")
    fetch = next(c for c in on_replica if c.startswith("sh -c 'umask 077"))
    assert "ssh -o BatchMode=yes -o ConnectTimeout=10 -- 192.168.122.37" in fetch
    assert "--single-transaction --master-data=2 --databases shop" in fetch
    assert "> /var/tmp/hascreen-resync-web.sql" in fetch
    sequence = [c.split(" -e ")[-1] for c in on_replica if " -e " in c and "SHOW" not in c]
    assert sequence == ["'STOP REPLICA'", "'RESET REPLICA'",
                        "'CHANGE MASTER TO MASTER_HOST='\"'\"'192.168.122.37'\"'\"', MASTER_PORT=3306, MASTER_LOG_FILE="
                        "'\"'\"'mysql-bin.000001'\"'\"', MASTER_LOG_POS=794'", "'START REPLICA'"]
    assert "✓ replication mode of ctl-1 (kept): mariadb 10.11.19, file/position" in text
    restore = next(c for c in on_replica if "hascreen-resync-web.sql; }" in c)
    assert restore.startswith("sh -c '{ echo '\"'\"'SET SESSION sql_log_bin=0;'")  # no errant GTIDs
    # the master is only read (status, dump over ssh from the replica): nothing ran there that writes
    assert [c for c in world.runner.commands("ctl-0") if "STOP" in c or "RESET" in c] == []
    for _host, argv in world.runner.calls:
        assert not any("password" in a.lower() or a.startswith("-p") for a in argv)
    assert "✓ MySQL replica ctl-1 caught up" in text


async def test_resync_with_read_lock_uses_lock_all_tables(world, hosts_config, registry):
    resync_world(world)
    code, text = await cli(world, hosts_config, registry, "mysql-resync", "--cluster", "web", "--databases",
                           "shop", "--lock", "read-lock", "--dry-run")
    assert code == 0, text
    assert "--lock-all-tables --master-data=2 --databases shop" in text
    assert "MASTER_LOG_FILE='\"'\"'{master_log_file}'\"'\"', MASTER_LOG_POS={master_log_pos}" in text
    assert "--gtid" not in text  # a file/position replica stays one


async def test_resync_refuses_when_the_replica_cannot_ssh_to_the_source(world, hosts_config, registry):
    resync_world(world)
    world.runner.on("ctl-1", "ssh -o BatchMode=yes", RunResult(255, "", "Permission denied (publickey)."))
    code, text = await cli(world, hosts_config, registry, "mysql-resync", "--cluster", "web", "--databases",
                           "shop", "--yes")
    assert code == 1 and "✗ ctl-1 can ssh to ctl-0 (192.168.122.37): no — Permission denied" in text


async def test_resync_refuses_bad_database_names_and_the_master_as_target(world, hosts_config, registry):
    code, text = await cli(world, hosts_config, registry, "mysql-resync", "--cluster", "web", "--databases",
                           "shop;drop", "--dry-run")
    assert code == 1 and "SQL identifier 'shop;drop' is not valid" in text
    code, text = await cli(world, hosts_config, registry, "mysql-resync", "--cluster", "web", "--replica",
                           "ctl-0", "--dry-run")
    assert code == 1 and "give --replica" in text


async def test_resync_from_a_healthy_replica_records_its_position_and_restarts_it(world, hosts_config, registry):
    hosts_config.clusters["web"]["members"] = ["ctl-0", "ctl-1", "ctl-2"]
    hosts_config.clusters["web"]["mysql"] = {"master": "ctl-0", "replicas": ["ctl-1", "ctl-2"],
                                             "option_file": "/root/.my.cnf"}
    hosts_config.hosts["ctl-2"] = {"address": "192.168.122.186"}
    resync_world(world)
    r = world.runner
    r.on("ctl-2", "true", "")
    healthy = {"text": fixture("pmp-running-001-healthy.txt")}
    r.on("ctl-2", "SHOW SLAVE STATUS", lambda h, a: healthy["text"])
    r.on("ctl-2", "SHOW REPLICA STATUS", lambda h, a: healthy["text"])

    def stop(host, argv):
        healthy["text"] = fixture("captured-mariadb-10.11-slave-status-stopped.txt")
        return ""

    r.on("ctl-2", "'STOP REPLICA'", stop)
    r.on("ctl-2", "SHOW GLOBAL VARIABLES", fixture("lab-mariadb-10.11-variables-replica.txt"))
    r.on("ctl-1", "ssh -o BatchMode=yes -o ConnectTimeout=10 -- 192.168.122.186 true", "")
    r.on("ctl-1", "sh -c", RunResult(2, "", "mysqldump: Got error: 2013: Lost connection"))
    code, text = await cli(world, hosts_config, registry, "mysql-resync", "--cluster", "web", "--replica",
                           "ctl-1", "--source", "ctl-2", "--databases", "shop", "--yes")
    assert code == 2
    assert world.runner.commands("ctl-2")[-2:] == [
        "mysql --defaults-extra-file=/root/.my.cnf -e 'STOP REPLICA'",
        "mysql --defaults-extra-file=/root/.my.cnf -e 'SHOW REPLICA STATUS\\G'"]
    assert "step 4 (dump ctl-2 over ssh" in text
    assert "roll back: on ctl-2: START REPLICA; then on ctl-1: START REPLICA" in text
    assert "mysqldump: Got error: 2013" in text
