"""Auth failures in keepalived's log count only while they are recent on the node's own clock: after a
mismatch is healed the old "invalid passwd" lines stay in the log but must not keep the row crit."""

from pathlib import Path

import pytest

from tui.health.keepalived import parse_syslog, recent_events

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples"
CONSOLE_LOG = SAMPLES / "recorded-local" / "keepalived-2.2.7" / "authfail" / "b-console.log"  # keepalived -l
SYSLOG = SAMPLES / "keepalived" / "syslog-2x-invalid-passwd-then-backup.txt"  # classic syslog, no year


@pytest.mark.parametrize("path, during, long_after", [
    (CONSOLE_LOG, "2026-11-22 15:32:05", "2026-11-22 15:40:00"),
    (SYSLOG, "2026-06-17 20:42:55", "2026-06-17 21:30:00"),
])
def test_invalid_passwd_counts_only_within_the_window(path, during, long_after):
    log = parse_syslog(path.read_text())
    assert log.count("invalid_passwd") > 0
    assert recent_events(log, during, 20.0).count("invalid_passwd") > 0
    assert recent_events(log, long_after, 20.0).count("invalid_passwd") == 0


def test_syslog_dates_in_the_future_belong_to_last_year():
    log = parse_syslog(SYSLOG.read_text())  # "Jun 17" read on January 2nd is last June
    assert recent_events(log, "2027-01-02 00:00:00", 20.0).count("invalid_passwd") == 0


def test_an_unreadable_clock_keeps_every_event():
    log = parse_syslog(CONSOLE_LOG.read_text())
    assert recent_events(log, "not a date", 20.0).count("invalid_passwd") == log.count("invalid_passwd")
