"""The program under mocks, with its own dynamic providers doing the real work.

The mock engine answers Kubernetes registrations itself, but hands every dynamic resource to
the provider serialized in its `__provider` input (as the SDK's own tests do), configured
against the NSX simulator and a fake Supervisor. This proves the wiring end to end: the node
segment found by discovery becomes the child segment's parent in NSX, and the child's Tier-1
becomes the NoSNAT rule's gateway.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import dill
import pulumi
import pytest
from pulumi.dynamic import Config, ConfigureRequest, ResourceProvider

from antrea_egress.providers.base import StatelessProvider
from nsxsim import LAB, NsxSimulator
from tests.antrea_egress.test_discovery import seed_supervisor
from tests.conftest import nsx_config
from tests.fakes.kube_api import FakeKubeApi
from tests.pulumi_harness import FakeEngine, run_program, stack_values

# Every test here waits on the program's providers against the simulator: a hang fails within 30 s.
pytestmark = pytest.mark.timeout(30)


class ProviderBackedEngine(FakeEngine):
    def __init__(self, stack_config: dict[str, Any]) -> None:
        super().__init__()
        self.stack_config = stack_config

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        if not args.typ.startswith("pulumi-python:dynamic/"):
            return super().new_resource(args)
        provider: ResourceProvider = dill.loads(base64.b64decode(args.inputs["__provider"]))
        provider.configure(ConfigureRequest(Config(self.stack_config, "antrea-egress")))
        inputs = {k: v for k, v in args.inputs.items() if k != "__provider"}
        checked = provider.check({}, inputs)
        assert checked.failures == [], checked.failures
        created = provider.create(dict(checked.inputs))
        return created.id, dict(created.outs or {})


@pytest.fixture
def supervisor() -> Iterator[FakeKubeApi]:
    with FakeKubeApi() as api:
        seed_supervisor(api)
        yield api


def staging_on_the_lab_supervisor() -> dict[str, Any]:
    """The staging stack, pointed at the lab's vSphere Namespace and cluster names."""
    values = stack_values("staging")
    values["antrea-egress:cluster"] = {
        **values["antrea-egress:cluster"],
        "name": "tkc-test01",
        "vsphereNamespace": "test",
    }
    return values


def test_discovered_parent_and_tier1_flow_into_nsx(
    sim: NsxSimulator, supervisor: FakeKubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(StatelessProvider, "environ", {})
    engine = ProviderBackedEngine(
        {**nsx_config(sim), "kubernetes:kubeconfig": supervisor.kubeconfig()}
    )
    run = run_program("staging", values=staging_on_the_lab_supervisor(), engine=engine)

    child = "/infra/segments/egress-test-tkc-test01-staging"
    segment = sim.get(child)
    binding = sim.get(f"{child}/segment-connection-binding-maps/bm-{LAB.node_segment_id}")
    assert segment is not None
    assert binding is not None
    assert segment["connectivity_path"] == LAB.tier1_path
    assert [s["gateway_address"] for s in segment["subnets"]] == ["10.100.5.129/30"]
    assert (binding["segment_path"], binding["vlan_traffic_tag"]) == (LAB.node_segment_path, 120)
    assert run.one("nsxt:index/policyNatRule:PolicyNatRule").inputs["gatewayPath"] == LAB.tier1_path
    assert run.one("IpRangeHistory").read_id is None
    assert run.exports["zones"]["staging"]["segmentPath"] == child
    assert run.exports["nodeSegment"] == LAB.node_segment_path
