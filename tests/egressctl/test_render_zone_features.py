"""The zone features in `egressctl render`: the real program offline shows what a stack asks.

The program runs under the SDK's mock engine with a copy of the staging stack, changed as a
user would change it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from egressctl.render import Rendering, render_stack


def edit_staging_zone(project: Path, **changes: Any) -> None:
    path = project / "Pulumi.staging.yaml"
    values = yaml.safe_load(path.read_text())
    values["config"]["antrea-egress:zones"][0].update(changes)
    path.write_text(yaml.safe_dump(values))


def rendered(project: Path) -> Rendering:
    return render_stack("staging", work_dir=project)


def manifest(rendering: Rendering, kind: str) -> dict[str, Any]:
    (found,) = [o.manifest for o in rendering.objects if o.manifest["kind"] == kind]
    return found


# --- bandwidth -------------------------------------------------------------------------------


def test_a_zone_bandwidth_reaches_the_egress_the_antrea_config_and_the_plan(
    project_copy: Path,
) -> None:
    edit_staging_zone(project_copy, bandwidth={"rate": "100M", "burst": "200M"})

    rendering = rendered(project_copy)
    plan = {step.resource: step.detail for step in rendering.plan}

    assert manifest(rendering, "Egress")["spec"]["bandwidth"] == {"rate": "100M", "burst": "200M"}
    gates = manifest(rendering, "AntreaConfig")["spec"]["antrea"]["config"]["featureGates"]
    assert gates["EgressTrafficShaping"] is True
    assert plan["staging-egress"].endswith(", limited to 100M bit/s (burst 200M bit)")


def test_without_a_bandwidth_the_antrea_config_leaves_traffic_shaping_alone(
    project_copy: Path,
) -> None:
    rendering = rendered(project_copy)

    gates = manifest(rendering, "AntreaConfig")["spec"]["antrea"]["config"]["featureGates"]
    assert "EgressTrafficShaping" not in gates
    assert "bandwidth" not in manifest(rendering, "Egress")["spec"]


# --- several namespaces ----------------------------------------------------------------------


def test_a_namespace_selector_reaches_the_egress_and_the_plan_says_which_namespaces(
    project_copy: Path,
) -> None:
    names = {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["qa", "staging"]}
    edit_staging_zone(
        project_copy,
        appliedTo={
            "namespaceSelector": {"matchExpressions": [names]},
            "podSelector": {"app": "web"},
        },
    )

    rendering = rendered(project_copy)
    plan = {step.resource: step.detail for step in rendering.plan}

    applied_to = manifest(rendering, "Egress")["spec"]["appliedTo"]
    assert applied_to["namespaceSelector"] == {"matchExpressions": [names]}
    assert plan["staging-egress"].startswith(
        "egress-staging: app=web in namespaces kubernetes.io/metadata.name in (qa, staging), "
    )


# --- capacity --------------------------------------------------------------------------------

FULL_POOL = (
    "antrea-egress:zones[0].ipRanges: leaves the pool without a free IP (1 IP, 1 Egress, "
    "0 free): another Egress on it would get no IP (Antrea: IPAllocated False); add an address "
    "to keep one spare"
)


def test_the_plan_shows_the_pool_capacity_and_the_program_warns_of_a_full_pool(
    project_copy: Path,
) -> None:
    """Staging's /30 pool holds one address, which its own Egress takes."""
    rendering = rendered(project_copy)
    plan = {step.resource: step.detail for step in rendering.plan}

    assert plan["staging-pool"].endswith("; 1 IP, 1 Egress, 0 free")
    assert FULL_POOL in rendering.warnings


def test_a_pool_with_room_shows_its_free_ips_without_a_warning(project_copy: Path) -> None:
    edit_staging_zone(
        project_copy,
        cidr="10.100.5.128/28",
        ipRanges=[{"start": "10.100.5.130", "end": "10.100.5.133"}],
    )

    rendering = rendered(project_copy)
    plan = {step.resource: step.detail for step in rendering.plan}

    assert plan["staging-pool"].endswith("; 4 IPs, 1 Egress, 3 free")
    assert not any("free IP" in warning for warning in rendering.warnings)
