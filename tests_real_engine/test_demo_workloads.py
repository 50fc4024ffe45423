"""`demoWorkloads` toggled on a deployed stack under the real engine: the engine's preview,
then what the guest holds after `up`. The guest runs the real deployment and replicaset
controllers; lab/controllers/nodes.py plays the scheduler and the kubelets, so the engine's
Deployment await sees the pods become available as it would in a cluster.
"""

from __future__ import annotations

from typing import Any

import pytest

from antrea_egress import manifests, naming
from lab.lab import Lab
from lab.program import LabProgram
from lab.stack import ZONES, values
from tests_real_engine.steps import Steps, operate

pytestmark = pytest.mark.timeout(600)

DEMO_KEY = "antrea-egress:demoWorkloads"


def demo_resources() -> dict[str, list[str]]:
    """The engine's names of what demoWorkloads adds per zone (components/egress_zone.py)."""
    names = [f"{zone}-{part}" for zone in ZONES for part in ("namespace", "web")]
    return {name: [] for name in names}


def toggle(program: LabProgram, config: dict[str, tuple[Any, bool]], on: bool) -> Steps:
    config[DEMO_KEY] = (on, False)
    program.configure(config)
    stack = program.stack()
    _, preview = operate(stack.preview)
    result, _ = operate(stack.up)
    assert result.summary.result == "succeeded"
    return preview


def deployment(lab: Lab, zone: str) -> dict[str, Any] | None:
    return lab.guest.get(
        f"/apis/apps/v1/namespaces/{zone}/deployments/{naming.demo_deployment_name()}"
    )


@pytest.fixture(scope="module")
def config(lab: Lab, program: LabProgram) -> dict[str, tuple[Any, bool]]:
    result = program.stack().up()
    assert result.summary.result == "succeeded"
    return values(lab)


def test_turning_demo_workloads_on_creates_them_and_waits_until_they_are_available(
    lab: Lab, program: LabProgram, config: dict[str, tuple[Any, bool]]
) -> None:
    preview = toggle(program, config, on=True)
    assert preview.changed() == {name: ["create"] for name in demo_resources()}
    for zone in ZONES:
        found = deployment(lab, zone)
        assert found is not None, zone
        # The engine's await returned only once the real controllers said so.
        assert found["status"]["availableReplicas"] == manifests.DEMO_REPLICAS
        pods = lab.guest.list(f"/api/v1/namespaces/{zone}/pods")
        assert len(pods) == manifests.DEMO_REPLICAS
        # The zone's Egress selects them: they carry its podSelector labels.
        assert all(pod["metadata"]["labels"]["app"] == zone for pod in pods)


def test_turning_demo_workloads_off_deletes_only_them(
    lab: Lab, program: LabProgram, config: dict[str, tuple[Any, bool]]
) -> None:
    preview = toggle(program, config, on=False)
    assert preview.changed() == {name: ["delete"] for name in demo_resources()}
    for zone in ZONES:
        assert deployment(lab, zone) is None
        assert lab.guest.get(f"/api/v1/namespaces/{zone}") is None
        assert lab.guest.get(f"/apis/crd.antrea.io/v1beta1/egresses/{naming.egress_name(zone)}")
