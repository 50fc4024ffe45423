"""Validate rendered objects against the public CRD schemas in ../shared/crds.

Two checks, as the API server makes them: the OpenAPI v3 schema (types, required fields,
formats, oneOf), and structural pruning, which silently drops fields the schema does not
declare. Pruning is reported, not failed on: it is how the known gaps of the public CRDs
(older than the TKG Service 3.2 Supervisor's) show up.
"""

from __future__ import annotations

import ipaddress
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

SHARED_CRDS = Path(__file__).resolve().parents[2] / "shared" / "crds"
needs_shared_crds = pytest.mark.skipif(
    not SHARED_CRDS.is_dir(),
    reason=f"the CRD schemas are read from {SHARED_CRDS}, which CI places beside the clone",
)

ANTREA_CONFIG = "tanzu-framework_cni.tanzu.vmware.com_antreaconfigs.yaml"
TKC_V1ALPHA2 = "tanzu-framework_run.tanzu.vmware.com_tanzukubernetesclusters_v1alpha2.yaml"
EXTERNAL_IP_POOLS = (
    "antrea_crd.antrea.io_externalippools_v1.15.0.yaml",
    "antrea_crd.antrea.io_externalippools_v2.x.yaml",
)
EGRESSES = ("antrea_crd.antrea.io_egresses_v1.15.0.yaml", "antrea_crd.antrea.io_egresses_v2.x.yaml")

_FORMATS = jsonschema.FormatChecker()
# The API server keeps these top-level fields whatever the CRD's schema declares.
_ALWAYS_KEPT = frozenset({"apiVersion", "kind", "metadata"})


def _is_cidr(value: object) -> bool:
    return not isinstance(value, str) or bool(ipaddress.ip_network(value, strict=False))


_FORMATS.checks("cidr", raises=ValueError)(_is_cidr)


@cache
def openapi_schema(file_name: str, version: str) -> dict[str, Any]:
    crd = yaml.safe_load((SHARED_CRDS / file_name).read_text())
    for served in crd["spec"]["versions"]:
        if served["name"] == version:
            return dict(served["schema"]["openAPIV3Schema"])
    raise KeyError(f"{file_name} has no version {version}")


def schema_errors(obj: dict[str, Any], file_name: str, version: str) -> list[str]:
    validator = jsonschema.Draft7Validator(
        openapi_schema(file_name, version), format_checker=_FORMATS
    )
    return [
        f"{'.'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(obj)
    ]


def pruned_fields(obj: Any, schema: dict[str, Any], at: str = "") -> list[str]:
    """The paths the API server would drop: keys a structural schema does not declare."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    if isinstance(obj, dict) and schema.get("type", "object") == "object":
        declared = schema.get("properties")
        extra = schema.get("additionalProperties")
        if declared is None and extra is None:
            return []  # e.g. metadata: the API server handles it itself
        found: list[str] = []
        for key, value in obj.items():
            path = f"{at}.{key}" if at else key
            if not at and key in _ALWAYS_KEPT:
                continue
            if declared is not None and key in declared:
                found += pruned_fields(value, declared[key], path)
            elif isinstance(extra, dict):
                found += pruned_fields(value, extra, path)
            elif extra is not True:
                found.append(path)
        return found
    if isinstance(obj, list) and isinstance(schema.get("items"), dict):
        return [
            p
            for i, item in enumerate(obj)
            for p in pruned_fields(item, schema["items"], f"{at}[{i}]")
        ]
    return []
