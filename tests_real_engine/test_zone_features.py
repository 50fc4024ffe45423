"""The zone features under the real engine: a bandwidth zone and a zone of several namespaces
through preview and `up`, the pools' capacity in the outputs, a second `up` that changes
nothing, and a preview that warns before a change leaves a pool without a free IP.

The tests run in file order on one lab and one stack, each starting from the state the
previous one left. The Antrea double allocates the Egresses' IPs only: it neither selects pods
by `appliedTo` nor shapes traffic (lab/controllers/antrea.py), so what is proved here is what
the API servers store and what the engine plans and reports.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from pulumi.automation import EngineEvent

from antrea_egress import naming
from lab.lab import Lab
from lab.program import LabProgram
from lab.stack import CLUSTER, values
from tests_real_engine.steps import Steps

pytestmark = pytest.mark.timeout(900)

ANTREA = "/apis/crd.antrea.io/v1beta1"
ANTREA_CONFIGS = "/apis/cni.tanzu.vmware.com/v1alpha1/namespaces/{ns}/antreaconfigs"
LIMIT = {"rate": "100M", "burst": "200M"}
TEAMS = {
    "matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["audit", "reporting"]}
    ]
}
FULL_POOL = "leaves the pool without a free IP (1 IP, 1 Egress, 0 free)"


class Watched(Steps):
    """The engine's steps, and the warnings the program logged (diagnostic events)."""

    def __init__(self) -> None:
        super().__init__()
        self.warnings: list[str] = []

    def __call__(self, event: EngineEvent) -> None:
        super().__call__(event)
        diagnostic = event.diagnostic_event
        if diagnostic is not None and diagnostic.severity == "warning":
            self.warnings.append(diagnostic.message)


def watch(call: Callable[..., Any], **kwargs: Any) -> tuple[Any, Watched]:
    watched = Watched()
    return call(on_event=watched, **kwargs), watched


def with_features(config: dict[str, tuple[Any, bool]]) -> dict[str, tuple[Any, bool]]:
    """The lab stack with a bandwidth on payments and reporting taking two namespaces."""
    edited = copy.deepcopy(config)
    zones = {z["name"]: z for z in edited["antrea-egress:zones"][0]}
    zones["payments"]["bandwidth"] = LIMIT
    zones["reporting"]["appliedTo"] = {"namespaceSelector": TEAMS, "podSelector": {"app": "web"}}
    return edited


@pytest.fixture(scope="module")
def configured(lab: Lab, program: LabProgram) -> dict[str, tuple[Any, bool]]:
    config = with_features(values(lab))
    program.configure(config)
    return config


def egress(lab: Lab, zone: str) -> dict[str, Any]:
    found = lab.guest.get(f"{ANTREA}/egresses/{naming.egress_name(zone)}")
    assert found is not None, zone
    return found


def zone_outputs(program: LabProgram) -> dict[str, Any]:
    return dict(program.stack().outputs()["zones"].value)


def test_preview_plans_the_features_without_a_capacity_warning(
    program: LabProgram, configured: dict[str, tuple[Any, bool]]
) -> None:
    del configured
    _, preview = watch(program.stack().preview)

    assert preview.ops_of("payments-egress") == ["create"]
    assert preview.ops_of("reporting-egress") == ["create"]
    assert not [w for w in preview.warnings if "free IP" in w]


def test_up_applies_bandwidth_and_the_namespace_selector(program: LabProgram, lab: Lab) -> None:
    result, _ = watch(program.stack().up)
    assert result.summary.result == "succeeded"

    assert egress(lab, "payments")["spec"]["bandwidth"] == LIMIT
    assert egress(lab, "reporting")["spec"]["appliedTo"] == {
        "namespaceSelector": TEAMS,
        "podSelector": {"matchLabels": {"app": "web"}},
    }
    assert "bandwidth" not in egress(lab, "reporting")["spec"]
    config = lab.supervisor.get(
        f"{ANTREA_CONFIGS.format(ns=lab.namespace)}/{naming.antrea_config_name(CLUSTER)}"
    )
    assert config is not None
    assert config["spec"]["antrea"]["config"]["featureGates"]["EgressTrafficShaping"] is True


def test_the_outputs_carry_the_selection_the_limit_and_the_capacity(program: LabProgram) -> None:
    zones = zone_outputs(program)

    assert zones["payments"]["bandwidth"] == LIMIT
    assert (zones["reporting"]["namespace"], zones["reporting"]["namespaceSelector"]) == (
        None,
        TEAMS,
    )
    for name in ("payments", "reporting"):  # 11 addresses each, the zone's Egress holds one
        assert zones[name]["capacity"] == {"size": 11, "egresses": 1, "free": 10}, name
        assert zones[name]["egressIP"] is not None, name


def test_a_second_up_changes_nothing(program: LabProgram) -> None:
    result, up = watch(program.stack().up)

    assert result.summary.result == "succeeded"
    assert up.changed() == {}
    program.stack().preview(expect_no_changes=True)


def test_shrinking_a_pool_to_one_address_is_warned_about_in_the_preview(
    program: LabProgram, lab: Lab, configured: dict[str, tuple[Any, bool]]
) -> None:
    edited = copy.deepcopy(configured)
    payments = next(z for z in edited["antrea-egress:zones"][0] if z["name"] == "payments")
    payments["ipRanges"] = [{"start": "10.100.5.50", "end": "10.100.5.50"}]
    program.configure(edited)

    _, preview = watch(program.stack().preview)
    (full,) = [w for w in preview.warnings if FULL_POOL in w]
    assert "antrea-egress:zones[0].ipRanges: " in full

    result, _ = watch(program.stack().up)
    assert result.summary.result == "succeeded"
    assert zone_outputs(program)["payments"]["capacity"] == {"size": 1, "egresses": 1, "free": 0}
    assert egress(lab, "payments")["spec"]["egressIP"] == "10.100.5.50"
