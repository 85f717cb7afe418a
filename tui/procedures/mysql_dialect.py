"""The SQL a procedure sends, in the words of the server it talks to: REPLICA/SOURCE on MySQL ≥ 8.0.22
and MariaDB ≥ 10.5.1, SLAVE/MASTER before; CHANGE REPLICATION SOURCE (MySQL ≥ 8.0.23) or CHANGE MASTER;
the GTID wait functions; the dump's `--source-data` (MySQL ≥ 8.0.26) or `--master-data`.

Server facts (flavor, version, gtid_mode) come from tui.health's `ServerInfo`; this module only words
statements. Values that enter a statement are validated by the caller (tui.procedures.validation).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from tui.health.mysql import ServerInfo

PASSWORD_MARKER = "\x00password\x00"  # where a statement's password goes; filled on the node by its shell


def _printf_format(sql: str) -> str:
    """SQL as part of a double-quoted printf format: % doubled, ' as \\047, shell specials escaped."""
    text = sql.replace("%", "%%").replace("'", "\\047")
    for char in ("\\", '"', "$", "`"):
        text = text.replace(char, "\\" + char)
    return text


def piped_with_password(statements: str, password_file: str, mysql_argv: list[str]) -> list[str]:
    """`sh -c` that reads the password from a file on the node and pipes the statements, with the password
    where PASSWORD_MARKER is, into mysql's stdin (printf is a shell builtin): the password is in no argv,
    plan or log. The statements go through printf's format with ' written as \\047, so the script has no
    single quote and the plan reads as it runs. A password with ' or \\ is refused (exit 3)."""
    head, tail = statements.split(PASSWORD_MARKER)
    fmt = _printf_format(head) + "%s" + _printf_format(tail) + "\\n"
    script = (f"pw=$(cat {shlex.quote(password_file)}) || exit 3; sq=$(printf \\\\047); "
              "case $pw in *\"$sq\"*|*\\\\*) echo \"unsupported character in the password file\" >&2; exit 3;; "
              f"esac; printf \"{fmt}\" \"$pw\" | " + shlex.join(mysql_argv))
    return ["sh", "-c", script]


@dataclass(frozen=True)
class Dialect:
    info: ServerInfo

    @property
    def mysql(self) -> bool:
        return self.info.flavor == "mysql"

    def _at_least(self, mysql: tuple[int, int, int], mariadb: tuple[int, int, int]) -> bool:
        return self.info.version >= (mysql if self.mysql else mariadb)

    @property
    def replica_word(self) -> str:
        return "REPLICA" if self._at_least((8, 0, 22), (10, 5, 1)) else "SLAVE"

    @property
    def stop_replica(self) -> str:
        return f"STOP {self.replica_word}"

    @property
    def start_replica(self) -> str:
        return f"START {self.replica_word}"

    @property
    def reset_replica_all(self) -> str:
        return f"RESET {self.replica_word} ALL"

    @property
    def reset_replica(self) -> str:
        return f"RESET {self.replica_word}"

    @property
    def reset_binlogs(self) -> str:
        """Forget the binlogs and gtid_executed (MySQL 8.4 renamed RESET MASTER)."""
        return "RESET BINARY LOGS AND GTIDS" if self.mysql and self.info.version >= (8, 4, 0) else "RESET MASTER"

    @property
    def show_replica_status(self) -> str:
        return f"SHOW {self.replica_word} STATUS"

    @property
    def show_binlog_status(self) -> str:
        if self.mysql:
            return "SHOW BINARY LOG STATUS" if self.info.version >= (8, 2, 0) else "SHOW MASTER STATUS"
        return "SHOW BINLOG STATUS" if self.info.version >= (10, 5, 2) else "SHOW MASTER STATUS"

    @property
    def skip_counter(self) -> str:
        return "sql_replica_skip_counter" if self.mysql and self.info.version >= (8, 0, 26) \
            else "sql_slave_skip_counter"

    @property
    def dump_source_data(self) -> str:
        return "--source-data=2" if self.mysql and self.info.version >= (8, 0, 26) else "--master-data=2"

    def change_source(self, *, host: str, port: int, user: str | None = None, password: str | None = None,
                      gtid: bool, log_file: str | None = None, log_pos: str | int | None = None) -> str:
        """One CHANGE statement: GTID auto-position (MySQL) / MASTER_USE_GTID=slave_pos (MariaDB), else
        the exact binlog coordinates. `password` may be a placeholder the caller fills on the host."""
        modern = self.mysql and self.info.version >= (8, 0, 23)
        word = "SOURCE" if modern else "MASTER"
        parts = [f"{word}_HOST='{host}'", f"{word}_PORT={int(port)}"]
        if user:
            parts.append(f"{word}_USER='{user}'")
        if password is not None:
            parts.append(f"{word}_PASSWORD='{password}'")
        if gtid:
            parts.append("MASTER_USE_GTID=slave_pos" if not self.mysql else f"{word}_AUTO_POSITION=1")
        else:
            parts += [f"{word}_LOG_FILE='{log_file}'", f"{word}_LOG_POS={log_pos}"]
        head = "CHANGE REPLICATION SOURCE TO " if modern else "CHANGE MASTER TO "
        return head + ", ".join(parts)

    def wait_applied(self, *, gtid: str | None, log_file: str | None, log_pos: str | int | None,
                     timeout: int) -> str:
        """A SELECT that blocks on the replica until it applied the master's GTIDs (or position), at most
        timeout seconds; `applied_ok` reads its answer."""
        if gtid is not None:
            if self.mysql:
                return f"SELECT WAIT_FOR_EXECUTED_GTID_SET('{gtid}', {int(timeout)})"
            return f"SELECT MASTER_GTID_WAIT('{gtid}', {int(timeout)})"
        function = "SOURCE_POS_WAIT" if self.mysql and self.info.version >= (8, 0, 26) else "MASTER_POS_WAIT"
        return f"SELECT {function}('{log_file}', {log_pos}, {int(timeout)})"

    def applied_ok(self, answer: str, *, gtid: bool) -> bool:
        """0 from the GTID waits; a number ≥ 0 from the position waits (-1 timeout, NULL not replicating)."""
        value = answer.strip().splitlines()[-1].strip() if answer.strip() else ""
        if gtid:
            return value == "0"
        return value.lstrip("-").isdigit() and int(value) >= 0
