"""The rendered Cluster API v1beta1 Cluster: its shape, and our CRD in schemas/crds/ours/."""

from __future__ import annotations

import json
from typing import Any

import pytest

from antrea_egress import capi
from antrea_egress.config import ClusterConfig
from tests.antrea_egress.test_manifests import STACKS, stack
from tests.crd_schemas import CAPI_CLUSTER_V1BETA1, openapi_schema, pruned_fields, schema_errors


def cluster_api(name: str = "prod", **changes: Any) -> ClusterConfig:
    base = stack(name).cluster.model_dump(by_alias=True, exclude_none=True)
    return ClusterConfig.model_validate({**base, "api": "cluster", **changes})


def test_the_cluster_follows_the_versioned_cluster_class() -> None:
    rendered = capi.cluster(cluster_api())
    assert rendered["apiVersion"] == "cluster.x-k8s.io/v1beta1"
    assert rendered["kind"] == "Cluster"
    assert rendered["metadata"]["name"] == "tkc-prod01"
    assert rendered["metadata"]["namespace"] == "prod"
    assert rendered["spec"] == {
        "clusterNetwork": {
            "pods": {"cidrBlocks": ["192.168.0.0/16"]},
            "services": {"cidrBlocks": ["10.196.0.0/12"]},
            "serviceDomain": "cluster.local",
        },
        "topology": {
            "class": "builtin-generic-v3.2.0",
            "version": "v1.31.1---vmware.2-fips-vkr.2",
            "controlPlane": {"replicas": 1},
            "workers": {
                "machineDeployments": [{"class": "node-pool", "name": "worker", "replicas": 2}]
            },
            "variables": [
                {"name": "vmClass", "value": "best-effort-medium"},
                {"name": "storageClass", "value": "labnfs"},
            ],
        },
    }
    waits = json.loads(rendered["metadata"]["annotations"]["pulumi.com/waitFor"])
    assert waits == [capi.CONTROL_PLANE_INITIALIZED, capi.WORKERS_AVAILABLE]


def test_a_class_namespace_is_written_only_when_given() -> None:
    topology = capi.cluster(cluster_api(classNamespace="vmware-system-vks-public"))["spec"][
        "topology"
    ]
    assert topology["classNamespace"] == "vmware-system-vks-public"


def test_a_node_pool_unlike_the_control_plane_overrides_the_variables() -> None:
    pools = [
        {"name": "small", "replicas": 1, "vmClass": "best-effort-medium", "storageClass": "labnfs"},
        {"name": "big", "replicas": 3, "vmClass": "best-effort-large", "storageClass": "labnfs"},
    ]
    deployments = capi.cluster(cluster_api(nodePools=pools))["spec"]["topology"]["workers"][
        "machineDeployments"
    ]
    assert deployments == [
        {"class": "node-pool", "name": "small", "replicas": 1},
        {
            "class": "node-pool",
            "name": "big",
            "replicas": 3,
            "variables": {"overrides": [{"name": "vmClass", "value": "best-effort-large"}]},
        },
    ]


@pytest.mark.parametrize("name", STACKS)
def test_the_cluster_validates_against_our_v1beta1_crd(name: str) -> None:
    """Every field of the rendered Cluster has the declared type, the required ones are there,
    and the API server would prune none of them. What this cannot show: that the Supervisor's
    Cluster API CRD declares the same (UNCONFIRMED, see that file)."""
    rendered = capi.cluster(cluster_api(name, classNamespace="ns"))
    assert schema_errors(rendered, CAPI_CLUSTER_V1BETA1, "v1beta1") == []
    assert pruned_fields(rendered, openapi_schema(CAPI_CLUSTER_V1BETA1, "v1beta1")) == []


def test_our_v1beta1_crd_catches_what_it_does_not_declare() -> None:
    rendered = capi.cluster(cluster_api())
    topology = rendered["spec"]["topology"]
    topology["workers"]["machineDeployments"][0]["vmClass"] = "x"
    del topology["version"]
    topology["controlPlane"]["replicas"] = "1"
    assert pruned_fields(rendered, openapi_schema(CAPI_CLUSTER_V1BETA1, "v1beta1")) == [
        "spec.topology.workers.machineDeployments[0].vmClass"
    ]
    errors = schema_errors(rendered, CAPI_CLUSTER_V1BETA1, "v1beta1")
    assert any("'version' is a required property" in e for e in errors)
    assert any("'1' is not of type 'integer'" in e for e in errors)


def test_a_cluster_needs_a_managed_topology() -> None:
    with pytest.raises(ValueError, match="not managed here"):
        capi.cluster(cluster_api(manage=False, tkr=None))
