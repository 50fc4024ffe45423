"""`egressctl render`: the real program offline; manifests, NSX requests and the plan."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from antrea_egress.config import load_stack_file
from egressctl.offline import run_offline
from egressctl.render import (
    TIER1_PLACEHOLDER,
    RenderEngine,
    applied_to_text,
    apply_order,
    discovered_segment_path,
    render_stack,
    write_rendering,
)
from egressctl.report import rows_from_config
from nsxsim import LAB
from tests.crd_schemas import (
    ANTREA_CONFIG,
    EGRESSES,
    EXTERNAL_IP_POOLS,
    TKC_V1ALPHA3,
    schema_errors,
)

CRDS = {
    "AntreaConfig": (ANTREA_CONFIG, "v1alpha1"),
    "TanzuKubernetesCluster": (TKC_V1ALPHA3, "v1alpha3"),
    "ExternalIPPool": (EXTERNAL_IP_POOLS[1], "v1beta1"),
    "Egress": (EGRESSES[1], "v1beta1"),
}


PROJECT_DIR = Path(__file__).resolve().parents[2]


def kinds(manifests: list[dict[str, Any]]) -> list[str]:
    return [m["kind"] for m in manifests]


def test_staging_objects_in_apply_order(tmp_path: Path) -> None:
    rendering = render_stack("staging")
    written = write_rendering(rendering, tmp_path)
    files = sorted(p for p in written if p.suffix == ".yaml")
    manifests = [yaml.safe_load(p.read_text()) for p in files]
    assert kinds(manifests) == [
        "AntreaConfig",
        "TanzuKubernetesCluster",
        "ExternalIPPool",
        "Egress",
    ]
    assert [p.name[:3] for p in files] == ["01-", "02-", "03-", "04-"]
    assert files[0].name == "01-supervisor-antreaconfig-staging-tkc-staging01-antrea-package.yaml"
    assert [o.target for o in rendering.objects] == ["supervisor", "supervisor", "guest", "guest"]
    pool = manifests[2]
    assert pool["spec"]["subnetInfo"] == {
        "gateway": "10.100.5.129",
        "prefixLength": 30,
        "vlan": 120,
    }
    assert isinstance(manifests[1]["spec"]["topology"]["controlPlane"]["replicas"], int)


@pytest.mark.parametrize("stack", ["prod", "staging", "lab"])
def test_rendered_custom_resources_validate_against_the_crds(stack: str, tmp_path: Path) -> None:
    """The YAML files render writes, each against the schema of its kind's CRD in schemas/crds:
    AntreaConfig against the last public one, the TKC against our v1alpha3 one, the pool and the
    Egress against Antrea 2.x. Types and required fields only; pruning is checked per object in
    tests/antrea_egress/test_manifests.py."""
    write_rendering(render_stack(stack), tmp_path)
    checked = 0
    for path in sorted(tmp_path.glob("*.yaml")):
        manifest = yaml.safe_load(path.read_text())
        if manifest["kind"] in CRDS:
            crd, version = CRDS[manifest["kind"]]
            assert schema_errors(manifest, crd, version) == [], path.name
            checked += 1
    assert checked == 4


def test_nsx_requests_for_auto_discovery_show_placeholders() -> None:
    requests = render_stack("staging").nsx_requests
    segment = "/policy/api/v1/infra/segments/egress-staging-tkc-staging01-staging"
    parent = discovered_segment_path("tkc-staging01")
    assert [(r.method, r.path.split("/segment-connection")[0]) for r in requests[:2]] == [
        ("PATCH", segment),
        ("PATCH", segment),
    ]
    body = requests[0].body
    assert body["subnets"] == [{"gateway_address": "10.100.5.129/30"}]
    assert body["connectivity_path"] == f"<connectivity_path of {parent}>"
    binding = requests[1].body
    assert (binding["segment_path"], binding["vlan_traffic_tag"]) == (parent, 120)
    rule = requests[2]
    assert rule.path.endswith("/nat/USER/nat-rules/nosnat-egress-staging-tkc-staging01-staging")
    assert rule.body["action"] == "NO_SNAT"
    assert rule.body["source_network"] == "10.100.5.128/30"
    assert rule.body["firewall_match"] == "BYPASS"


def test_the_nosnat_request_is_what_terraform_provider_nsxt_sends() -> None:
    # The body nsxsim/TERRAFORM.md documents and tests/nsxsim replays against the simulator.
    from tests.nsxsim.test_terraform_flow import RULE_ID, _rule_body

    (rule,) = [r for r in render_stack("lab").nsx_requests if "/nat-rules/" in r.path]

    assert rule.method == "PATCH"
    assert rule.path == f"/policy/api/v1{TIER1_PLACEHOLDER}/nat/USER/nat-rules/{RULE_ID}"
    assert rule.body == _rule_body()
    assert list(rule.body) == list(_rule_body())  # the provider's field order, too
    assert "resource_type" not in rule.body


def test_lab_renders_demo_workloads_and_its_explicit_parent() -> None:
    rendering = render_stack("lab")
    order = kinds([o.manifest for o in rendering.objects])
    assert sorted(order) == sorted(
        [
            "AntreaConfig",
            "TanzuKubernetesCluster",
            "Namespace",
            "Deployment",
            "ExternalIPPool",
            "Egress",
        ]
    )
    assert order[:2] == ["AntreaConfig", "TanzuKubernetesCluster"]
    assert order.index("Namespace") < order.index("Deployment")
    assert order.index("ExternalIPPool") < order.index("Egress")
    binding = rendering.nsx_requests[1]
    assert binding.body["segment_path"] == LAB.node_segment_path
    assert binding.path.endswith(f"bm-{LAB.node_segment_id}")


def test_plan_lists_every_resource_with_where_it_goes() -> None:
    plan = render_stack("prod").plan
    targets = {step.resource: step.target for step in plan}
    assert targets["tkc-prod01-tkc"] == "supervisor"
    assert targets["prod-segment"] == "nsx"
    assert targets["prod-nosnat"] == "nsx"
    assert targets["prod-pool"] == "guest"
    assert targets["prod-ranges"] == "state"
    order = [step.resource for step in plan]
    assert order.index("tkc-prod01-antrea-config") < order.index("tkc-prod01-tkc")
    assert order.index("prod-segment") < order.index("prod-nosnat") < order.index("prod-pool")
    assert order.index("prod-pool") < order.index("prod-egress")


def test_secrets_in_the_stack_file_are_never_needed_nor_written(tmp_path: Path) -> None:
    work = tmp_path / "project"
    work.mkdir()
    root = PROJECT_DIR
    (work / "__main__.py").write_text((root / "__main__.py").read_text())
    values = yaml.safe_load((root / "Pulumi.staging.yaml").read_text())
    values["config"]["nsxt:password"] = {"secure": "v1:ZW5jcnlwdGVkLXN0dWZm"}
    (work / "Pulumi.staging.yaml").write_text(yaml.safe_dump(values))
    written = write_rendering(render_stack("staging", work_dir=work), tmp_path / "out")
    for path in written:
        assert "ZW5jcnlwdGVkLXN0dWZm" not in path.read_text()


def test_an_earlier_rendering_is_replaced_and_nothing_else_touched(tmp_path: Path) -> None:
    stale = ["01-guest-egress-old.yaml", "07-guest-egress-gone.yaml", "123-guest-x.yaml"]
    mine = ["kustomization.yaml", "1-not-ours.yaml", "notes-01-a.yaml", "README.md", "01-x.yml"]
    for name in [*stale, *mine, "nsx-requests.json", "plan.md"]:
        (tmp_path / name).write_text("old\n")
    (tmp_path / "02-subdir.yaml").mkdir()  # not a file write_rendering writes

    written = write_rendering(render_stack("staging"), tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [p.name for p in written] + [*mine, "02-subdir.yaml"]
    )
    for name in mine:
        assert (tmp_path / name).read_text() == "old\n"
    assert (tmp_path / "plan.md").read_text() != "old\n"
    assert not {p.name for p in written} & set(stale)


def test_rendering_a_fully_qualified_stack_reads_its_last_segment() -> None:
    rendering = render_stack("example/staging")

    assert rendering.stack == "staging"
    assert rendering.objects == render_stack("staging").objects


# --- reviewable: the same bytes on every run -------------------------------------------------


def render_in_a_new_process(stack: str, out: Path, hash_seed: str) -> dict[str, bytes]:
    """`egressctl render` as a pipeline runs it (stdout a pipe), in a fresh interpreter: what
    varies between runs (registration order, map key order) varies between processes."""
    result = subprocess.run(
        [sys.executable, "-m", "egressctl", "render", "--stack", stack, "--out", str(out)],
        capture_output=True,
        cwd=PROJECT_DIR,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    files = {path.name: path.read_bytes() for path in sorted(out.iterdir())}
    return {"<stdout>": result.stdout, "<stderr>": result.stderr, **files}


@pytest.mark.parametrize("stack", ["lab", "prod"])
def test_render_gives_the_same_bytes_on_every_run(stack: str, tmp_path: Path) -> None:
    out = tmp_path / "rendered"  # the same place each time: stdout names it

    first = render_in_a_new_process(stack, out, hash_seed="1")
    second = render_in_a_new_process(stack, out, hash_seed="2")

    assert sorted(first) == sorted(second)
    for name, content in first.items():
        assert content == second[name], name
    assert first["plan.md"].decode() in first["<stdout>"].decode()


def test_apply_order_does_not_follow_registration_order() -> None:
    run = run_offline("lab", engine=RenderEngine())
    expected = [r.name for r in apply_order(run)]

    # Registrations arrive as their inputs resolve, in another order on another run.
    run.monitor.registrations.reverse()
    for record in run.registrations:
        record.dependencies.reverse()

    assert [r.name for r in apply_order(run)] == expected


def test_every_map_in_the_inputs_is_in_key_order() -> None:
    def maps(value: Any) -> list[dict[str, Any]]:
        if isinstance(value, dict):
            return [value, *(m for item in value.values() for m in maps(item))]
        if isinstance(value, list):
            return [m for item in value for m in maps(item)]
        return []

    run = run_offline("lab", engine=RenderEngine())
    found = [m for record in run.registrations for m in maps(record.inputs)]

    assert len(found) > 50
    assert [list(m) for m in found] == [sorted(m) for m in found]


# --- the plan describes what the Egress selects ----------------------------------------------


def test_the_plan_shows_a_selector_with_match_expressions(project_copy: Path) -> None:
    selector = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "track", "operator": "In", "values": ["stable", "canary"]},
            {"key": "debug", "operator": "NotIn", "values": ["true"]},
            {"key": "team", "operator": "Exists"},
            {"key": "legacy", "operator": "DoesNotExist"},
        ],
    }
    set_pod_selector(project_copy, selector)

    plan = {
        step.resource: step.detail for step in render_stack("staging", work_dir=project_copy).plan
    }

    assert plan["staging-egress"] == (
        "egress-staging: app=web,track in (stable, canary),debug notin (true),team,!legacy "
        "in namespace staging, IP from staging-external-ip-pool"
    )


def test_the_plan_and_the_report_describe_the_pods_alike(project_copy: Path) -> None:
    selector = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}
    set_pod_selector(project_copy, selector)
    config, _ = load_stack_file(project_copy / "Pulumi.staging.yaml")
    (row,) = rows_from_config(config)

    plan = {
        step.resource: step.detail for step in render_stack("staging", work_dir=project_copy).plan
    }

    assert row.pod_selector == "app in (web)"
    assert plan["staging-egress"].startswith(f"egress-staging: {row.pod_selector} in ")


def test_the_plan_shows_all_pods_for_a_zone_without_pod_selector(project_copy: Path) -> None:
    set_pod_selector(project_copy, None)

    plan = {
        step.resource: step.detail for step in render_stack("staging", work_dir=project_copy).plan
    }

    assert plan["staging-egress"] == (
        "egress-staging: all pods in namespace staging, IP from staging-external-ip-pool"
    )


def test_the_plan_shows_a_single_address_alone() -> None:
    plan = {step.resource: step.detail for step in render_stack("staging").plan}

    assert plan["staging-pool"].startswith("staging-external-ip-pool: 10.100.5.130 via ")


@pytest.mark.parametrize(
    ("applied_to", "expected"),
    [
        (
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "prod"}}},
            "all pods in namespace prod",
        ),
        (
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "prod"}},
                "podSelector": {},
            },
            "all pods in namespace prod",
        ),
        ({"podSelector": {"matchLabels": {"app": "web"}}}, "app=web in every namespace"),
        (
            {
                "namespaceSelector": {"matchLabels": {"env": "prod"}},
                "podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
            },
            "app in namespaces env=prod",
        ),
        ({"namespaceSelector": {}}, "all pods in every namespace"),
        ({}, "no pods (appliedTo selects nothing)"),
        (None, "no pods (appliedTo selects nothing)"),
    ],
)
def test_applied_to_in_words(applied_to: dict[str, Any] | None, expected: str) -> None:
    assert applied_to_text(applied_to) == expected


def set_pod_selector(project: Path, selector: dict[str, Any] | None) -> None:
    path = project / "Pulumi.staging.yaml"
    values = yaml.safe_load(path.read_text())
    applied_to = values["config"]["antrea-egress:zones"][0]["appliedTo"]
    applied_to.pop("podSelector")
    if selector is not None:
        applied_to["podSelector"] = selector
    path.write_text(yaml.safe_dump(values))
