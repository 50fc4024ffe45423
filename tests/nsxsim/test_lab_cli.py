"""`python -m nsxsim` as the lab's NSX Manager: options, printed commands, CA file, state dir."""

from __future__ import annotations

import io
import shlex
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from antrea_egress import naming
from nsxsim import DEFAULT_NSX_VERSION, DEFAULT_USERS, LAB, LAB_STACK
from nsxsim.cli import DEFAULT_CA_OUT, main, parse_args
from nsxsim.tls import CA_CERT_FILE, CA_KEY_FILE

# Every test here waits on the simulator as a lab process: a hang fails within 30 s.
pytestmark = pytest.mark.timeout(30)

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Serving until Ctrl-C."
_START_TIMEOUT = 10.0


@dataclass
class Running:
    lines: list[str]
    info: dict[str, str]
    stop: threading.Event
    thread: threading.Thread
    result: list[int]

    @property
    def commands(self) -> list[str]:
        return [line.strip() for line in self.lines if line.strip().startswith("pulumi config")]

    def get(self, path: str, **auth: Any) -> httpx.Response:
        context = ssl.create_default_context(cafile=self.info["ca_file"])
        user, password = next(iter(DEFAULT_USERS.items()))
        credentials = (auth.get("user", user), auth.get("password", password))
        with httpx.Client(verify=context, auth=credentials, timeout=5.0) as http:
            return http.get(f"https://{self.info['host']}{path}")

    def shut(self) -> int:
        self.stop.set()
        self.thread.join(_START_TIMEOUT)
        assert not self.thread.is_alive()
        return self.result[0]


def _start(argv: list[str]) -> Running:
    out, stop, result = io.StringIO(), threading.Event(), []
    thread = threading.Thread(
        target=lambda: result.append(main(argv, stop=stop, out=out)), daemon=True
    )
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT
    while READY_LINE not in out.getvalue():
        assert thread.is_alive(), "main() returned before serving"
        assert time.monotonic() < deadline, out.getvalue()
        time.sleep(0.01)
    lines = out.getvalue().splitlines()
    info = dict(line.split(" ", 1) for line in lines[:3])
    return Running(lines, info, stop, thread, result)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Running]:
    running = _start(["--port", "0", "--ca-out", str(tmp_path / "ca.pem")])
    yield running
    running.shut()


def test_defaults_are_the_lab_stack() -> None:
    options = parse_args([])
    assert options.port == LAB_STACK.port == 8443
    assert (options.user, options.password) == next(iter(DEFAULT_USERS.items()))
    assert options.ca_out == DEFAULT_CA_OUT == Path(".lab/nsxsim-ca.pem")
    assert (options.state_dir, options.stack) == (None, "lab")
    assert LAB_STACK.nsx_host == "127.0.0.1:8443"


def test_prints_the_config_commands_and_serves_the_lab(lab: Running, tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    assert lab.info == {
        "host": f"127.0.0.1:{lab.info['port']}",
        "port": lab.info["port"],
        "ca_file": str(ca_file),
    }
    assert lab.commands == [
        f"pulumi config set nsxt:host 127.0.0.1:{lab.info['port']} -s lab",
        "pulumi config set nsxt:username admin -s lab",
        "pulumi config set --secret nsxt:password 'Sim-Passw0rd!' -s lab",
        f"pulumi config set nsxt:caFile {ca_file} -s lab",
    ]
    text = "\n".join(lab.lines)
    assert "throw-away" in text
    assert "The CA changes on every start" in text
    assert LAB.tier1_path in text
    assert LAB.node_segment_path in text
    assert lab.lines[-1] == READY_LINE

    version = lab.get("/api/v1/node/version")
    assert version.json()["node_version"] == DEFAULT_NSX_VERSION
    segment = lab.get(f"/policy/api/v1{LAB.node_segment_path}")
    assert segment.json()["connectivity_path"] == LAB.tier1_path
    assert lab.get("/api/v1/node/version", password="wrong").status_code == 403
    assert lab.shut() == 0


def test_user_password_and_stack_are_quoted_for_the_shell(tmp_path: Path) -> None:
    password = "it's a $ecret"
    options = {"--user": "ops", "--password": password, "--stack": "my lab"}
    argv = ["--port", "0", "--ca-out", str(tmp_path / "ca.pem")]
    running = _start([*argv, *(item for pair in options.items() for item in pair)])
    try:
        secret = running.commands[2]
        assert shlex.split(secret) == [
            *("pulumi", "config", "set", "--secret", "nsxt:password", password),
            *("-s", "my lab"),
        ]
        assert running.get("/api/v1/node/version", user="ops", password=password).is_success
    finally:
        assert running.shut() == 0


def test_default_ca_out_is_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    running = _start(["--port", "0"])
    try:
        written = tmp_path / ".lab" / "nsxsim-ca.pem"
        assert running.info["ca_file"] == str(written.resolve())
        assert written.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
        assert running.get("/api/v1/node/version").status_code == 200
    finally:
        running.shut()


def _ca_of_one_run(argv: list[str]) -> bytes:
    running = _start(argv)
    try:
        return Path(running.info["ca_file"]).read_bytes()
    finally:
        running.shut()


def test_the_ca_changes_per_start_unless_a_state_dir_keeps_it(tmp_path: Path) -> None:
    plain = ["--port", "0", "--ca-out", str(tmp_path / "plain.pem")]
    assert _ca_of_one_run(plain) != _ca_of_one_run(plain)

    state = tmp_path / "state"
    kept = ["--port", "0", "--ca-out", str(tmp_path / "kept.pem"), "--state-dir", str(state)]
    first = _ca_of_one_run(kept)
    assert (state / CA_KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert (state / CA_CERT_FILE).read_bytes() == first
    running = _start(kept)
    try:
        assert Path(running.info["ca_file"]).read_bytes() == first
        # The reissued server certificate still verifies against the kept CA.
        assert running.get("/api/v1/node/version").status_code == 200
        assert f"The CA is kept in {state}" in "\n".join(running.lines)
    finally:
        running.shut()


def test_a_taken_port_fails_fast_and_keeps_the_ca_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca_out = tmp_path / "ca.pem"
    ca_out.write_text("the running simulator's CA")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = io.StringIO()
        assert main(["--port", str(port), "--ca-out", str(ca_out)], out=out) == 1
    error = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in error
    assert "--port" in error
    assert out.getvalue() == ""
    assert ca_out.read_text() == "the running simulator's CA"


def test_the_lab_stack_file_names_this_simulator() -> None:
    """Pulumi.lab.yaml and the seeds must agree, or `pulumi up -s lab` talks past them."""
    config = yaml.safe_load((REPO_ROOT / "Pulumi.lab.yaml").read_text())["config"]
    assert config["nsxt:host"] == LAB_STACK.nsx_host
    assert config["nsxt:username"] == next(iter(DEFAULT_USERS))
    cluster = config["antrea-egress:cluster"]
    assert (cluster["name"], cluster["vsphereNamespace"]) == (
        LAB_STACK.cluster,
        LAB_STACK.vsphere_namespace,
    )
    assert cluster["nodeSegment"] == LAB.node_segment_path
    zones = [zone["name"] for zone in config["antrea-egress:zones"]]
    assert LAB_STACK.zone in zones
    segment_id = naming.child_segment_id(LAB_STACK.vsphere_namespace, LAB_STACK.cluster, "lab")
    assert naming.nosnat_rule_id(segment_id) == LAB_STACK.no_snat_rule_id()
    assert LAB_STACK.no_snat_rule_id() == "nosnat-egress-lab-tkc-lab01-lab"
