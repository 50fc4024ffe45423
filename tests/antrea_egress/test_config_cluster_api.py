"""The keys of `cluster.api: cluster`: defaults, their messages, and what a TKC ignores."""

from __future__ import annotations

from antrea_egress.config import load_stack_config
from tests.antrea_egress.test_config import (
    FIELD_PROCEDURE_WARNINGS,
    P,
    apply,
    cluster,
    problems_of,
)


def test_the_tkc_is_the_default_and_the_cluster_keys_default_as_documented() -> None:
    stack, _ = load_stack_config(apply())
    assert stack.cluster.api == "tkc"
    assert stack.cluster.uses_cluster_api is False
    assert stack.cluster.cluster_class == "builtin-generic-v3.2.0"
    assert stack.cluster.class_namespace is None
    assert stack.cluster.network.service_domain == "cluster.local"
    assert stack.cluster.retired_tkc_uid is None


def test_a_cluster_api_cluster_takes_its_class_namespace_and_service_domain() -> None:
    stack, warnings = load_stack_config(
        apply(
            cluster("api", value="cluster"),
            cluster("clusterClass", value="builtin-generic-v3.4.0"),
            cluster("classNamespace", value="vmware-system-vks-public"),
            cluster("network", "serviceDomain", value="corp.local"),
        )
    )
    assert warnings == FIELD_PROCEDURE_WARNINGS
    assert stack.cluster.uses_cluster_api
    assert stack.cluster.cluster_class == "builtin-generic-v3.4.0"
    assert stack.cluster.class_namespace == "vmware-system-vks-public"
    assert stack.cluster.network.service_domain == "corp.local"


def test_an_unknown_api_names_the_key_and_both_choices() -> None:
    assert problems_of(apply(cluster("api", value="v1beta1"))) == [
        f"{P}cluster.api: must be 'tkc' (a TanzuKubernetesCluster) or 'cluster' (a Cluster API "
        "v1beta1 Cluster), got 'v1beta1'"
    ]


def test_the_new_keys_name_themselves_when_malformed() -> None:
    problems = problems_of(
        apply(
            cluster("api", value="cluster"),
            cluster("clusterClass", value="Builtin_Generic"),
            cluster("classNamespace", value="a.b"),
            cluster("network", "serviceDomain", value="-x"),
            cluster("retiredTkcUid", value=""),
        )
    )
    assert [p.split(":")[1] for p in problems] == [
        "cluster.clusterClass",
        "cluster.classNamespace",
        "cluster.retiredTkcUid",
        "cluster.network.serviceDomain",
    ], problems


def test_a_tkc_warns_that_it_ignores_the_cluster_keys() -> None:
    _, warnings = load_stack_config(
        apply(
            cluster("clusterClass", value="builtin-generic-v3.2.0"),
            cluster("retiredTkcUid", value="3a1f"),
            cluster("network", "serviceDomain", value="cluster.local"),
        )
    )
    ignored = "ignored: api is tkc; only a Cluster API Cluster (api: cluster) uses it"
    host_bits, full_pool = FIELD_PROCEDURE_WARNINGS
    assert warnings == [
        host_bits,
        f"{P}cluster.clusterClass: {ignored}",
        f"{P}cluster.retiredTkcUid: {ignored}",
        f"{P}cluster.network.serviceDomain: {ignored}",
        full_pool,
    ]


def test_a_tkc_control_plane_may_have_five_machines_a_cluster_not() -> None:
    five = cluster("controlPlane", "replicas", value=5)
    load_stack_config(apply(five))
    assert problems_of(apply(five, cluster("api", value="cluster"))) == [
        f"{P}cluster.controlPlane.replicas: must be 1 or 3 with api: cluster (the ClusterClass's "
        "control plane), got 5"
    ]
