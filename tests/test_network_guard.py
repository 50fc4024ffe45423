"""The loopback-only guard of tests/conftest.py, where pytest collects it.

A test function in a conftest.py is never collected, so the guard's own test lives here; it
runs in every full session (`tests` is the suite's testpath).
"""

from __future__ import annotations

import re
import socket

import pytest

from tests.conftest import NonLoopbackTrafficError


@pytest.mark.parametrize("host", ["nsx.lab.home", "192.168.178.222", "10.0.0.1", "8.8.8.8"])
def test_resolving_anything_but_loopback_is_refused(host: str) -> None:
    with pytest.raises(NonLoopbackTrafficError, match=re.escape(host)):
        socket.getaddrinfo(host, 443)


@pytest.mark.parametrize("connect", ["connect", "connect_ex"])
def test_connecting_anywhere_but_loopback_is_refused(connect: str) -> None:
    refused = pytest.raises(NonLoopbackTrafficError, match=re.escape("192.168.178.222"))
    with socket.socket() as sock, refused:
        getattr(sock, connect)(("192.168.178.222", 88))


def test_loopback_is_allowed() -> None:
    assert socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.settimeout(5)
            client.connect(server.getsockname())
            accepted, _ = server.accept()
            accepted.close()
            assert client.getpeername() == server.getsockname()
