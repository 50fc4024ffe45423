"""The stack's keys: namespaces, key names, locations and how a location is written in a message.

Every problem the configuration has is a location (`("zones", 1, "vlan")`) and a message; it
reaches the user as one line, `antrea-egress:zones[1].vlan: <message>`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Final, TypeAlias

from antrea_egress import kube
from antrea_egress.nsx import settings as nsx_settings

CONFIG_NAMESPACE: Final = "antrea-egress"
KEY_CLUSTER: Final = "cluster"
KEY_NAT_MODE: Final = "natMode"
KEY_DEMO_WORKLOADS: Final = "demoWorkloads"
KEY_ZONES: Final = "zones"
KEY_RENDER_YAML_TO: Final = "renderYamlTo"
KEY_ALLOW_UNVERIFIED_NSX_TLS: Final = "allowUnverifiedNsxTls"
STACK_KEYS: Final = (
    KEY_CLUSTER,
    KEY_NAT_MODE,
    KEY_DEMO_WORKLOADS,
    KEY_ZONES,
    KEY_RENDER_YAML_TO,
    KEY_ALLOW_UNVERIFIED_NSX_TLS,
)

# The other namespaces a stack may set: the providers the program uses, and the engine's own
# (`pulumi:tags`, `pulumi:disable-default-providers`). Their names come from the modules that
# read their keys.
KUBERNETES_NAMESPACE: Final = kube.CONTEXT_KEY.partition(":")[0]
NSXT_NAMESPACE: Final = nsx_settings.HOST.config_key.partition(":")[0]
PULUMI_NAMESPACE: Final = "pulumi"
PROVIDER_NAMESPACES: Final = (KUBERNETES_NAMESPACE, NSXT_NAMESPACE)
# The provider keys whose values the program itself reads; the rest are the providers' own.
KEY_SUPERVISOR_CONTEXT: Final = kube.CONTEXT_KEY
ACCESS_FLAG_KEYS: Final = (
    nsx_settings.ALLOW_UNVERIFIED_SSL.config_key,
    nsx_settings.SESSION_AUTH.config_key,
)
# How a stack file (and read_pulumi_config, for secret values) marks an encrypted value.
SECURE: Final = "secure"

Loc: TypeAlias = tuple[str | int, ...]
Problem: TypeAlias = tuple[Loc, str]
KeyFunction: TypeAlias = Callable[[Loc], str]


class ConfigError(Exception):
    """Every problem of a stack configuration, one `key: message` line each."""

    def __init__(self, problems: Sequence[str], warnings: Sequence[str] = ()) -> None:
        self.problems: list[str] = list(problems)
        self.warnings: list[str] = list(warnings)
        super().__init__("\n".join(self.problems))

    def __str__(self) -> str:
        return "\n".join(self.problems)


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _render_suffix(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}"
        else:  # label keys such as kubernetes.io/name
            out += f"[{json.dumps(part)}]"
    return out


def render_path(loc: Loc) -> str:
    """A location relative to a model, e.g. `ipRanges[0].start`."""
    return _render_suffix(loc).removeprefix(".")


def config_key(loc: Loc, *, project: str = CONFIG_NAMESPACE) -> str:
    """The fully qualified key of a location, e.g. `antrea-egress:zones[1].ipRanges[0]`; a
    location that starts with another namespace's key (`nsxt:allowUnverifiedSsl`) is that key."""
    if not loc:
        return project
    head, *rest = loc
    if isinstance(head, str) and ":" in head:
        return f"{head}{_render_suffix(rest)}"
    return f"{project}:{head}{_render_suffix(rest)}"


def zone_loc(index: int, *rest: str | int) -> Loc:
    """The location of a zone's key, e.g. `("zones", 1, "vlan")`."""
    return (KEY_ZONES, index, *rest)
