"""`egressctl preflight` end to end against the simulator and the fake API servers: the table,
`--json`, exit codes, and that it changes nothing anywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from egressctl.cli import app
from egressctl.preflight.checks import CHECKS
from egressctl.preflight.model import Status
from tests.egressctl.preflight.world import World, seed_ncp_snat_rule

runner = CliRunner()


def write_stack(work: Path, world: World) -> None:
    """The world's stack file, its password encrypted as `pulumi config set --secret` leaves it."""
    config: dict[str, Any] = {**world.values, "nsxt:password": {"secure": "v1:AAAA"}}
    (work / "Pulumi.site.yaml").write_text(yaml.safe_dump({"config": config}))


def preflight(work: Path, world: World, *args: str) -> Any:
    return runner.invoke(
        app,
        ["preflight", "--stack", "site", "--work-dir", str(work), *args],
        env={"NSXT_PASSWORD": world.sim.password, "COLUMNS": "220"},
    )


def test_a_healthy_site_before_up_passes_and_says_what_waits(tmp_path: Path, site: World) -> None:
    seed_ncp_snat_rule(site)
    write_stack(tmp_path, site)
    result = preflight(tmp_path, site)
    assert result.exit_code == 0, result.output
    assert "Preflight of stack site" in result.output
    assert "16 checks: 16 PASS, 0 WARN, 0 FAIL" in result.output
    assert "┃ fix" not in result.output  # no check has a fix to show
    assert "not yet: guest-reachable: the cluster tkc-test01 does not exist yet" in result.output


def test_json_lists_every_check_once(tmp_path: Path, deployed: World) -> None:
    seed_ncp_snat_rule(deployed)
    write_stack(tmp_path, deployed)
    result = preflight(tmp_path, deployed, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert [c["id"] for c in document["checks"]] == [c.id for c in CHECKS]
    assert {c["status"] for c in document["checks"]} == {"PASS"}
    assert document["passed"] is True
    assert document["summary"] == {"PASS": len(CHECKS), "WARN": 0, "FAIL": 0}
    assert document["not_yet_applicable"] == []


def test_a_failure_shows_its_fix_in_the_table(tmp_path: Path, deployed: World) -> None:
    deployed.values["antrea-egress:natMode"] = False  # the namespace has a SNAT IP
    write_stack(tmp_path, deployed)
    result = preflight(tmp_path, deployed)
    assert result.exit_code == 1
    assert "┃ fix" in result.output
    assert "set antrea-egress:natMode to true" in result.output


def test_a_failure_exits_1_and_says_the_fix(tmp_path: Path, deployed: World) -> None:
    deployed.values["antrea-egress:natMode"] = False  # the namespace has a SNAT IP
    write_stack(tmp_path, deployed)
    result = preflight(tmp_path, deployed, "--json")
    assert result.exit_code == 1
    failed = {c["id"]: c for c in json.loads(result.output)["checks"] if c["status"] == "FAIL"}
    assert set(failed) == {"supervisor-nat-mode"}
    assert failed["supervisor-nat-mode"]["fix"] == "set antrea-egress:natMode to true"


def test_changes_nothing_anywhere(tmp_path: Path, deployed: World) -> None:
    """NSX sees only GETs; both API servers only reads and dry-run creates; nothing is stored."""
    seed_ncp_snat_rule(deployed)
    write_stack(tmp_path, deployed)
    deployed.sim.clear_requests()
    before = (deployed.supervisor.paths(), deployed.guest.paths())
    result = preflight(tmp_path, deployed)
    assert result.exit_code == 0, result.output
    assert {r.method for r in deployed.sim.requests} == {"GET"}
    for api in (deployed.supervisor, deployed.guest):
        writes = [r for r in api.requests if r.method != "GET"]
        assert all(r.method == "POST" and r.query.get("dryRun") == "All" for r in writes)
        assert api.created == [] and api.deleted == []
    assert deployed.guest.dry_runs, "the pools are dry-run (the TKC and AntreaConfig exist)"
    assert (deployed.supervisor.paths(), deployed.guest.paths()) == before


def test_no_secret_reaches_the_output(tmp_path: Path, deployed: World) -> None:
    write_stack(tmp_path, deployed)
    result = preflight(tmp_path, deployed, "--json")
    for secret in (deployed.sim.password, deployed.supervisor.token, deployed.guest.token):
        assert secret not in result.output


def test_unknown_stack_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["preflight", "--stack", "nope", "--work-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "Pulumi.nope.yaml does not exist" in result.output


def test_invalid_configuration_exits_1_naming_the_key(tmp_path: Path, site: World) -> None:
    site.values["antrea-egress:zones"][0]["vlan"] = 5000
    write_stack(tmp_path, site)
    result = preflight(tmp_path, site)
    assert result.exit_code == 1
    assert "antrea-egress:zones[0].vlan" in result.output


def test_every_status_has_a_style_and_every_check_a_unique_id() -> None:
    from egressctl.preflight.checks import STYLES

    assert set(STYLES) == set(Status)
    assert len({c.id for c in CHECKS}) == len(CHECKS)


def test_changes_nothing_before_up_either(tmp_path: Path, site: World) -> None:
    """Before `up` the TKC and the AntreaConfig are dry-run on the Supervisor: still nothing is
    stored."""
    write_stack(tmp_path, site)
    before = site.supervisor.paths()
    preflight(tmp_path, site)
    posts = [r for r in site.supervisor.requests if r.method == "POST"]
    assert len(posts) == 2
    assert all(r.query.get("dryRun") == "All" for r in posts)
    assert site.supervisor.created == [] and site.supervisor.paths() == before
    assert {r.method for r in site.sim.requests} == {"GET"}
