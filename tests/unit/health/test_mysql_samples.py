"""MySQL/MariaDB parsers and verdicts against every real sample in tests/fixtures/samples/mysql."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.health.model import State
from tui.health.mysql import (
    MysqlThresholds,
    evaluate_master,
    evaluate_replica,
    judge_channel,
    parse_master_status,
    parse_overview,
    parse_read_only,
    parse_replica_status,
    parse_vertical,
    summarize_error,
)

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples" / "mysql"


def read(name: str) -> str:
    return (SAMPLES / name).read_text()


# file -> (io, sql, seconds_behind (None = NULL), last_io_errno, last_sql_errno, master_host, verdict, reason part)
REPLICA = {
    "pmp-running-001-healthy.txt": ("Yes", "Yes", 0, 0, 0, "master.db", State.OK, ""),
    "pmp-running-002-io-connecting.txt": ("Connecting", "Yes", 0, 0, 0, "master.db", State.WARN, "connecting"),
    "pmp-running-003-sql-thread-stopped-no-error.txt": ("Yes", "No", 0, 0, 0, "master.db", State.WARN,
                                                         "SQL thread stopped without an error"),
    "pmp-running-004-io-error-1236-both-stopped.txt": ("No", "No", None, 1236, 0, "1.2.3.4", State.CRIT,
                                                        "Could not find first log file name in binary log index file"),
    "pmp-running-005-mysql50-sql-error-1146-multiline.txt": ("Yes", "No", None, 0, 0, "1.2.3.4", State.CRIT,
                                                              "Table 'mydb.mytable' doesn't exist (1146)"),
    "pmp-delay-001-lag-10s.txt": ("Yes", "Yes", 10, 0, 0, "master.db", State.OK, ""),
    "pmp-delay-002-running-but-sbm-null.txt": ("Yes", "Yes", None, 0, 0, "master.db", State.UNKNOWN, "NULL"),
    "blog-sql-error-1062-duplicate-entry.txt": ("Yes", "No", None, 0, 1062, "<master-server.com>", State.CRIT,
                                                "replica SQL thread stopped: Duplicate entry '6213' for key "
                                                "'PRIMARY' (1062)"),
    "blog-after-fix-catching-up-lag-46579.txt": ("Yes", "Yes", 46579, 0, 0, "<master-server.com>", State.CRIT,
                                                 "46579s behind"),
    "mysql80-refman-show-replica-status-healthy.txt": ("Yes", "Yes", 0, 0, 0, "127.0.0.1", State.OK, ""),
    "mariadb-docs-show-slave-status-gtid-lag-6s.txt": ("Yes", "Yes", 6, 0, 0, "db01.example.com", State.OK, ""),
    "mariadb-docs-show-all-slaves-status.txt": ("Yes", "Yes", 6, 0, 0, "db01.example.com", State.OK, ""),
}


@pytest.mark.parametrize("name", sorted(REPLICA))
def test_replica_status_sample(name: str) -> None:
    io, sql, lag, io_errno, sql_errno, host, verdict, reason = REPLICA[name]
    status = parse_replica_status(read(name))
    assert status.errors == []
    assert len(status.channels) == 1
    chan = status.channels[0]
    assert (chan.io_running, chan.sql_running, chan.seconds_behind) == (io, sql, lag)
    assert (chan.last_io_errno, chan.last_sql_errno, chan.master_host) == (io_errno, sql_errno, host)
    state, why = judge_channel(chan)
    assert state is verdict
    assert reason in why
    rows = evaluate_replica(status, "c", "r", observed_at=0.0)
    assert rows[0].state is verdict and rows[0].reason == why


def test_null_lag_is_never_zero() -> None:
    for name in ("pmp-delay-002-running-but-sbm-null.txt", "pmp-running-004-io-error-1236-both-stopped.txt",
                 "blog-sql-error-1062-duplicate-entry.txt"):
        chan = parse_replica_status(read(name)).channels[0]
        assert chan.seconds_behind is None and chan.seconds_behind_raw == "NULL"
        row = evaluate_replica(parse_replica_status(read(name)), "c", "r", observed_at=0)[0]
        assert row.state is not State.OK and "lag 0" not in row.value and "lag NULL" in row.value


def test_trailing_space_on_connecting_is_stripped() -> None:
    assert "Slave_IO_Running: Connecting \n" in read("pmp-running-002-io-connecting.txt")
    assert parse_replica_status(read("pmp-running-002-io-connecting.txt")).channels[0].io_running == "Connecting"


def test_io_error_1236_details() -> None:
    chan = parse_replica_status(read("pmp-running-004-io-error-1236-both-stopped.txt")).channels[0]
    assert chan.io_state == ""
    assert chan.last_io_error == ("Got fatal error 1236 from master when reading data from binary log: "
                                  "'Could not find first log file name in binary log index file'")
    assert chan.raw["Relay_Log_Space"] == "188541562295" and chan.raw["Master_Server_Id"] == "11"


def test_mysql50_multiline_last_error_and_layout() -> None:
    text = read("pmp-running-005-mysql50-sql-error-1146-multiline.txt")
    row = parse_vertical(text)[0]
    assert row["Last_Errno"] == "1146"
    assert row["Last_Error"].startswith("Error 'Table 'mydb.mytable' doesn't exist' on query. Default database: "
                                        "'mydb'.")
    assert "Query: 'UPDATE thread AS thread,mytable AS aggregate" in row["Last_Error"]
    assert row["Last_Error"].endswith("WHERE thread.threadid = aggregate.threadid'")
    assert "Query" not in row  # the continuation is not a key
    assert row["Skip_Counter"] == "0" and row["Replicate_Do_DB"] == "mydb"
    assert "Last_IO_Errno" not in row and list(row)[-1] == "Seconds_Behind_Master"
    chan = parse_replica_status(text).channels[0]
    assert chan.last_errno == 1146 and chan.last_sql_errno == 0


def test_duplicate_entry_error_1062_fields() -> None:
    chan = parse_replica_status(read("blog-sql-error-1062-duplicate-entry.txt")).channels[0]
    assert chan.last_errno == 1062 and chan.last_io_errno == 0
    assert chan.raw["Last_SQL_Error_Timestamp"] == "160113 07:58:25"
    assert chan.sql_state == "" and chan.raw["Auto_Position"] == "0"
    assert chan.raw["Last_SQL_Error"].startswith("Error 'Duplicate entry '6213' for key 'PRIMARY'' on query.")


def test_catching_up_state_and_lag() -> None:
    chan = parse_replica_status(read("blog-after-fix-catching-up-lag-46579.txt")).channels[0]
    assert chan.sql_state == "Reading event from the relay log" and chan.seconds_behind == 46579
    assert judge_channel(chan, MysqlThresholds(lag_warn=60, lag_crit=10**6))[0] is State.WARN


def test_mysql8_replica_source_names() -> None:
    chan = parse_replica_status(read("mysql80-refman-show-replica-status-healthy.txt")).channels[0]
    assert chan.naming == "replica"
    assert chan.io_state == "Waiting for source to send event"
    assert (chan.master_host, chan.master_port) == ("127.0.0.1", "13000")
    assert chan.sql_state == "Replica has read all relay log; waiting for more updates"
    assert chan.raw["Source_Info_File"] == "mysql.slave_master_info"
    assert chan.raw["Retrieved_Gtid_Set"] == "73f86016-978b-11ee-ade5-8d2a2a562feb:1-3"
    assert chan.raw["Executed_Gtid_Set"] == "73f86016-978b-11ee-ade5-8d2a2a562feb:1-3"
    assert chan.raw["Auto_Position"] == "1" and chan.connection_name == ""


def test_mariadb_gtid_fields() -> None:
    chan = parse_replica_status(read("mariadb-docs-show-slave-status-gtid-lag-6s.txt")).channels[0]
    raw = chan.raw
    assert (raw["Master_SSL_Allowed"], raw["Using_Gtid"], raw["Gtid_IO_Pos"]) == ("Yes", "Slave_Pos", "0-1-2042")
    assert (raw["Parallel_Mode"], raw["SQL_Remaining_Delay"]) == ("optimistic", "NULL")
    assert chan.sql_state == "Updating" and raw["Slave_Transactional_Groups"] == "2041"
    assert raw["Replicate_Rewrite_DB"] == ""


def test_show_all_slaves_status_extra_fields() -> None:
    chan = parse_replica_status(read("mariadb-docs-show-all-slaves-status.txt")).channels[0]
    raw = chan.raw
    assert chan.connection_name == "" and raw["Slave_SQL_State"] == "Updating"
    assert (raw["Retried_transactions"], raw["Max_relay_log_size"], raw["Executed_log_entries"]) == (
        "0", "1073741824", "6330")
    assert (raw["Slave_received_heartbeats"], raw["Slave_heartbeat_period"], raw["Gtid_Slave_Pos"]) == (
        "0", "60.000", "0-1-2041")
    assert raw["Master_last_event_time"] == "2024-12-12 06:53:52"
    assert raw["Slave_last_event_time"] == "2024-12-12 06:53:50" and raw["Master_Slave_time_diff"] == "2"


def test_show_master_status_vertical() -> None:
    status = parse_master_status(read("mysql80-refman-show-master-status-vertical.txt"))
    assert (status.file, status.position, status.binlog_do_db, status.binlog_ignore_db) == (
        "source-bin.000002", 1307, "test", "manual, mysql")
    assert status.executed_gtid_set == "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5" and status.errors == []
    row = evaluate_master(status, "c", "m", observed_at=0, read_only=False)[0]
    assert row.state is State.OK and "source-bin.000002:1307" in row.value


def test_show_binlog_status_table() -> None:
    status = parse_master_status(read("mariadb-docs-show-binlog-status-table.txt"))
    assert (status.file, status.position, status.binlog_do_db, status.binlog_ignore_db, status.gtid_binlog_pos) == (
        "mariadb-bin.000016", 475, "", "", "0-1-2")


def test_master_verdicts_read_only_and_binlog() -> None:
    status = parse_master_status(read("mariadb-docs-show-binlog-status-table.txt"))
    assert evaluate_master(status, "c", "m", observed_at=0, read_only=True)[0].state is State.WARN
    assert evaluate_master(status, "c", "m", observed_at=0, read_only=None)[0].state is State.UNKNOWN
    off = parse_master_status("")
    assert not off.binlog_enabled
    assert "binary log is off" in evaluate_master(off, "c", "m", observed_at=0, read_only=False)[0].reason


def test_replica_position_against_master() -> None:
    replica = parse_replica_status(read("mariadb-docs-show-slave-status-gtid-lag-6s.txt"))
    master = parse_master_status("File\tPosition\tBinlog_Do_DB\tBinlog_Ignore_DB\n"
                                 "mariadb-bin.000021\t17315\t\t\n")
    assert (master.file, master.position) == ("mariadb-bin.000021", 17315)
    row = evaluate_replica(replica, "c", "r", observed_at=0, master=master, read_only=True)[0]
    assert "169 bytes behind master" in row.value


def test_writable_replica_is_flagged() -> None:
    replica = parse_replica_status(read("pmp-running-001-healthy.txt"))
    row = evaluate_replica(replica, "c", "r", observed_at=0, read_only=False)[0]
    assert row.state is State.WARN and "read_only=OFF" in row.reason


def test_empty_replica_status_on_a_replica_is_crit() -> None:
    rows = evaluate_replica(parse_replica_status(""), "c", "r", observed_at=0)
    assert rows[0].state is State.CRIT and "not configured" in rows[0].reason


@pytest.mark.parametrize("text,expected", [
    ("0\n", False), ("1\n", True), ("@@read_only\n1\n", True), ("+-------------+\n| @@read_only |\n"
     "+-------------+\n|           0 |\n+-------------+\n", False), ("*** 1. row ***\n@@read_only: 1\n", True),
    ("ON", True), ("OFF", False), ("", None), ("ERROR 2002 (HY000): Can't connect", None),
])
def test_read_only_formats(text: str, expected: bool | None) -> None:
    assert parse_read_only(text) is expected


def test_overview_splits_the_three_results() -> None:
    text = ("*************************** 1. row ***************************\nhascreen_read_only: 1\n"
            + read("mysql80-refman-show-master-status-vertical.txt")
            + read("blog-sql-error-1062-duplicate-entry.txt"))
    overview = parse_overview(text)
    assert overview.read_only is True
    assert (overview.master.file, overview.master.position) == ("source-bin.000002", 1307)
    assert overview.replica.channels[0].last_sql_errno == 1062


@pytest.mark.parametrize("error,summary", [
    ("Could not execute Write_rows_v1 event on table test.t; Duplicate entry '3' for key 'PRIMARY', Error_code: "
     "1062; handler error HA_ERR_FOUND_DUPP_KEY; the event's master log mysql-bin.000001, end_log_pos 1234",
     "Duplicate entry '3' for key 'PRIMARY'"),
    ("Error 'Duplicate entry '6213' for key 'PRIMARY'' on query. Default database: 'testdb'.",
     "Duplicate entry '6213' for key 'PRIMARY'"),
    ("error connecting to master 'repl@10.0.0.1:3306' - retry-time: 60", "error connecting to master "
     "'repl@10.0.0.1:3306' - retry-time: 60"),
])
def test_error_summaries(error: str, summary: str) -> None:
    assert summarize_error(error) == summary
