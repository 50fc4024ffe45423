"""TLS, keep-alive, response headers, unknown paths, lifecycle and `python -m nsxsim`."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from nsxsim import LAB, NsxSimulator
from tests.nsxsim.conftest import api, expect_error

# Every test here waits on the simulator over TLS: a hang fails within 15 s.
pytestmark = pytest.mark.timeout(15)

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.filterwarnings("ignore:`verify=<str>` is deprecated:DeprecationWarning")
def test_tls_verifies_with_the_simulator_ca_file(sim: NsxSimulator) -> None:
    with httpx.Client(verify=sim.ca_file, auth=(sim.username, sim.password)) as http:
        response = http.get(sim.base_url + api("/infra/segments"))
    assert response.status_code == 200
    assert sim.base_url == f"https://127.0.0.1:{sim.port}"
    assert sim.host == f"127.0.0.1:{sim.port}"


def test_tls_fails_without_the_simulator_ca(sim: NsxSimulator) -> None:
    with (
        httpx.Client(base_url=sim.base_url, timeout=5.0) as untrusting,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        untrusting.get(api("/infra/segments"), auth=(sim.username, sim.password))
    # The failed handshake must not have wedged the server.
    with httpx.Client(
        base_url=sim.base_url, verify=sim.client_ssl_context(), timeout=5.0
    ) as trusting:
        assert trusting.get(api("/infra/segments"), auth=(sim.username, sim.password)).is_success


def test_certificate_is_valid_for_localhost_too(sim: NsxSimulator) -> None:
    # Connect to 127.0.0.1 but verify the name "localhost": no name resolution involved.
    context = ssl.create_default_context(cafile=sim.ca_file)
    with (
        socket.create_connection(("127.0.0.1", sim.port), timeout=5.0) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.version() is not None
    with (
        socket.create_connection(("127.0.0.1", sim.port), timeout=5.0) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
        context.wrap_socket(raw, server_hostname="nsx.example.invalid"),
    ):
        pass


def test_thumbprint_is_sha256_of_served_certificate(sim: NsxSimulator) -> None:
    pem = ssl.get_server_certificate(("127.0.0.1", sim.port))
    assert hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest() == sim.thumbprint


def test_keep_alive_connection_is_reused(sim: NsxSimulator, client: httpx.Client) -> None:
    streams = set()
    for _ in range(3):
        response = client.get(api("/infra/tier-1s"))
        assert response.status_code == 200
        assert response.http_version == "HTTP/1.1"
        streams.add(id(response.extensions["network_stream"]))
    assert len(streams) == 1


def test_every_response_has_a_distinct_request_id(client: httpx.Client) -> None:
    ok = client.get(api("/infra/segments"))
    missing = client.get(api("/infra/segments/nope"))
    ids = {ok.headers["x-nsx-requestid"], missing.headers["x-nsx-requestid"]}
    assert len(ids) == 2
    assert all(ids)


def test_unknown_paths_answer_404_600(client: httpx.Client) -> None:
    body = expect_error(client.get(api("/infra/no-such-collection")), 404, 600)
    assert body["httpStatus"] == "NOT_FOUND"
    expect_error(client.get("/api/v1/logical-switches"), 404, 600)


def test_unsupported_method_on_read_only_object(client: httpx.Client) -> None:
    response = client.delete(api(LAB.tier1_path))
    assert response.status_code == 405
    assert client.get(api(LAB.tier1_path)).status_code == 200


def test_stop_closes_listener_and_idle_connections(sim: NsxSimulator) -> None:
    with httpx.Client(
        base_url=sim.base_url,
        verify=sim.client_ssl_context(),
        auth=(sim.username, sim.password),
        timeout=2.0,
    ) as http:
        assert http.get(api("/infra/segments")).status_code == 200
        sim.stop()
        with pytest.raises(httpx.TransportError):
            http.get(api("/infra/segments"))
    with pytest.raises(RuntimeError):
        _ = sim.port


def test_restart_serves_the_same_state(sim: NsxSimulator) -> None:
    sim.stop()
    sim.start()
    with httpx.Client(verify=sim.client_ssl_context(), auth=(sim.username, sim.password)) as http:
        response = http.get(sim.base_url + api(LAB.node_segment_path))
    assert response.json()["unique_id"] == LAB.node_segment_unique_id


def test_module_entry_point_serves_the_lab(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    ca_out = tmp_path / "ca.pem"
    command = ["--port", "0", "--user", "ops", "--password", "pw-1", "--ca-out", str(ca_out)]
    process = subprocess.Popen(
        [sys.executable, "-m", "nsxsim", *command],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        info = dict(process.stdout.readline().split() for _ in range(3))
        assert info["host"] == f"127.0.0.1:{info['port']}"
        assert info["ca_file"] == str(ca_out)
        context = ssl.create_default_context(cafile=info["ca_file"])
        with httpx.Client(verify=context, auth=("ops", "pw-1"), timeout=5.0) as http:
            response = http.get(f"https://{info['host']}" + api(LAB.node_segment_path))
        assert response.status_code == 200
    finally:
        # SIGTERM, as a service manager stops it: SIGINT is ignored in a process a
        # non-interactive shell started in the background (as CI may start this suite).
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert code == 0


def _raw_exchange(sim: NsxSimulator, request: bytes) -> bytes:
    context = sim.client_ssl_context()
    with (
        socket.create_connection(("127.0.0.1", sim.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(request)
        chunks = []
        while chunk := tls.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _auth_header(sim: NsxSimulator) -> bytes:
    token = base64.b64encode(f"{sim.username}:{sim.password}".encode()).decode()
    return f"Authorization: Basic {token}\r\n".encode()


def test_chunked_request_body_is_accepted(sim: NsxSimulator) -> None:
    body = json.dumps({"subnets": [{"gateway_address": "10.7.0.1/24"}]}).encode()
    half = len(body) // 2
    chunked = b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (body[:half], body[half:])
    )
    request = (
        b"PATCH /policy/api/v1/infra/segments/chunky HTTP/1.1\r\nHost: x\r\n"
        + _auth_header(sim)
        + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        + b"Connection: close\r\n\r\n"
        + chunked
        + b"0\r\n\r\n"
    )
    answer = _raw_exchange(sim, request)
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert b"Content-Length: 0\r\n" in answer
    segment = sim.get("/infra/segments/chunky")
    assert segment is not None
    assert segment["subnets"][0]["network"] == "10.7.0.0/24"


def test_malformed_content_length_is_400(sim: NsxSimulator) -> None:
    request = (
        b"PATCH /policy/api/v1/infra/segments/x HTTP/1.1\r\nHost: x\r\n"
        + _auth_header(sim)
        + b"Content-Length: many\r\n\r\n"
    )
    answer = _raw_exchange(sim, request)
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert b"x-nsx-requestid: " in answer
    assert sim.get("/infra/segments/x") is None
