"""A stand-in for the two classes we use from `pulumi_nsxt`, for machines without the real SDK.

`pulumi install` generates `pulumi_nsxt` from the `packages:` entry in Pulumi.yaml. Where that
cannot run (unit tests, the offline render) this module registers the same resource tokens
with the same engine-level input names (taken from the provider schema,
../shared/reference/pulumi-nsxt-schema-excerpt.json), so what the engine sees is identical.
It is selected only when `import pulumi_nsxt` fails; see `antrea_egress.nsxt`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

PACKAGE = "nsxt"
POLICY_NAT_RULE_TYPE = "nsxt:index/policyNatRule:PolicyNatRule"


class Provider(pulumi.ProviderResource):
    """`pulumi:providers:nsxt` with the connection inputs we set."""

    def __init__(
        self,
        resource_name: str,
        *,
        host: pulumi.Input[str] | None = None,
        username: pulumi.Input[str] | None = None,
        password: pulumi.Input[str] | None = None,
        allow_unverified_ssl: pulumi.Input[bool] | None = None,
        ca_file: pulumi.Input[str] | None = None,
        session_auth: pulumi.Input[bool] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "host": host,
            "username": username,
            "password": password,
            "allowUnverifiedSsl": allow_unverified_ssl,
            "caFile": ca_file,
            "sessionAuth": session_auth,
        }
        super().__init__(PACKAGE, resource_name, props, opts)


class PolicyNatRule(pulumi.CustomResource):
    """`nsxt:index/policyNatRule:PolicyNatRule`, limited to the inputs a NO_SNAT rule needs."""

    path: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        action: pulumi.Input[str],
        display_name: pulumi.Input[str],
        gateway_path: pulumi.Input[str],
        description: pulumi.Input[str] | None = None,
        enabled: pulumi.Input[bool] | None = None,
        firewall_match: pulumi.Input[str] | None = None,
        logging: pulumi.Input[bool] | None = None,
        nsx_id: pulumi.Input[str] | None = None,
        rule_priority: pulumi.Input[int] | None = None,
        source_networks: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        tags: pulumi.Input[Sequence[Any]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "action": action,
            "description": description,
            "displayName": display_name,
            "enabled": enabled,
            "firewallMatch": firewall_match,
            "gatewayPath": gateway_path,
            "logging": logging,
            "nsxId": nsx_id,
            "rulePriority": rule_priority,
            "sourceNetworks": source_networks,
            "tags": tags,
            "path": None,
        }
        super().__init__(POLICY_NAT_RULE_TYPE, resource_name, props, opts)
