"""The Supervisor checks against the fake Kubernetes API: a passing and a failing case each.

Where the API server itself decides (a CRD's pruning, a webhook's refusal), the fake's
admission hook plays it: pruning with the public AntreaConfig CRD from schemas/crds, exactly as
tests/crd_schemas.py applies a structural schema.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from antrea_egress import naming
from egressctl.preflight.model import Status
from nsxsim import LAB
from tests.crd_schemas import ANTREA_CONFIG, openapi_schema, pruned
from tests.egressctl.preflight.world import (
    ANTREA_CONFIGS,
    CLUSTER,
    NAMESPACE,
    STORAGE_CLASS,
    TKC_PATH,
    TKR,
    TKRS,
    VM_CLASSES,
    World,
    api_resources,
    tkr,
)
from tests.fakes.kube_api import AdmissionRefusedError

QUOTA = f"/api/v1/namespaces/{NAMESPACE}/resourcequotas/{NAMESPACE}-storagequota"


def public_antrea_config_crd(path: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The API server with the last public AntreaConfig CRD: unknown fields dropped."""
    if path.endswith("/antreaconfigs"):
        return dict(pruned(obj, openapi_schema(ANTREA_CONFIG, "v1alpha1")))
    return obj


# --- the namespace and the APIs ----------------------------------------------------------------


def test_namespace_passes_and_says_the_cluster_is_still_to_come(site: World) -> None:
    outcome = site.check("supervisor-namespace")
    assert outcome.status == Status.PASS
    assert f"context supervisor): vSphere Namespace {NAMESPACE}" in outcome.evidence
    assert "does not exist yet (`up` creates it)" in outcome.evidence


def test_missing_namespace_fails(site: World) -> None:
    site.values["antrea-egress:cluster"]["vsphereNamespace"] = "elsewhere"
    outcome = site.check("supervisor-namespace")
    assert outcome.status == Status.FAIL
    assert "has no namespace elsewhere" in outcome.evidence


def test_refused_credentials_fail_without_the_token(site: World) -> None:
    site.values["kubernetes:kubeconfig"] = site.supervisor.kubeconfig(token="expired-token")
    outcome = site.check("supervisor-namespace")
    assert outcome.status == Status.FAIL
    assert "HTTP 401" in outcome.evidence
    assert "expired-token" not in outcome.evidence


def test_an_unmanaged_cluster_must_exist(site: World) -> None:
    site.values["antrea-egress:cluster"] = {
        "name": CLUSTER,
        "vsphereNamespace": NAMESPACE,
        "manage": False,
    }
    outcome = site.check("supervisor-namespace")
    assert outcome.status == Status.FAIL
    assert "cluster.manage is false" in outcome.evidence


def test_apis_pass_when_every_one_is_served(site: World) -> None:
    outcome = site.check("supervisor-apis")
    assert outcome.status == Status.PASS
    assert "clusters.cluster.x-k8s.io/v1beta1" in outcome.evidence


def test_an_api_that_is_not_served_fails_naming_it(site: World) -> None:
    site.supervisor.put("/apis/cluster.x-k8s.io/v1beta1", api_resources("cluster.x-k8s.io/v1beta1"))
    outcome = site.check("supervisor-apis")
    assert outcome.status == Status.FAIL
    assert "does not serve clusters in cluster.x-k8s.io/v1beta1" in outcome.evidence


def test_addon_config_being_served_is_a_warning(site: World) -> None:
    document = api_resources("addons.kubernetes.vmware.com/v1alpha1", "addonconfigs")
    site.supervisor.put("/apis/addons.kubernetes.vmware.com/v1alpha1", document)
    assert site.check("supervisor-apis").status == Status.WARN


# --- what the TKC names ----------------------------------------------------------------------


def test_tkr_passes_and_names_its_antrea(site: World) -> None:
    outcome = site.check("supervisor-tkr")
    assert outcome.status == Status.PASS
    assert "ships antrea.tanzu.vmware.com.2.1.0+vmware.1-tkg.1-advanced" in outcome.evidence


def test_missing_tkr_fails(site: World) -> None:
    site.values["antrea-egress:cluster"]["tkr"] = "v1.99.0---vmware.1-vkr.1"
    outcome = site.check("supervisor-tkr")
    assert outcome.status == Status.FAIL
    assert "no TKr v1.99.0---vmware.1-vkr.1" in outcome.evidence


def test_tkr_with_an_antrea_without_subnet_info_fails(site: World) -> None:
    site.supervisor.put(f"{TKRS}/{TKR}", tkr(antrea="1.13.3+vmware.1-tkg.1-advanced"))
    outcome = site.check("supervisor-tkr")
    assert outcome.status == Status.FAIL
    assert "need Antrea 1.15" in outcome.evidence


@pytest.mark.parametrize("broken", ["incompatible label", "not Ready"])
def test_an_unusable_tkr_fails(site: World, broken: str) -> None:
    found = tkr(incompatible="") if broken == "incompatible label" else tkr()
    if broken == "not Ready":
        found["status"]["conditions"][0]["status"] = "False"
    site.supervisor.put(f"{TKRS}/{TKR}", found)
    assert site.check("supervisor-tkr").status == Status.FAIL


def test_tkr_without_an_antrea_package_warns(site: World) -> None:
    found = tkr()
    found["spec"]["bootstrapPackages"] = []
    site.supervisor.put(f"{TKRS}/{TKR}", found)
    assert site.check("supervisor-tkr").status == Status.WARN


def test_vm_classes_pass_when_bound(site: World) -> None:
    assert site.check("supervisor-vm-classes").status == Status.PASS


def test_an_unbound_vm_class_fails(site: World) -> None:
    site.values["antrea-egress:cluster"]["nodePools"][0]["vmClass"] = "guaranteed-large"
    outcome = site.check("supervisor-vm-classes")
    assert outcome.status == Status.FAIL
    assert "not available to namespace test: guaranteed-large" in outcome.evidence


def test_vm_classes_bound_the_older_way(site: World) -> None:
    """Cluster-scoped classes, bound by a VirtualMachineClassBinding in the namespace."""
    document = api_resources(
        "vmoperator.vmware.com/v1alpha2", "virtualmachineclasses", namespaced=False
    )
    site.supervisor.put("/apis/vmoperator.vmware.com/v1alpha2", document)
    bindings = (
        f"/apis/vmoperator.vmware.com/v1alpha1/namespaces/{NAMESPACE}/virtualmachineclassbindings"
    )
    site.supervisor.put(
        f"{bindings}/b1", {"classRef": {"kind": "VirtualMachineClass", "name": "best-effort-small"}}
    )
    assert site.check("supervisor-vm-classes").status == Status.PASS
    site.supervisor.put(f"{bindings}/b1", {"classRef": {"name": "other"}})
    assert site.check("supervisor-vm-classes").status == Status.FAIL


def test_storage_class_passes_with_its_quota(site: World) -> None:
    outcome = site.check("supervisor-storage-classes")
    assert outcome.status == Status.PASS
    assert f"{STORAGE_CLASS} is assigned to namespace {NAMESPACE}" in outcome.evidence


def test_storage_class_without_a_quota_warns_and_a_missing_one_fails(site: World) -> None:
    site.supervisor.put(QUOTA, {"kind": "ResourceQuota", "spec": {"hard": {}}})
    assert site.check("supervisor-storage-classes").status == Status.WARN
    site.values["antrea-egress:cluster"]["controlPlane"]["storageClass"] = "gold"
    outcome = site.check("supervisor-storage-classes")
    assert outcome.status == Status.FAIL
    assert "no StorageClass gold" in outcome.evidence


# --- the TKC and the AntreaConfig as the API server would store them --------------------------


def test_tkc_dry_run_passes_and_stores_nothing(site: World) -> None:
    outcome = site.check("supervisor-tkc")
    assert outcome.status == Status.PASS
    assert site.supervisor.created == []
    assert [o["kind"] for o in site.supervisor.dry_runs] == ["TanzuKubernetesCluster"]
    posts = [r.query for r in site.supervisor.requests if r.method == "POST"]
    assert posts == [{"dryRun": "All", "fieldValidation": "Strict"}]


def test_tkc_refused_by_the_api_server_fails_with_its_message(site: World) -> None:
    def refuse(path: str, obj: dict[str, Any]) -> dict[str, Any]:
        raise AdmissionRefusedError(422, 'strict decoding error: unknown field "spec.settings"')

    site.supervisor.admission = refuse
    outcome = site.check("supervisor-tkc")
    assert outcome.status == Status.FAIL
    assert 'unknown field "spec.settings"' in outcome.evidence
    assert "manifests.tanzu_kubernetes_cluster" in outcome.fix


def test_tkc_dry_run_unsupported_by_a_webhook_warns(site: World) -> None:
    def refuse(path: str, obj: dict[str, Any]) -> dict[str, Any]:
        raise AdmissionRefusedError(400, 'admission webhook "x" does not support dry run')

    site.supervisor.admission = refuse
    assert site.check("supervisor-tkc").status == Status.WARN


def test_existing_tkc_passes_without_a_dry_run(deployed: World) -> None:
    assert deployed.check("supervisor-tkc").status == Status.PASS
    assert deployed.supervisor.dry_runs == []


def test_antrea_config_dry_run_passes_when_the_crd_keeps_both_fields(site: World) -> None:
    outcome = site.check("supervisor-antrea-config")
    assert outcome.status == Status.PASS
    assert "gate EgressSeparateSubnet yes; spec.antreaNSX" in outcome.evidence
    assert site.supervisor.created == []


def test_antrea_config_on_the_public_crd_fails_and_names_the_spelling(site: World) -> None:
    site.supervisor.admission = public_antrea_config_crd
    outcome = site.check("supervisor-antrea-config")
    assert outcome.status == Status.FAIL
    assert "gate EgressSeparateSubnet NO; spec.antreaNsx" in outcome.evidence
    assert "set manifests.ANTREA_NSX_BLOCK to 'antreaNsx'" in outcome.fix
    assert "no EgressSeparateSubnet gate" in outcome.fix


def test_a_stored_antrea_config_without_the_gate_fails(deployed: World) -> None:
    name = naming.antrea_config_name(CLUSTER)
    stored = deployed.supervisor.get(f"{ANTREA_CONFIGS}/{name}")
    assert stored is not None
    stored["spec"]["antrea"]["config"]["featureGates"].pop("EgressSeparateSubnet")
    deployed.supervisor.put(f"{ANTREA_CONFIGS}/{name}", stored)
    outcome = deployed.check("supervisor-antrea-config")
    assert outcome.status == Status.FAIL
    assert "dropped spec.antrea.config.featureGates.EgressSeparateSubnet" in outcome.evidence


def test_managed_checks_do_not_apply_to_an_unmanaged_cluster(deployed: World) -> None:
    deployed.values["antrea-egress:cluster"] = {
        "name": CLUSTER,
        "vsphereNamespace": NAMESPACE,
        "manage": False,
    }
    for check in ("supervisor-tkr", "supervisor-vm-classes", "supervisor-tkc"):
        assert "manage is false" in str(deployed.waits_for(check))


# --- what NCP says ------------------------------------------------------------------------------


def test_nat_mode_matching_the_evidence_passes(deployed: World) -> None:
    outcome = deployed.check("supervisor-nat-mode")
    assert outcome.status == Status.PASS
    assert "VirtualNetwork defaultSNATIP=10.114.19.164" in outcome.evidence


def test_nat_mode_against_the_evidence(site: World) -> None:
    site.values["antrea-egress:natMode"] = False
    assert site.check("supervisor-nat-mode").status == Status.FAIL
    site.supervisor.put(f"/api/v1/namespaces/{NAMESPACE}", {"kind": "Namespace"})
    assert site.check("supervisor-nat-mode").status == Status.PASS
    site.values["antrea-egress:natMode"] = True
    assert site.check("supervisor-nat-mode").status == Status.WARN


def test_router_id_naming_the_tier1_passes(deployed: World) -> None:
    outcome = deployed.check("supervisor-router-id")
    assert outcome.status == Status.PASS
    assert f"hangs off {LAB.tier1_path}" in outcome.evidence


def test_router_id_naming_another_tier1_warns(deployed: World) -> None:
    annotations = {"ncp/router_id": "t1_other_rtr", "ncp/snat_ip": "10.114.19.164"}
    namespace = {"kind": "Namespace", "metadata": {"annotations": annotations}}
    deployed.supervisor.put(f"/api/v1/namespaces/{NAMESPACE}", namespace)
    assert deployed.check("supervisor-router-id").status == Status.WARN


def test_kubeconfig_secret_passes_and_names_the_guest_server(deployed: World) -> None:
    outcome = deployed.check("supervisor-kubeconfig")
    assert outcome.status == Status.PASS
    assert deployed.guest.server in outcome.evidence


def test_kubeconfig_secret_under_another_key_fails(deployed: World) -> None:
    secret = f"/api/v1/namespaces/{NAMESPACE}/secrets/{naming.kubeconfig_secret_name(CLUSTER)}"
    value = base64.b64encode(deployed.guest.kubeconfig().encode()).decode()
    deployed.supervisor.put(secret, {"kind": "Secret", "data": {"kubeconfig": value}})
    outcome = deployed.check("supervisor-kubeconfig")
    assert outcome.status == Status.FAIL
    assert "has no key 'value' (keys: ['kubeconfig'])" in outcome.evidence


def test_cluster_checks_wait_for_the_cluster(site: World) -> None:
    assert "does not exist yet" in str(site.waits_for("supervisor-kubeconfig"))
    assert site.supervisor.get(f"{TKC_PATH}/{CLUSTER}") is None
    assert site.supervisor.get(f"{VM_CLASSES}/best-effort-small") is not None


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"- [unclosed").decode()])
def test_a_kubeconfig_secret_that_is_not_a_kubeconfig_fails(deployed: World, value: str) -> None:
    secret = f"/api/v1/namespaces/{NAMESPACE}/secrets/{naming.kubeconfig_secret_name(CLUSTER)}"
    deployed.supervisor.put(secret, {"kind": "Secret", "data": {"value": value}})
    outcome = deployed.check("supervisor-kubeconfig")
    assert outcome.status == Status.FAIL
    assert outcome.evidence.startswith("not checked: ")


# --- a zone's bandwidth: the AntreaConfig the program writes carries EgressTrafficShaping ---


def limit_payments(world: World) -> None:
    zones = [dict(z) for z in world.values["antrea-egress:zones"]]
    zones[0]["bandwidth"] = {"rate": "100M", "burst": "200M"}
    world.set("zones", zones)


def test_with_a_bandwidth_the_dry_run_carries_the_traffic_shaping_gate(site: World) -> None:
    limit_payments(site)

    outcome = site.check("supervisor-antrea-config")

    assert outcome.status == Status.PASS
    assert (
        "keeps: gate EgressSeparateSubnet yes, gate EgressTrafficShaping yes; spec.antreaNSX"
        in outcome.evidence
    )


def test_a_crd_dropping_the_traffic_shaping_gate_fails_naming_it(site: World) -> None:
    def drop_shaping(path: str, obj: dict[str, Any]) -> dict[str, Any]:
        if path.endswith("/antreaconfigs"):
            obj["spec"]["antrea"]["config"]["featureGates"].pop("EgressTrafficShaping", None)
        return obj

    limit_payments(site)
    site.supervisor.admission = drop_shaping

    outcome = site.check("supervisor-antrea-config")

    assert outcome.status == Status.FAIL
    assert "gate EgressTrafficShaping NO" in outcome.evidence
    assert "no EgressTrafficShaping gate" in outcome.fix


def test_a_stored_antrea_config_without_the_traffic_shaping_gate_fails(deployed: World) -> None:
    """The stored AntreaConfig was written before a zone had a bandwidth."""
    limit_payments(deployed)

    outcome = deployed.check("supervisor-antrea-config")

    assert outcome.status == Status.FAIL
    assert "EgressTrafficShaping" in outcome.evidence


def test_a_cluster_api_stack_dry_runs_its_cluster_not_a_tkc(site: World) -> None:
    site.values["antrea-egress:cluster"]["api"] = "cluster"
    outcome = site.check("supervisor-tkc")
    assert outcome.status == Status.PASS
    assert "dry run of the Cluster (cluster.x-k8s.io/v1beta1" in outcome.evidence
    assert site.supervisor.created == []
    assert [o["kind"] for o in site.supervisor.dry_runs] == ["Cluster"]


def test_a_cluster_api_cluster_refused_names_its_manifest(site: World) -> None:
    def refuse(path: str, obj: dict[str, Any]) -> dict[str, Any]:
        raise AdmissionRefusedError(422, 'strict decoding error: unknown field "spec.topology.x"')

    site.values["antrea-egress:cluster"]["api"] = "cluster"
    site.supervisor.admission = refuse
    outcome = site.check("supervisor-tkc")
    assert outcome.status == Status.FAIL
    assert "capi.cluster" in outcome.fix


def test_an_existing_cluster_api_cluster_passes_without_a_dry_run(deployed: World) -> None:
    deployed.values["antrea-egress:cluster"]["api"] = "cluster"
    outcome = deployed.check("supervisor-tkc")
    assert outcome.status == Status.PASS
    assert outcome.evidence.startswith("Cluster ")
    assert deployed.supervisor.dry_runs == []
