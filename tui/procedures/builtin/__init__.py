"""The built-in procedures, by name (what `hascreen run NAME` and `:run-procedure NAME` look up)."""

from __future__ import annotations

from tui.procedures.builtin.drbd import DrbdConnect, DrbdDemote, DrbdPromote, DrbdReplaceNode, DrbdSplitBrain
from tui.procedures.builtin.mysql import MysqlResync, MysqlSkipOne
from tui.procedures.builtin.promote import Promote
from tui.procedures.builtin.provider_ip import ProviderFailoverIp
from tui.procedures.builtin.switchover import Failover
from tui.procedures.builtin.vip import Arping
from tui.procedures.model import Procedure


def builtin_procedures() -> dict[str, Procedure]:
    procedures: list[Procedure] = [
        Failover(), Arping(), MysqlResync(), MysqlSkipOne(), DrbdConnect(), DrbdPromote(), DrbdDemote(),
        DrbdSplitBrain(), DrbdReplaceNode(), ProviderFailoverIp(), Promote(),
    ]
    return {p.name: p for p in procedures}
