"""The Supervisor checks: the vSphere Namespace, the APIs the program writes and reads, the
TKr, VM classes and storage classes, the TKC and AntreaConfig as the API server would store
them (server-side dry runs: nothing is created), and what NCP says about the namespace.

Each check takes the run's `PreflightContext` and returns an `Outcome`; the table that runs
them is `egressctl.preflight.checks.CHECKS`.
"""

from __future__ import annotations

import re
from typing import Any

from antrea_egress import capi, discovery, manifests, naming
from antrea_egress.config import AUTO_SEGMENT, AntreaSettings
from antrea_egress.kube import KubeError, KubeNotFoundError
from antrea_egress.manifests import (
    ANTREA_CONFIG_API,
    ANTREA_NSX_BLOCK,
    ANTREA_SUBNET_INFO_SINCE,
    TKC_API,
    AntreaConfigPrunedError,
)
from egressctl.preflight.context import NCP_ROUTER_ID, TKCS, PreflightContext
from egressctl.preflight.model import Outcome, failed, passed, warned, worst

# The TanzuKubernetesRelease API (vmware-tanzu/tanzu-framework apis/run/v1alpha3/
# tanzukubernetesrelease_types.go: cluster-scoped, plural tanzukubernetesreleases).
TKRS = "/apis/run.tanzu.vmware.com/v1alpha3/tanzukubernetesreleases"
# Labels that take a TKr out of use, and the conditions a usable one has (the same file).
TKR_UNUSABLE_LABELS = ("incompatible", "deactivated", "invalid")
TKR_CONDITIONS = ("Ready", "Compatible")
# A TKr lists its packages by name, `antrea.tanzu.vmware.com.<version>`, e.g.
# `antrea.tanzu.vmware.com.1.7.2+vmware.1-tkg.1-advanced` (spec.bootstrapPackages).
ANTREA_PACKAGE = re.compile(r"^antrea\.tanzu\.vmware\.com\.v?(\d+)\.(\d+)")
ANTREA_CONFIGS = f"/apis/{ANTREA_CONFIG_API}/namespaces/{{namespace}}/antreaconfigs"
# The last public AntreaConfig CRD spells the NSX block this way (docs/antrea-and-tanzu.md §5.1);
# a dry run sends both spellings, so its answer names the one the Supervisor keeps.
PUBLIC_CRD_NSX_BLOCK = "antreaNsx"
# VM Service: which VM classes a namespace may use, as vm-operator decides it
# (vmware-tanzu/vm-operator pkg/vmprovider/providers/vsphere/vmprovider_vm_utils.go,
# GetVirtualMachineClass): with namespaced classes (WCP_Namespaced_VM_Class), the class in the
# namespace; before, a cluster-scoped class and a VirtualMachineClassBinding in the namespace
# whose classRef has kind VirtualMachineClass and the class's name.
VM_OPERATOR_GROUP = "/apis/vmoperator.vmware.com"
VM_CLASS_BINDINGS = (
    "/apis/vmoperator.vmware.com/v1alpha1/namespaces/{namespace}/virtualmachineclassbindings"
)
# A vSphere storage policy assigned to a namespace is a StorageClass, and its limit a
# ResourceQuota on `<class>.storageclass.storage.k8s.io/requests.storage` (Kubernetes resource
# quotas per storage class; UNCONFIRMED that vSphere writes one for every assigned policy).
STORAGE_CLASSES = "/apis/storage.k8s.io/v1/storageclasses"
RESOURCE_QUOTAS = "/api/v1/namespaces/{namespace}/resourcequotas"
STORAGE_QUOTA_KEY = "{name}.storageclass.storage.k8s.io/requests.storage"
# Newer VKS releases configure Antrea through this kind instead (docs/antrea-and-tanzu.md §5.3).
ADDON_CONFIG_API = "addons.kubernetes.vmware.com/v1alpha1"
_API_PATH = re.compile(r"^/apis/(?P<gv>[^/]+/[^/]+)/(?:namespaces/\{namespace\}/)?(?P<res>[a-z]+)")


def managed(ctx: PreflightContext) -> str | None:
    if ctx.config.cluster.manage:
        return None
    return "cluster.manage is false: the program creates no TKC and no AntreaConfig"


def cluster_made(ctx: PreflightContext) -> str | None:
    if ctx.cluster_exists():
        return None
    return f"the cluster {ctx.cluster_name} does not exist yet (`up` creates it)"


# --- the namespace and the APIs --------------------------------------------------------------


def supervisor_namespace(ctx: PreflightContext) -> Outcome:
    access = ctx.supervisor_access()
    try:
        ctx.namespace_object()
    except KubeNotFoundError:
        return failed(
            f"{access.server} (context {access.context}) answers, but has no namespace "
            f"{ctx.namespace}",
            "check antrea-egress:cluster.vsphereNamespace and kubernetes:context",
        )
    where = f"{access.server} (context {access.context}): vSphere Namespace {ctx.namespace}"
    tkc = ctx.tkc()
    if tkc is not None:
        return passed(f"{where}; TKC {ctx.cluster_name} exists (Ready: {_ready(tkc)})")
    if ctx.config.cluster.manage:
        return passed(f"{where}; TKC {ctx.cluster_name} does not exist yet (`up` creates it)")
    if ctx.capi_cluster() is not None:
        return passed(f"{where}; Cluster API Cluster {ctx.cluster_name} exists")
    return failed(
        f"{where}; no cluster {ctx.cluster_name} in it, and cluster.manage is false",
        "create the cluster first, or check cluster.name",
    )


def _ready(obj: dict[str, Any]) -> str:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((str(c.get("status")) for c in conditions if c.get("type") == "Ready"), "unknown")


def supervisor_apis(ctx: PreflightContext) -> Outcome:
    """Settles the API versions the program assumes (docs/tkc-network-discovery.md §1,
    docs/antrea-and-tanzu.md §5-§6): each is served, or it is said which is not."""
    ctx.namespace_object()
    needed = []
    if ctx.config.cluster.manage:
        needed += [f"{TKCS}/x", f"{ANTREA_CONFIGS}/x", f"{TKRS}/x"]
    if AUTO_SEGMENT in ctx.parent_paths():
        needed += [discovery.CAPI_CLUSTER, discovery.VIRTUAL_NETWORKS]
        needed += [discovery.VIRTUAL_NETWORK_INTERFACES]
    outcomes = [_served(ctx, path) for path in needed] or [passed("no Supervisor API is needed")]
    if ctx.config.cluster.manage and _resources(ctx, ADDON_CONFIG_API):
        outcomes.append(
            warned(
                f"{ADDON_CONFIG_API} is served too: this Supervisor may configure Antrea "
                "through AddonConfig",
                "check that the AntreaConfig still reaches the cluster (supervisor-antrea-config "
                "and, after `up`, guest-egress-gate)",
            )
        )
    return worst(outcomes)


def _served(ctx: PreflightContext, path: str) -> Outcome:
    match = _API_PATH.match(path)
    if match is None:  # pragma: no cover - the paths above are the code's own constants
        raise ValueError(f"not an API path: {path}")
    group_version, resource = match["gv"], match["res"]
    if resource in _resources(ctx, group_version):
        return passed(f"{resource}.{group_version}")
    return failed(
        f"the Supervisor does not serve {resource} in {group_version}",
        "compare `kubectl api-resources` with docs/antrea-and-tanzu.md and "
        "docs/tkc-network-discovery.md, and change the constant that names it",
    )


def _resources(ctx: PreflightContext, group_version: str) -> dict[str, dict[str, Any]]:
    """The resources an API group version serves (its discovery document), none if unserved."""
    document = ctx.once(
        f"api:{group_version}", lambda: ctx.supervisor.get_optional(f"/apis/{group_version}")
    )
    return {str(r.get("name")): r for r in (document or {}).get("resources") or []}


# --- what the TKC names ----------------------------------------------------------------------


def supervisor_tkr(ctx: PreflightContext) -> Outcome:
    """Settles docs/antrea-and-tanzu.md §0: the Antrea version a TKr ships."""
    name = str(ctx.config.cluster.tkr)
    tkr = ctx.supervisor.get_optional(f"{TKRS}/{name}")
    if tkr is None:
        return failed(
            f"no TKr {name} on the Supervisor",
            "set cluster.tkr to one `kubectl get tkr` lists as READY and COMPATIBLE",
        )
    problems = _tkr_problems(tkr)
    if problems:
        return failed(f"TKr {name}: {'; '.join(problems)}", "choose a Ready, Compatible TKr")
    antrea = [p for p in _packages(tkr) if ANTREA_PACKAGE.match(p)]
    if not antrea:
        return warned(
            f"TKr {name} is Ready and Compatible but lists no antrea package "
            f"(packages: {', '.join(_packages(tkr)) or 'none'})",
            "Antrea's version is checked in the cluster once it exists (guest-antrea-version)",
        )
    version = _package_version(antrea[0])
    wanted = _version_tuple(ANTREA_SUBNET_INFO_SINCE)
    if version < wanted:
        return failed(
            f"TKr {name} ships {antrea[0]}: separate egress subnets need Antrea "
            f"{ANTREA_SUBNET_INFO_SINCE} or newer",
            f"choose a TKr whose Antrea is {ANTREA_SUBNET_INFO_SINCE} or newer",
        )
    return passed(f"TKr {name} is Ready and Compatible and ships {antrea[0]}")


def _tkr_problems(tkr: dict[str, Any]) -> list[str]:
    labels = (tkr.get("metadata") or {}).get("labels") or {}
    conditions = {
        str(c.get("type")): str(c.get("status"))
        for c in (tkr.get("status") or {}).get("conditions") or []
    }
    problems = [f"labelled {label}" for label in TKR_UNUSABLE_LABELS if label in labels]
    problems += [
        f"{kind} is {conditions.get(kind, 'not reported')}"
        for kind in TKR_CONDITIONS
        if conditions.get(kind) != "True"
    ]
    return problems


def _packages(tkr: dict[str, Any]) -> list[str]:
    return [str(p.get("name")) for p in (tkr.get("spec") or {}).get("bootstrapPackages") or []]


def _package_version(package: str) -> tuple[int, int]:
    match = ANTREA_PACKAGE.match(package)
    return (int(match[1]), int(match[2])) if match else (0, 0)


def _version_tuple(text: str) -> tuple[int, int]:
    major, minor = (int(part) for part in text.split(".")[:2])
    return major, minor


def supervisor_vm_classes(ctx: PreflightContext) -> Outcome:
    cluster = ctx.config.cluster
    wanted = [cluster.control_plane.vm_class] if cluster.control_plane else []
    wanted = list(dict.fromkeys([*wanted, *(pool.vm_class for pool in cluster.node_pools)]))
    group = ctx.supervisor.get_optional(VM_OPERATOR_GROUP)
    version = ((group or {}).get("preferredVersion") or {}).get("groupVersion")
    if not version:
        return failed(
            "the Supervisor does not serve the VM Service API (vmoperator.vmware.com)",
            "enable the VM Service on the Supervisor",
        )
    available = _bound_classes(ctx, str(version), wanted)
    missing = [name for name in wanted if name not in available]
    if missing:
        return failed(
            f"VM classes not available to namespace {ctx.namespace}: {', '.join(missing)} "
            f"(available of those asked for: {', '.join(sorted(available)) or 'none'})",
            "add them to the vSphere Namespace (VM Service > VM classes), or change "
            "cluster.controlPlane.vmClass / cluster.nodePools[].vmClass",
        )
    return passed(f"{', '.join(wanted)} bound to namespace {ctx.namespace} ({version})")


def _bound_classes(ctx: PreflightContext, group_version: str, wanted: list[str]) -> set[str]:
    classes = _resources(ctx, group_version).get("virtualmachineclasses") or {}
    if classes.get("namespaced"):
        collection = f"/apis/{group_version}/namespaces/{ctx.namespace}/virtualmachineclasses"
        return {name for name in wanted if ctx.supervisor.get_optional(f"{collection}/{name}")}
    bindings = ctx.supervisor.list(VM_CLASS_BINDINGS.format(namespace=ctx.namespace))
    refs = [b.get("classRef") or {} for b in bindings]
    return {str(ref.get("name")) for ref in refs if ref.get("kind") == "VirtualMachineClass"}


def supervisor_storage_classes(ctx: PreflightContext) -> Outcome:
    cluster = ctx.config.cluster
    wanted = [cluster.control_plane.storage_class] if cluster.control_plane else []
    wanted = list(dict.fromkeys([*wanted, *(p.storage_class for p in cluster.node_pools)]))
    quotas = ctx.supervisor.list(RESOURCE_QUOTAS.format(namespace=ctx.namespace))
    limited = {key for quota in quotas for key in ((quota.get("spec") or {}).get("hard") or {})}
    return worst([_storage_outcome(ctx, name, limited) for name in wanted])


def _storage_outcome(ctx: PreflightContext, name: str, limited: set[str]) -> Outcome:
    key = STORAGE_QUOTA_KEY.format(name=name)
    if key in limited:
        return passed(f"{name} is assigned to namespace {ctx.namespace} (quota {key})")
    try:
        exists = ctx.supervisor.get_optional(f"{STORAGE_CLASSES}/{name}") is not None
    except KubeError as error:
        return warned(f"{name}: no quota names it, and {error}", _STORAGE_FIX)
    if exists:
        return warned(
            f"StorageClass {name} exists, but no ResourceQuota of namespace {ctx.namespace} "
            f"names it ({key})",
            _STORAGE_FIX,
        )
    return failed(f"no StorageClass {name} on the Supervisor", _STORAGE_FIX)


_STORAGE_FIX = (
    "assign the storage policy to the vSphere Namespace (Storage > Edit), or change "
    "cluster.controlPlane.storageClass / cluster.nodePools[].storageClass"
)


# --- what the program writes, as the API server would store it --------------------------


def supervisor_tkc(ctx: PreflightContext) -> Outcome:
    """Settles docs/antrea-and-tanzu.md §6: the TKC field tree we write is accepted (with
    `cluster.api: cluster`, the Cluster API Cluster's: docs/cluster-api.md)."""
    if ctx.config.cluster.uses_cluster_api:
        return _supervisor_capi_cluster(ctx)
    tkc = ctx.tkc()
    if tkc is not None:
        return passed(f"TKC {ctx.cluster_name} exists ({TKC_API}, Ready: {_ready(tkc)})")
    body = manifests.tanzu_kubernetes_cluster(ctx.config.cluster)
    try:
        ctx.supervisor.dry_run_create(
            TKCS.format(namespace=ctx.namespace), body, field_validation="Strict"
        )
    except KubeError as error:
        return _dry_run_refused(error, "the TKC", "manifests.tanzu_kubernetes_cluster")
    return passed(f"a server-side dry run of the TKC ({TKC_API}, unknown fields refused) passes")


def _supervisor_capi_cluster(ctx: PreflightContext) -> Outcome:
    if ctx.capi_cluster() is not None:
        return passed(f"Cluster {ctx.cluster_name} exists ({capi.CLUSTER_API})")
    collection = discovery.CAPI_CLUSTER.format(namespace=ctx.namespace, name="").rstrip("/")
    try:
        ctx.supervisor.dry_run_create(
            collection, capi.cluster(ctx.config.cluster), field_validation="Strict"
        )
    except KubeError as error:
        return _dry_run_refused(error, "the Cluster", "capi.cluster")
    return passed(
        f"a server-side dry run of the Cluster ({capi.CLUSTER_API}, unknown fields refused) passes"
    )


def _dry_run_refused(error: KubeError, what: str, constant: str) -> Outcome:
    if "dry run" in str(error).lower() or "dryrun" in str(error).lower():
        return warned(
            f"the Supervisor refuses dry runs of {what}: {error}",
            "an admission webhook does not support dry runs; nothing else could be checked",
        )
    return failed(
        f"a server-side dry run of {what} is refused: {error}",
        f"compare with `kubectl explain` on the Supervisor and change {constant}",
    )


def supervisor_antrea_config(ctx: PreflightContext) -> Outcome:
    """Settles docs/antrea-and-tanzu.md §5.1: whether the Supervisor's AntreaConfig CRD keeps
    the EgressSeparateSubnet gate (and EgressTrafficShaping when a zone has a bandwidth) and
    the NSX block, and how it spells that block: the AntreaConfig the program writes."""
    cluster, shaping = ctx.config.cluster, ctx.config.traffic_shaping
    name = naming.antrea_config_name(cluster.name)
    collection = ANTREA_CONFIGS.format(namespace=ctx.namespace)
    stored = ctx.supervisor.get_optional(f"{collection}/{name}")
    if stored is not None:
        try:
            manifests.check_antrea_config_kept(cluster, stored.get("spec"), traffic_shaping=shaping)
        except AntreaConfigPrunedError as error:
            return failed(str(error), "see the message")
        return passed(f"the stored AntreaConfig {name} keeps the gate and spec.{ANTREA_NSX_BLOCK}")
    body = manifests.antrea_config(cluster, traffic_shaping=shaping)
    body["spec"][PUBLIC_CRD_NSX_BLOCK] = dict(body["spec"][ANTREA_NSX_BLOCK])
    try:
        answer = ctx.supervisor.dry_run_create(collection, body, field_validation="Ignore")
    except KubeError as error:
        return _dry_run_refused(error, f"the AntreaConfig {name}", "manifests.antrea_config")
    required = AntreaSettings.required_gates(traffic_shaping=shaping)
    return _antrea_config_outcome(name, answer.get("spec") or {}, list(required))


def _antrea_config_outcome(name: str, spec: dict[str, Any], required: list[str]) -> Outcome:
    gates = ((spec.get("antrea") or {}).get("config") or {}).get("featureGates") or {}
    dropped = [gate for gate in required if gates.get(gate) is not True]
    spellings = [key for key in (ANTREA_NSX_BLOCK, PUBLIC_CRD_NSX_BLOCK) if key in spec]
    blocks = " and ".join(f"spec.{key}" for key in spellings) or "no NSX block"
    kept = ", ".join(f"gate {gate} {'NO' if gate in dropped else 'yes'}" for gate in required)
    evidence = f"a dry run of AntreaConfig {name} keeps: {kept}; {blocks}"
    if not dropped and ANTREA_NSX_BLOCK in spellings:
        return passed(evidence)
    fixes = [f"this Supervisor's AntreaConfig CRD has no {gate} gate" for gate in dropped]
    if ANTREA_NSX_BLOCK not in spellings:
        fixes.append(
            f"set manifests.ANTREA_NSX_BLOCK to {spellings[0]!r}"
            if spellings
            else "the CRD keeps no NSX block: check `kubectl explain antreaconfig.spec`"
        )
    return failed(evidence, "; ".join(fixes) + " (`up` would stop before the TKC)")


# --- what NCP says about the namespace --------------------------------------------------------


def supervisor_nat_mode(ctx: PreflightContext) -> Outcome:
    """Settles docs/tkc-network-discovery.md §3.2 as far as one namespace can: its SNAT IP
    annotation and its VirtualNetwork's defaultSNATIP against antrea-egress:natMode."""
    annotations = ctx.namespace_object()["metadata"].get("annotations") or {}
    snat = annotations.get(discovery.NCP_SNAT_IP_ANNOTATION)
    found = ctx.discovery() if ctx.cluster_exists() else None
    seen = [
        f"namespace {discovery.NCP_SNAT_IP_ANNOTATION}={snat}" if snat else "",
        f"VirtualNetwork defaultSNATIP={found.snat_ip}" if found and found.snat_ip else "",
    ]
    evidence = ", ".join(s for s in seen if s) or "no SNAT IP on the namespace or its network"
    nat_mode = ctx.config.nat_mode
    if nat_mode == bool(snat or (found and found.snat_ip)):
        return passed(f"natMode {str(nat_mode).lower()}: {evidence}")
    if nat_mode:
        return warned(
            f"natMode true, but {evidence}",
            "if the namespace is routed, set antrea-egress:natMode to false",
        )
    return failed(f"natMode false, but {evidence}", "set antrea-egress:natMode to true")


def router_id_comparable(ctx: PreflightContext) -> str | None:
    if not ctx.router_id():
        return f"the namespace has no {NCP_ROUTER_ID} annotation"
    if all(ctx.parent(path) is None for path in ctx.parent_paths()):
        return "no parent segment exists yet to compare its Tier-1 with"
    return None


def supervisor_router_id(ctx: PreflightContext) -> Outcome:
    """Settles docs/tkc-network-discovery.md §3.1: whether `ncp/router_id` is the policy id of
    the Tier-1 the node segment hangs off (preflight uses it before the cluster exists)."""
    router_id = str(ctx.router_id())
    known = next(k for k in map(ctx.parent, ctx.parent_paths()) if k is not None)
    tier1 = str(known.segment["connectivity_path"])
    evidence = f"{NCP_ROUTER_ID}={router_id}; {known.path} hangs off {tier1}"
    if tier1.rsplit("/", 1)[-1] == router_id:
        return passed(evidence)
    return warned(
        evidence + ": they differ",
        "nothing in `up` depends on it; report it (preflight's Tier-1 before a cluster exists)",
    )


def supervisor_kubeconfig(ctx: PreflightContext) -> Outcome:
    """Settles docs/antrea-and-tanzu.md §6.1: the guest kubeconfig Secret and its key."""
    access = ctx.guest_access()  # NotCheckedError names what is missing
    return passed(
        f"Secret {ctx.kubeconfig_secret_name} key {naming.KUBECONFIG_SECRET_KEY!r} holds a "
        f"kubeconfig for {access.server}"
    )
