"""The guest-cluster checks, once the cluster exists: Antrea's version and gate, the pools as
the API server would store them (server-side dry runs), the Nodes each zone selects, other
pools' ranges and the number of egress subnets.

Each check takes the run's `PreflightContext` and returns an `Outcome`; the table that runs
them is `egressctl.preflight.checks.CHECKS`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

import yaml

from antrea_egress import manifests, naming
from antrea_egress.config import MAX_ZONES_PER_CLUSTER, IpRange, ZoneConfig
from antrea_egress.config.limits import (
    FEATURE_GATE_EGRESS_SEPARATE_SUBNET,
    FEATURE_GATE_EGRESS_TRAFFIC_SHAPING,
)
from antrea_egress.kube import KubeClient, KubeError
from antrea_egress.manifests import ANTREA_API, ANTREA_SUBNET_INFO_SINCE, PoolPrunedError
from egressctl.preflight.context import PreflightContext
from egressctl.preflight.model import NotCheckedError, Outcome, failed, passed, worst

# antrea-controller reports its version in the one AntreaControllerInfo, antrea-controller
# (antrea-io/antrea build/charts/antrea/crds/antreacontrollerinfo.yaml: crd.antrea.io/v1beta1,
# cluster-scoped, top-level `version`; the same group in 1.15's manifests).
ANTREA_CONTROLLER_INFO = f"/apis/{ANTREA_API}/antreacontrollerinfos/antrea-controller"
# The agents' configuration, as `antctl get featuregates` reads it (antrea-io/antrea
# pkg/apiserver/handlers/featuregates/handler.go: ConfigMap antrea-config in the Antrea
# namespace, key antrea-agent.conf, a YAML document with `featureGates`). UNCONFIRMED that
# TKG's Antrea package keeps this name and namespace.
ANTREA_CONFIG_MAP = "/api/v1/namespaces/kube-system/configmaps/antrea-config"
ANTREA_AGENT_CONF = "antrea-agent.conf"
# EgressSeparateSubnet is beta and on by default from Antrea 2.3 (docs/antrea-and-tanzu.md §3).
GATE_ON_BY_DEFAULT_SINCE = (2, 3)
EXTERNAL_IP_POOLS = f"/apis/{ANTREA_API}/externalippools"
NODES = "/api/v1/nodes"
_VERSION = re.compile(r"v?(\d+)\.(\d+)")


def guest(ctx: PreflightContext) -> KubeClient:
    client = ctx.guest()
    if client is None:  # the checks' skip reason keeps them from running before the cluster
        raise NotCheckedError("the cluster does not exist", "run preflight again once it is Ready")
    return client


def guest_reachable(ctx: PreflightContext) -> Outcome:
    access = ctx.guest_access()
    version = guest(ctx).get("/version")
    return passed(f"{access.server} answers (Kubernetes {version.get('gitVersion', '?')})")


def antrea_version(ctx: PreflightContext) -> tuple[int, int] | None:
    return ctx.once("antrea-version", lambda: _antrea_version(guest(ctx)))


def _antrea_version(client: KubeClient) -> tuple[int, int] | None:
    info = client.get_optional(ANTREA_CONTROLLER_INFO)
    match = _VERSION.match(str((info or {}).get("version") or ""))
    return (int(match[1]), int(match[2])) if match else None


def guest_antrea_version(ctx: PreflightContext) -> Outcome:
    """Settles docs/antrea-and-tanzu.md §0: the Antrea version the cluster runs."""
    version = antrea_version(ctx)
    if version is None:
        return failed(
            "no AntreaControllerInfo antrea-controller with a version: is Antrea the CNI?",
            "the TKC's CNI must be antrea",
        )
    text = ".".join(map(str, version))
    if version < _tuple(ANTREA_SUBNET_INFO_SINCE):
        return failed(
            f"Antrea {text}: subnetInfo and EgressSeparateSubnet need {ANTREA_SUBNET_INFO_SINCE}",
            f"upgrade the cluster to a TKr whose Antrea is {ANTREA_SUBNET_INFO_SINCE} or newer",
        )
    return passed(f"Antrea {text} (at least {ANTREA_SUBNET_INFO_SINCE})")


def _tuple(text: str) -> tuple[int, int]:
    major, minor = (int(part) for part in text.split(".")[:2])
    return major, minor


def agent_feature_gates(ctx: PreflightContext) -> Mapping[str, Any] | Outcome:
    """The agents' `featureGates`, read once per run; or the failed outcome saying why they
    cannot be read, which every check of a gate reports."""
    return ctx.once("agent-feature-gates", lambda: _agent_feature_gates(guest(ctx)))


def _agent_feature_gates(client: KubeClient) -> Mapping[str, Any] | Outcome:
    config_map = client.get_optional(ANTREA_CONFIG_MAP)
    text = ((config_map or {}).get("data") or {}).get(ANTREA_AGENT_CONF)
    if text is None:
        return failed(
            f"no {ANTREA_AGENT_CONF} in ConfigMap kube-system/antrea-config",
            "check how Antrea is configured in the cluster (`antctl get featuregates`)",
        )
    try:
        gates: Mapping[str, Any] = (yaml.safe_load(text) or {}).get("featureGates") or {}
    except (yaml.YAMLError, AttributeError):
        return failed(f"{ANTREA_AGENT_CONF} is not a YAML mapping", "check the Antrea package")
    return gates


def guest_egress_gate(ctx: PreflightContext) -> Outcome:
    gates = agent_feature_gates(ctx)
    if isinstance(gates, Outcome):
        return gates
    return _gate_outcome(gates, antrea_version(ctx))


def _gate_outcome(gates: Mapping[str, Any], version: tuple[int, int] | None) -> Outcome:
    gate = FEATURE_GATE_EGRESS_SEPARATE_SUBNET
    value = gates.get(gate)
    if gates.get("Egress") is False:
        return failed("the agents' Egress gate is false", _GATE_FIX)
    if value is True:
        return passed(f"{gate}: true in the agents' configuration")
    if value is None and version is not None and version >= GATE_ON_BY_DEFAULT_SINCE:
        return passed(f"{gate}: not set, on by default in Antrea {version[0]}.{version[1]}")
    said = "not set (off by default)" if value is None else str(value).lower()
    return failed(f"{gate}: {said} in the agents' configuration", _GATE_FIX)


_GATE_FIX = (
    "the AntreaConfig's gates did not reach the cluster: check the AntreaConfig on the "
    "Supervisor (supervisor-antrea-config); its agents need a restart after a change"
)


def guest_traffic_shaping_gate(ctx: PreflightContext) -> Outcome:
    """With a zone's bandwidth, the agents' EgressTrafficShaping gate is on: antrea-agent
    enforces `spec.bandwidth` only then (alpha since Antrea 1.14, off by default:
    docs/antrea-and-tanzu.md), and the Egress is accepted either way, so nothing else says
    that the limit is not applied."""
    limited = [zone.name for zone in ctx.config.zones if zone.bandwidth is not None]
    if not limited:
        return passed("no zone has a bandwidth: the gate is not needed")
    gates = agent_feature_gates(ctx)
    if isinstance(gates, Outcome):
        return gates
    gate, value = (
        FEATURE_GATE_EGRESS_TRAFFIC_SHAPING,
        gates.get(FEATURE_GATE_EGRESS_TRAFFIC_SHAPING),
    )
    zones = f"zones with a bandwidth: {', '.join(limited)}"
    if value is True:
        return passed(f"{gate}: true in the agents' configuration ({zones})")
    said = "not set (off by default)" if value is None else str(value).lower()
    fix = (
        _GATE_FIX
        if ctx.config.cluster.manage
        else f"turn {gate} on in the cluster's Antrea (cluster.manage is false: the program "
        "does not write its AntreaConfig); its agents need a restart after a change"
    )
    return failed(f"{gate}: {said} in the agents' configuration; {zones}", fix)


def guest_pools(ctx: PreflightContext) -> Outcome:
    """Each zone's ExternalIPPool keeps `subnetInfo`: the stored pool, or a server-side dry run
    of its creation (admission webhooks included, nothing stored)."""
    client = guest(ctx)
    return worst([_pool_outcome(client, zone) for zone in ctx.config.zones] or [_no_zones()])


def _pool_outcome(client: KubeClient, zone: ZoneConfig) -> Outcome:
    name = naming.external_ip_pool_name(zone.name)
    stored = client.get_optional(f"{EXTERNAL_IP_POOLS}/{name}")
    how = "the stored pool"
    if stored is not None and not _made_by_this_stack(stored, zone):
        return failed(
            f"zone {zone.name}: an ExternalIPPool {name} exists that this stack did not make "
            f"(labels {stored['metadata'].get('labels') or {}})",
            "rename the zone, or remove that pool if nothing uses it",
        )
    if stored is None:
        how = "a dry run of the pool"
        try:
            stored = client.dry_run_create(
                EXTERNAL_IP_POOLS, manifests.external_ip_pool(zone), field_validation="Ignore"
            )
        except KubeError as error:
            return failed(f"zone {zone.name}: the API server refuses {name}: {error}", _POOL_FIX)
    try:
        manifests.check_pool_kept(zone, stored.get("spec"))
    except PoolPrunedError as error:
        return failed(f"zone {zone.name}: {error}", "see the message")
    return passed(f"zone {zone.name}: {how} {name} keeps subnetInfo")


_POOL_FIX = "see the message: Antrea's webhook or the CRD refuses the pool as configured"


def _made_by_this_stack(pool: Mapping[str, Any], zone: ZoneConfig) -> bool:
    """Whether the pool carries the labels the program puts on a zone's objects."""
    labels = (pool.get("metadata") or {}).get("labels") or {}
    return manifests.zone_labels(zone).items() <= labels.items()


def guest_nodes(ctx: PreflightContext) -> Outcome:
    nodes = guest(ctx).list(NODES)
    outcomes = [_nodes_outcome(zone, nodes) for zone in ctx.config.zones] or [_no_zones()]
    return worst(outcomes)


def _nodes_outcome(zone: ZoneConfig, nodes: list[dict[str, Any]]) -> Outcome:
    selector = manifests.label_selector(zone.node_selector)
    chosen = [
        str(node["metadata"]["name"])
        for node in nodes
        if selects(selector, node["metadata"].get("labels") or {})
    ]
    if not chosen:
        return failed(
            f"zone {zone.name}: no Node matches its nodeSelector {selector} ({len(nodes)} Nodes)",
            "label Nodes to match, or change zones[].nodeSelector: no Node could hold the IP",
        )
    return passed(f"zone {zone.name}: {len(chosen)} of {len(nodes)} Nodes can hold its IP")


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Kubernetes LabelSelector semantics: matchLabels and every matchExpression hold; an empty
    selector selects everything (k8s.io/apimachinery/pkg/apis/meta/v1 LabelSelectorAsSelector)."""
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    return all(_holds(e, labels) for e in selector.get("matchExpressions") or [])


def _holds(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, operator = expression["key"], expression["operator"]
    values = set(expression.get("values") or [])
    return {
        "In": key in labels and labels.get(key) in values,
        "NotIn": labels.get(key) not in values,
        "Exists": key in labels,
        "DoesNotExist": key not in labels,
    }[operator]


def other_pools(ctx: PreflightContext) -> list[dict[str, Any]]:
    """The cluster's ExternalIPPools that are not a zone's of this stack."""
    ours = {naming.external_ip_pool_name(zone.name) for zone in ctx.config.zones}
    pools = ctx.once("pools", lambda: guest(ctx).list(EXTERNAL_IP_POOLS))
    return [p for p in pools if p["metadata"]["name"] not in ours]


def guest_pool_ranges(ctx: PreflightContext) -> Outcome:
    others = other_pools(ctx)
    outcomes = [_ranges_outcome(zone, others) for zone in ctx.config.zones] or [_no_zones()]
    return worst(outcomes)


def _ranges_outcome(zone: ZoneConfig, others: list[dict[str, Any]]) -> Outcome:
    clashes = [
        f"{pool['metadata']['name']} ({theirs.text})"
        for pool in others
        for item in (pool.get("spec") or {}).get("ipRanges") or []
        for theirs in [_ip_range(item)]
        if theirs is not None and any(theirs.overlaps(mine) for mine in zone.ip_ranges)
    ]
    if clashes:
        return failed(
            f"zone {zone.name}: other pools hold its ranges: {', '.join(clashes)}",
            "give the zone ranges no other ExternalIPPool holds",
        )
    return passed(f"zone {zone.name}: no other pool ({len(others)}) holds its ranges")


def _ip_range(item: Mapping[str, Any]) -> IpRange | None:
    try:
        return manifests.ip_range_from_antrea(item)
    except ValueError:  # IPv6 or malformed: not an IPv4 range of ours to compare
        return None


def guest_egress_subnets(ctx: PreflightContext) -> Outcome:
    """Antrea routes each distinct egress subnet through its own table, 101-120 (at most
    MAX_ZONES_PER_CLUSTER; docs/antrea-and-tanzu.md §3): this stack's zones and other pools'."""
    ours = {_subnet_key(manifests.subnet_info(zone)) for zone in ctx.config.zones} - {None}
    theirs = {
        key
        for pool in other_pools(ctx)
        if (key := _subnet_key((pool.get("spec") or {}).get("subnetInfo") or {})) is not None
    }
    total = len(ours | theirs)
    evidence = f"{len(ours)} subnets of this stack, {len(theirs - ours)} of other pools"
    if total > MAX_ZONES_PER_CLUSTER:
        return failed(
            f"{evidence}: {total} in all, Antrea handles {MAX_ZONES_PER_CLUSTER}",
            "remove zones, or pools of other owners with subnetInfo",
        )
    return passed(f"{evidence}: {total} of {MAX_ZONES_PER_CLUSTER}")


def _subnet_key(info: Mapping[str, Any]) -> tuple[str, int] | None:
    """A subnet as Antrea tells them apart; None without (or with an unreadable) subnetInfo."""
    try:
        gateway = f"{info['gateway']}/{info['prefixLength']}"
        return str(ipaddress.ip_network(gateway, strict=False)), int(info.get("vlan") or 0)
    except (KeyError, ValueError, TypeError):
        return None


def _no_zones() -> Outcome:
    return passed("no zones configured")
