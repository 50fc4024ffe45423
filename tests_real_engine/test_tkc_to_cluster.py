"""The README's runbook "From a TKC to a Cluster", under the real engine.

A TKC stack runs; the TKC is retired (label `kubernetes.vmware.com/retire-tkc`, which the lab's
Supervisor double answers as docs/cluster-api.md C21 describes: the TKC goes, its Cluster of
the same name stays); a refresh drops the TKC from the state; the stack, switched to
`cluster.api: cluster` on the TKC's ClusterClass and with the retired TKC's uid, adopts the
Cluster without recreating it or any guest object. The tests run in file order on one lab.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from pulumi import automation as auto

from antrea_egress import naming
from lab.lab import Lab
from lab.program import LabProgram
from lab.stack import CLUSTER, ZONES, cluster_api_values, values
from tests_real_engine.steps import operate

pytestmark = pytest.mark.timeout(900)

ANTREA = "/apis/crd.antrea.io/v1beta1"
TKCS = "/apis/run.tanzu.vmware.com/v1alpha3/namespaces/{ns}/tanzukubernetesclusters"
CLUSTERS = "/apis/cluster.x-k8s.io/v1beta1/namespaces/{ns}/clusters"
RETIRE_LABEL = "kubernetes.vmware.com/retire-tkc"
RETIRE_TIMEOUT_S = 60.0
CLUSTER_URN = (
    "urn:pulumi:lab::antrea-egress::antrea-egress:index:TanzuCluster"
    f"$kubernetes:cluster.x-k8s.io/v1beta1:Cluster::{CLUSTER}-cluster"
)
# The one run that takes over the fields the TKC's controller set (README).
PATCH_FORCE = {"PULUMI_K8S_ENABLE_PATCH_FORCE": "true"}
# Shared by the tests of this module, in order.
BEFORE: dict[str, Any] = {}


def protected(stack: dict[str, tuple[Any, bool]]) -> dict[str, tuple[Any, bool]]:
    """The stack as users run it: the cluster protected (the default)."""
    declared, secret = stack["antrea-egress:cluster"]
    return {**stack, "antrea-egress:cluster": ({**declared, "protect": True}, secret)}


def uids(lab: Lab) -> dict[str, str]:
    """The uid of the Cluster and of every pool and Egress."""
    found = {"cluster": _get(lab, f"{CLUSTERS.format(ns=lab.namespace)}/{CLUSTER}")}
    for zone in ZONES:
        found[f"{zone}-pool"] = _get(
            lab, f"{ANTREA}/externalippools/{naming.external_ip_pool_name(zone)}"
        )
        found[f"{zone}-egress"] = _get(lab, f"{ANTREA}/egresses/{naming.egress_name(zone)}")
    return found


def test_a_tkc_stack_is_up(program: LabProgram, lab: Lab) -> None:
    program.configure(protected(values(lab)))
    result, _ = operate(program.stack().up)
    assert result.summary.result == "succeeded"
    BEFORE["tkc_uid"] = _get(lab, f"{TKCS.format(ns=lab.namespace)}/{CLUSTER}")
    BEFORE["uids"] = uids(lab)


def test_retiring_the_tkc_leaves_its_cluster(lab: Lab) -> None:
    tkc = f"{TKCS.format(ns=lab.namespace)}/{CLUSTER}"
    lab.supervisor.merge_patch(tkc, {"metadata": {"labels": {RETIRE_LABEL: ""}}})
    deadline = time.monotonic() + RETIRE_TIMEOUT_S
    while lab.supervisor.get(tkc) is not None:
        assert time.monotonic() < deadline, "the TKC was not retired"
        time.sleep(0.2)
    cluster = lab.supervisor.get(f"{CLUSTERS.format(ns=lab.namespace)}/{CLUSTER}")
    assert cluster is not None
    assert cluster["metadata"].get("ownerReferences") is None
    assert cluster["spec"]["topology"]["class"] == "tanzukubernetescluster"
    assert lab.supervisor_double.retired == [f"{lab.namespace}/{CLUSTER}"]


def test_a_refresh_drops_the_retired_tkc_from_the_state(program: LabProgram) -> None:
    _, steps = operate(program.stack().refresh)
    gone = {name for (_, name), found in steps.outcomes.items() if "delete" in found}
    assert gone == {f"{CLUSTER}-tkc"}
    assert steps.outcome_of(f"{CLUSTER}-tkc") == ["delete"]


def test_the_switched_stack_plans_only_to_adopt_the_cluster(program: LabProgram, lab: Lab) -> None:
    program.configure(
        protected(
            cluster_api_values(
                lab, clusterClass="tanzukubernetescluster", retiredTkcUid=BEFORE["tkc_uid"]
            )
        )
    )
    _, steps = operate(program.stack().preview, target=[CLUSTER_URN])
    assert steps.changed() == {f"{CLUSTER}-cluster": ["create"]}


def test_without_force_the_supervisors_version_conflicts(program: LabProgram) -> None:
    """The TKC's controller owns the version it wrote (the resolved form); the stack sends the
    TKr name, so server-side apply refuses to take it over unforced."""
    with pytest.raises(auto.CommandError, match=r"conflict with .* \.spec\.topology\.version"):
        program.stack().up(target=[CLUSTER_URN])
    operate(program.stack().refresh, clear_pending_creates=True)


def test_up_adopts_the_cluster_and_keeps_every_object(program: LabProgram, lab: Lab) -> None:
    result, steps = operate(program.stack(extra_env=PATCH_FORCE).up, target=[CLUSTER_URN])
    assert result.summary.result == "succeeded"
    assert steps.changed() == {f"{CLUSTER}-cluster": ["create"]}
    assert uids(lab) == BEFORE["uids"]


def test_then_nothing_changes(program: LabProgram) -> None:
    result, _ = operate(program.stack().preview, expect_no_changes=True)
    assert set(result.change_summary) == {"same", "read"}


def test_the_adopted_cluster_is_destroyed_with_the_stack(program: LabProgram, lab: Lab) -> None:
    program.configure(
        cluster_api_values(
            lab, clusterClass="tanzukubernetescluster", retiredTkcUid=BEFORE["tkc_uid"]
        )
    )
    operate(program.stack().up)  # unprotects it
    result, _ = operate(program.stack().destroy)
    assert result.summary.result == "succeeded"
    assert lab.supervisor.get(f"{CLUSTERS.format(ns=lab.namespace)}/{CLUSTER}") is None


def _get(lab: Lab, path: str) -> str:
    obj = lab.supervisor.get(path) if path.startswith("/apis/run") or "clusters" in path else None
    obj = obj or lab.guest.get(path)
    assert obj is not None, path
    return str(obj["metadata"]["uid"])
