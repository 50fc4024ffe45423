"""A world for preflight: the NSX simulator, a fake Supervisor and a fake guest cluster, seeded
as a healthy site before the first `up` (`seed_site`) and after it (`seed_cluster`).

What the fakes serve stands for what the real systems are documented to serve; the sources are
next to each object (and in egressctl/preflight/*_checks.py, which cite them for the reads).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from antrea_egress import manifests, naming
from antrea_egress.config import StackConfig, load_stack_config
from antrea_egress.nsx.client import NsxClient
from antrea_egress.nsx.settings import NsxSettings
from egressctl.preflight.checks import CHECKS, _run
from egressctl.preflight.context import PreflightContext
from egressctl.preflight.model import Outcome
from nsxsim import LAB, NsxSimulator
from tests.antrea_egress import test_discovery
from tests.antrea_egress.test_discovery import seed_supervisor
from tests.conftest import nsx_config
from tests.fakes.kube_api import FakeKubeApi

CLUSTER = test_discovery.CLUSTER
NAMESPACE = test_discovery.NAMESPACE
TKR = "v1.31.1---vmware.2-fips-vkr.2"
VM_CLASS = "best-effort-small"
STORAGE_CLASS = "labnfs"
SNAT_IP = "10.114.19.164"
TKC_PATH = f"/apis/run.tanzu.vmware.com/v1alpha3/namespaces/{NAMESPACE}/tanzukubernetesclusters"
ANTREA_CONFIGS = f"/apis/cni.tanzu.vmware.com/v1alpha1/namespaces/{NAMESPACE}/antreaconfigs"
POOLS = "/apis/crd.antrea.io/v1beta1/externalippools"
VM_CLASSES = f"/apis/vmoperator.vmware.com/v1alpha2/namespaces/{NAMESPACE}/virtualmachineclasses"
TKRS = "/apis/run.tanzu.vmware.com/v1alpha3/tanzukubernetesreleases"
STORAGE_QUOTA = f"{STORAGE_CLASS}.storageclass.storage.k8s.io/requests.storage"
NCP_SNAT_RULE = f"{LAB.tier1_path}/nat/USER/nat-rules/ncp-snat"


def zone(name: str, vlan: int, cidr: str, gateway: str, first: tuple[str, str]) -> dict[str, Any]:
    start, end = first
    return {
        "name": name,
        "vlan": vlan,
        "cidr": cidr,
        "gateway": gateway,
        "ipRanges": [{"start": start, "end": end}],
        "appliedTo": {"namespace": name, "podSelector": {"app": name}},
    }


ZONES = [
    zone("payments", 110, "10.100.5.0/25", "10.100.5.1", ("10.100.5.10", "10.100.5.20")),
    zone("reporting", 120, "10.100.5.128/26", "10.100.5.129", ("10.100.5.130", "10.100.5.140")),
]


def cluster_values(**changes: Any) -> dict[str, Any]:
    machine = {"vmClass": VM_CLASS, "storageClass": STORAGE_CLASS}
    return {
        "name": CLUSTER,
        "vsphereNamespace": NAMESPACE,
        "tkr": TKR,
        "controlPlane": {"replicas": 1, **machine},
        "nodePools": [{"name": "np1", "replicas": 2, **machine}],
        "network": {"pods": ["192.168.0.0/16"], "services": ["172.31.0.0/16"]},
        **changes,
    }


@dataclass
class World:
    sim: NsxSimulator
    supervisor: FakeKubeApi
    guest: FakeKubeApi
    values: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.values = {
            **nsx_config(self.sim),
            "kubernetes:kubeconfig": self.supervisor.kubeconfig(),
            "kubernetes:context": "supervisor",
            "antrea-egress:cluster": cluster_values(),
            "antrea-egress:zones": [dict(z) for z in ZONES],
            "antrea-egress:natMode": True,
        }

    def set(self, key: str, value: Any) -> None:
        self.values[f"antrea-egress:{key}"] = value

    def config(self) -> StackConfig:
        return load_stack_config(self.values)[0]

    def context(self) -> PreflightContext:
        return PreflightContext("test", self.config(), self.values.get, {})

    def check(self, check_id: str) -> Outcome:
        """One check of the table, run as the runner runs it (NotCheckedError and client
        errors become FAIL)."""
        (check,) = [c for c in CHECKS if c.id == check_id]
        with self.context() as ctx:
            return _run(check, ctx)

    def waits_for(self, check_id: str) -> str | None:
        (check,) = [c for c in CHECKS if c.id == check_id]
        assert check.waits_for is not None
        with self.context() as ctx:
            return check.waits_for(ctx)

    def nsx(self) -> NsxClient:
        return NsxClient(NsxSettings.resolve(nsx_config(self.sim).get, {}))


# --- the Supervisor of a healthy site, before any cluster --------------------------------------


def api_resources(group_version: str, *resources: str, namespaced: bool = True) -> dict[str, Any]:
    """A discovery document (APIResourceList), as `GET /apis/<group>/<version>` answers."""
    return {
        "kind": "APIResourceList",
        "groupVersion": group_version,
        "resources": [
            {"name": name, "namespaced": namespaced, "verbs": ["get", "list"]} for name in resources
        ],
    }


def seed_site(supervisor: FakeKubeApi) -> None:
    supervisor.put(
        f"/api/v1/namespaces/{NAMESPACE}",
        {
            "kind": "Namespace",
            "metadata": {"annotations": {"ncp/snat_ip": SNAT_IP, "ncp/router_id": LAB.tier1_id}},
        },
    )
    for document in (
        api_resources("run.tanzu.vmware.com/v1alpha3", "tanzukubernetesclusters"),
        api_resources("cni.tanzu.vmware.com/v1alpha1", "antreaconfigs"),
        api_resources("cluster.x-k8s.io/v1beta1", "clusters"),
        api_resources("vmware.com/v1alpha1", "virtualnetworks", "virtualnetworkinterfaces"),
        api_resources("vmoperator.vmware.com/v1alpha2", "virtualmachineclasses"),
    ):
        supervisor.put(f"/apis/{document['groupVersion']}", document)
    # TKrs are cluster-scoped: the discovery document says so, the object lives at /apis/...
    tkr_api = supervisor.get("/apis/run.tanzu.vmware.com/v1alpha3")
    assert tkr_api is not None
    tkr_api["resources"].append({"name": "tanzukubernetesreleases", "namespaced": False})
    supervisor.put("/apis/run.tanzu.vmware.com/v1alpha3", tkr_api)
    supervisor.put(
        "/apis/vmoperator.vmware.com",
        {
            "kind": "APIGroup",
            "preferredVersion": {"groupVersion": "vmoperator.vmware.com/v1alpha2"},
        },
    )
    supervisor.put(f"{TKRS}/{TKR}", tkr())
    supervisor.put(f"{VM_CLASSES}/{VM_CLASS}", {"kind": "VirtualMachineClass"})
    supervisor.put(
        f"/apis/storage.k8s.io/v1/storageclasses/{STORAGE_CLASS}", {"kind": "StorageClass"}
    )
    supervisor.put(
        f"/api/v1/namespaces/{NAMESPACE}/resourcequotas/{NAMESPACE}-storagequota",
        {
            "kind": "ResourceQuota",
            "spec": {"hard": {STORAGE_QUOTA: "9223372036854775807"}},
        },
    )


def tkr(antrea: str = "2.1.0+vmware.1-tkg.1-advanced", **labels: str) -> dict[str, Any]:
    """A TanzuKubernetesRelease as tanzu-framework's v1alpha3 types describe it."""
    return {
        "kind": "TanzuKubernetesRelease",
        "metadata": {"labels": labels},
        "spec": {
            "version": "v1.31.1+vmware.2-fips-vkr.2",
            "kubernetes": {"version": "v1.31.1+vmware.2-fips"},
            "bootstrapPackages": [
                {"name": f"antrea.tanzu.vmware.com.{antrea}"},
                {"name": "vsphere-csi.tanzu.vmware.com.3.3.0+vmware.1-tkg.1"},
            ],
        },
        "status": {
            "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "Compatible", "status": "True"},
            ]
        },
    }


def seed_ncp_snat_rule(world: World, *, section: str = "USER", priority: int = 1000) -> None:
    """NCP's SNAT rule for the namespace, as a NAT-mode Tier-1 has one (written in setup, not
    by preflight)."""
    path = NCP_SNAT_RULE.replace("/USER/", f"/{section}/")
    with world.nsx() as nsx:
        nsx.patch(
            path,
            {
                "action": "SNAT",
                "source_network": "10.100.0.0/16",
                "translated_network": SNAT_IP,
                "sequence_number": priority,
            },
        )


# --- after `up`: the cluster, its kubeconfig and a healthy guest --------------------------------


def seed_cluster(world: World) -> None:
    supervisor, guest = world.supervisor, world.guest
    namespace = supervisor.get(f"/api/v1/namespaces/{NAMESPACE}")
    seed_supervisor(supervisor)  # CAPI Cluster, VirtualNetwork and its interfaces
    assert namespace is not None
    supervisor.put(f"/api/v1/namespaces/{NAMESPACE}", namespace)
    supervisor.put(
        f"{TKC_PATH}/{CLUSTER}",
        {
            "kind": "TanzuKubernetesCluster",
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        },
    )
    secret = naming.kubeconfig_secret_name(CLUSTER)
    supervisor.put(
        f"/api/v1/namespaces/{NAMESPACE}/secrets/{secret}",
        {
            "kind": "Secret",
            "data": {"value": base64.b64encode(guest.kubeconfig().encode()).decode()},
        },
    )
    config = world.config()
    antrea_config = manifests.antrea_config(config.cluster)
    supervisor.put(f"{ANTREA_CONFIGS}/{antrea_config['metadata']['name']}", antrea_config)
    seed_guest(guest)


def seed_guest(
    guest: FakeKubeApi, *, antrea: str = "v2.1.0", agent_conf: str | None = None
) -> None:
    guest.put("/version", {"gitVersion": "v1.31.1+vmware.2-fips"})
    guest.put(
        "/apis/crd.antrea.io/v1beta1/antreacontrollerinfos/antrea-controller",
        {"kind": "AntreaControllerInfo", "version": antrea},
    )
    conf = agent_conf if agent_conf is not None else "featureGates:\n  EgressSeparateSubnet: true\n"
    guest.put(
        "/api/v1/namespaces/kube-system/configmaps/antrea-config",
        {"kind": "ConfigMap", "data": {"antrea-agent.conf": conf}},
    )
    for node in ("cp-0", "worker-0", "worker-1"):
        labels = {"kubernetes.io/hostname": node, "kubernetes.io/os": "linux"}
        guest.put(f"/api/v1/nodes/{node}", {"kind": "Node", "metadata": {"labels": labels}})
