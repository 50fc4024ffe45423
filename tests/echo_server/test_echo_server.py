"""Tests of the echo server: a real uvicorn server on 127.0.0.1 (ephemeral port) and the CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, HTTPException
from starlette.requests import Request
from starlette.types import Scope

from echo_server import cli, create_app
from echo_server.app import requester_ip
from echo_server.cli import Options, build_config, main, parse_args

# Every test here waits on a uvicorn server and subprocesses: a hang fails within 30 s.
pytestmark = pytest.mark.timeout(30)

REPO_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
SPOOFED = "203.0.113.7"  # TEST-NET-3: never the address of the test client
STARTUP_TIMEOUT = 10.0
# One answer from the server thread. It only bounds a hang: on a loaded machine (two busy loops
# on two cores) the first answer took more than 5 s. Startup and one request stay within the
# module's 30 s.
REQUEST_TIMEOUT = 15.0


@contextmanager
def running(config: uvicorn.Config) -> Iterator[str]:
    """Run a uvicorn server in a background thread; yield its base URL."""
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="echo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn exited before it started")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError("uvicorn did not start")
        time.sleep(0.01)
    try:
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)
    assert not thread.is_alive(), "uvicorn did not shut down"


def loopback_config(*, trust_forwarded_for: bool) -> uvicorn.Config:
    """The production configuration (``cli.build_config``) on 127.0.0.1, ephemeral port."""
    options = Options(host=LOOPBACK, port=0, trust_forwarded_for=trust_forwarded_for)
    return build_config(options, log_config=None)


def get(
    base_url: str, path: str = "/", headers: list[tuple[str, str]] | None = None
) -> httpx.Response:
    # trust_env=False: an HTTP(S)_PROXY in the environment must not reroute the request.
    return httpx.get(base_url + path, headers=headers, timeout=REQUEST_TIMEOUT, trust_env=False)


@pytest.fixture(scope="module")
def default_url() -> Iterator[str]:
    with running(loopback_config(trust_forwarded_for=False)) as url:
        yield url


@pytest.fixture(scope="module")
def trusting_url() -> Iterator[str]:
    with running(loopback_config(trust_forwarded_for=True)) as url:
        yield url


# --- the default server: the TCP peer, nothing else ---------------------------------------


def test_root_reports_tcp_peer_as_text(default_url: str) -> None:
    response = get(default_url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "Requester IP: 127.0.0.1\n"


def test_explicit_text_format_is_the_default_answer(default_url: str) -> None:
    response = get(default_url, "/?format=text")
    assert response.status_code == 200
    assert response.text == "Requester IP: 127.0.0.1\n"


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Forwarded-For", SPOOFED)],
        [("X-Forwarded-For", f"{SPOOFED}, 198.51.100.2")],
        [("Forwarded", f"for={SPOOFED}")],
        [("X-Real-IP", SPOOFED)],
        [("X-Forwarded-For", SPOOFED), ("Forwarded", f"for={SPOOFED}"), ("X-Real-IP", SPOOFED)],
    ],
    ids=["xff", "xff-list", "forwarded", "x-real-ip", "all"],
)
def test_spoofed_proxy_headers_are_ignored_by_default(
    default_url: str, headers: list[tuple[str, str]]
) -> None:
    assert get(default_url, headers=headers).text == "Requester IP: 127.0.0.1\n"
    assert get(default_url, "/?format=json", headers=headers).json() == {"requester_ip": LOOPBACK}


def test_uvicorn_defaults_would_accept_the_spoof(monkeypatch: pytest.MonkeyPatch) -> None:
    """Control for the test above: uvicorn's own defaults trust X-Forwarded-For from
    127.0.0.1, so without ``proxy_headers=False`` the spoof would succeed."""
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    config = uvicorn.Config(create_app(), host=LOOPBACK, port=0, log_config=None)
    with running(config) as url:
        response = get(url, headers=[("X-Forwarded-For", SPOOFED)])
    assert response.text == f"Requester IP: {SPOOFED}\n"


def test_json_format(default_url: str) -> None:
    response = get(default_url, "/?format=json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"requester_ip": LOOPBACK}


def test_unknown_format_is_rejected(default_url: str) -> None:
    assert get(default_url, "/?format=xml").status_code == 422


def test_healthz(default_url: str) -> None:
    response = get(default_url, "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_no_api_docs_are_served(default_url: str) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert get(default_url, path).status_code == 404, path


# --- trusting X-Forwarded-For (opt-in) -----------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("X-Forwarded-For", SPOOFED)], SPOOFED),
        ([("X-Forwarded-For", f"{SPOOFED}, 198.51.100.2, 127.0.0.1")], SPOOFED),
        ([("X-Forwarded-For", f"{SPOOFED}  ,  198.51.100.2")], SPOOFED),
        ([("X-Forwarded-For", SPOOFED), ("X-Forwarded-For", "198.51.100.2")], SPOOFED),
        ([("X-Forwarded-For", "2001:db8::1, 198.51.100.2")], "2001:db8::1"),
    ],
    ids=["single", "leftmost-of-list", "whitespace", "two-header-lines", "ipv6"],
)
def test_leftmost_forwarded_for_is_honoured_when_enabled(
    trusting_url: str, headers: list[tuple[str, str]], expected: str
) -> None:
    assert get(trusting_url, headers=headers).text == f"Requester IP: {expected}\n"
    assert get(trusting_url, "/?format=json", headers=headers).json() == {"requester_ip": expected}


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [("X-Forwarded-For", "")],
        [("X-Forwarded-For", "unknown, 198.51.100.2")],
        [("X-Forwarded-For", f"{SPOOFED}:1234")],
        [("Forwarded", f"for={SPOOFED}")],
        [("X-Real-IP", SPOOFED)],
    ],
    ids=["absent", "empty", "not-an-ip", "with-port", "forwarded", "x-real-ip"],
)
def test_trusting_server_falls_back_to_tcp_peer(
    trusting_url: str, headers: list[tuple[str, str]]
) -> None:
    assert get(trusting_url, headers=headers).text == "Requester IP: 127.0.0.1\n"


def test_unknown_peer_is_an_error_not_a_guess() -> None:
    scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "client": None}
    with pytest.raises(HTTPException) as excinfo:
        requester_ip(Request(scope))
    assert excinfo.value.status_code == 500


# --- uvicorn configuration and command line ------------------------------------------------


def test_defaults_listen_on_all_interfaces_port_88() -> None:
    # The field procedure's echo server listened on port 88 of a host outside NSX.
    assert (cli.DEFAULT_HOST, cli.DEFAULT_PORT) == ("0.0.0.0", 88)  # noqa: S104


def test_build_config_turns_proxy_headers_off_and_access_log_on() -> None:
    config = build_config(Options(host=LOOPBACK, port=8080), log_config=None)
    assert config.proxy_headers is False
    assert config.access_log is True
    assert (config.host, config.port) == (LOOPBACK, 8080)


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        ([], {}, Options(host=cli.DEFAULT_HOST, port=88, trust_forwarded_for=False)),
        (
            ["--host", "127.0.0.1", "--port", "8080"],
            {},
            Options(host="127.0.0.1", port=8080, trust_forwarded_for=False),
        ),
        (["--trust-forwarded-for"], {}, Options(trust_forwarded_for=True)),
        (["--port", "65535"], {}, Options(port=65535)),
        ([], {"ECHO_TRUST_FORWARDED_FOR": "true"}, Options(trust_forwarded_for=True)),
        ([], {"ECHO_TRUST_FORWARDED_FOR": " TRUE "}, Options(trust_forwarded_for=True)),
        ([], {"ECHO_TRUST_FORWARDED_FOR": "1"}, Options(trust_forwarded_for=True)),
        ([], {"ECHO_TRUST_FORWARDED_FOR": "false"}, Options(trust_forwarded_for=False)),
        ([], {"ECHO_TRUST_FORWARDED_FOR": ""}, Options(trust_forwarded_for=False)),
        (
            ["--no-trust-forwarded-for"],
            {"ECHO_TRUST_FORWARDED_FOR": "true"},
            Options(trust_forwarded_for=False),
        ),
        (
            ["--trust-forwarded-for"],
            {"ECHO_TRUST_FORWARDED_FOR": "false"},
            Options(trust_forwarded_for=True),
        ),
    ],
)
def test_parse_args(argv: list[str], environ: dict[str, str], expected: Options) -> None:
    assert parse_args(argv, environ) == expected


@pytest.mark.parametrize(
    ("argv", "environ"),
    [
        (["--port", "0"], {}),
        (["--port", "65536"], {}),
        (["--port", "http"], {}),
        (["--unknown"], {}),
        ([], {"ECHO_TRUST_FORWARDED_FOR": "maybe"}),
    ],
)
def test_parse_args_rejects(
    argv: list[str], environ: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as excinfo:
        parse_args(argv, environ)
    assert excinfo.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_help_runs_as_module() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ECHO_TRUST_FORWARDED_FOR"}
    result = subprocess.run(
        [sys.executable, "-m", "echo_server", "--help"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for needle in ("--host", "--port", "--trust-forwarded-for", "ECHO_TRUST_FORWARDED_FOR"):
        assert needle in result.stdout, needle


PEER = "192.0.2.9"  # TEST-NET-1: the simulated TCP peer of an in-process request


async def _get_in_process(app: FastAPI, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(PEER, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://echo") as client:
        return await client.get("/", headers=headers)


@pytest.mark.parametrize(("flag", "expected"), [([], PEER), (["--trust-forwarded-for"], SPOOFED)])
def test_main_runs_uvicorn_with_the_parsed_options(
    monkeypatch: pytest.MonkeyPatch, flag: list[str], expected: str
) -> None:
    started: list[uvicorn.Config] = []

    class FakeServer:
        def __init__(self, config: uvicorn.Config) -> None:
            self.config = config

        def run(self) -> None:
            started.append(self.config)

    monkeypatch.delenv("ECHO_TRUST_FORWARDED_FOR", raising=False)
    monkeypatch.setattr(uvicorn, "Server", FakeServer)
    # Keep uvicorn from reconfiguring the test process's logging.
    monkeypatch.setattr(uvicorn.Config, "configure_logging", lambda _self: None)

    assert main(["--host", "127.0.0.1", "--port", "8080", *flag]) == 0

    [config] = started
    assert (config.host, config.port) == ("127.0.0.1", 8080)
    assert config.proxy_headers is False
    assert config.access_log is True
    assert isinstance(config.app, FastAPI)
    response = asyncio.run(_get_in_process(config.app, {"X-Forwarded-For": SPOOFED}))
    assert response.text == f"Requester IP: {expected}\n"
