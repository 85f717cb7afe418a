"""GTID awareness of the MySQL health rows: the server's flavor and GTID mode from SHOW GLOBAL VARIABLES,
MySQL GTID set arithmetic, and errant GTIDs (what a replica has that its master never had, excluding the
master's own server) flagged on the replica's row. Outputs: the MySQL reference manual's sample and
MariaDB 10.11 variables recorded on the lab (tests/unit/procedures/fixtures/lab-*)."""

from __future__ import annotations

from pathlib import Path

from tui.health.model import State
from tui.health.mysql import (
    errant_gtids,
    evaluate_replica,
    format_gtid_set,
    parse_gtid_set,
    parse_master_status,
    parse_replica_status,
    parse_variables,
    server_info,
    subtract_gtid_sets,
)

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples" / "mysql"
LAB = Path(__file__).resolve().parents[1] / "procedures" / "fixtures"


def lab(name: str):
    return server_info(parse_variables((LAB / f"lab-mariadb-10.11-{name}.txt").read_text()))


def test_mysql_gtid_sets_subtract_by_interval():
    executed = parse_master_status((SAMPLES / "mysql80-refman-show-master-status-vertical.txt").read_text())
    gtids = parse_gtid_set(executed.executed_gtid_set)
    assert gtids == {"3e11fa47-71ca-11e1-9e33-c80aa9429562": [(1, 5)]}
    fewer = parse_gtid_set("3E11FA47-71CA-11E1-9E33-C80AA9429562:2-3")
    assert format_gtid_set(subtract_gtid_sets(gtids, fewer)) == "3e11fa47-71ca-11e1-9e33-c80aa9429562:1:4-5"
    assert subtract_gtid_sets(fewer, gtids) == {}


def test_mariadb_server_info_and_errant_gtids_from_recorded_variables():
    master, replica, errant = lab("variables-master-2"), lab("variables-replica"), lab("variables-replica-errant")
    assert master.flavor == "mariadb" and master.version == (10, 11, 19) and master.gtid_mode == "MariaDB"
    assert master.executed == "0-1-2"
    assert errant_gtids(replica, master) == ""
    # a write made on the replica itself (its server_id 2): the master never had 0-2-4
    assert errant_gtids(errant, master) == "0-2-4"
    # transactions of the master's own server are never errant (Dolphie's rule)
    assert errant_gtids(errant, master, master_ids={"2"}) == ""


def test_the_replica_row_shows_the_gtid_mode_and_flags_errant_gtids():
    status = parse_replica_status((LAB / "lab-mariadb-10.11-slave-status-gtid-healthy.txt").read_text())
    clean = evaluate_replica(status, "db", "node-b", observed_at=0.0, read_only=True,
                             server=lab("variables-replica"), master_server=lab("variables-master-2"))
    assert clean[0].state == State.OK and "gtid Slave_Pos" in clean[0].value
    flagged = evaluate_replica(status, "db", "node-b", observed_at=0.0, read_only=True,
                               server=lab("variables-replica-errant"), master_server=lab("variables-master-2"))
    assert flagged[0].state == State.WARN
    assert "errant GTIDs 0-2-4: transactions the master never had" in flagged[0].reason
