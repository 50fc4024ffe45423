"""Every name this project gives to an NSX or Kubernetes object, and the rules names obey.

One source of truth: components, providers, the validator and the tests derive names only here,
so a rename is one edit and the NSX ids stay stable across releases (changing a formula
replaces the objects it names).
"""

from __future__ import annotations

import re

from antrea_egress.nsx import paths

# NSX accepts almost anything in an id, but `/` breaks paths, TF rejects `&`, and the whole
# policy path must stay within 255 characters (error 500157). We keep to a safe alphabet.
NSX_ID_MAX_LENGTH = 255
NSX_PATH_MAX_LENGTH = 255
_NSX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SEGMENT_PATH = re.compile(r"^/infra/segments/(?P<id>[^/?#&\s]+)$")
_TIER1_PATH = re.compile(r"^/infra/tier-1s/(?P<id>[^/?#&\s]+)$")

NSX_DISPLAY_NAME_MAX_LENGTH = 255
NSX_DESCRIPTION_MAX_LENGTH = 1024
NSX_TAG_SCOPE_MAX_LENGTH = 128
NSX_TAG_VALUE_MAX_LENGTH = 256
# "30 per object" is commonly cited but UNCONFIRMED (docs/nsx-policy-api.md §5); assumed here.
NSX_MAX_TAGS = 30

DNS1123_LABEL_MAX_LENGTH = 63
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

TAG_SCOPE_PREFIX = "antrea-egress/"
TAG_SCOPE_MANAGED_BY = TAG_SCOPE_PREFIX + "managed-by"
TAG_MANAGED_BY_VALUE = "pulumi"
TAG_SCOPE_CLUSTER = TAG_SCOPE_PREFIX + "cluster"
TAG_SCOPE_ZONE = TAG_SCOPE_PREFIX + "zone"


def nsx_id_problem(value: str) -> str | None:
    if not value:
        return "NSX id must not be empty"
    if len(value) > NSX_ID_MAX_LENGTH:
        return f"NSX id is {len(value)} characters long; at most {NSX_ID_MAX_LENGTH} are allowed"
    if not _NSX_ID.match(value):
        return (
            f"NSX id {value!r} may contain only letters, digits, '.', '_' and '-', "
            "and must start with a letter or digit"
        )
    return None


def segment_path_problem(path: str) -> str | None:
    if not _SEGMENT_PATH.match(path):
        return f"{path!r} is not a segment policy path such as /infra/segments/vnet_<uuid>_0"
    return None


def segment_id_from_path(path: str) -> str:
    match = _SEGMENT_PATH.match(path)
    if not match:
        raise ValueError(segment_path_problem(path))
    return match.group("id")


def is_tier1_path(path: str) -> bool:
    return bool(_TIER1_PATH.match(path))


def dns1123_label_problem(value: str) -> str | None:
    if len(value) > DNS1123_LABEL_MAX_LENGTH:
        return f"{value!r} is longer than {DNS1123_LABEL_MAX_LENGTH} characters"
    if not _DNS1123_LABEL.match(value):
        return (
            f"{value!r} is not a DNS-1123 label (lower-case letters, digits and '-', "
            "starting and ending with a letter or digit)"
        )
    return None


# --- NSX objects -------------------------------------------------------------------------


def child_segment_id(vsphere_namespace: str, cluster: str, zone: str) -> str:
    """Segment ids are global in NSX; the namespace and cluster keep two clusters apart."""
    return f"egress-{vsphere_namespace}-{cluster}-{zone}"


def binding_map_id(parent_path: str) -> str:
    """One binding map per parent, named after it (a child may have several parents)."""
    return f"bm-{segment_id_from_path(parent_path)}"


def binding_map_path(segment_id: str, parent_path: str) -> str:
    """The policy path of the child segment's binding map to `parent_path`: the longest path a
    child segment has, the one NSX_PATH_MAX_LENGTH bounds."""
    return paths.binding_map_path(segment_id, binding_map_id(parent_path))


def nosnat_rule_id(child_segment_id_: str) -> str:
    return f"nosnat-{child_segment_id_}"


def ownership_tags(vsphere_namespace: str, cluster: str, zone: str) -> list[dict[str, str]]:
    """Tags that say which cluster and zone own an NSX object."""
    return [
        {"scope": TAG_SCOPE_CLUSTER, "tag": f"{vsphere_namespace}/{cluster}"},
        {"scope": TAG_SCOPE_ZONE, "tag": zone},
    ]


MANAGED_BY_TAG = {"scope": TAG_SCOPE_MANAGED_BY, "tag": TAG_MANAGED_BY_VALUE}


# --- Kubernetes objects ------------------------------------------------------------------


def antrea_config_name(cluster: str) -> str:
    """The Supervisor binds an AntreaConfig to a cluster only under this exact name."""
    return f"{cluster}-antrea-package"


def kubeconfig_secret_name(cluster: str) -> str:
    """Cluster API's admin kubeconfig Secret; the kubeconfig is under data key `value`."""
    return f"{cluster}-kubeconfig"


KUBECONFIG_SECRET_KEY = "value"  # noqa: S105 - a data key name, not a password


def external_ip_pool_name(zone: str) -> str:
    return f"{zone}-external-ip-pool"


def egress_name(zone: str) -> str:
    return f"egress-{zone}"


def demo_deployment_name() -> str:
    return "web"
