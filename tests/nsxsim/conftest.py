"""Fixtures: one simulator per test (seeded with the lab) and HTTPS clients that trust its CA."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from nsxsim import LAB, NsxSimulator

API = "/policy/api/v1"


def api(policy_path: str) -> str:
    return API + policy_path


def map_path(child_id: str, map_id: str) -> str:
    return f"/infra/segments/{child_id}/segment-connection-binding-maps/{map_id}"


def nat_path(rule_id: str, section: str = "USER", t1_id: str = LAB.tier1_id) -> str:
    return f"/infra/tier-1s/{t1_id}/nat/{section}/nat-rules/{rule_id}"


def child_body(gateway: str = "10.100.5.1/25", **extra: Any) -> dict[str, Any]:
    return {
        "resource_type": "Segment",
        "connectivity_path": LAB.tier1_path,
        "transport_zone_path": LAB.transport_zone_path,
        "subnets": [{"gateway_address": gateway}],
        **extra,
    }


def expect_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error_code"] == code, body
    assert body["module_name"] == "nsx-sim"
    assert body["related_errors"] == []
    return body


def trusting_client(simulator: NsxSimulator) -> httpx.Client:
    """An HTTPS client of a started simulator: trusts its CA, logs in as its first user."""
    return httpx.Client(
        base_url=simulator.base_url,
        verify=simulator.client_ssl_context(),
        auth=(simulator.username, simulator.password),
        timeout=5.0,
    )


@contextmanager
def serving_lab(simulator: NsxSimulator) -> Iterator[tuple[NsxSimulator, httpx.Client]]:
    """`simulator`, seeded with the lab and started, and a client of it; stopped afterwards."""
    simulator.seed_lab()
    with simulator, trusting_client(simulator) as http:
        yield simulator, http


@pytest.fixture
def sim() -> Iterator[NsxSimulator]:
    simulator = NsxSimulator()
    simulator.seed_lab()
    with simulator:
        yield simulator


@pytest.fixture
def client(sim: NsxSimulator) -> Iterator[httpx.Client]:
    with trusting_client(sim) as http:
        yield http


@pytest.fixture
def child(client: httpx.Client) -> str:
    """A child segment `egress-prod` on the lab Tier-1 (no binding map yet); returns its path."""
    response = client.patch(api("/infra/segments/egress-prod"), json=child_body())
    assert response.status_code == 200, response.text
    return "/infra/segments/egress-prod"
