"""A Kubernetes custom resource whose `status` the program can read.

pulumi-kubernetes' Python `apiextensions.CustomResource` declares no `status` output
(pulumi/pulumi-kubernetes#1836). This registers the same type token, `kubernetes:<apiVersion>:
<kind>`, with the same inputs, and also asks for `status` (docs/pulumi-engine.md §3.2).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes

# The version the generated classes pin their resources to; ours must use the same plugin.
KUBERNETES_PACKAGE_VERSION: str = pulumi_kubernetes._utilities.get_version()  # type: ignore[no-untyped-call]


class KubernetesObject(pulumi.CustomResource):
    """One object from a manifest dict (apiVersion, kind, metadata, spec)."""

    api_version: pulumi.Output[str]
    kind: pulumi.Output[str]
    metadata: pulumi.Output[Any]
    spec: pulumi.Output[Any]
    status: pulumi.Output[Any]

    def __init__(
        self,
        resource_name: str,
        manifest: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "apiVersion": manifest["apiVersion"],
            "kind": manifest["kind"],
            "metadata": manifest.get("metadata"),
            "spec": manifest.get("spec"),
            "status": None,
        }
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(version=KUBERNETES_PACKAGE_VERSION)
        )
        token = f"kubernetes:{manifest['apiVersion']}:{manifest['kind']}"
        super().__init__(token, resource_name, props, opts)

    def translate_output_property(self, prop: str) -> str:
        return "api_version" if prop == "apiVersion" else prop

    def translate_input_property(self, prop: str) -> str:
        return "apiVersion" if prop == "api_version" else prop
