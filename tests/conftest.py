"""Fixtures shared by every test.

Tests talk only to loopback. The guard below makes that a property of the test process rather
than a convention: resolving or connecting to anything else fails the test at once, so an
address from a stack file (nsx.lab.home, 10.x, 192.168.x) can never be contacted by mistake.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from antrea_egress.nsx.client import forget_sessions
from nsxsim import NsxSimulator

_LOCAL_NAMES = {"localhost", "localhost.localdomain"}


def _is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class NonLoopbackTrafficError(AssertionError):
    """A test tried to resolve or reach something other than loopback
    (tests/test_network_guard.py tests the guard)."""


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_loopback(host):
            raise NonLoopbackTrafficError(f"tests may not resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            raise NonLoopbackTrafficError(f"tests may not connect to {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture(autouse=True)
def no_shared_nsx_sessions() -> Iterator[None]:
    """NSX sessions are cached per process; every test starts without one."""
    forget_sessions()
    yield
    forget_sessions()


@pytest.fixture(autouse=True)
def no_nsx_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A developer's NSXT_* or KUBECONFIG variables must never reach a test."""
    for name in (
        "NSXT_MANAGER_HOST",
        "NSXT_USERNAME",
        "NSXT_PASSWORD",
        "NSXT_ALLOW_UNVERIFIED_SSL",
        "NSXT_CA_FILE",
        "KUBECONFIG",
    ):
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture
def sim() -> Iterator[NsxSimulator]:
    """An NSX Policy API simulator on 127.0.0.1, seeded with the field procedure's lab."""
    with NsxSimulator() as simulator:
        simulator.seed_lab()
        yield simulator


def nsx_config(simulator: NsxSimulator, **overrides: Any) -> dict[str, Any]:
    """The `nsxt:` stack keys that point a client at the simulator, and nowhere else."""
    return {**simulator.nsxt_config(), **overrides}


def outs_of(result: Any) -> dict[str, Any]:
    """The outputs of a provider's Create/Read/UpdateResult (typed Optional by the SDK)."""
    assert result.outs is not None
    return dict(result.outs)
