"""The Antrea double's writes, on a recording stand-in for the guest API server."""

from __future__ import annotations

from typing import Any, cast

import pytest

from lab.controllers.antrea import EGRESSES, POOLS, AntreaDouble
from lab.kube import LabKube

pytestmark = pytest.mark.timeout(10)


class RecordingGuest:
    def __init__(self, objects: dict[str, list[dict[str, Any]]]) -> None:
        self.objects = objects
        self.patches: list[tuple[str, dict[str, Any]]] = []

    def list(self, path: str) -> list[dict[str, Any]]:
        return self.objects.get(path, [])

    def merge_patch(self, path: str, patch: dict[str, Any]) -> dict[str, Any]:
        self.patches.append((path, patch))
        return {}


def test_an_egress_whose_pool_is_gone_loses_its_ip_as_antrea_removes_it() -> None:
    egress = {
        "metadata": {"name": "payments"},
        "spec": {"externalIPPool": "payments", "egressIP": "10.100.5.10"},
    }
    guest = RecordingGuest({EGRESSES: [egress], POOLS: [], "/api/v1/nodes": []})

    AntreaDouble(cast(LabKube, guest)).reconcile()

    # JSON null removes the field; "" would be refused by the CRD's ipv4/ipv6 format.
    assert guest.patches[0] == (f"{EGRESSES}/payments", {"spec": {"egressIP": None}})
    status = guest.patches[1][1]["status"]
    assert status["conditions"][0]["reason"] == "AllocationError"
