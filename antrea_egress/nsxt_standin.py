"""A stand-in for the two classes we use from `pulumi_nsxt`, for machines without the real SDK.

`pulumi install` generates `pulumi_nsxt` from the `packages:` entry in Pulumi.yaml. Where that
cannot run (unit tests, the offline render) this module registers the same resource tokens
with the same engine-level input names (taken from the provider schema, an excerpt of which is
in schemas/pulumi-nsxt/), so what the engine sees is identical.
It is selected only when `import pulumi_nsxt` fails; see `antrea_egress.nsxt`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
from pulumi.runtime import settings
from pulumi.runtime.mocks import MockMonitor

PACKAGE = "nsxt"
POLICY_NAT_RULE_TYPE = "nsxt:index/policyNatRule:PolicyNatRule"


def require_mock_engine() -> None:
    """The stand-in never reaches a real engine: it lacks the generated SDK's package
    reference, and the engine would fail far from the cause. Say what to do instead."""
    if not isinstance(settings.get_monitor(), MockMonitor):
        raise RuntimeError(
            "pulumi_nsxt is not installed in this virtualenv: run `pulumi install` in the "
            "project directory (it generates the NSX-T SDK from the `packages:` entry of "
            "Pulumi.yaml). The stand-in in antrea_egress/nsxt_standin.py serves only the "
            "tests and the offline render."
        )


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
        require_mock_engine()
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
        require_mock_engine()
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
