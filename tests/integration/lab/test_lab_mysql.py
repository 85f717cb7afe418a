"""MariaDB master → replica in the lab, and the replication faults, checked with `mysql` over SSH."""

from __future__ import annotations

import time

from tests.integration.conftest import wait_until


def slave_status(lab) -> dict[str, str]:
    done = lab.ssh("node-b", "mysql -e 'SHOW SLAVE STATUS\\G'")
    assert done.returncode == 0, done.stderr
    fields = {}
    for line in done.stdout.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def sql(lab, node: str, statement: str) -> str:
    done = lab.ssh(node, f"mysql -N -B -e \"{statement}\"")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def assert_healthy_and_in_sync(lab) -> None:
    status = wait_until(lambda: (s := slave_status(lab)).get("Slave_SQL_Running") == "Yes"
                        and s.get("Slave_IO_Running") == "Yes" and s, 20, "replication running")
    assert status["Last_SQL_Errno"] == "0" and status["SQL_Delay"] == "0"
    assert status["Master_Host"] == lab.ips["node-a"]
    wait_until(lambda: sql(lab, "node-a", "CHECKSUM TABLE app.items") == sql(lab, "node-b", "CHECKSUM TABLE app.items"),
               20, "equal table checksums on master and replica")


def test_option_file_keeps_credentials_out_of_argv(lab):
    # The probe names no user or password: /root/.my.cnf on the node supplies them.
    assert sql(lab, "node-a", "SELECT CURRENT_USER()") == "root@localhost"
    assert "password" in lab.ssh("node-a", "cat /root/.my.cnf").stdout


def test_a_write_on_the_master_reaches_the_replica(lab):
    assert_healthy_and_in_sync(lab)
    new_id = int(sql(lab, "node-a", "SELECT MAX(id) + 1 FROM app.items"))
    sql(lab, "node-a", f"INSERT INTO app.items (id, name) VALUES ({new_id}, 'replicated')")
    wait_until(lambda: sql(lab, "node-b", f"SELECT name FROM app.items WHERE id = {new_id}") == "replicated",
               10, "the row on the replica")
    assert sql(lab, "node-b", "SELECT @@read_only") == "1"
    assert sql(lab, "node-a", "SELECT @@server_id") != sql(lab, "node-b", "SELECT @@server_id")


def test_replica_conflict_stops_the_sql_thread_with_1062(lab):
    with lab.broken("replica-conflict"):
        status = slave_status(lab)
        assert status["Slave_SQL_Running"] == "No"
        assert status["Slave_IO_Running"] == "Yes"
        assert status["Last_SQL_Errno"] == "1062"
        assert "Duplicate entry" in status["Last_SQL_Error"]
    assert_healthy_and_in_sync(lab)


def test_replica_stopped(lab):
    with lab.broken("replica-stopped"):
        status = slave_status(lab)
        assert status["Slave_IO_Running"] == "No" and status["Slave_SQL_Running"] == "No"
        assert status["Last_SQL_Errno"] == "0"
    assert_healthy_and_in_sync(lab)


def test_replica_lag_shows_seconds_behind_master(lab):
    with lab.broken("replica-lag"):
        first = wait_until(lambda: (v := slave_status(lab)["Seconds_Behind_Master"]).isdigit() and int(v) > 0 and int(v),
                           10, "Seconds_Behind_Master > 0")
        time.sleep(1.1)
        later = int(slave_status(lab)["Seconds_Behind_Master"])
        assert later > first  # the lag grows while the delayed event waits
        assert int(slave_status(lab)["SQL_Delay"]) > 0
    assert_healthy_and_in_sync(lab)
