"""Access to the Supervisor and NSX: the provider keys the program reads itself.

The `kubernetes:*` and `nsxt:*` keys belong to the Kubernetes and NSX-T providers; the program
checks the few it reads itself (the Supervisor context, two NSX flags) by the same rules in
the loader and in `read_access_config`, and passes the rest on to the providers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from antrea_egress import kube
from antrea_egress.config.collector import Collector
from antrea_egress.config.keys import (
    ACCESS_FLAG_KEYS,
    CONFIG_NAMESPACE,
    KEY_SUPERVISOR_CONTEXT,
    KUBERNETES_NAMESPACE,
    NSXT_NAMESPACE,
    ConfigError,
)
from antrea_egress.config.sources import runtime_config
from antrea_egress.nsx import settings as nsx_settings


@dataclass(frozen=True)
class AccessValues:
    """The provider keys the program reads itself, validated (None: unset)."""

    supervisor_context: str | None
    flags: Mapping[str, bool | None]


def check_access(
    out: Collector, raw: Mapping[str, Any], *, supervisor_required: bool
) -> AccessValues:
    """The provider keys the program reads itself (the providers check the others).

    The Supervisor provider's identity is its context: without one, switching the
    kubeconfig's current context would silently point the stack at another Supervisor.
    """
    context = out.provider_text(KEY_SUPERVISOR_CONTEXT, raw.get(KEY_SUPERVISOR_CONTEXT))
    if supervisor_required and context is None and KEY_SUPERVISOR_CONTEXT not in out.failed:
        out.problems.append(
            f"{KEY_SUPERVISOR_CONTEXT}: not set; set it to the Supervisor context of "
            f"`kubectl vsphere login` (pulumi config set {KEY_SUPERVISOR_CONTEXT} <context>)"
        )
    flags = {key: out.provider_flag(key, raw.get(key)) for key in ACCESS_FLAG_KEYS}
    return AccessValues(context, flags)


@dataclass(frozen=True)
class AccessConfig:
    """The other namespaces' keys the program passes to its explicit providers.

    These belong to the Kubernetes and NSX-T providers (and our NSX dynamic providers read the
    same `nsxt:*` keys in their configure()); unset values are left to each provider's own
    fallback (KUBECONFIG, NSXT_* environment variables).
    """

    supervisor_context: str | None = None
    supervisor_kubeconfig: pulumi.Output[str] | None = None
    nsx_host: str | None = None
    nsx_username: str | None = None
    nsx_password: pulumi.Output[str] | None = None
    nsx_allow_unverified_ssl: bool | None = None
    nsx_ca_file: str | None = None
    nsx_session_auth: bool | None = None


def read_access_config(*, supervisor_required: bool) -> AccessConfig:
    """The edge adapter for the `kubernetes:*` and `nsxt:*` keys; secrets stay secret.

    The keys the program reads itself are checked by the rules load_stack_config applies;
    a problem raises ConfigError naming the key.
    """
    out = Collector(CONFIG_NAMESPACE)
    access = check_access(out, runtime_config(), supervisor_required=supervisor_required)
    if out.problems:
        raise ConfigError(out.problems)
    kubernetes = pulumi.Config(KUBERNETES_NAMESPACE)
    nsxt = pulumi.Config(NSXT_NAMESPACE)
    return AccessConfig(
        supervisor_context=access.supervisor_context,
        supervisor_kubeconfig=kubernetes.get_secret(_name(kube.KUBECONFIG_KEY)),
        nsx_host=nsxt.get(_name(nsx_settings.HOST.config_key)),
        nsx_username=nsxt.get(_name(nsx_settings.USERNAME.config_key)),
        nsx_password=nsxt.get_secret(_name(nsx_settings.PASSWORD.config_key)),
        nsx_allow_unverified_ssl=access.flags[nsx_settings.ALLOW_UNVERIFIED_SSL.config_key],
        nsx_ca_file=nsxt.get(_name(nsx_settings.CA_FILE.config_key)),
        nsx_session_auth=access.flags[nsx_settings.SESSION_AUTH.config_key],
    )


def _name(key: str) -> str:
    """`host` of `nsxt:host`: pulumi.Config takes the name within its namespace."""
    return key.partition(":")[2]
