"""A zone's NoSNAT rule: an NSX-T provider PolicyNatRule, and how `egressctl render` shows it.

In NAT mode the zone's Tier-1 would SNAT the zone's subnet to the namespace's SNAT IP; this
rule lets it leave unchanged. It is a resource of the NSX-T provider (pulumi_nsxt, bridged from
terraform-provider-nsxt): its properties are declared once, in `no_snat_rule`, and its request
is rendered offline as that provider sends it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import pulumi

from antrea_egress import naming, nsxt
from antrea_egress.config import ClusterConfig, ZoneConfig
from antrea_egress.nsx import paths
from antrea_egress.nsxt_standin import POLICY_NAT_RULE_TYPE
from antrea_egress.rendering import TARGET_NSX, NsxRequest, OfflineRendering

# UNCONFIRMED (docs/nsx-policy-api.md §2.2): the priority of NCP's own SNAT rules on the namespace
# Tier-1. Lower numbers are evaluated first within the USER section, and the rule matches only
# this zone's own CIDR, so 0 puts it ahead of any SNAT that could catch the same traffic.
NO_SNAT_RULE_PRIORITY: Final = 0


def no_snat_rule(
    resource_name: str,
    cluster: ClusterConfig,
    zone: ZoneConfig,
    *,
    tier1_path: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> pulumi.CustomResource:
    """The zone's NO_SNAT rule for its CIDR on the Tier-1 of its parent segment."""
    segment_id = naming.child_segment_id(cluster.vsphere_namespace, cluster.name, zone.name)
    rule_id = naming.nosnat_rule_id(segment_id)
    tags = naming.ownership_tags(cluster.vsphere_namespace, cluster.name, zone.name)
    rule: pulumi.CustomResource = nsxt.PolicyNatRule(
        resource_name,
        action="NO_SNAT",
        display_name=rule_id,
        description=f"Antrea egress zone {zone.name}: its subnet leaves unchanged",
        gateway_path=tier1_path,
        source_networks=[zone.cidr],
        firewall_match="BYPASS",
        nsx_id=rule_id,
        rule_priority=NO_SNAT_RULE_PRIORITY,
        tags=[*tags, naming.MANAGED_BY_TAG],
        opts=opts,
    )
    return rule


# --- offline ---------------------------------------------------------------------------------

# terraform-provider-nsxt's defaults and the pulumi_nsxt input behind each optional field.
_DEFAULT_PRIORITY: Final = 100
_NETWORKS: Final = (
    ("source_network", "sourceNetworks"),
    ("destination_network", "destinationNetworks"),
    ("translated_network", "translatedNetworks"),
)
_OPTIONAL: Final = (
    ("firewall_match", "firewallMatch"),
    ("translated_ports", "translatedPorts"),
    ("policy_based_vpn_mode", "policyBasedVpnMode"),
)


def _request(resource: str, inputs: Mapping[str, Any]) -> list[NsxRequest]:
    """The PATCH body as terraform-provider-nsxt sends it (nsxsim/TERRAFORM.md).

    Always: id, display_name, description ("" when unset), tags ([] when none), action,
    enabled (default true), logging (default false), sequence_number (rule_priority, default
    100), service ("" when unset) and scope ([] when unset). Network lists are joined with
    commas and omitted when empty; firewall_match, translated_ports and policy_based_vpn_mode
    only when set. No resource_type, no _revision.
    """
    rule_path = paths.nat_rule_path(inputs["gatewayPath"], inputs["nsxId"])
    body: dict[str, Any] = {
        "id": inputs["nsxId"],
        "display_name": inputs["displayName"],
        "description": inputs.get("description") or "",
        "tags": inputs.get("tags") or [],
        "action": inputs["action"],
    }
    for field, key in _NETWORKS:
        if inputs.get(key):
            body[field] = ",".join(inputs[key])
    body.update(
        {
            "enabled": _default(inputs.get("enabled"), True),
            "logging": _default(inputs.get("logging"), False),
            "sequence_number": _default(inputs.get("rulePriority"), _DEFAULT_PRIORITY),
            "service": inputs.get("service") or "",
            "scope": inputs.get("scopes") or [],
        }
    )
    for field, key in _OPTIONAL:
        if inputs.get(key):
            body[field] = inputs[key]
    return [NsxRequest(resource, "PATCH", paths.POLICY_API_PREFIX + rule_path, body)]


def _default(value: Any, default: Any) -> Any:
    return default if value is None else value


def _detail(inputs: Mapping[str, Any]) -> str:
    sources = ", ".join(inputs["sourceNetworks"])
    return f"{inputs['action']} from {sources} on {inputs['gatewayPath']}"


OFFLINE = OfflineRendering(
    type=POLICY_NAT_RULE_TYPE, requests=_request, target=TARGET_NSX, detail=_detail
)
