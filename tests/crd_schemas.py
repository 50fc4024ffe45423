"""Validate rendered objects against the CRD schemas kept in this repository (schemas/crds/).

Public CRDs are byte-for-byte upstream copies (provenance and sha256 in schemas/crds/README.md);
CRDs under schemas/crds/ours/ are ours, each saying what it is derived from and what is
UNCONFIRMED. Two checks, as the API server makes them: the OpenAPI v3 schema (types, required
fields, formats, oneOf), and structural pruning, which silently drops fields the schema does
not declare. Pruning is reported, not failed on: it is how the known gaps of the public CRDs
(older than the TKG Service 3.2 Supervisor's) show up.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
CRDS = SCHEMAS / "crds"
OUR_CRDS = CRDS / "ours"

ANTREA_CONFIG = "tanzu-framework_cni.tanzu.vmware.com_antreaconfigs.yaml"
TKC_V1ALPHA2 = "tanzu-framework_run.tanzu.vmware.com_tanzukubernetesclusters_v1alpha2.yaml"
# No public v1alpha3 CRD exists; ours declares the fields v1alpha3 shares with v1alpha2.
TKC_V1ALPHA3 = "ours/run.tanzu.vmware.com_tanzukubernetesclusters_v1alpha3.yaml"
# No public CRD fits a test (Cluster API's is generated, many times larger); ours declares what
# the project writes and reads.
CAPI_CLUSTER_V1BETA1 = "ours/cluster.x-k8s.io_clusters_v1beta1.yaml"
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


def crd_files() -> Iterator[Path]:
    """Every CRD file kept in the repository, public and ours."""
    return iter(sorted(CRDS.rglob("*.yaml")))


@cache
def load_crd(file_name: str) -> dict[str, Any]:
    """A CRD by its path relative to schemas/crds/."""
    crd: dict[str, Any] = yaml.safe_load((CRDS / file_name).read_text())
    return crd


def openapi_schema(file_name: str, version: str) -> dict[str, Any]:
    for served in load_crd(file_name)["spec"]["versions"]:
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


def pruned(obj: Any, schema: dict[str, Any], *, top: bool = True) -> Any:
    """`obj` as the API server stores it: what `pruned_fields` names is dropped."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return obj
    if isinstance(obj, dict) and schema.get("type", "object") == "object":
        declared = schema.get("properties")
        extra = schema.get("additionalProperties")
        if declared is None and extra is None:
            return obj
        kept: dict[str, Any] = {}
        for key, value in obj.items():
            if top and key in _ALWAYS_KEPT:
                kept[key] = value
            elif declared is not None and key in declared:
                kept[key] = pruned(value, declared[key], top=False)
            elif isinstance(extra, dict):
                kept[key] = pruned(value, extra, top=False)
            elif extra is True:
                kept[key] = value
        return kept
    if isinstance(obj, list) and isinstance(schema.get("items"), dict):
        return [pruned(item, schema["items"], top=False) for item in obj]
    return obj


# --- is it a CRD a v1 API server would accept? ----------------------------------------------
# The rules of apiextensions.k8s.io/v1 that a file can break on its own: the CRD's identity and
# versions, and the "structural schema" rules the API server enforces for v1 CRDs
# (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema):
# a type on every node unless it preserves unknown fields or is int-or-string; no type,
# description, default, additionalProperties or nullable inside allOf/anyOf/oneOf/not (the
# int-or-string pair aside); properties and additionalProperties not together; metadata
# restricted in name and generateName only. Not checked here: that a field named inside a
# junctor is also declared outside it, defaults, and CEL validation rules.

_JUNCTORS = ("allOf", "anyOf", "oneOf", "not")
# Inside a junctor a structural schema may not set these (the int-or-string pattern aside).
_NOT_IN_JUNCTORS = ("description", "type", "default", "additionalProperties", "nullable")
_INT_OR_STRING_BRANCHES = ({"type": "integer"}, {"type": "string"})
_METADATA_RESTRICTABLE = frozenset({"name", "generateName"})


def crd_problems(crd: dict[str, Any]) -> list[str]:
    """Why a v1 API server would refuse this CRD; empty when it would not (as far as checked)."""
    problems = []
    if crd.get("apiVersion") != "apiextensions.k8s.io/v1":
        problems.append(f"apiVersion is {crd.get('apiVersion')!r}, not apiextensions.k8s.io/v1")
    if crd.get("kind") != "CustomResourceDefinition":
        problems.append(f"kind is {crd.get('kind')!r}, not CustomResourceDefinition")
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    for key in ("plural", "kind"):
        if not names.get(key):
            problems.append(f"spec.names.{key} is missing")
    if not spec.get("group"):
        problems.append("spec.group is missing")
    expected_name = f"{names.get('plural')}.{spec.get('group')}"
    if (crd.get("metadata") or {}).get("name") != expected_name:
        problems.append(f"metadata.name must be {expected_name}")
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        problems.append(f"spec.scope is {spec.get('scope')!r}")
    return problems + _version_problems(spec.get("versions"))


def _version_problems(versions: Any) -> list[str]:
    if not isinstance(versions, list) or not versions:
        return ["spec.versions is empty"]
    problems = []
    storage = [v.get("name") for v in versions if v.get("storage") is True]
    if len(storage) != 1:
        problems.append(f"exactly one storage version needed, found {storage}")
    seen: set[str] = set()
    for version in versions:
        name = str(version.get("name"))
        if name in seen:
            problems.append(f"version {name} is listed twice")
        seen.add(name)
        if not isinstance(version.get("served"), bool):
            problems.append(f"version {name}: served must be true or false")
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if not isinstance(schema, dict):
            problems.append(f"version {name} has no schema.openAPIV3Schema")
            continue
        if schema.get("type") != "object":
            problems.append(f"version {name}: the root schema must have type: object")
        problems += _metadata_problems(name, schema)
        problems += [f"version {name}: {p}" for p in structural_problems(schema, "")]
    return problems


def _metadata_problems(version: str, root: dict[str, Any]) -> list[str]:
    metadata = (root.get("properties") or {}).get("metadata") or {}
    restricted = set(metadata.get("properties") or {}) - _METADATA_RESTRICTABLE
    if restricted:
        return [f"version {version}: metadata may restrict only name and generateName"]
    return []


def structural_problems(node: dict[str, Any], at: str) -> list[str]:
    """The structural-schema rules on one node and below it."""
    problems = []
    keeps_anything = node.get("x-kubernetes-preserve-unknown-fields") is True
    if not node.get("type") and not node.get("x-kubernetes-int-or-string") and not keeps_anything:
        problems.append(f"{at or '<root>'}: no type")
    if "properties" in node and "additionalProperties" in node:
        problems.append(f"{at}: properties and additionalProperties together")
    if node.get("additionalProperties") is False:
        problems.append(f"{at}: additionalProperties: false")
    for junctor in _JUNCTORS:
        for branch in _branches(node.get(junctor)):
            if node.get("x-kubernetes-int-or-string") and branch in _INT_OR_STRING_BRANCHES:
                continue  # the one allowed use of `type` inside a junctor
            problems += [f"{at}.{junctor}: sets {key}" for key in _NOT_IN_JUNCTORS if key in branch]
    for key, child in (node.get("properties") or {}).items():
        problems += structural_problems(child, f"{at}.{key}" if at else key)
    for key in ("additionalProperties", "items"):
        if isinstance(node.get(key), dict):
            problems += structural_problems(node[key], f"{at}[{key}]")
    return problems


def _branches(junction: Any) -> list[dict[str, Any]]:
    if isinstance(junction, dict):
        return [junction]
    return [b for b in junction or [] if isinstance(b, dict)]
