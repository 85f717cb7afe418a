"""Configuring and starting each node's daemons: sshd, MariaDB, keepalived, and the DRBD simulator shims.

Every daemon runs inside its node (through the holder) with the node's own /run, /var/log and /etc dirs,
so pid files, sockets, logs and dumps are per host. Credentials go into files (0600), never into argv.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

from tui.lab import drbd_sim
from tui.lab.layout import (
    CLUSTER_NODES,
    DRBD_RESOURCE,
    HEARTBEAT_LOG,
    KEEPALIVED_PID,
    KEEPALIVED_RELEASE_FILE,
    KEEPALIVED_START,
    KEEPALIVED_VRRP_PID,
    MASTER_NODE,
    NODE_IPS,
    NOTIFY_STATE_FILE,
    PACEMAKER_VIP_RESOURCE,
    REPL_PASSWORD_FILE,
    REPLICA_NODE,
    SERVER_ID,
    SUBNET_PREFIX,
    TEMPLATE_CACHE,
    VIP,
    VRRP_INSTANCE,
    VRRP_PRIORITY,
    VRRP_ROUTER_ID,
    LabDir,
)
from tui.lab.processes import LabError, in_node, run

RELEASE_TRACK = "hascreen_release"
VRRP_AUTH_PASS = "hsLab77a"  # lab-only; keepalived limits auth_pass to 8 characters
VRRP_WRONG_PASS = "WRONGpw9"
TEMPLATE_VERSION = "1"


# ---------------------------------------------------------------- ssh


def write_lab_key(lab: LabDir) -> None:
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hascreen-lab", "-f", str(lab.key)])
    os.chmod(lab.key, 0o600)


def configure_sshd(lab: LabDir, node: str) -> str:
    """Write the node's sshd config and host key; returns the host public key line (type + key)."""
    run_dir = lab.node_mount_source(node, "/run")
    key = run_dir / "ssh_host_ed25519_key"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{node}", "-f", str(key)])
    (run_dir / "sshd_config").write_text(
        f"ListenAddress {NODE_IPS[node]}:22\n"
        "HostKey /run/ssh_host_ed25519_key\n"
        "PidFile /run/sshd.pid\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "StrictModes no\n"
        "PermitRootLogin prohibit-password\n"
        "AuthorizedKeysFile /root/.ssh/authorized_keys\n"
        "UseDNS no\n"
        "PrintMotd no\n"
        "MaxStartups 64:30:128\n"
        "MaxSessions 64\n"
        "Subsystem sftp internal-sftp\n"
    )
    ssh_dir = lab.node_mount_source(node, "/root") / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    shutil.copyfile(lab.key.with_suffix(".pub"), ssh_dir / "authorized_keys")
    # A login shell without rc files: command probes stay fast and quiet.
    (lab.node_mount_source(node, "/root") / ".bashrc").write_text("# hascreen lab node\n")
    pub = (run_dir / "ssh_host_ed25519_key.pub").read_text().split()
    return f"{pub[0]} {pub[1]}"


def trust_between_nodes(lab: LabDir, host_keys: dict[str, str]) -> None:
    """The nodes may ssh to each other (a replica pulls its resync dump straight from the master), with a
    peer key of their own and the nodes' real host keys pinned: the operator's lab key never enters a node."""
    from tui.lab.client_files import known_hosts

    peer_key = lab.root / "peer_ed25519"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hascreen-lab-peer", "-f", str(peer_key)])
    for node in host_keys:
        ssh_dir = lab.node_mount_source(node, "/root") / ".ssh"
        shutil.copyfile(peer_key, ssh_dir / "id_ed25519")
        os.chmod(ssh_dir / "id_ed25519", 0o600)
        with open(ssh_dir / "authorized_keys", "a") as authorized:
            authorized.write(peer_key.with_suffix(".pub").read_text())
        (ssh_dir / "known_hosts").write_text(known_hosts(host_keys))


def start_sshd(holder: int) -> None:
    in_node(holder, "/usr/sbin/sshd -f /run/sshd_config -E /var/log/sshd.log")


# ---------------------------------------------------------------- MariaDB


def _secrets_path() -> Path:
    return TEMPLATE_CACHE / "secrets.json"


def _template_dir() -> Path:
    return TEMPLATE_CACHE / f"mysql-template-v{TEMPLATE_VERSION}"


def mysql_secrets() -> dict[str, str]:
    return json.loads(_secrets_path().read_text())


def ensure_mysql_template() -> float:
    """Initialise a datadir once (app db, users) and keep it in the cache; returns seconds spent."""
    template = _template_dir()
    if (template / ".complete").exists() and _secrets_path().exists():
        return 0.0
    began = time.monotonic()
    TEMPLATE_CACHE.mkdir(parents=True, exist_ok=True)
    os.chmod(TEMPLATE_CACHE, 0o700)
    shutil.rmtree(template, ignore_errors=True)
    secret = {"root": secrets.token_hex(12), "repl": secrets.token_hex(12)}
    fd = os.open(_secrets_path(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(secret, fh)
    template.mkdir()
    run(["chown", "mysql:mysql", str(template)])
    os.chmod(TEMPLATE_CACHE, 0o755)  # mysqld (user mysql) must traverse to the template
    common = [f"--datadir={template}", "--innodb-log-file-size=8M", "--innodb-buffer-pool-size=16M"]
    run(["mariadb-install-db", "--no-defaults", "--user=mysql", "--skip-test-db",
         "--auth-root-authentication-method=socket", *common], timeout=120)
    init_dir = TEMPLATE_CACHE / "init"  # socket and pid file of the one-off server, writable by mysql
    init_dir.mkdir(exist_ok=True)
    run(["chown", "mysql:mysql", str(init_dir)])
    sock = init_dir / "init.sock"
    server = subprocess.Popen(["mariadbd", "--no-defaults", "--user=mysql", *common, "--skip-networking",
                               f"--socket={sock}", f"--pid-file={init_dir / 'init.pid'}",
                               "--skip-log-bin", "--performance-schema=OFF"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: sock.exists(), 30, "template mariadbd socket")
        sql = (
            "ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password "
            f"USING PASSWORD('{secret['root']}');\n"
            f"CREATE USER repl@'10.213.77.%' IDENTIFIED BY '{secret['repl']}';\n"
            "GRANT REPLICATION SLAVE ON *.* TO repl@'10.213.77.%';\n"
            "CREATE DATABASE app;\n"
            "CREATE TABLE app.items (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL,"
            " updated TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB;\n"
            "INSERT INTO app.items (id, name) VALUES " +
            ",".join(f"({i}, 'item {i}')" for i in range(1, 11)) + ";\n"
        )
        run(["mariadb", "--no-defaults", f"--socket={sock}", "-u", "root"], stdin=sql)
        run(["mariadb-admin", "--no-defaults", f"--socket={sock}", "-u", "root", "shutdown"])
        server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    shutil.rmtree(init_dir, ignore_errors=True)
    (template / ".complete").write_text("ok\n")
    return time.monotonic() - began


def configure_mysql(lab: LabDir, node: str) -> None:
    datadir = lab.node_mount_source(node, "/var/lib/mysql")
    run(["cp", "-a", "--reflink=auto", f"{_template_dir()}/.", str(datadir)])
    (datadir / ".complete").unlink(missing_ok=True)
    replica = node == REPLICA_NODE
    (lab.node_mount_source(node, "/etc/mysql") / "my.cnf").write_text(
        "[client-server]\nsocket = /run/mysqld/mysqld.sock\n\n"
        "[mysqld]\nuser = mysql\ndatadir = /var/lib/mysql\npid-file = /run/mysqld/mysqld.pid\n"
        # every address of the node: the VIP too, so that applications connect through it
        "bind-address = 0.0.0.0\nport = 3306\nskip-name-resolve\n"
        f"server-id = {SERVER_ID[node]}\nlog-bin = mysql-bin\nrelay-log = relay-bin\n"
        "binlog_format = ROW\nlog-slave-updates\n"
        "innodb_buffer_pool_size = 16M\ninnodb_log_file_size = 8M\nperformance_schema = OFF\n"
        "log-error = /var/log/mysql/error.log\n"
        + ("read_only = ON\nslave_net_timeout = 4\n" if replica else "")
    )
    root_pw = mysql_secrets()["root"]
    opt = lab.node_mount_source(node, "/root") / ".my.cnf"
    fd = os.open(opt, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"[client]\nuser = root\npassword = {root_pw}\n")
    repl = lab.node_mount_source(node, "/root") / Path(REPL_PASSWORD_FILE).name
    fd = os.open(repl, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(mysql_secrets()["repl"] + "\n")


def start_mysql(holder: int) -> None:
    in_node(holder, "setsid -f /usr/sbin/mariadbd >>/var/log/mysql/stdout.log 2>&1 </dev/null")


def wait_mysql(holder: int, timeout: float = 30.0) -> None:
    _wait_for(lambda: in_node(holder, "mariadb -N -e 'SELECT 1'", check=False).returncode == 0,
              timeout, "mariadbd ready")


def mysql(holder: int, sql: str, *, check: bool = True, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run SQL on the node via its option file (credentials never in argv)."""
    return in_node(holder, "mariadb --batch", stdin=sql, check=check, timeout=timeout)


def mysql_value(holder: int, sql: str) -> str:
    """The single value (or row, tab-separated) a query returns, without the column header."""
    return in_node(holder, "mariadb --batch --skip-column-names", stdin=sql + ";\n").stdout.strip()


def change_master_sql(delay: int = 0) -> str:
    repl_pw = mysql_secrets()["repl"]
    return (f"CHANGE MASTER TO MASTER_HOST='{NODE_IPS[MASTER_NODE]}', MASTER_USER='repl', "
            f"MASTER_PASSWORD='{repl_pw}', MASTER_PORT=3306, MASTER_CONNECT_RETRY=1, "
            f"MASTER_USE_GTID=slave_pos, MASTER_DELAY={int(delay)};\n")


def start_replication(holder_replica: int) -> None:
    mysql(holder_replica, "STOP SLAVE;\n" + change_master_sql() + "START SLAVE;\n")


def slave_status(holder_replica: int) -> dict[str, str]:
    out = mysql(holder_replica, "SHOW SLAVE STATUS\\G", check=False).stdout
    fields = {}
    for line in out.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def replication_healthy(status: dict[str, str]) -> bool:
    return (status.get("Slave_IO_Running") == "Yes" and status.get("Slave_SQL_Running") == "Yes"
            and status.get("Last_SQL_Errno") == "0" and status.get("SQL_Delay") == "0")


# ---------------------------------------------------------------- keepalived


def configure_keepalived(lab: LabDir, node: str, auth_pass: str = VRRP_AUTH_PASS) -> None:
    conf_dir = lab.node_mount_source(node, "/etc/keepalived")
    notify = conf_dir / "notify.sh"
    notify.write_text(
        "#!/bin/sh\n# keepalived notify: TYPE NAME STATE PRIORITY\n"
        f"printf '%s\\n' \"$3\" > {NOTIFY_STATE_FILE}.tmp && mv {NOTIFY_STATE_FILE}.tmp {NOTIFY_STATE_FILE}\n"
    )
    os.chmod(notify, 0o755)
    # Both BACKUP + nopreempt (the higher priority wins at start): a node released by a switchover (its
    # release file back to 0) or whose keepalived is started again joins as BACKUP instead of taking the VIP back.
    state = "BACKUP"
    (conf_dir / Path(KEEPALIVED_RELEASE_FILE).name).write_text("0\n")
    (conf_dir / "keepalived.conf").write_text(
        "global_defs {\n"
        f"    router_id {node}\n"
        "    script_user root\n"
        "    enable_script_security\n"
        "}\n\n"
        # weight 0: a non-zero value puts the instance in FAULT (it drops the VIP); a (re)start reads 0
        f"track_file {RELEASE_TRACK} {{\n"
        f"    file \"{KEEPALIVED_RELEASE_FILE}\"\n"
        "    weight 0\n"
        "    init_file 0 overwrite\n"
        "}\n\n"
        f"vrrp_instance {VRRP_INSTANCE} {{\n"
        f"    state {state}\n"
        "    interface eth0\n"
        f"    virtual_router_id {VRRP_ROUTER_ID}\n"
        f"    priority {VRRP_PRIORITY[node]}\n"
        "    nopreempt\n"
        "    advert_int 1\n"
        "    authentication {\n"
        "        auth_type PASS\n"
        f"        auth_pass {auth_pass}\n"
        "    }\n"
        "    virtual_ipaddress {\n"
        f"        {VIP}/{SUBNET_PREFIX} dev eth0\n"
        "    }\n"
        "    notify /etc/keepalived/notify.sh\n"
        f"    track_file {{\n        {RELEASE_TRACK}\n    }}\n"
        "}\n"
    )


def end_release(lab: LabDir, node: str) -> bool:
    """Write 0 to the node's keepalived release file when it holds anything else; True when it did."""
    path = lab.node_mount_source(node, "/etc/keepalived") / Path(KEEPALIVED_RELEASE_FILE).name
    if not path.exists() or path.read_text().strip() == "0":
        return False
    path.write_text("0\n")
    return True


def keepalived_auth_pass(lab: LabDir, node: str) -> str | None:
    conf = lab.node_mount_source(node, "/etc/keepalived") / "keepalived.conf"
    for line in conf.read_text().splitlines() if conf.exists() else []:
        if line.strip().startswith("auth_pass"):
            return line.split()[1]
    return None


def start_keepalived(holder: int) -> None:
    in_node(holder, KEEPALIVED_START)


def keepalived_pids(holder: int) -> list[int]:
    """Node-local pids of keepalived (parent and VRRP child) that are alive."""
    out = in_node(holder, f"for f in {KEEPALIVED_PID} {KEEPALIVED_VRRP_PID}; do [ -r $f ] && cat $f; done; true",
                  check=False).stdout.split()
    alive = []
    for pid in out:
        if pid.isdigit() and in_node(holder, f"grep -qs keepalived /proc/{pid}/comm", check=False).returncode == 0:
            alive.append(int(pid))
    return alive


def stop_keepalived(holder: int, sig: str = "TERM", timeout: float = 10.0) -> None:
    pids = keepalived_pids(holder)
    if not pids:
        return
    if sig == "KILL":
        # One signal to the whole process group (keepalived runs in its own session): killing the parent
        # first would let the VRRP child clean up the VIP, killing the child first would get it respawned.
        in_node(holder, f"/bin/kill -KILL -- -{min(pids)}", check=False)
    else:
        in_node(holder, f"kill -{sig} " + " ".join(str(p) for p in pids), check=False)
    _wait_for(lambda: not keepalived_pids(holder), timeout, "keepalived to stop")
    in_node(holder, f"rm -f {KEEPALIVED_PID} {KEEPALIVED_VRRP_PID}", check=False)


def vrrp_state(holder: int) -> str:
    return in_node(holder, f"cat {NOTIFY_STATE_FILE} 2>/dev/null; true", check=False).stdout.strip()


def has_vip(holder: int) -> bool:
    out = in_node(holder, "ip -o -4 addr show dev eth0", check=False).stdout
    return f" {VIP}/" in out


# ---------------------------------------------------------------- Heartbeat (v1, haresources)

HEARTBEAT_BIN = "/usr/libexec/heartbeat/heartbeat"
HEARTBEAT_RESOURCE = f"IPaddr2::{VIP}/{SUBNET_PREFIX}/eth0"


def configure_heartbeat(lab: LabDir, node: str, auth_key: str) -> None:
    """ha.cf (ucast to the peer, crm off), authkeys (0600), haresources (node-a owns the VIP), own hb_uuid."""
    ha_d = lab.node_mount_source(node, "/etc/ha.d")
    peer = next(n for n in CLUSTER_NODES if n != node)
    (ha_d / "ha.cf").write_text(
        f"logfile {HEARTBEAT_LOG}\n"
        "keepalive 500ms\nwarntime 2\ndeadtime 3\ninitdead 6\n"
        "udpport 694\n"
        f"ucast eth0 {NODE_IPS[peer]}\n"
        "auto_failback on\n"
        + "".join(f"node {n}\n" for n in CLUSTER_NODES)
        + "crm no\n"
    )
    fd = os.open(ha_d / "authkeys", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"auth 1\n1 sha1 {auth_key}\n")
    (ha_d / "haresources").write_text(f"{MASTER_NODE} {HEARTBEAT_RESOURCE}\n")
    uuid_file = lab.node_mount_source(node, "/var/lib/heartbeat") / "hb_uuid"
    uuid_file.write_bytes(secrets.token_bytes(16))  # must differ per node
    os.chmod(uuid_file, 0o600)


def start_heartbeat(holder: int) -> None:
    in_node(holder, "mkdir -p /run/heartbeat/ccm /run/heartbeat/rsctmp /run/heartbeat/dopd && "
                    "chown hacluster:haclient /run/heartbeat/ccm && "
                    f"{HEARTBEAT_BIN} >>{HEARTBEAT_LOG} 2>&1 </dev/null")


def heartbeat_running(holder: int) -> bool:
    return in_node(holder, "cl_status hbstatus", check=False).returncode == 0


def stop_heartbeat(holder: int, timeout: float = 20.0) -> None:
    if heartbeat_running(holder):
        in_node(holder, f"{HEARTBEAT_BIN} -k", check=False, timeout=timeout)
    _wait_for(lambda: not heartbeat_running(holder), timeout, "heartbeat to stop")


# ---------------------------------------------------------------- Pacemaker + corosync


def configure_pacemaker(lab: LabDir, node: str) -> None:
    """corosync.conf (knet, two_node) and a pre-seeded CIB: no fencing, a short DC deadtime, the VIP
    as an IPaddr2 primitive that prefers node-a."""
    nodelist = "".join(
        f"    node {{\n        ring0_addr: {NODE_IPS[n]}\n        name: {n}\n        nodeid: {i + 1}\n    }}\n"
        for i, n in enumerate(CLUSTER_NODES))
    (lab.node_mount_source(node, "/etc/corosync") / "corosync.conf").write_text(
        "totem {\n    version: 2\n    cluster_name: hascreen-lab\n    transport: knet\n"
        "    crypto_cipher: none\n    crypto_hash: none\n    token: 1000\n}\n"
        f"nodelist {{\n{nodelist}}}\n"
        "quorum {\n    provider: corosync_votequorum\n    two_node: 1\n}\n"
        "logging {\n    to_logfile: yes\n    logfile: /var/log/corosync/corosync.log\n    to_syslog: no\n"
        "    to_stderr: no\n    timestamp: on\n}\n"
    )
    cib_dir = lab.node_mount_source(node, "/var/lib/pacemaker") / "cib"
    for old in cib_dir.iterdir():
        old.unlink()
    cib = cib_dir / "cib.xml"
    cib.write_text(f"""\
<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="opt-stonith-enabled" name="stonith-enabled" value="false"/>
        <nvpair id="opt-dc-deadtime" name="dc-deadtime" value="2s"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources>
      <primitive id="{PACEMAKER_VIP_RESOURCE}" class="ocf" provider="heartbeat" type="IPaddr2">
        <instance_attributes id="vip-params">
          <nvpair id="vip-ip" name="ip" value="{VIP}"/>
          <nvpair id="vip-cidr" name="cidr_netmask" value="{SUBNET_PREFIX}"/>
          <nvpair id="vip-nic" name="nic" value="eth0"/>
        </instance_attributes>
        <operations>
          <op id="vip-monitor" name="monitor" interval="2s"/>
        </operations>
      </primitive>
    </resources>
    <constraints>
      <rsc_location id="vip-prefers-{MASTER_NODE}" rsc="{PACEMAKER_VIP_RESOURCE}" node="{MASTER_NODE}" score="100"/>
    </constraints>
  </configuration>
  <status/>
</cib>
""")
    os.chmod(cib, 0o600)
    log_dir = lab.node_mount_source(node, "/var/log")
    (log_dir / "corosync").mkdir(exist_ok=True)
    (log_dir / "pacemaker").mkdir(exist_ok=True)
    run(["chown", "-R", "hacluster:haclient", str(cib_dir), str(log_dir / "pacemaker")])


def start_pacemaker(holder: int) -> None:
    in_node(holder, "corosync && setsid -f pacemakerd >>/var/log/pacemaker/pacemakerd.out 2>&1 </dev/null")


def pacemaker_running(holder: int) -> bool:
    out = in_node(holder, "ps -e -o comm=", check=False).stdout.split()
    return "corosync" in out and "pacemakerd" in out


# ---------------------------------------------------------------- DRBD simulator


def install_drbd_shims(lab: LabDir, node: str) -> None:
    sbin = lab.node_mount_source(node, "/usr/local/sbin")
    target = sbin / "drbd-sim"
    shutil.copyfile(Path(drbd_sim.__file__), target)
    os.chmod(target, 0o755)
    for name in ("drbdadm", "drbdsetup"):
        link = sbin / name
        link.unlink(missing_ok=True)
        link.symlink_to("drbd-sim")
    drbd_d = lab.node_mount_source(node, "/etc/drbd.d")
    (drbd_d / "global_common.conf").write_text(
        "global {\n\tusage-count no;\n}\ncommon {\n\tnet {\n\t\tprotocol C;\n\t}\n}\n")
    ons = "".join(
        f"\ton {peer} {{\n\t\tnode-id {i};\n\t\taddress {NODE_IPS[peer]}:7789;\n\t}}\n"
        for i, peer in enumerate(CLUSTER_NODES))
    (drbd_d / f"{DRBD_RESOURCE}.res").write_text(
        f"# SIMULATED by the hascreen lab: no DRBD kernel module on this machine.\n"
        f"resource {DRBD_RESOURCE} {{\n\tdevice /dev/drbd0;\n\tdisk /dev/lab-vg/{DRBD_RESOURCE};\n"
        f"\tmeta-disk internal;\n{ons}}}\n")


def init_drbd_state(lab: LabDir) -> None:
    lab.drbd_shared.mkdir(parents=True, exist_ok=True)
    drbd_sim.write_initial_state(lab.drbd_shared / drbd_sim.STATE_FILE_NAME, DRBD_RESOURCE,
                                 list(CLUSTER_NODES), primary=MASTER_NODE,
                                 addresses={n: NODE_IPS[n] for n in CLUSTER_NODES})


def drbd_cmd(holder: int, args: str, *, check: bool = False) -> subprocess.CompletedProcess[str]:
    return in_node(holder, "drbdadm " + args, check=check)


# ---------------------------------------------------------------- helpers


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise LabError(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_for(predicate, timeout: float, what: str) -> None:
    _wait_for(predicate, timeout, what)
