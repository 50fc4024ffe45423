"""docs/permissions.md and docs/rbac/*.yaml cover every API call the code makes.

The required access is derived from the code's own path constants and manifests wherever they
exist (a new constant or a new kind of managed object fails here until the documents grant it),
and the RBAC is checked the way the API server evaluates it: a request is allowed when one rule
matches its API group, resource, verb and (when the rule names some) resource name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from antrea_egress import discovery, manifests, naming
from antrea_egress.nsx import paths
from egressctl import verify
from egressctl.preflight import guest_checks, supervisor_checks

ROOT = Path(__file__).resolve().parents[1]
PERMISSIONS = ROOT / "docs" / "permissions.md"
SUPERVISOR = ROOT / "docs" / "rbac" / "supervisor.yaml"
GUEST = ROOT / "docs" / "rbac" / "guest.yaml"

NAMESPACE = "ns1"
CLUSTER = "tkc01"
PLACEHOLDERS = {"VSPHERE_NAMESPACE": NAMESPACE, "CLUSTER_NAME": CLUSTER}

# What pulumi-kubernetes does with an object it manages: server-side apply (patch, with a
# dry-run patch in previews), refresh (get), delete, and its await on the object and on
# deletion (an informer: list and watch), per provider/pkg/await/await.go and
# provider/pkg/await/condition/ in pulumi/pulumi-kubernetes.
MANAGED = frozenset({"get", "list", "watch", "create", "update", "patch", "delete"})
READ_ONE = frozenset({"get"})
READ_MANY = frozenset({"get", "list"})
WRITES = frozenset({"create", "update", "patch", "delete", "deletecollection", "*"})
# The kinds the Supervisor provider manages (components/tanzu_cluster.py); every other kind of
# manifests.py goes to the guest cluster (components/egress_zone.py).
SUPERVISOR_KINDS = {"AntreaConfig", "TanzuKubernetesCluster"}
# Supervisor resources that are not namespaced: a Role cannot grant them.
CLUSTER_SCOPED = {"namespaces", "tanzukubernetesreleases", "storageclasses"}


@dataclass(frozen=True)
class Access:
    group: str
    resource: str
    verbs: frozenset[str]
    name: str | None = None

    def __str__(self) -> str:
        named = f" {self.name!r}" if self.name else ""
        return f"{sorted(self.verbs)} {self.resource}.{self.group or 'core'}{named}"


# -- reading the RBAC -------------------------------------------------------------------------


def documents(path: Path) -> list[dict[str, Any]]:
    text = path.read_text()
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    assert docs, f"{path.name} is empty"
    for doc in docs:
        assert doc["apiVersion"] == "rbac.authorization.k8s.io/v1", doc
        assert doc["kind"] in {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}
    return docs


def rules(path: Path, *, namespace: str | None) -> list[dict[str, Any]]:
    """The rules that apply in `namespace` (None: cluster-scoped requests), bound or not."""
    docs = documents(path)
    bound = {(d["roleRef"]["kind"], d["roleRef"]["name"]) for d in docs if "roleRef" in d}
    found = []
    for doc in docs:
        if doc["kind"] not in {"Role", "ClusterRole"}:
            continue
        assert (doc["kind"], doc["metadata"]["name"]) in bound, f"{doc['metadata']} is unbound"
        if doc["kind"] == "Role" and doc["metadata"]["namespace"] != namespace:
            continue
        found += doc["rules"]
    return found


def allows(rule: dict[str, Any], group: str, resource: str, verb: str, name: str | None) -> bool:
    names = rule.get("resourceNames")
    return (
        group in rule.get("apiGroups", [])
        and resource in rule.get("resources", [])
        and (verb in rule["verbs"] or "*" in rule["verbs"])
        and (not names or (name is not None and name in names))
    )


def missing(granted: list[dict[str, Any]], access: Access) -> set[str]:
    return {
        verb
        for verb in access.verbs
        if not any(allows(r, access.group, access.resource, verb, access.name) for r in granted)
    }


# -- what the code calls ----------------------------------------------------------------------

API_PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/[^/]+)"
    r"(?:/namespaces/\{namespace\})?/(?P<resource>[a-z]+)(?P<named>/\{\w+\})?$"
)


def path_access(path: str) -> Access:
    """`/apis/<group>/<version>/namespaces/{namespace}/<resource>[/{name}]` -> what it needs:
    get for one named object, get and list for a collection."""
    match = API_PATH.match(path)
    assert match, f"{path!r}: not a Kubernetes API path this test can read"
    if match["named"] is None:
        return Access(match["group"] or "", match["resource"], READ_MANY)
    # The only named cluster-scoped read is of the vSphere Namespace itself.
    name = NAMESPACE if match["resource"] == "namespaces" else None
    return Access(match["group"] or "", match["resource"], READ_ONE, name)


def path_constants(module: ModuleType) -> Iterator[tuple[str, str]]:
    """Every module-level constant of `module` that is a Kubernetes API path."""
    for name, value in vars(module).items():
        if name.isupper() and isinstance(value, str) and re.match(r"^/apis?/", value):
            yield name, value


def plural(kind: str) -> str:
    """The resource of a kind, as the CRDs under schemas/ and Kubernetes name them."""
    return kind.lower() + ("es" if kind.endswith("s") else "s")


def managed_kinds() -> dict[str, str]:
    """kind -> API group of every object manifests.py builds (its `apiVersion`/`kind` pairs)."""
    source = Path(manifests.__file__).read_text()
    pairs = re.findall(r'"apiVersion": (\w+|"[^"]+"),\s*"kind": "(\w+)"', source)
    assert pairs, "manifests.py builds no objects this test can find"
    kinds = {}
    for version, kind in pairs:
        api_version = version.strip('"') if version.startswith('"') else getattr(manifests, version)
        kinds[kind] = api_version.rpartition("/")[0]
    return kinds


def supervisor_needs() -> list[Access]:
    needs = [path_access(value) for _, value in path_constants(discovery)]
    needs.append(Access("", "secrets", READ_ONE, naming.kubeconfig_secret_name(CLUSTER)))
    needs += [
        Access(group, plural(kind), MANAGED)
        for kind, group in managed_kinds().items()
        if kind in SUPERVISOR_KINDS
    ]
    return needs


def group_and_resource(path: str) -> tuple[str, str]:
    """The API group and resource of one of the code's collection paths."""
    match = API_PATH.match(path)
    assert match, f"{path!r}: not a Kubernetes API path this test can read"
    return match["group"] or "", match["resource"]


def preflight_supervisor_needs() -> list[Access]:
    """egressctl preflight's reads on the Supervisor (egressctl/preflight/supervisor_checks.py);
    its dry-run creates of the TKC and AntreaConfig need `create`, which MANAGED grants."""
    checks = supervisor_checks
    needs = [
        Access(*group_and_resource(checks.TKRS), READ_ONE),
        Access(*group_and_resource(checks.STORAGE_CLASSES), READ_ONE),
        Access(*group_and_resource(checks.RESOURCE_QUOTAS), READ_MANY),
        Access(*group_and_resource(checks.VM_CLASS_BINDINGS), READ_MANY),
    ]
    # A namespaced VirtualMachineClass, read by name in the group's preferred version.
    needs.append(Access("vmoperator.vmware.com", "virtualmachineclasses", READ_ONE))
    return needs


def preflight_guest_needs() -> list[Access]:
    """egressctl preflight's reads in the guest cluster (egressctl/preflight/guest_checks.py)."""
    return [
        Access("crd.antrea.io", "antreacontrollerinfos", READ_ONE, "antrea-controller"),
        Access("", "configmaps", READ_ONE, guest_checks.ANTREA_CONFIG_MAP.rsplit("/", 1)[-1]),
        Access(*group_and_resource(guest_checks.NODES), READ_MANY),
        Access(*group_and_resource(guest_checks.EXTERNAL_IP_POOLS), frozenset({"list", "create"})),
    ]


def guest_needs() -> list[Access]:
    needs = [
        Access(group, plural(kind), MANAGED)
        for kind, group in managed_kinds().items()
        if kind not in SUPERVISOR_KINDS
    ]
    needs += [path_access(value) for _, value in path_constants(verify)]
    # The Deployment await (pulumi/pulumi-kubernetes provider/pkg/await/deployment.go).
    needs += [
        Access("apps", "replicasets", frozenset({"list", "watch"})),
        Access("", "pods", frozenset({"list", "watch"})),
        Access("", "persistentvolumeclaims", frozenset({"list", "watch"})),
    ]
    # verify's probe pod: created, polled and deleted by path, its log read (egressctl/verify.py).
    needs += [
        Access("", "pods", frozenset({"create", "get", "delete"})),
        Access("", "pods/log", READ_ONE),
    ]
    return needs


# -- the tests --------------------------------------------------------------------------------


def test_the_code_paths_are_understood() -> None:
    """Every path constant parses, so none escapes the checks below."""
    assert dict(path_constants(discovery)).keys() >= {
        "CAPI_CLUSTER", "VIRTUAL_NETWORKS", "VIRTUAL_NETWORK_INTERFACES", "NAMESPACE",
    }  # fmt: skip
    assert dict(path_constants(verify)) == {"EGRESS_API": "/apis/crd.antrea.io/v1beta1/egresses"}
    assert set(managed_kinds()) >= {
        "AntreaConfig", "TanzuKubernetesCluster", "ExternalIPPool", "Egress", "Namespace",
        "Deployment",
    }  # fmt: skip


@pytest.mark.parametrize("access", supervisor_needs() + preflight_supervisor_needs(), ids=str)
def test_the_supervisor_role_covers_the_call(access: Access) -> None:
    scope = None if access.resource in CLUSTER_SCOPED else NAMESPACE
    granted = rules(SUPERVISOR, namespace=scope)
    assert not missing(granted, access), f"docs/rbac/supervisor.yaml lacks {access}"


@pytest.mark.parametrize("access", guest_needs() + preflight_guest_needs(), ids=str)
def test_the_guest_role_covers_the_call(access: Access) -> None:
    granted = rules(GUEST, namespace=None)
    assert not missing(granted, access), f"docs/rbac/guest.yaml lacks {access}"


def test_the_supervisor_role_writes_only_what_the_program_manages() -> None:
    managed = {plural(kind) for kind in SUPERVISOR_KINDS}
    for scope in (NAMESPACE, None):
        for rule in rules(SUPERVISOR, namespace=scope):
            if WRITES & set(rule["verbs"]):
                assert set(rule["resources"]) <= managed, rule
            assert "*" not in rule["resources"] + rule["apiGroups"], rule


def test_the_supervisor_secret_and_namespace_reads_are_limited_by_name() -> None:
    for scope, resource, name in (
        (NAMESPACE, "secrets", naming.kubeconfig_secret_name(CLUSTER)),
        (None, "namespaces", NAMESPACE),
    ):
        for rule in rules(SUPERVISOR, namespace=scope):
            if resource in rule["resources"]:
                assert rule.get("resourceNames") == [name], rule


def test_a_rule_for_another_name_or_namespace_does_not_count() -> None:
    secret = Access("", "secrets", READ_ONE, "other-kubeconfig")
    assert missing(rules(SUPERVISOR, namespace=NAMESPACE), secret) == {"get"}
    assert missing(rules(SUPERVISOR, namespace="elsewhere"), supervisor_needs()[0])


# -- NSX --------------------------------------------------------------------------------------

SEGMENT = paths.api_url_path(paths.segment_path("{segment}"))
BINDING_MAPS = paths.api_url_path(paths.binding_maps_path("{segment}"))
BINDING_MAP = paths.api_url_path(paths.binding_map_path("{segment}", "{map}"))
NAT_RULE = paths.api_url_path(paths.nat_rule_path("/infra/tier-1s/{tier1}", "{rule}"))
# egressctl preflight's reads (egressctl/preflight/nsx_checks.py, tier1_checks.py).
SEGMENTS = paths.api_url_path(paths.SEGMENTS)
TIER1 = paths.api_url_path(paths.tier1_path("{tier1}"))
NAT_RULES = paths.api_url_path(paths.nat_rules_path("/infra/tier-1s/{tier1}", "{section}"))
# (method, path) of every call: NsxClient's (antrea_egress/nsx/client.py and its callers in
# antrea_egress/providers/ and discovery.py) and terraform-provider-nsxt's for the NoSNAT rule
# (nsxsim/TERRAFORM.md).
NSX_CALLS = {
    ("POST", paths.SESSION_CREATE),
    ("GET", paths.SEARCH),
    ("GET", paths.REALIZED_ENTITIES),
    ("GET", SEGMENT),
    ("PATCH", SEGMENT),
    ("DELETE", SEGMENT),
    ("GET", BINDING_MAPS),
    ("PATCH", BINDING_MAP),
    ("DELETE", BINDING_MAP),
    ("GET", "/api/v1/node/version"),
    ("GET", NAT_RULE),
    ("PATCH", NAT_RULE),
    ("DELETE", NAT_RULE),
    ("GET", SEGMENTS),
    ("GET", paths.TAG_SCHEMA),
    ("GET", paths.MANAGED_RESOURCE_SCHEMA),
    ("GET", TIER1),
    ("GET", NAT_RULES),
}


def documented_nsx_calls() -> set[tuple[str, str]]:
    """The `| METHOD | `path` |` rows of docs/permissions.md."""
    rows = re.findall(
        r"^\|\s*(GET|POST|PATCH|PUT|DELETE)\s*\|\s*`([^`?]+)", PERMISSIONS.read_text(), re.M
    )
    return {(method, path) for method, path in rows}


def test_every_nsx_call_is_documented() -> None:
    assert documented_nsx_calls() >= NSX_CALLS, NSX_CALLS - documented_nsx_calls()


def test_every_nsx_path_constant_is_documented() -> None:
    """A new full API path in antrea_egress/nsx/paths.py needs its row (and role) too."""
    constants = {
        value
        for name, value in vars(paths).items()
        if name.isupper()
        and isinstance(value, str)
        and value.startswith(("/api/", "/policy/"))
        and value != paths.POLICY_API_PREFIX
    }
    assert constants >= {paths.SESSION_CREATE, paths.SEARCH, paths.REALIZED_ENTITIES}
    documented = {path for _, path in documented_nsx_calls()}
    assert constants <= documented, constants - documented


def test_the_permissions_document_names_the_rbac_files_and_unconfirmed_facts() -> None:
    text = PERMISSIONS.read_text()
    for needle in ("docs/rbac/supervisor.yaml", "docs/rbac/guest.yaml", "UNCONFIRMED"):
        assert needle in text
