"""The lab: a real two-node HA cluster (plus an observer gateway) in Linux network namespaces.

Owns building, breaking, healing and tearing down the lab that the demo and the integration tests run on:
sshd, MariaDB master/replica, keepalived VRRP with a VIP, and a *simulated* DRBD resource (no kernel
module here). Stdlib (and tui.config.paths for its directory) only: it shells out to ip, nsenter, unshare,
sshd, mariadbd, keepalived and nft.
Entry point: `tui.lab.cli.main(argv)` (exposed as `hascreen lab ...` and `python -m tui.lab ...`).
"""
