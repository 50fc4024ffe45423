"""The lab's TKR resolver: what it writes into a Cluster, as tanzu-framework's webhook does."""

from __future__ import annotations

from typing import Any

from lab.controllers.tkr_resolver import resolve


def cluster(version: str, **topology: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "c1", "namespace": "ns"},
        "spec": {
            "topology": {
                "class": "builtin-generic-v3.2.0",
                "version": version,
                "variables": [{"name": "vmClass", "value": "small"}],
                "workers": {"machineDeployments": [{"class": "node-pool", "name": "np1"}]},
                **topology,
            }
        },
    }


def test_a_tkr_name_becomes_its_kubernetes_version_label_and_data() -> None:
    resolved = resolve(cluster("v1.31.1---vmware.2-fips-vkr.2"))
    topology = resolved["spec"]["topology"]
    assert topology["version"] == "v1.31.1+vmware.2-fips"
    assert resolved["metadata"]["labels"] == {
        "run.tanzu.vmware.com/tkr": "v1.31.1---vmware.2-fips-vkr.2"
    }
    # Appended after the variables sent, on the Cluster and on each machine deployment.
    assert [v["name"] for v in topology["variables"]] == ["vmClass", "TKR_DATA"]
    overrides = topology["workers"]["machineDeployments"][0]["variables"]["overrides"]
    assert [v["name"] for v in overrides] == ["TKR_DATA"]


def test_a_resolved_cluster_resolves_to_itself() -> None:
    once = resolve(cluster("v1.31.1---vmware.2-fips-vkr.2"))
    assert resolve(once) == once


def test_a_cluster_without_topology_or_being_deleted_passes_unchanged() -> None:
    plain = {"metadata": {"name": "c1"}, "spec": {"infrastructureRef": {"name": "x"}}}
    assert resolve(plain) is plain
    deleting = cluster("v1.31.1---vmware.2-fips-vkr.2")
    deleting["metadata"]["deletionTimestamp"] = "2026-12-07T00:00:00Z"
    assert resolve(deleting) is deleting
