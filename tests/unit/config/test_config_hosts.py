"""hosts.yaml: the annotated lab example, valid files into typed objects, and a table of malformed
files that must each report their line-numbered error (file:line: key: message)."""

import dataclasses
import os
import re
from pathlib import Path

import pytest

import tui.config.hosts as hosts_schema
from tui.config import ConfigErrors
from tui.config.hosts import BUILTIN_LAYOUTS, HostsConfig, load_hosts, summarize
from tui.config.paths import find_hosts_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "config" / "hosts"
REPO_HOSTS = Path(__file__).resolve().parents[3] / "hosts.yaml"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "config.md"


def errors_of(name: str) -> list[str]:
    with pytest.raises(ConfigErrors) as info:
        load_hosts(FIXTURES / name)
    return [str(error) for error in info.value.errors]


# --- the lab example at the repository root ------------------------------------------------------------

def test_repo_hosts_yaml_describes_the_lab():
    config = load_hosts(REPO_HOSTS)
    assert {name: host.address for name, host in config.hosts.items()} == {
        "node-a": "10.213.77.11", "node-b": "10.213.77.12", "gw": "10.213.77.254",
    }
    assert all(host.user == "root" and host.port == 22 for host in config.hosts.values())
    db = config.clusters["db"]
    assert db.members == ("node-a", "node-b")
    assert db.manager == "keepalived"
    assert db.drbd.resources == ("r0",)
    assert db.mysql.master == "node-a" and db.mysql.replicas == ("node-b",)
    assert db.mysql.option_file == "/root/.my.cnf"
    assert db.keepalived.instance == "VI_1"
    assert (db.vip.address, db.vip.prefix, db.vip.interface, db.vip.gateway) == (
        "10.213.77.100", 24, "eth0", "10.213.77.254")
    assert db.vip.with_prefix == "10.213.77.100/24"


SCHEMA_KEYS = sorted(set(hosts_schema.TOP_KEYS + hosts_schema.DEFAULTS_KEYS + hosts_schema.HOST_KEYS
                          + hosts_schema.CLUSTER_KEYS + hosts_schema.DRBD_KEYS + hosts_schema.MYSQL_KEYS
                          + hosts_schema.KEEPALIVED_KEYS + hosts_schema.HEARTBEAT_KEYS
                          + hosts_schema.PACEMAKER_KEYS + hosts_schema.VIP_KEYS + hosts_schema.PROVIDER_KEYS
                          + hosts_schema.LAYOUT_KEYS + hosts_schema.FENCING_KEYS))


@pytest.mark.parametrize("key", SCHEMA_KEYS)
def test_repo_hosts_yaml_shows_and_explains_every_schema_key(key):
    lines = [line for line in REPO_HOSTS.read_text().splitlines() if re.search(rf"\b{key}:", line)]
    assert lines, f"{key} is not shown in hosts.yaml"
    assert any("#" in line for line in lines), f"{key} has no comment in hosts.yaml"


@pytest.mark.parametrize("key", SCHEMA_KEYS)
def test_docs_describe_every_schema_key(key):
    assert f"`{key}`" in DOCS.read_text()


# --- valid files ---------------------------------------------------------------------------------------

def test_full_valid_file_becomes_typed_frozen_objects():
    config = load_hosts(FIXTURES / "valid-full.yaml")
    assert isinstance(config, HostsConfig)
    assert config.defaults.user == "admin" and config.defaults.port == 2222
    assert config.defaults.keepalive == 10 and config.defaults.health_interval == 2.5
    assert config.defaults.known_hosts == str(FIXTURES / "known_hosts")
    bastion, db1, db2, web1 = (config.hosts[n] for n in ("bastion", "db1", "db2", "web1"))
    assert (bastion.address, bastion.port, bastion.user) == ("bastion.example.net", 22, "admin")
    assert (db1.jump, db1.remote_multiplexer, db1.port, db1.keepalive) == ("bastion", "tmux", 2222, 10)
    assert db1.identity == str(FIXTURES / "keys" / "id_db")
    assert db2.address == "2001:db8::12" and db2.tags == ("db", "v6")
    assert web1.address == "web1" and web1.remote_multiplexer == "none"
    db = config.clusters["db"]
    assert db.manager == "pacemaker" and db.layout == "stacked"
    assert db.drbd.version == "8.4" and db.drbd.resources == ("r0", "r1")
    assert db.mysql.port == 3307 and db.mysql.option_file == "/etc/mysql/hascreen.cnf"
    assert db.pacemaker.node_names == {"db1": "pcmk-1", "db2": "pcmk-2"}
    assert db.vip.interface == "bond0.12"
    assert db.provider_ip.ip == "203.0.113.10"
    assert db.provider_ip.token_file == "/etc/hascreen/provider.token"
    assert config.clusters["web"].heartbeat.resources == ("nginx",)
    assert config.layouts["stacked"].direction == "horizontal"
    assert config.layouts["per-node"] == BUILTIN_LAYOUTS["per-node"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        db1.port = 1  # type: ignore[misc]


def test_minimal_file_gets_defaults_and_builtin_layouts():
    config = load_hosts(FIXTURES / "valid-minimal.yaml")
    alpha = config.hosts["alpha"]
    assert (alpha.address, alpha.port, alpha.user, alpha.keepalive) == ("alpha", 22, None, 15)
    assert config.clusters == {}
    assert set(config.layouts) == {"per-node", "split"}


def test_summary_lists_hosts_clusters_and_layouts():
    text = summarize(load_hosts(FIXTURES / "valid-full.yaml"))
    assert "4 hosts, 2 clusters, 3 layouts" in text
    assert "admin@192.0.2.11:2222" in text and "via bastion" in text
    assert "vip 192.0.2.100/24 on bond0.12 gw 192.0.2.1" in text
    assert "drbd 8.4: r0, r1" in text


# --- malformed files: each gives its line-numbered error --------------------------------------------

MALFORMED = [
    ("unknown-top-key.yaml", 4, "cluster", 'unknown key (did you mean "clusters"?)'),
    ("unknown-host-key.yaml", 3, "hosts.node-a.adress", 'unknown key (did you mean "address"?)'),
    ("port-not-integer.yaml", 4, "hosts.node-a.port", "expected an integer, got a string ('twenty-two')"),
    ("port-out-of-range.yaml", 2, "defaults.port", "70000 is out of range 1..65535"),
    ("invalid-host-ip.yaml", 3, "hosts.node-a.address", "'10.213.77.300' is not a valid IP address"),
    ("invalid-dns-name.yaml", 3, "hosts.node-a.address", "neither an IP address nor a valid DNS name"),
    ("vip-invalid.yaml", 9, "clusters.db.vip.address", "'10.0.0.1000' is not a valid IP address"),
    ("vip-invalid.yaml", 12, "clusters.db.vip.gateway", "'10.0.0.254/24' is not a valid IP address"),
    ("cluster-unknown-host.yaml", 8, "clusters.db.members[1]", "unknown host 'node-c'"),
    ("duplicate-host.yaml", 6, "hosts.node-a", "duplicate key: already given on line 2"),
    ("cluster-missing-members.yaml", 4, "clusters.db.members", "missing (required)"),
    ("cluster-one-member.yaml", 5, "clusters.db.members", "needs at least 2 entries, got 1"),
    ("bad-manager.yaml", 7, "clusters.db.manager", "'keepalive' is not one of keepalived, heartbeat, pacemaker, none"),
    ("keepalived-section-missing.yaml", 7, "clusters.db.keepalived", "add a keepalived section"),
    ("jump-unknown.yaml", 4, "hosts.node-a.jump", "unknown host 'bastoin' (did you mean \"bastion\"?)"),
    ("jump-loop.yaml", 3, "hosts.a.jump", "jump hosts loop: a -> b -> a"),
    ("jump-loop.yaml", 5, "hosts.b.jump", "jump hosts loop: b -> a -> b"),
    ("mysql-password.yaml", 10, "clusters.db.mysql.password", "secrets never go in hosts.yaml"),
    ("provider-token.yaml", 11, "clusters.db.provider_ip.token", "give token_file"),
    ("provider-token.yaml", 9, "clusters.db.provider_ip.token_file", "missing (required)"),
    ("drbd-bad-version.yaml", 10, "clusters.db.drbd.version", "expected 9 or 8.4, got a number (8.3)"),
    ("mysql-master-not-member.yaml", 10, "clusters.db.mysql.master", "'node-c' is not a member of this cluster"),
    ("mysql-master-not-member.yaml", 12, "clusters.db.mysql.option_file", "must be an absolute path"),
    ("tags-not-list.yaml", 4, "hosts.node-a.tags", "expected a list, got a string ('db')"),
    ("bad-multiplexer.yaml", 4, "hosts.node-a.remote_multiplexer", "'byobu' is not one of none, screen, tmux, dtach"),
    ("vip-missing-interface.yaml", 8, "clusters.db.vip.interface", "missing (required)"),
    ("unknown-layout.yaml", 8, "clusters.db.layout", "unknown layout 'splitt' (did you mean \"split\"?)"),
    ("failover-settings-bad.yaml", 10, "clusters.db.drbd.moved_by", "'pacemaker' is not one of hascreen, manager"),
    ("failover-settings-bad.yaml", 14, "clusters.db.mysql.drain", "'sometimes' is not one of none, kill"),
    ("failover-settings-bad.yaml", 15, "clusters.db.mysql.catchup_timeout", "0 is out of range 1..3600"),
    ("failover-settings-bad.yaml", 16, "clusters.db.mysql.replication_password_file", "must be an absolute path"),
    ("failover-settings-bad.yaml", 19, "clusters.db.keepalived.start_command", "a string"),
    ("failover-settings-bad.yaml", 20, "clusters.db.keepalived.release_file", "must be an absolute path"),
    ("failover-settings-bad.yaml", 22, "clusters.db.fencing.method", "'ipmi' is not one of confirm, stonith"),
    ("health-source-unknown.yaml", 8, "clusters.db.health_source", "'prometeus' is not one of ssh, prometheus, auto"),
    ("health-source-without-url.yaml", 8, "clusters.db.health_source",
     "auto reads Prometheus: give its URL as `prometheus: http://HOST:9090`"),
    ("prometheus-url-invalid.yaml", 2, "defaults.prometheus", "'ftp://prometheus.example:9090' is not an http(s) URL"),
    ("prometheus-url-invalid.yaml", 11, "clusters.db.prometheus", "no credentials in the Prometheus URL"),
    ("prometheus-url-invalid.yaml", 15, "clusters.web.prometheus", "without ?query or #fragment"),
]


@pytest.mark.parametrize(("fixture", "line", "key", "message"), MALFORMED,
                         ids=[f"{m[0]}:{m[1]}" for m in MALFORMED])
def test_malformed_hosts_file_names_file_line_and_key(fixture, line, key, message):
    errors = errors_of(fixture)
    expected_start = f"{FIXTURES / fixture}:{line}: {key}: "
    matching = [e for e in errors if e.startswith(expected_start)]
    assert matching, f"no error at {expected_start!r} in {errors}"
    assert message in matching[0][len(expected_start):]


def test_every_malformed_fixture_is_in_the_table():
    listed = {row[0] for row in MALFORMED}
    valid_or_special = {"valid-full.yaml", "valid-minimal.yaml", "syntax-error.yaml", "many-errors.yaml",
                        "not-a-mapping.yaml", "empty.yaml"}
    assert {p.name for p in FIXTURES.glob("*.yaml")} - valid_or_special == listed
    assert len(listed) >= 15


def test_all_errors_of_a_file_come_at_once_in_line_order():
    path = FIXTURES / "many-errors.yaml"
    assert errors_of("many-errors.yaml") == [
        f"{path}:2: defaults.keepalive: expected an integer, got a string ('forever')",
        f"{path}:6: hosts.node-a.port: 0 is out of range 1..65535",
        f"{path}:8: hosts.node-b.address: '10.0.0.999' is not a valid IP address",
        f"{path}:11: clusters.db.members[1]: unknown host 'node-x' (did you mean \"node-b\"?)",
        f"{path}:13: clusters.db.vip.prefix: 33 is out of range 0..32",
    ]


def test_a_host_with_errors_is_not_also_reported_as_unknown_in_clusters():
    errors = errors_of("many-errors.yaml")
    assert not any("node-b'" in e and "unknown host" in e for e in errors)


def test_jump_loop_is_reported_once_per_host_on_the_loop():
    errors = errors_of("jump-loop.yaml")
    assert len(errors) == 2  # c jumps into the loop but is not on it


def test_syntax_error_gives_file_and_line():
    assert errors_of("syntax-error.yaml") == [
        f"{FIXTURES / 'syntax-error.yaml'}:4: YAML syntax error: expected <block end>, but found "
        "'<block mapping start>'",
    ]


def test_a_file_that_is_not_a_mapping_or_is_empty_is_refused():
    assert errors_of("not-a-mapping.yaml") == [f"{FIXTURES / 'not-a-mapping.yaml'}:1: expected a mapping, got a list"]
    assert errors_of("empty.yaml") == [f"{FIXTURES / 'empty.yaml'}: the file is empty: it needs at least a hosts section"]


def test_unreadable_and_non_utf8_files_are_clear_errors(tmp_path):
    with pytest.raises(ConfigErrors) as info:
        load_hosts(tmp_path / "missing.yaml")
    assert str(info.value).startswith(f"{tmp_path / 'missing.yaml'}: cannot read the file")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"hosts:\n  caf\xe9:\n")
    with pytest.raises(ConfigErrors) as info:
        load_hosts(latin)
    assert str(info.value) == f"{latin}:2: not UTF-8 text (byte 0xe9)"


def test_alias_bombs_are_refused_not_expanded(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\nhosts: {x: *a6}\n")
    with pytest.raises(ConfigErrors) as info:
        load_hosts(bomb)
    assert "too many values" in str(info.value)


# --- lookup order ----------------------------------------------------------------------------------------

def test_find_hosts_file_lookup_order(tmp_path, monkeypatch):
    home_config = tmp_path / "xdg" / "hascreen"
    home_config.mkdir(parents=True)
    (home_config / "hosts.yaml").write_text("hosts: {a: }\n")
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "hosts.yaml").write_text("hosts: {l: }\n")
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "hosts.yaml").write_text("hosts: {b: }\n")  # never looked at: may be an Ansible inventory
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HASCREEN_LAB_DIR", str(lab))
    monkeypatch.delenv("HASCREEN_HOSTS", raising=False)
    monkeypatch.chdir(workdir)
    assert find_hosts_file() == home_config / "hosts.yaml"
    monkeypatch.setenv("HASCREEN_HOSTS", str(tmp_path / "env.yaml"))
    assert find_hosts_file() == tmp_path / "env.yaml"  # returned even if missing: the loader says so
    assert find_hosts_file(tmp_path / "explicit.yaml") == tmp_path / "explicit.yaml"
    monkeypatch.setenv("HASCREEN_HOSTS", "")
    assert find_hosts_file() is None  # explicitly none
    monkeypatch.delenv("HASCREEN_HOSTS")
    os.remove(home_config / "hosts.yaml")
    assert find_hosts_file() == lab / "hosts.yaml"  # the lab, while it is up
    os.remove(lab / "hosts.yaml")
    assert find_hosts_file() is None


def test_a_jump_to_a_host_with_its_own_errors_is_not_called_unknown(tmp_path):
    path = tmp_path / "hosts.yaml"
    path.write_text("hosts:\n  a:\n    jump: b\n  b:\n    port: 0\n")
    with pytest.raises(ConfigErrors) as info:
        load_hosts(path)
    assert [str(e) for e in info.value.errors] == [f"{path}:5: hosts.b.port: 0 is out of range 1..65535"]
