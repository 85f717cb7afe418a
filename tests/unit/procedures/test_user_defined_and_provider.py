"""User-defined procedures from YAML (loading, file:line:key errors, running through the same engine) and
the provider failover-IP procedure against a local fake robot API (http.server on 127.0.0.1, the Hetzner
GET/POST semantics), checking the token never reaches output or audit."""

from __future__ import annotations

import base64
import io
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tui.config.errors import ConfigErrors
from tui.procedures.cli import run_from_cli
from tui.procedures.user_defined import load_user_procedures

GOOD = """\
procedures:
  restart-web:
    note: restart the web server where the VIP is
    danger: disruptive
    preflight:
      - vip-single-holder
      - command: {host: holder, argv: [nginx, -t]}
    steps:
      - {host: holder, argv: [systemctl, restart, nginx], note: restart, timeout: 30}
    verify:
      - command: {host: holder, argv: [systemctl, is-active, nginx]}
"""


async def cli(world, hosts_config, registry, *words):
    out = io.StringIO()

    async def no_input(prompt: str):
        return None

    code = await run_from_cli(world.runner, hosts_config, list(words), out, input_fn=no_input, registry=registry)
    return code, out.getvalue()


async def test_user_procedure_runs_through_the_engine(world, hosts_config, registry, tmp_path):
    path = tmp_path / "procedures.yaml"
    path.write_text(GOOD)
    world.runner.on("ctl-0", "nginx -t", "")
    world.runner.on("ctl-0", "systemctl restart nginx", "")
    world.runner.on("ctl-0", "systemctl is-active nginx", "active\n")
    code, text = await cli(world, hosts_config, registry, "restart-web", "--cluster", "web", "--procedures",
                           str(path), "--yes")
    assert code == 0, text
    assert "[ctl-0] systemctl restart nginx" in text
    assert "✓ systemctl is-active nginx on ctl-0: rc 0: active" in text
    assert registry.audit.tail()[-1]["procedure"] == "restart-web"


@pytest.mark.parametrize(("text", "expected"), [
    (GOOD.replace("    danger: disruptive", "    danger: risky"), ":4: procedures.restart-web.danger: must be"),
    (GOOD.replace("argv: [systemctl, restart, nginx]", "argv: systemctl restart nginx"),
     ":9: procedures.restart-web.steps[0].argv: expected a non-empty list of strings"),
    (GOOD.replace("      - vip-single-holder", "      - vip-holder"),
     ":6: procedures.restart-web.preflight[0]: unknown check vip-holder"),
    (GOOD.replace("    note: restart the", "    notes: restart the"), ":3: procedures.restart-web.notes: unknown key"),
    (GOOD.replace("restart-web:", "failover:"), ":2: procedures.failover: is a built-in procedure name"),
    (GOOD.replace("timeout: 30", "timeout: -1"), ":9: procedures.restart-web.steps[0].timeout: expected seconds > 0"),
    ("procedures: [\n", ":2: YAML syntax error"),
])
def test_bad_procedure_files_name_file_line_and_key(tmp_path, text, expected):
    path = tmp_path / "procedures.yaml"
    path.write_text(text)
    with pytest.raises(ConfigErrors) as info:
        load_user_procedures(path, reserved=("failover",))
    assert f"{path}{expected}" in str(info.value)


async def test_bad_procedure_file_refuses_the_run_with_the_errors(world, hosts_config, registry, tmp_path):
    path = tmp_path / "procedures.yaml"
    path.write_text(GOOD.replace("argv: [nginx, -t]", "argv: [nginx, {x: 1}]"))
    code, text = await cli(world, hosts_config, registry, "restart-web", "--cluster", "web", "--procedures", str(path))
    assert code == 1 and "argv items must be strings" in text


TOKEN = "robot-user:s3cret-Pa55"


class FakeRobot(BaseHTTPRequestHandler):
    """GET /failover/IP → the routing; POST active_server_ip=X → moves it. Basic auth like the robot."""

    routing = {"ip": "203.0.113.10", "netmask": "255.255.255.255", "server_ip": "192.168.122.37",
               "active_server_ip": "192.168.122.37"}
    seen_auth: list[str] = []

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        self.seen_auth.append(header)
        if header != "Basic " + base64.b64encode(TOKEN.encode()).decode():
            self.send_response(401)
            self.end_headers()
            return False
        return True

    def _answer(self) -> None:
        body = json.dumps({"failover": self.routing}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 — http.server's naming
        if self._authorised():
            if self.path != f"/failover/{self.routing['ip']}":
                self.send_response(404)
                self.end_headers()
                return
            self._answer()

    def do_POST(self) -> None:  # noqa: N802
        if self._authorised():
            length = int(self.headers.get("Content-Length", "0"))
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            type(self).routing = dict(self.routing, active_server_ip=form["active_server_ip"][0])
            self._answer()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def robot(tmp_path: Path):
    FakeRobot.routing = dict(FakeRobot.routing, active_server_ip="192.168.122.37")
    FakeRobot.seen_auth = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRobot)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    token_file = tmp_path / "robot.token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    yield f"http://127.0.0.1:{server.server_address[1]}", token_file
    server.shutdown()
    server.server_close()


async def test_provider_ip_moves_to_the_vip_holder_and_never_shows_the_token(world, hosts_config, registry, robot):
    url, token_file = robot
    world.holders = {"ctl-1"}
    hosts_config.clusters["web"]["provider_ip"] = {"api_url": url, "ip": "203.0.113.10", "token_file": str(token_file)}
    code, text = await cli(world, hosts_config, registry, "provider-failover-ip", "--cluster", "web", "--dry-run")
    assert code == 0, text
    assert f"POST {url}/failover/203.0.113.10 active_server_ip=192.168.122.185" in text
    assert FakeRobot.routing["active_server_ip"] == "192.168.122.37"  # a dry run only reads
    code, text = await cli(world, hosts_config, registry, "provider-failover-ip", "--cluster", "web", "--yes")
    assert code == 0, text
    assert FakeRobot.routing["active_server_ip"] == "192.168.122.185"
    assert "✓ 203.0.113.10 routed to ctl-1: 192.168.122.185" in text
    secret = TOKEN.split(":")[1]
    audit_text = registry.audit.path.read_text()
    assert secret not in text and secret not in audit_text
    assert base64.b64encode(TOKEN.encode()).decode() not in audit_text
    # Again: nothing to do now, so it refuses.
    code, text = await cli(world, hosts_config, registry, "provider-failover-ip", "--cluster", "web", "--yes")
    assert code == 1 and "already routed there" in text


async def test_provider_ip_refuses_with_a_wrong_token(world, hosts_config, registry, robot, tmp_path):
    url, _ = robot
    bad = tmp_path / "bad.token"
    bad.write_text("robot-user:wrong")
    hosts_config.clusters["web"]["provider_ip"] = {"api_url": url, "ip": "203.0.113.10", "token_file": str(bad)}
    code, text = await cli(world, hosts_config, registry, "provider-failover-ip", "--cluster", "web", "--to",
                           "ctl-1", "--yes")
    assert code == 1 and "HTTP 401" in text
    assert FakeRobot.routing["active_server_ip"] == "192.168.122.37"
