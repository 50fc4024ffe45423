"""A flaky or absent NSX Manager under the real engine: twenty zones while NSX answers bursts of
429 (with Retry-After) and occasional 503s; then NSX down, which fails `up` with a clear
message, and up again once it is back."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.automation.errors import CommandError

from antrea_egress import naming
from lab.lab import Lab
from lab.program import LabProgram
from lab.stack import CLUSTER, numbered_zones, values
from nsxsim.messages import Fault

pytestmark = pytest.mark.timeout(1200)

ZONE_COUNT = 20  # Antrea's limit of egress subnets per cluster
RATE_LIMIT_PER_SECOND = 15


def twenty_zones() -> list[dict[str, Any]]:
    return numbered_zones(ZONE_COUNT)


def test_twenty_zones_through_429_bursts_and_503s(program: LabProgram, lab: Lab) -> None:
    config = values(lab)
    config["antrea-egress:zones"] = (twenty_zones(), False)
    program.configure(config)
    lab.nsx.rate_limit_per_second = RATE_LIMIT_PER_SECOND
    for path in ("/infra/segments/egress-", "/segment-connection-binding-maps/"):
        lab.nsx.add_fault(Fault(path, method="PATCH", status=503, times=3))
    lab.nsx.clear_requests()

    result = program.stack().up()

    assert result.summary.result == "succeeded"
    statuses = [r.status for r in lab.nsx.requests]
    assert 429 in statuses and 503 in statuses  # the faults really happened
    segments = [
        p for p in lab.nsx.objects("/infra/segments") if p.count("/") == 3 and "/egress-" in p
    ]
    assert len(segments) == ZONE_COUNT
    exported = program.stack().outputs()["zones"].value
    assert len({zone["egressIP"] for zone in exported.values()}) == ZONE_COUNT


def test_nsx_down_fails_up_clearly_and_a_later_up_converges(program: LabProgram, lab: Lab) -> None:
    lab.nsx.rate_limit_per_second = None
    config = values(lab)
    zones = twenty_zones()
    zones.append({**zones[0], "name": "late", "vlan": 240, "cidr": "10.121.0.0/28",
                  "gateway": "10.121.0.1",
                  "ipRanges": [{"start": "10.121.0.10", "end": "10.121.0.12"}],
                  "appliedTo": {"namespace": "late", "podSelector": {"app": "web"}}})  # fmt: skip
    zones.pop(1)  # stay within twenty zones
    config["antrea-egress:zones"] = (zones, False)
    program.configure(config)
    port = lab.nsx.port
    lab.nsx.stop()
    output: list[str] = []
    try:
        with pytest.raises(CommandError):
            program.stack().up(on_output=output.append)
    finally:
        lab.nsx.start(port=port)
    text = "\n".join(output)
    # The dynamic-provider host reports every provider error with its traceback
    # (pulumi/dynamic/__main__.py); ours ends it with what happened.
    assert f"no answer from NSX at 127.0.0.1:{port}" in text

    assert program.stack().up().summary.result == "succeeded"
    late = naming.child_segment_id(lab.namespace, CLUSTER, "late")
    assert lab.nsx.get(f"/infra/segments/{late}") is not None
    gone = naming.child_segment_id(lab.namespace, CLUSTER, "z01")
    assert lab.nsx.get(f"/infra/segments/{gone}") is None
    assert program.stack().destroy().summary.result == "succeeded"
