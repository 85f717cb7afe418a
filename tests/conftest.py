"""Every test starts without an implicit hosts.yaml: a developer's ~/.config/hascreen/hosts.yaml or a lab
that another test session keeps up must not leak into sessions, health panels or snapshots.

$HASCREEN_HOSTS set to the empty string means "no hosts file" (tui.config.paths.find_hosts_file); tests
that want one pass --hosts or set $HASCREEN_HOSTS, and the tests of the lookup itself remove the variable.
"""

import os


def pytest_configure(config) -> None:
    os.environ.setdefault("HASCREEN_HOSTS", "")
