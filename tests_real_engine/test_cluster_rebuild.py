"""Rebuilding the cluster, as the README's runbook says: destroy the AntreaConfig and
everything that depends on it (`pulumi destroy --target <AntreaConfig> --target-dependents`),
then `pulumi up`. The new cluster must come up on our AntreaConfig, on a new node segment
lookup, and get the zones' child segments, pools and Egresses again."""

from __future__ import annotations

from typing import Any

import pytest

from antrea_egress import naming
from lab.lab import Lab
from lab.program import LabProgram
from lab.stack import CLUSTER, ZONES
from tests_real_engine.steps import operate

pytestmark = pytest.mark.timeout(900)

ANTREA = "/apis/crd.antrea.io/v1beta1"
TKCS = "/apis/run.tanzu.vmware.com/v1alpha3/namespaces/{ns}/tanzukubernetesclusters"


def uid(obj: dict[str, Any] | None) -> str:
    assert obj is not None
    return str(obj["metadata"]["uid"])


def resource_urn(stack: Any, name: str) -> str:
    state = stack.export_stack().deployment
    return str(next(r["urn"] for r in state["resources"] if r["urn"].endswith(f"::{name}")))


def test_the_runbook_rebuilds_the_cluster_on_our_antrea_config(
    program: LabProgram, lab: Lab
) -> None:
    stack = program.stack()
    assert stack.up().summary.result == "succeeded"
    tkc_path = f"{TKCS.format(ns=lab.namespace)}/{CLUSTER}"
    before_tkc = uid(lab.supervisor.get(tkc_path))
    before = {
        zone: uid(lab.guest.get(f"{ANTREA}/egresses/{naming.egress_name(zone)}")) for zone in ZONES
    }

    destroyed = stack.destroy(
        target=[resource_urn(stack, f"{CLUSTER}-antrea-config")], target_dependents=True
    )
    assert destroyed.summary.result == "succeeded"
    assert lab.supervisor.get(tkc_path) is None
    assert lab.guest.list(f"{ANTREA}/egresses") == []
    assert stack.up().summary.result == "succeeded"

    assert uid(lab.supervisor.get(tkc_path)) != before_tkc
    # The new cluster adopted our AntreaConfig again (never the Supervisor's default).
    name = f"{lab.namespace}/{naming.antrea_config_name(CLUSTER)}"
    assert lab.supervisor_double.adopted == [name, name]
    assert lab.supervisor_double.defaulted == []
    zones = stack.outputs()["zones"].value
    for zone in ZONES:
        egress = lab.guest.get(f"{ANTREA}/egresses/{naming.egress_name(zone)}")
        assert uid(egress) != before[zone], zone  # created again, in the new cluster
        assert egress is not None
        assert egress["status"]["egressIP"] == zones[zone]["egressIP"]
    assert stack.destroy().summary.result == "succeeded"


def test_replacing_the_tkc_alone_loses_our_antrea_config_and_refresh_shows_it(
    program: LabProgram, lab: Lab
) -> None:
    """Why the runbook, and not `pulumi up --replace <TKC>`: the replacement itself runs in
    order (guest objects deleted, the TKC deleted and created, pools and Egresses created in
    the new cluster), but the Supervisor deletes our AntreaConfig with the old cluster (its
    owner reference) behind Pulumi's back, so the new cluster comes up on the Supervisor's
    default Antrea configuration; only a refresh shows it."""
    stack = program.stack()
    assert stack.up().summary.result == "succeeded"
    tkc_path = f"{TKCS.format(ns=lab.namespace)}/{CLUSTER}"
    before_tkc = uid(lab.supervisor.get(tkc_path))
    defaulted_before = len(lab.supervisor_double.defaulted)

    result, up = operate(stack.up, replace=[resource_urn(stack, f"{CLUSTER}-tkc")])

    assert result.summary.result == "succeeded"
    assert uid(lab.supervisor.get(tkc_path)) != before_tkc
    assert up.ops_of(f"{CLUSTER}-antrea-config") == ["same"]  # the engine saw no reason
    zones = stack.outputs()["zones"].value
    for zone in ZONES:
        egress = lab.guest.get(f"{ANTREA}/egresses/{naming.egress_name(zone)}")
        assert egress is not None
        assert egress["status"]["egressIP"] == zones[zone]["egressIP"]
    name = f"{lab.namespace}/{naming.antrea_config_name(CLUSTER)}"
    assert lab.supervisor_double.defaulted[defaulted_before:] == [name]

    _, refresh = operate(stack.refresh)
    assert refresh.outcome_of(f"{CLUSTER}-antrea-config") == ["update"]
    assert stack.destroy().summary.result == "succeeded"
