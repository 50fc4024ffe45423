"""The CRDs the lab installs: the public ones and ours from schemas/crds, into the right server.

The Supervisor's own AntreaConfig CRD is not public. The lab installs the public tanzu-framework
CRD either as it is ("public": it prunes EgressSeparateSubnet and the NSX block, as a
Supervisor with that schema would) or extended by exactly the fields the program writes that
it lacks ("keeps": the EgressSeparateSubnet gate and the NSX block, as the field procedure shows
a TKG Service 3.2 Supervisor accepting, and the EgressTrafficShaping gate a zone's bandwidth
needs; UNCONFIRMED for a real Supervisor).
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any, Literal

import yaml

from antrea_egress.config import AntreaSettings
from antrea_egress.manifests import ANTREA_NSX_BLOCK
from lab.kube import LabKube

REPO = Path(__file__).resolve().parents[1]
CRD_DIR = REPO / "schemas" / "crds"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
ESTABLISH_TIMEOUT_S = 30.0

SUPERVISOR_CRDS = (
    "ours/run.tanzu.vmware.com_tanzukubernetesclusters_v1alpha3.yaml",
    "ours/cluster.x-k8s.io_clusters_v1beta1.yaml",
    "ours/vmware.com_virtualnetworks_v1alpha1.yaml",
    "ours/vmware.com_virtualnetworkinterfaces_v1alpha1.yaml",
)
ANTREA_CONFIG_CRD = "tanzu-framework_cni.tanzu.vmware.com_antreaconfigs.yaml"
# Antrea 2.0-2.2 ship the same CRDs; 1.15 is the first with subnetInfo.
ANTREA_CRDS = {
    "2.x": (
        "antrea_crd.antrea.io_externalippools_v2.x.yaml",
        "antrea_crd.antrea.io_egresses_v2.x.yaml",
    ),
    "1.15": (
        "antrea_crd.antrea.io_externalippools_v1.15.0.yaml",
        "antrea_crd.antrea.io_egresses_v1.15.0.yaml",
    ),
}

AntreaConfigSchema = Literal["keeps", "public"]


def load(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((CRD_DIR / name).read_text()))


def antrea_config_crd(schema: AntreaConfigSchema) -> dict[str, Any]:
    crd = load(ANTREA_CONFIG_CRD)
    if schema == "public":
        return crd
    extended = copy.deepcopy(crd)
    for version in extended["spec"]["versions"]:
        spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
        gates = spec["properties"]["antrea"]["properties"]["config"]["properties"]["featureGates"]
        for gate in AntreaSettings.required_gates(traffic_shaping=True):
            gates["properties"][gate] = {"type": "boolean"}
        spec["properties"][ANTREA_NSX_BLOCK] = {
            "type": "object",
            "properties": {"enable": {"type": "boolean"}},
        }
    return extended


def install(client: LabKube, crds: list[dict[str, Any]]) -> None:
    for crd in crds:
        client.create(CRDS, crd)
    for crd in crds:
        _wait_established(client, crd["metadata"]["name"])


def _wait_established(client: LabKube, name: str) -> None:
    deadline = time.monotonic() + ESTABLISH_TIMEOUT_S
    while time.monotonic() < deadline:
        crd = client.get(f"{CRDS}/{name}") or {}
        conditions = (crd.get("status") or {}).get("conditions") or []
        if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
            return
        time.sleep(0.1)
    raise TimeoutError(f"CRD {name} was not established within {ESTABLISH_TIMEOUT_S:.0f} s")
