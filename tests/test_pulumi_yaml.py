"""Pulumi.yaml against every Pulumi.<stack>.yaml, with the rules the Pulumi CLI applies.

The CLI merges project config into stack config before running anything (pulumi/pulumi
`sdk/go/common/workspace/config.go`, mergeConfig): a project key without a default that a
stack does not set is "missing configuration" and stops every command; a typed key whose
stack value has another type is refused. No CLI runs here, so these tests apply the rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
NAMESPACE = PROJECT["name"]
STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))
TYPES = {"string": str, "boolean": bool, "integer": int, "array": list}


def stack_config(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text())["config"])


def project_keys() -> dict[str, dict[str, Any]]:
    keys: dict[str, dict[str, Any]] = {}
    for key, declaration in PROJECT["config"].items():
        full = key if ":" in key else f"{NAMESPACE}:{key}"
        keys[full] = declaration if isinstance(declaration, dict) else {"default": declaration}
    return keys


def test_there_are_stacks() -> None:
    assert {p.name for p in STACK_FILES} >= {"Pulumi.prod.yaml", "Pulumi.staging.yaml"}


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: p.name)
def test_every_required_project_key_is_set_by_the_stack(path: Path) -> None:
    config = stack_config(path)
    missing = [
        key
        for key, declaration in project_keys().items()
        if key.startswith(f"{NAMESPACE}:") and "default" not in declaration and key not in config
    ]
    assert missing == [], f"{path.name} would fail with 'missing configuration value' {missing}"


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: p.name)
def test_typed_keys_have_values_of_their_type(path: Path) -> None:
    config = stack_config(path)
    for key, declaration in project_keys().items():
        if "type" in declaration and key in config:
            assert isinstance(config[key], TYPES[declaration["type"]]), key


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: p.name)
def test_stacks_use_only_declared_keys_of_the_project(path: Path) -> None:
    declared = set(project_keys())
    used = {key for key in stack_config(path) if key.startswith(f"{NAMESPACE}:")}
    assert used <= declared


def test_defaults_have_their_declared_type() -> None:
    for key, declaration in project_keys().items():
        if "type" in declaration and "default" in declaration:
            assert isinstance(declaration["default"], TYPES[declaration["type"]]), key


def test_no_types_on_other_namespaces_keys() -> None:
    foreign = [k for k, d in project_keys().items() if not k.startswith(f"{NAMESPACE}:")]
    assert all("type" not in project_keys()[k] for k in foreign)


def test_runtime_and_the_nsxt_package() -> None:
    assert PROJECT["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": "venv"},
    }
    package = PROJECT["packages"]["nsxt"]
    assert package["source"] == "terraform-provider"
    # The bridge plugin is pinned too: an unpinned one is whatever `pulumi install` finds.
    assert [int(part) for part in str(package["version"]).split(".")] >= [1, 0, 0]
    provider, version = package["parameters"]
    assert provider == "vmware/nsxt"
    assert [int(part) for part in str(version).split(".")] >= [3, 8, 0]
