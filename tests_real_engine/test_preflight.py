"""`egressctl preflight` against the lab: real kube-apiservers for the Supervisor and the guest
cluster, the NSX simulator, the real program's `up` in between.

A healthy lab passes every check before and after `up`; preflight changes nothing anywhere:
NSX sees only GETs, and no object of either API server changes (every object's
resourceVersion is the same before and after; the dry runs reach the admission webhook as dry
runs). The lab's Supervisor double does not serve TKrs, VM classes or storage quotas, and the
Antrea double does not report a version or feature gates: `seed_supervisor` and `seed_antrea`
add them as a vSphere site and Antrea would (what they are: docs/antrea-and-tanzu.md and the
headers of schemas/crds/ours/).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from antrea_egress.discovery import VNET_UID_TAG_SCOPE
from egressctl.cli import app
from lab import crds
from lab.kube import LabKube, LabKubeError
from lab.lab import Lab
from lab.program import LabProgram
from lab.stack import cluster
from nsxsim import LAB

pytestmark = pytest.mark.timeout(900)

TKR_CRD = "ours/run.tanzu.vmware.com_tanzukubernetesreleases_v1alpha3.yaml"
VM_CLASS_CRD = "ours/vmoperator.vmware.com_virtualmachineclasses_v1alpha2.yaml"
CONTROLLER_INFO_CRD = "ours/crd.antrea.io_antreacontrollerinfos_v1beta1.yaml"
TKRS = "/apis/run.tanzu.vmware.com/v1alpha3/tanzukubernetesreleases"
# Kinds whose objects change on their own while nothing else happens: leader-election leases
# renewed by the controller managers, and events.
CHANGING_BY_THEMSELVES = {"leases", "events"}
STORAGE_READY_TIMEOUT_S = 30.0
# The width a README shows without wrapping.
COLUMNS = "120"


# --- what the lab's doubles do not play, added as the real systems would have it -------------


def seed_supervisor(lab: Lab) -> None:
    """The TKr, VM class and storage class the lab stack names, and the namespace's Tier-1
    annotation, as a vSphere site with NCP has them before any cluster."""
    supervisor, namespace = lab.supervisor, lab.namespace
    settings = cluster(lab)
    crds.install(supervisor, [crds.load(TKR_CRD), crds.load(VM_CLASS_CRD)])
    tkr = settings["tkr"]
    supervisor.create(TKRS, tkr_object(tkr))
    supervisor.merge_patch(f"{TKRS}/{tkr}/status", {"status": tkr_status()})
    vm_classes = (
        f"/apis/vmoperator.vmware.com/v1alpha2/namespaces/{namespace}/virtualmachineclasses"
    )
    machine = settings["controlPlane"]
    supervisor.create(vm_classes, vm_class(machine["vmClass"]))
    supervisor.create(
        "/apis/storage.k8s.io/v1/storageclasses", storage_class(machine["storageClass"])
    )
    quota = f"{machine['storageClass']}.storageclass.storage.k8s.io/requests.storage"
    supervisor.create(
        f"/api/v1/namespaces/{namespace}/resourcequotas",
        {"metadata": {"name": f"{namespace}-storagequota"}, "spec": {"hard": {quota: "1Ti"}}},
    )
    supervisor.merge_patch(
        f"/api/v1/namespaces/{namespace}",
        {"metadata": {"annotations": {"ncp/router_id": LAB.tier1_id}}},
    )


def tkr_object(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "run.tanzu.vmware.com/v1alpha3",
        "kind": "TanzuKubernetesRelease",
        "metadata": {"name": name},
        "spec": {
            "version": "v1.31.1+vmware.2-fips-vkr.2",
            "kubernetes": {"version": "v1.31.1+vmware.2-fips"},
            "bootstrapPackages": [
                {"name": "antrea.tanzu.vmware.com.2.1.0+vmware.1-tkg.1-advanced"}
            ],
        },
    }


def tkr_status() -> dict[str, Any]:
    return {
        "conditions": [
            {"type": "Ready", "status": "True"},
            {"type": "Compatible", "status": "True"},
        ]
    }


def vm_class(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "vmoperator.vmware.com/v1alpha2",
        "kind": "VirtualMachineClass",
        "metadata": {"name": name},
        "spec": {"hardware": {"cpus": 2, "memory": "4Gi"}},
    }


def storage_class(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name},
        "provisioner": "csi.vsphere.vmware.com",
    }


def tag_node_segment(lab: Lab) -> None:
    """NCP tags a cluster's node segment with its VirtualNetwork's uid; the lab's NSX seed has a
    fixed uid and the Supervisor double's VirtualNetwork a new one, so tag it as NCP would."""
    networks = f"/apis/vmware.com/v1alpha1/namespaces/{lab.namespace}/virtualnetworks"
    (network,) = lab.supervisor.list(networks)
    tags = [t for t in LAB.node_segment_tag_dicts() if t["scope"] != VNET_UID_TAG_SCOPE]
    tags.append({"scope": VNET_UID_TAG_SCOPE, "tag": network["metadata"]["uid"]})
    lab.nsx.modify(LAB.node_segment_path, tags=tags)


def seed_antrea(lab: Lab) -> None:
    """What Antrea reports in a cluster it runs in: its version and the agents' configuration."""
    guest = lab.guest
    crds.install(guest, [crds.load(CONTROLLER_INFO_CRD)])
    guest.create(
        "/apis/crd.antrea.io/v1beta1/antreacontrollerinfos",
        {
            "apiVersion": "crd.antrea.io/v1beta1",
            "kind": "AntreaControllerInfo",
            "metadata": {"name": "antrea-controller"},
            "version": "v2.1.0",
        },
    )
    agent_conf = "featureGates:\n  Egress: true\n  EgressSeparateSubnet: true\n"
    guest.create(
        "/api/v1/namespaces/kube-system/configmaps",
        {"metadata": {"name": "antrea-config"}, "data": {"antrea-agent.conf": agent_conf}},
    )


# --- running preflight, and proving it changed nothing -------------------------------------------


def preflight(program: LabProgram, lab: Lab, tmp_path: Path, *args: str) -> tuple[int, str]:
    """`egressctl preflight --stack lab` on the program's stack file, as a user runs it: the
    values the stack file keeps encrypted come from NSXT_PASSWORD and KUBECONFIG."""
    kubeconfig = tmp_path / "supervisor.kubeconfig"
    kubeconfig.write_text(lab.control_plane.supervisor.kubeconfig)
    kubeconfig.chmod(0o600)
    env = {"NSXT_PASSWORD": lab.nsx.password, "KUBECONFIG": str(kubeconfig), "COLUMNS": COLUMNS}
    argv = ["preflight", "--stack", program.stack_name, "--work-dir", str(program.project_dir)]
    result = CliRunner().invoke(app, [*argv, *args], env=env, catch_exceptions=False)
    return result.exit_code, result.output


def versions(client: LabKube) -> dict[str, str]:
    """Every object the API server serves (but leases and events), by its path: its
    resourceVersion. An object written by anyone gets a new one."""
    found: dict[str, str] = {}
    for base in api_bases(client):
        for resource in client.get(base)["resources"]:  # type: ignore[index]
            name = str(resource["name"])
            if "/" in name or "list" not in resource["verbs"] or name in CHANGING_BY_THEMSELVES:
                continue
            for item in list_when_ready(client, f"{base}/{name}"):
                meta = item["metadata"]
                if "resourceVersion" in meta:  # not computed on request (componentstatuses)
                    key = f"{base}/{meta.get('namespace', '')}/{name}/{meta['name']}"
                    found[key] = str(meta["resourceVersion"])
    return found


def list_when_ready(client: LabKube, path: str) -> list[dict[str, Any]]:
    """A LIST; the API server answers 429 "storage is (re)initializing" for a while after a
    CRD is established, until its watch cache is ready."""
    deadline = time.monotonic() + STORAGE_READY_TIMEOUT_S
    while True:
        try:
            return client.list(path)
        except LabKubeError as error:
            if error.status != 429 or time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def api_bases(client: LabKube) -> list[str]:
    groups = client.get("/apis") or {}
    return ["/api/v1"] + [
        f"/apis/{group['preferredVersion']['groupVersion']}" for group in groups["groups"]
    ]


def read_only_run(program: LabProgram, lab: Lab, tmp_path: Path) -> dict[str, Any]:
    """One `preflight --json`, with proof that it wrote nothing; its document."""
    before = (versions(lab.supervisor), versions(lab.guest))
    assert any("/tanzukubernetesreleases/" in key for key in before[0])
    reviews = len(lab.webhook.reviews)
    lab.nsx.clear_requests()
    code, output = preflight(program, lab, tmp_path, "--json")
    assert {(r.method) for r in lab.nsx.requests} == {"GET"}, lab.nsx.requests
    assert (versions(lab.supervisor), versions(lab.guest)) == before
    assert all(review.dry_run for review in lab.webhook.reviews[reviews:])
    document: dict[str, Any] = json.loads(output)
    assert code == (0 if document["passed"] else 1)
    return document


def statuses(document: dict[str, Any]) -> dict[str, str]:
    return {check["id"]: check["status"] for check in document["checks"]}


def not_passed(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [check for check in document["checks"] if check["status"] != "PASS"]


# --- the tests -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(lab: Lab) -> Lab:
    seed_supervisor(lab)
    return lab


def test_a_healthy_lab_passes_before_up_and_nothing_changes(
    program: LabProgram, site: Lab, tmp_path: Path
) -> None:
    document = read_only_run(program, site, tmp_path)
    assert not_passed(document) == []
    waiting = {check["id"] for check in document["not_yet_applicable"]}
    assert {"guest-reachable", "guest-pools", "nsx-vlans-free"} <= waiting
    assert statuses(document)["supervisor-antrea-config"] == "PASS"
    assert statuses(document)["supervisor-tkc"] == "PASS"
    code, table = preflight(program, site, tmp_path)
    assert code == 0
    print(table)  # the README's example (pytest -s shows it)


def test_a_healthy_lab_passes_after_up_and_nothing_changes(
    program: LabProgram, site: Lab, tmp_path: Path
) -> None:
    program.stack().up()
    tag_node_segment(site)
    seed_antrea(site)
    document = read_only_run(program, site, tmp_path)
    assert not_passed(document) == []
    assert document["not_yet_applicable"] == []
    found = statuses(document)
    assert (
        found["guest-pools"] == found["nsx-vlans-free"] == found["supervisor-router-id"] == "PASS"
    )
    code, table = preflight(program, site, tmp_path)
    assert code == 0
    print(table)
