"""TanzuCluster variants: an existing cluster (manage: false), an explicit node segment."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from pulumi.output import Unknown
from pulumi.runtime import rpc

from antrea_egress import manifests
from antrea_egress.kube import cluster_fingerprint
from antrea_egress.providers.base import UNKNOWN
from egressctl.offline import Registration
from egressctl.render import render_stack
from nsxsim import LAB
from tests.pulumi_harness import (
    GUEST_KUBECONFIG,
    TKC_UID,
    FakeEngine,
    ObjectNotFoundError,
    run_program,
    stack_values,
)

TKC = "run.tanzu.vmware.com/v1alpha3:TanzuKubernetesCluster"
ANTREA_CONFIG = "cni.tanzu.vmware.com/v1alpha1:AntreaConfig"
INSTANCE = "antrea-egress/cluster-instance"
EXPLICIT_PARENT = "/infra/segments/vnet_60f55536-121d-40d0-ac48-4cb976decf3d_0"


def field_procedure_cluster(**cluster: Any) -> dict[str, Any]:
    values = stack_values("prod")
    values["antrea-egress:cluster"] = {**values["antrea-egress:cluster"], **cluster}
    return values


def test_existing_cluster_creates_neither_antrea_config_nor_tkc() -> None:
    values = stack_values("prod")
    values["antrea-egress:cluster"] = {
        "name": "tkc-test01",
        "vsphereNamespace": "test",
        "manage": False,
    }
    run = run_program("prod", values=values)
    assert run.by_type(TKC) == []
    assert run.by_type(ANTREA_CONFIG) == []
    secret = run.one("core/v1:Secret")
    assert secret.read_id == "test/tkc-test01-kubeconfig"
    assert secret.dependencies == []
    guest = run.named("tkc-test01-guest")
    assert run.one("crd.antrea.io/v1beta1:Egress").provider_urn == guest.urn
    assert run.one("NodeSegment").inputs["cluster"] == "tkc-test01"


def test_explicit_node_segment_skips_discovery() -> None:
    run = run_program("prod", values=field_procedure_cluster(nodeSegment=EXPLICIT_PARENT))
    assert run.by_type("NodeSegment") == []
    assert run.one("ChildSegment").inputs["parent_path"] == EXPLICIT_PARENT
    assert run.exports["nodeSegment"] == EXPLICIT_PARENT


def test_ready_timeout_becomes_the_tkc_custom_timeouts() -> None:
    run = run_program("prod", values=field_procedure_cluster(readyTimeout="1h30m"))
    timeouts = run.one(TKC).options.customTimeouts
    assert (timeouts.create, timeouts.update, timeouts.delete) == ("1h30m", "1h30m", "1h30m")


def test_antrea_config_ignores_what_the_supervisor_adds() -> None:
    run = run_program("prod")
    assert sorted(run.one(ANTREA_CONFIG).options.ignoreChanges) == [
        "metadata.labels",
        "metadata.ownerReferences",
    ]


def test_nsx_disabled_and_more_gates() -> None:
    run = run_program(
        "prod",
        values=field_procedure_cluster(
            antrea={"featureGates": {"FlowExporter": True}, "nsx": False}
        ),
    )
    spec = run.one(ANTREA_CONFIG).inputs["spec"]
    assert spec["antrea"]["config"]["featureGates"] == {
        "FlowExporter": True,
        "EgressSeparateSubnet": True,
    }
    assert spec["antreaNSX"] == {"enable": False}


def test_invalid_configuration_stops_before_any_resource() -> None:
    values = field_procedure_cluster(
        controlPlane={"replicas": 2, "vmClass": "x", "storageClass": "y"}
    )
    values["antrea-egress:zones"][0]["gateway"] = "10.100.5.0"
    with pytest.raises(pulumi.RunError, match="invalid stack configuration") as caught:
        run_program("prod", values=values)
    message = str(caught.value)
    assert "antrea-egress:cluster.controlPlane.replicas: must be odd, got 2" in message
    assert "antrea-egress:zones[0].gateway" in message


def test_lab_stack_renders_kubernetes_objects_instead_of_reading_a_cluster() -> None:
    run = run_program("lab")
    assert run.by_type("core/v1:Secret") == []  # nothing to read: there is no Supervisor
    assert run.by_type("NodeSegment") == []
    assert run.named("supervisor").inputs["renderYamlToDirectory"] == "rendered/lab/supervisor"
    guest = run.named("tkc-lab01-guest")
    assert guest.inputs["renderYamlToDirectory"] == "rendered/lab/tkc-lab01"
    assert "kubeconfig" not in guest.inputs
    assert run.one("crd.antrea.io/v1beta1:Egress").provider_urn == guest.urn
    assert run.one("ChildSegment").inputs["parent_path"] == EXPLICIT_PARENT


def test_rendering_needs_an_explicit_node_segment() -> None:
    values = stack_values("lab")
    values["antrea-egress:cluster"] = {**values["antrea-egress:cluster"], "nodeSegment": "auto"}
    with pytest.raises(
        Exception, match=r"antrea-egress:cluster\.nodeSegment: must be a segment path"
    ):
        run_program("lab", values=values)


class PruningSupervisor(FakeEngine):
    """A Supervisor whose AntreaConfig CRD lacks the gate and the NSX block (the public one)."""

    def outputs(self, args: Any, state: dict[str, Any]) -> dict[str, Any]:
        if args.typ.endswith(ANTREA_CONFIG):
            spec = {"antrea": {"config": {"featureGates": {"NodePortLocal": True}}}}
            return {**state, "spec": spec}
        return super().outputs(args, state)


def test_no_tkc_on_an_antrea_config_the_supervisor_pruned() -> None:
    with pytest.raises(
        manifests.AntreaConfigPrunedError,
        match=r"dropped spec\.antrea\.config\.featureGates\.EgressSeparateSubnet",
    ):
        run_program("prod", engine=PruningSupervisor())


def test_unprotected_cluster_when_configured() -> None:
    run = run_program("prod", values=field_procedure_cluster(protect=False))
    assert run.one(TKC).options.protect is False


def test_the_supervisor_context_is_required() -> None:
    values = stack_values("prod")
    del values["kubernetes:context"]
    with pytest.raises(pulumi.RunError, match="kubernetes:context: not set"):
        run_program("prod", values=values)


def test_an_explicit_node_segment_is_used_only_once_the_cluster_exists() -> None:
    run = run_program("prod", values=field_procedure_cluster(nodeSegment=EXPLICIT_PARENT))
    assert run.one(TKC).urn in run.one("ChildSegment").dependencies


class RoutedNamespace(FakeEngine):
    def outputs(self, args: Any, state: dict[str, Any]) -> dict[str, Any]:
        state = super().outputs(args, state)
        if args.typ.endswith("NodeSegment"):
            state["snat_ip"] = None
        return state


def test_nat_mode_is_compared_with_what_discovery_found() -> None:
    run = run_program("prod", engine=RoutedNamespace())
    assert any("set antrea-egress:natMode to false" in w for w in run.warnings)
    values = stack_values("prod")
    values["antrea-egress:natMode"] = False
    run = run_program("prod", values=values)  # the fake namespace has a SNAT IP: NAT mode
    assert any("zone traffic will be SNATed" in w for w in run.warnings)


# --- the first preview of a new stack, and the cluster's identity -------------------------


def test_first_preview_of_a_new_stack_defers_what_needs_the_cluster() -> None:
    """pulumi-kubernetes previews the TKC's creation with its metadata and an empty id; the
    kubeconfig read, the guest provider's identity and discovery must wait for the real id."""
    run = run_program("prod", preview=True, engine=FakeEngine(stack_deployed=False))
    assert run.one("core/v1:Secret").read_id == UNKNOWN
    guest = run.named("tkc-prod01-guest")
    egress = run.one("crd.antrea.io/v1beta1:Egress")
    assert isinstance(egress.inputs["metadata"]["annotations"][INSTANCE], Unknown)
    assert egress.provider_urn == guest.urn


def test_the_harness_fails_a_read_of_a_secret_that_does_not_exist_yet() -> None:
    """The double is strict where the engine is: keyed on metadata (known in that preview),
    the read would run and fail, as it did under the real engine."""
    with pytest.raises(ObjectNotFoundError, match="'prod/tkc-prod01-kubeconfig' does not exist"):
        run_program(
            "prod",
            preview=True,
            engine=FakeEngine(stack_deployed=False),
            values=field_procedure_cluster(manage=False),
        )


def test_the_guest_objects_follow_the_cluster_instance_the_provider_does_not() -> None:
    """A rebuilt cluster (new TKC uid) replaces the pools and Egresses, which live in it; the
    guest provider keeps one identity, so no provider replacement cascades through the engine
    (which mis-handled that under the real engine)."""
    run = run_program("prod")
    assert run.named("tkc-prod01-guest").inputs["clusterIdentifier"] == "prod/tkc-prod01"
    for kind in ("ExternalIPPool", "Egress"):
        resource = run.one(f"crd.antrea.io/v1beta1:{kind}")
        assert resource.inputs["metadata"]["annotations"][INSTANCE] == f"uid:{TKC_UID}"
        assert list(resource.options.replaceOnChanges) == [f'metadata.annotations["{INSTANCE}"]']


def test_an_existing_cluster_is_identified_by_its_api_server_and_ca() -> None:
    run = run_program("prod", values=field_procedure_cluster(manage=False))
    pool = run.one("crd.antrea.io/v1beta1:ExternalIPPool")
    instance = pool.inputs["metadata"]["annotations"][INSTANCE]
    assert instance == f"ca:{cluster_fingerprint(GUEST_KUBECONFIG)}"
    assert not rpc.is_rpc_secret(instance)  # a digest of public data, readable in previews


def test_fixed_name_objects_are_deleted_before_they_are_replaced() -> None:
    """Otherwise a replacement is create-before-delete, the create (server-side apply) takes
    over the existing object, and the delete removes it: shown under the real engine."""
    run = run_program("prod")
    assert run.one(TKC).options.deleteBeforeReplace is True
    assert run.one(ANTREA_CONFIG).options.deleteBeforeReplace is True
    assert list(run.one(TKC).options.replace_with) == []  # see README: rebuilding the cluster


def test_an_explicit_node_segment_has_its_tier1_read_once() -> None:
    run = run_program("prod", values=field_procedure_cluster(nodeSegment=EXPLICIT_PARENT))
    lookup = run.one("ParentSegment")
    assert lookup.inputs["path"] == EXPLICIT_PARENT
    assert run.one(TKC).urn in lookup.dependencies
    rule = run.one("policyNatRule:PolicyNatRule")
    assert rule.inputs["gatewayPath"] == LAB.tier1_path
    assert property_dependencies(rule, "gatewayPath") == [lookup.urn]


def test_an_offline_render_does_not_warn_about_nat_mode() -> None:
    """Nothing was looked up offline, so there is nothing to compare natMode with."""
    rendering = render_stack("prod")
    assert not [w for w in rendering.warnings if "SNAT IP" in w]


def property_dependencies(record: Registration, prop: str) -> list[str]:
    return list(record.options.propertyDependencies[prop].urns)
