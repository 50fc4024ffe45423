"""schemas/: the public copies are what their provenance tables say, and every CRD is loadable.

The public CRDs and the NSX-T schema excerpt must be byte-for-byte what their README tables
record (sha256). Every CRD file, public or ours, must be a v1 CustomResourceDefinition with a
structural schema (as far as tests/crd_schemas.crd_problems checks), because a lab installs them
into a real kube-apiserver. Our TKC v1alpha3 CRD must declare only what the public v1alpha2 CRD
has, with the same types: that is what its header says it is derived from.
"""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest

from tests.crd_schemas import (
    CRDS,
    OUR_CRDS,
    SCHEMAS,
    TKC_V1ALPHA2,
    TKC_V1ALPHA3,
    crd_files,
    crd_problems,
    load_crd,
    openapi_schema,
)

PROVENANCE_TABLES = (CRDS / "README.md", SCHEMAS / "pulumi-nsxt" / "README.md")
# A provenance row: | `file` | repository | path | commit | licence | `sha256` |
_ROW = re.compile(r"^\|\s*`(?P<file>[^`/]+)`\s*\|.*\|\s*`(?P<sha>[0-9a-f]{64})`\s*\|\s*$")


def recorded_sums(readme: Path) -> dict[str, str]:
    rows = [_ROW.match(line) for line in readme.read_text().splitlines()]
    return {row["file"]: row["sha"] for row in rows if row}


def provenance_mismatches(readme: Path) -> list[str]:
    """Copied files beside `readme` that its table does not record exactly."""
    recorded = recorded_sums(readme)
    copies = sorted(p.name for p in readme.parent.iterdir() if p.suffix in (".yaml", ".json"))
    problems = [f"{name}: no provenance row" for name in copies if name not in recorded]
    problems += [f"{name}: no such file" for name in sorted(set(recorded) - set(copies))]
    for name in copies:
        actual = hashlib.sha256((readme.parent / name).read_bytes()).hexdigest()
        if name in recorded and recorded[name] != actual:
            problems.append(f"{name}: sha256 is {actual}, the table says {recorded[name]}")
    return problems


@pytest.mark.parametrize("readme", PROVENANCE_TABLES, ids=lambda p: str(p.relative_to(SCHEMAS)))
def test_every_copied_file_matches_its_recorded_sha256(readme: Path) -> None:
    assert recorded_sums(readme), f"no provenance rows in {readme}"
    assert provenance_mismatches(readme) == []


def test_the_sha256_check_sees_a_changed_byte_and_a_missing_row(tmp_path: Path) -> None:
    source = CRDS / "antrea_crd.antrea.io_egresses_v2.x.yaml"
    readme = tmp_path / "README.md"
    readme.write_text((CRDS / "README.md").read_text())
    copied = tmp_path / source.name
    copied.write_bytes(source.read_bytes())
    other_rows = [f"{name}: no such file" for name in sorted(recorded_sums(readme))]
    other_rows.remove(f"{source.name}: no such file")
    assert provenance_mismatches(readme) == other_rows
    copied.write_bytes(source.read_bytes().replace(b"egressIP", b"egressIp", 1))
    changed = [p for p in provenance_mismatches(readme) if p not in other_rows]
    assert len(changed) == 1
    assert changed[0].startswith(f"{source.name}: sha256 is ")
    (tmp_path / "new.yaml").write_text("kind: A\n")
    assert "new.yaml: no provenance row" in provenance_mismatches(readme)


CRD_FILES = [str(p.relative_to(CRDS)) for p in crd_files()]


def test_the_crds_the_tests_need_are_all_here() -> None:
    public = {name for name in CRD_FILES if not name.startswith("ours/")}
    ours = {name for name in CRD_FILES if name.startswith("ours/")}
    assert len(public) == 6
    assert TKC_V1ALPHA3 in ours
    assert {load_crd(name)["spec"]["names"]["kind"] for name in ours} == {
        "TanzuKubernetesCluster",
        "Cluster",
        "VirtualNetwork",
        "VirtualNetworkInterface",
        "TanzuKubernetesRelease",
        "VirtualMachineClass",
        "AntreaControllerInfo",
    }


@pytest.mark.parametrize("name", CRD_FILES)
def test_every_crd_is_a_structurally_valid_v1_crd(name: str) -> None:
    assert crd_problems(load_crd(name)) == []


def test_the_crd_check_can_fail() -> None:
    crd = copy.deepcopy(load_crd(TKC_V1ALPHA3))
    version = crd["spec"]["versions"][0]
    crd["spec"]["versions"].append({**copy.deepcopy(version), "name": "v1alpha9"})
    root = version["schema"]["openAPIV3Schema"]
    del root["properties"]["spec"]["properties"]["topology"]["type"]
    root["properties"]["metadata"]["properties"] = {"labels": {"type": "object"}}
    crd["spec"]["scope"] = "Namespace"
    assert crd_problems(crd) == [
        "spec.scope is 'Namespace'",
        "exactly one storage version needed, found ['v1alpha3', 'v1alpha9']",
        "version v1alpha3: metadata may restrict only name and generateName",
        "version v1alpha3: spec.topology: no type",
    ]
    del crd["spec"]["versions"][0]["schema"]
    assert "version v1alpha3 has no schema.openAPIV3Schema" in crd_problems(crd)


@pytest.mark.parametrize("path", sorted(OUR_CRDS.glob("*.yaml")), ids=lambda p: p.name)
def test_our_crds_say_they_are_ours_what_they_derive_from_and_what_is_unconfirmed(
    path: Path,
) -> None:
    header = "\n".join(line for line in path.read_text().splitlines() if line.startswith("#"))
    assert header.startswith("# OURS: written by the antrea-egress project")
    assert "Derived from:" in header
    assert "UNCONFIRMED" in header


def declared_fields(schema: dict[str, Any], at: str = "") -> dict[str, dict[str, Any]]:
    """Every declared node below `schema` by path, with what a subset check compares."""
    found: dict[str, dict[str, Any]] = {}
    for key, child in (schema.get("properties") or {}).items():
        path = f"{at}.{key}" if at else key
        found[path] = {k: child.get(k) for k in ("type", "format", "required")}
        found.update(declared_fields(child, path))
    if isinstance(schema.get("items"), dict):
        item = schema["items"]
        found[f"{at}[]"] = {k: item.get(k) for k in ("type", "format", "required")}
        found.update(declared_fields(item, f"{at}[]"))
    return found


def test_our_tkc_v1alpha3_declares_only_what_v1alpha2_has_with_its_types() -> None:
    """Our v1alpha3 spec is a subset of the public v1alpha2 spec: every declared field exists
    there with the same type, format and required list. `status` is ours alone (kept whole)."""
    ours = declared_fields(openapi_schema(TKC_V1ALPHA3, "v1alpha3")["properties"]["spec"])
    public = declared_fields(openapi_schema(TKC_V1ALPHA2, "v1alpha2")["properties"]["spec"])
    assert set(ours) <= set(public)
    assert {path: public[path] for path in ours} == ours
    assert "topology.nodePools[].name" in ours
