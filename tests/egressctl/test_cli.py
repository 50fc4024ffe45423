"""The command line: wiring, outputs and exit codes (the engines have tests of their own)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi import automation as auto
from typer.testing import CliRunner

from egressctl import automation, cli, verify
from egressctl.automation import Operation, OperationResult, PulumiNotInstalledError
from egressctl.discover import DiscoverResult
from egressctl.exit_codes import ExitCode
from egressctl.project import PROJECT_DIR, checkout_commit, stack_file
from egressctl.render import render_stack
from tests.antrea_egress.test_discovery import seed_supervisor
from tests.egressctl.fake_cli import FakeCli, install_fake_cli
from tests.egressctl.git_checkout import git_commit_all
from tests.fakes import fake_pulumi
from tests.fakes.kube_api import FakeKubeApi, PodRun

runner = CliRunner()
NO_CLI_NOTE = "no Pulumi CLI: reporting from the stack's configuration\n"


def invoke(*args: str) -> Any:
    return runner.invoke(cli.app, list(args), env={"COLUMNS": "200"})


@pytest.mark.parametrize("operation", list(Operation))
@pytest.mark.parametrize(
    "code", [ExitCode.OK, ExitCode.STACK_NOT_FOUND, ExitCode.CHANGES_FOUND, ExitCode.LOCKED]
)
def test_operations_exit_with_the_engine_code_and_write_json(
    operation: Operation, code: ExitCode, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[tuple[Operation, str]] = []

    def fake_run(op: Operation, stack: str, **_: Any) -> OperationResult:
        seen.append((op, stack))
        return OperationResult(op, stack, code, [], {"create": 2}, f"{op.value} said {code.name}")

    monkeypatch.setattr(automation, "run_operation", fake_run)
    summary = tmp_path / "changes.json"
    yes = ["--yes"] if operation is Operation.DESTROY else []
    result = invoke(operation.value, "--stack", "staging", "--json", str(summary), *yes)
    assert result.exit_code == int(code)
    assert seen == [(operation, "staging")]
    assert json.loads(summary.read_text())["summary"] == {"create": 2}
    assert f"{operation.value} said {code.name}" in result.output


def test_no_pulumi_cli_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*_: Any, **__: Any) -> OperationResult:
        raise PulumiNotInstalledError(
            "install the Pulumi CLI: https://www.pulumi.com/docs/install/"
        )

    monkeypatch.setattr(automation, "run_operation", missing)
    result = invoke("preview", "--stack", "staging")
    assert result.exit_code == 1
    assert "pulumi.com/docs/install" in result.output


def test_render_prints_the_plan_and_writes_files(tmp_path: Path) -> None:
    result = invoke("render", "--stack", "staging", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "Plan for stack staging" in result.output
    assert "staging-external-ip-pool" in result.output
    assert len(list(tmp_path.glob("*.yaml"))) == 4
    assert (tmp_path / "nsx-requests.json").is_file()


def test_render_of_an_unknown_stack_exits_2() -> None:
    result = invoke("render", "--stack", "nope")
    assert result.exit_code == 2
    assert "known: lab, prod, staging" in result.output


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_report_falls_back_to_configuration_without_a_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*_: Any, **__: Any) -> None:
        raise PulumiNotInstalledError("no pulumi")

    monkeypatch.setattr(automation, "stack_outputs", missing)
    result = invoke("report", "--stack", "prod", "--format", "csv")
    assert result.exit_code == 0
    assert result.stderr == NO_CLI_NOTE
    rows = csv_rows(result.stdout)
    assert [(row["zone"], row["egress_ips"], row["source"]) for row in rows] == [
        ("prod", "10.100.5.10-10.100.5.20", "configuration")
    ]


def test_report_uses_a_deployed_stacks_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def outputs(stack: str, **options: Any) -> dict[str, Any]:
        calls.append({"stack": stack, **options})
        return deployed_outputs("[secret]")

    monkeypatch.setattr(automation, "stack_outputs", outputs)
    result = invoke("report", "--stack", "prod", "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    rows = json.loads(result.stdout)
    assert rows[0]["assigned_ip"] == "10.100.5.10"
    assert rows[0]["tier1"] == "/infra/tier-1s/t1"
    assert rows[0]["source"] == "stack outputs"
    assert [(call["stack"], call["reveal_secrets"]) for call in calls] == [("prod", False)]


def deployed_outputs(kubeconfig: str) -> dict[str, Any]:
    return {
        "cluster": "tkc-prod01",
        "vsphereNamespace": "prod",
        "kubeconfig": kubeconfig,
        "zones": {
            "prod": {
                "egressIP": "10.100.5.10",
                "egressNode": "worker-1",
                "cidr": "10.100.5.0/25",
                "gateway": "10.100.5.1",
                "vlan": 110,
                "ipRanges": [{"start": "10.100.5.10", "end": "10.100.5.20"}],
                "segmentPath": "/infra/segments/egress-prod-tkc-prod01-prod",
                "tier1Path": "/infra/tier-1s/t1",
                "natMode": True,
                "namespace": "prod",
                "podSelector": {"matchLabels": {"app": "web"}},
            }
        },
    }


@pytest.fixture
def guest() -> Iterator[FakeKubeApi]:
    with FakeKubeApi() as api:
        seed_supervisor(api)
        # As Antrea reports an assigned Egress (docs/antrea-and-tanzu.md §2.5).
        assigned = {
            "egressIP": "10.100.5.10",
            "egressNode": "worker-1",
            "conditions": [{"type": "IPAssigned", "status": "True", "reason": "Assigned"}],
        }
        api.put(
            "/apis/crd.antrea.io/v1beta1/egresses/egress-prod",
            {"kind": "Egress", "status": assigned},
        )
        yield api


@pytest.mark.parametrize(("seen_ip", "code"), [("10.100.5.10", 0), ("10.244.0.5", 1)])
def test_verify_uses_the_stacks_kubeconfig_and_fails_on_a_mismatch(
    guest: FakeKubeApi, monkeypatch: pytest.MonkeyPatch, seen_ip: str, code: int
) -> None:
    monkeypatch.setattr(
        automation, "stack_outputs", lambda *_, **__: deployed_outputs(guest.kubeconfig())
    )
    guest.play_pods(PodRun.succeeds(f"Requester IP: {seen_ip}\n"))
    result = invoke(
        "verify", "--stack", "prod", "--echo-url", "http://127.0.0.1:9/", "--timeout", "5"
    )
    assert result.exit_code == code, result.output
    assert ("PASS" if code == 0 else "FAIL") in result.output


def two_zone_outputs(kubeconfig: str) -> dict[str, Any]:
    outputs = deployed_outputs(kubeconfig)
    staging = {
        **outputs["zones"]["prod"],
        "egressIP": "10.100.5.130",
        "cidr": "10.100.5.128/30",
        "namespace": "staging",
        "segmentPath": "/infra/segments/egress-prod-tkc-prod01-staging",
    }
    outputs["zones"]["staging"] = staging
    return outputs


@pytest.mark.parametrize(
    ("seen", "code"),
    [
        ({"prod": "10.100.5.10", "staging": "10.100.5.130"}, 0),
        ({"prod": "10.244.0.5", "staging": "10.100.5.130"}, 1),  # the first zone fails
        ({"prod": "10.100.5.10", "staging": "10.244.0.6"}, 1),  # the last zone fails
    ],
    ids=["both-pass", "first-fails", "last-fails"],
)
def test_verify_of_several_zones_fails_when_any_zone_fails(
    guest: FakeKubeApi, monkeypatch: pytest.MonkeyPatch, seen: dict[str, str], code: int
) -> None:
    monkeypatch.setattr(
        automation, "stack_outputs", lambda *_, **__: two_zone_outputs(guest.kubeconfig())
    )
    assigned = {
        "egressIP": "10.100.5.130",
        "egressNode": "worker-2",
        "conditions": [{"type": "IPAssigned", "status": "True", "reason": "Assigned"}],
    }
    guest.put(
        "/apis/crd.antrea.io/v1beta1/egresses/egress-staging",
        {"kind": "Egress", "status": assigned},
    )
    guest.play_pods(
        lambda pod: PodRun.succeeds(f"Requester IP: {seen[pod['metadata']['namespace']]}\n")
    )
    result = invoke(
        "verify", "--stack", "prod", "--echo-url", "http://127.0.0.1:9/", "--timeout", "5"
    )
    assert result.exit_code == code, result.output
    verdicts = [word for word in result.output.split() if word in ("PASS", "FAIL")]
    assert sorted(verdicts) == sorted(["PASS", "PASS"] if code == 0 else ["PASS", "FAIL"])


def test_verify_needs_a_deployed_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(automation, "stack_outputs", lambda *_, **__: None)
    result = invoke("verify", "--stack", "prod", "--echo-url", "http://127.0.0.1:9/")
    assert result.exit_code == 1
    assert "deploy it first" in result.output


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (
            lambda: auto.StackNotFoundError(
                auto.CommandResult("", "no stack named 'prod' found", 255)
            ),
            2,
        ),
        (lambda: auto.ConcurrentUpdateError(auto.CommandResult("", "locked", 255)), 75),
    ],
)
def test_verify_maps_backend_errors_to_exit_codes(
    monkeypatch: pytest.MonkeyPatch, error: Any, code: int
) -> None:
    def failing(*_: Any, **__: Any) -> None:
        raise error()

    monkeypatch.setattr(automation, "stack_outputs", failing)
    assert (
        invoke("verify", "--stack", "prod", "--echo-url", "http://127.0.0.1:9/").exit_code == code
    )


def test_report_falls_back_to_configuration_when_the_backend_has_no_stack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(*_: Any, **__: Any) -> None:
        raise auto.StackNotFoundError(auto.CommandResult("", "no stack named 'prod' found", 255))

    monkeypatch.setattr(automation, "stack_outputs", missing)
    result = invoke("report", "--stack", "prod", "--format", "csv")
    assert result.exit_code == 0
    assert result.stderr == (
        "no outputs (stack not found in the backend): reporting from the stack's configuration\n"
    )
    assert [row["source"] for row in csv_rows(result.stdout)] == ["configuration"]


def test_streamed_output_keeps_one_line_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def talkative(op: Operation, stack: str, *, on_output: Any, **_: Any) -> OperationResult:
        for line in ("Previewing update (staging)", "+ prod-pool create"):
            on_output(line)
        return OperationResult(op, stack, ExitCode.OK, [], {}, "ok")

    monkeypatch.setattr(automation, "run_operation", talkative)
    result = invoke("preview", "--stack", "staging")
    assert "Previewing update (staging)\n+ prod-pool create\n" in result.output


# --- --json on every exit path, destroy --yes ----------------------------------------------


def failing_run(error: Exception) -> Callable[..., OperationResult]:
    def run(*_: Any, **__: Any) -> OperationResult:
        raise error

    return run


@pytest.mark.parametrize("operation", list(Operation))
def test_no_pulumi_cli_still_writes_the_json_document(
    operation: Operation, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    message = "the `pulumi` CLI was not found. Install the Pulumi CLI"
    monkeypatch.setattr(automation, "run_operation", failing_run(PulumiNotInstalledError(message)))
    summary = tmp_path / "changes.json"
    yes = ["--yes"] if operation is Operation.DESTROY else []

    result = invoke(operation.value, "--stack", "staging", "--json", str(summary), *yes)

    assert result.exit_code == 1
    assert json.loads(summary.read_text()) == {
        "operation": operation.value,
        "stack": "staging",
        "exit_code": 1,
        "status": "failure",
        "message": f"{message}. Install the Pulumi CLI (https://www.pulumi.com/docs/install/, "
        "e.g. `curl -fsSL https://get.pulumi.com | sh`), then run `pulumi install` in the "
        "project directory to set up its virtualenv and the NSX-T SDK.",
        "summary": {},
        "changes": [],
    }


def test_no_pulumi_cli_on_path_writes_the_json_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install_fake_cli(tmp_path, monkeypatch)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    summary = tmp_path / "drift.json"

    result = invoke(
        "drift", "--stack", "prod", "--json", str(summary), "--work-dir", str(fake.project)
    )

    assert result.exit_code == 1
    document = json.loads(summary.read_text())
    assert (document["exit_code"], document["status"]) == (1, "failure")
    assert "pulumi.com/docs/install" in document["message"]
    assert "pulumi.com/docs/install" in result.stderr


def test_an_unexpected_error_still_writes_the_json_document(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(automation, "run_operation", failing_run(OSError("disk on fire")))
    summary = tmp_path / "changes.json"

    result = invoke("up", "--stack", "staging", "--json", str(summary))

    assert isinstance(result.exception, OSError)  # not hidden: the traceback is wanted
    document = json.loads(summary.read_text())
    assert (document["operation"], document["exit_code"]) == ("up", 1)
    assert "disk on fire" in document["message"]


def test_destroy_refuses_without_yes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(automation, "run_operation", failing_run(AssertionError("ran")))
    summary = tmp_path / "destroy.json"

    result = invoke("destroy", "--stack", "prod", "--json", str(summary))

    assert result.exit_code == 1
    assert "refusing to destroy stack prod without --yes" in result.stderr
    document = json.loads(summary.read_text())
    assert (document["exit_code"], document["message"]) == (
        1,
        "refusing to destroy stack prod without --yes",
    )


@pytest.mark.parametrize("flag", ["--yes", "-y"])
def test_destroy_with_yes_runs(flag: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Operation] = []

    def run(op: Operation, stack: str, **_: Any) -> OperationResult:
        seen.append(op)
        return OperationResult(op, stack, ExitCode.OK, [], {"delete": 6}, "destroyed")

    monkeypatch.setattr(automation, "run_operation", run)

    assert invoke("destroy", "--stack", "prod", flag).exit_code == 0
    assert seen == [Operation.DESTROY]


# --- report: what it reads, when it falls back ---------------------------------------------


@pytest.fixture
def fake_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    """The fake `pulumi` on PATH, its project holding the real prod stack file."""
    fake = install_fake_cli(tmp_path, monkeypatch)
    shutil.copy(PROJECT_DIR / "Pulumi.prod.yaml", fake.project / "Pulumi.prod.yaml")
    return fake


def test_report_reads_masked_outputs_and_never_decrypts(
    fake_cli: FakeCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = "apiVersion: v1\nusers: [{name: u, user: {token: fake-Secret-Token-3b9}}]\n"
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(deployed_outputs(kubeconfig)))
    monkeypatch.setenv("FAKE_PULUMI_OUTPUTS", str(outputs))

    result = invoke("report", "--stack", "prod", "-f", "json", "--work-dir", str(fake_cli.project))

    assert result.exit_code == 0, result.output
    assert [row["source"] for row in json.loads(result.stdout)] == ["stack outputs"]
    assert fake_cli.words() == [["version"], ["stack", "output"]]
    assert not any(call.has("--show-secrets") for call in fake_cli.calls)
    assert "fake-Secret-Token-3b9" not in result.output


def test_report_falls_back_when_the_stack_was_never_deployed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(automation, "stack_outputs", lambda *_, **__: None)

    result = invoke("report", "--stack", "prod", "--format", "csv")

    assert result.exit_code == 0
    assert (
        result.stderr == "no outputs (never deployed): reporting from the stack's configuration\n"
    )
    assert [row["source"] for row in csv_rows(result.stdout)] == ["configuration"]


def test_report_fails_on_any_other_backend_error(fake_cli: FakeCli) -> None:
    fake_cli.scenario("not-logged-in")

    result = invoke("report", "--stack", "prod", "--work-dir", str(fake_cli.project))

    assert result.exit_code == 1
    assert result.stdout == ""  # no report from the configuration
    assert result.stderr.startswith(
        f"cannot read the outputs of stack prod: {fake_pulumi.NOT_LOGGED_IN}"
    )


def test_report_on_a_locked_backend_exits_75(monkeypatch: pytest.MonkeyPatch) -> None:
    error = auto.ConcurrentUpdateError(auto.CommandResult("", "error: [409] Conflict", 255))
    monkeypatch.setattr(automation, "stack_outputs", failing_run(error))

    result = invoke("report", "--stack", "prod")

    assert result.exit_code == 75
    assert "cannot read the outputs of stack prod: error: [409] Conflict" in result.stderr


def test_report_of_malformed_outputs_exits_1_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    malformed = {**deployed_outputs("[secret]"), "zones": "prod"}
    monkeypatch.setattr(automation, "stack_outputs", lambda *_, **__: malformed)

    result = invoke("report", "--stack", "prod")

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert result.stderr == (
        "cannot report stack prod: stack outputs: `zones` is missing or not a mapping of zone "
        "to details\n"
    )


# --- verify: options and errors ------------------------------------------------------------


def recording_outputs(outputs: dict[str, Any], calls: list[dict[str, Any]]) -> Any:
    def stack_outputs(stack: str, **options: Any) -> dict[str, Any]:
        calls.append({"stack": stack, **options})
        return outputs

    return stack_outputs


def test_verify_reveals_the_kubeconfig_output(
    guest: FakeKubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        automation, "stack_outputs", recording_outputs(deployed_outputs(guest.kubeconfig()), calls)
    )
    guest.play_pods(PodRun.succeeds("Requester IP: 10.100.5.10\n"))

    result = invoke("verify", "--stack", "prod", "--echo-url", "http://127.0.0.1:9/")

    assert result.exit_code == 0, result.output
    assert [(call["stack"], call["reveal_secrets"]) for call in calls] == [("prod", True)]


def test_verify_takes_a_kubeconfig_file_and_a_probe_image(
    guest: FakeKubeApi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(
        automation, "stack_outputs", lambda *_, **__: deployed_outputs("not: a kubeconfig")
    )
    kubeconfig = tmp_path / "guest.kubeconfig"
    kubeconfig.write_text(guest.kubeconfig())
    guest.play_pods(PodRun.succeeds("Requester IP: 10.100.5.10\n"))

    result = invoke(
        "verify",
        "--stack",
        "prod",
        "--echo-url",
        "http://127.0.0.1:9/",
        "--kubeconfig",
        str(kubeconfig),
        "--probe-image",
        "registry.example/curl:8",
    )

    assert result.exit_code == 0, result.output
    (pod,) = [obj for obj in guest.created if obj.get("kind") == "Pod"]
    assert pod["spec"]["containers"][0]["image"] == "registry.example/curl:8"


def test_verify_probes_with_the_default_image(
    guest: FakeKubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        automation, "stack_outputs", lambda *_, **__: deployed_outputs(guest.kubeconfig())
    )
    guest.play_pods(PodRun.succeeds("Requester IP: 10.100.5.10\n"))

    assert invoke("verify", "--stack", "prod", "--echo-url", "http://127.0.0.1:9/").exit_code == 0
    (pod,) = [obj for obj in guest.created if obj.get("kind") == "Pod"]
    assert pod["spec"]["containers"][0]["image"] == verify.DEFAULT_IMAGE


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        (
            {"podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}},
            "cannot verify stack prod: zone prod: its podSelector has matchExpressions",
        ),
        ({"vlan": "110", "namespace": ""}, "zones.prod.namespace is missing or not a string"),
    ],
)
def test_verify_of_unusable_outputs_exits_1_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, outputs: dict[str, Any], message: str
) -> None:
    stack = deployed_outputs("unused")
    stack["zones"]["prod"].update(outputs)
    monkeypatch.setattr(automation, "stack_outputs", lambda *_, **__: stack)

    result = invoke("verify", "--stack", "prod", "--echo-url", "http://127.0.0.1:9/")

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert message in result.stderr


def test_verify_without_zones_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(automation, "stack_outputs", lambda *_, **__: {"kubeconfig": "x"})

    result = invoke("verify", "--stack", "prod", "--echo-url", "http://127.0.0.1:9/")

    assert result.exit_code == 1
    assert "stack outputs: `zones` is missing" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read --kubeconfig"),
        ("token: fake-Secret-3c1\n  bad: [", "is not valid YAML"),
        ("[secret]", "cannot use"),
        ("current-context: a\ncontexts: []\n", "the kubeconfig has no context named 'a'"),
    ],
)
def test_verify_with_an_unusable_kubeconfig_exits_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str | None, message: str
) -> None:
    monkeypatch.setattr(automation, "stack_outputs", lambda *_, **__: deployed_outputs("x"))
    kubeconfig = tmp_path / "kubeconfig"
    if content is not None:
        kubeconfig.write_text(content)

    result = invoke(
        "verify", "--stack", "prod", "--echo-url", "http://e/", "--kubeconfig", str(kubeconfig)
    )

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert message in result.stderr
    assert "fake-Secret-3c1" not in result.output


@pytest.mark.parametrize("from_file", [False, True])
def test_verify_says_how_to_remove_probe_pods_it_could_not_delete(
    guest: FakeKubeApi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, from_file: bool
) -> None:
    expired = guest.kubeconfig(token="expired")  # every request fails, the DELETE too
    kubeconfig = tmp_path / "my config"
    kubeconfig.write_text(expired)
    monkeypatch.setattr(
        automation, "stack_outputs", lambda *_, **__: deployed_outputs("" if from_file else expired)
    )
    option = ["--kubeconfig", str(kubeconfig)] if from_file else []

    result = invoke("verify", "--stack", "prod", "--echo-url", "http://127.0.0.1:9/", *option)

    assert result.exit_code == 1
    command = "kubectl -n prod delete pod -l app.kubernetes.io/name=egressctl-probe"
    expected = f"{command} --kubeconfig '{kubeconfig}'" if from_file else command
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert lines[-2:] == ["Some probe pods could not be deleted; remove them with:", expected]


def test_verify_does_not_hint_when_every_probe_pod_was_deleted(
    guest: FakeKubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        automation, "stack_outputs", lambda *_, **__: deployed_outputs(guest.kubeconfig())
    )
    guest.play_pods(PodRun.succeeds("Requester IP: 10.244.0.5\n"))

    result = invoke("verify", "--stack", "prod", "--echo-url", "http://127.0.0.1:9/")

    assert result.exit_code == 1
    assert "kubectl" not in result.output


# --- fully qualified stack names -----------------------------------------------------------


def test_stack_files_are_found_by_the_last_segment() -> None:
    assert stack_file("example/prod", Path("/p")) == Path("/p/Pulumi.prod.yaml")
    assert stack_file("example/antrea-egress/prod", Path("/p")).name == "Pulumi.prod.yaml"
    assert stack_file("prod", Path("/p")).name == "Pulumi.prod.yaml"


def test_operations_pass_a_fully_qualified_stack_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def run(op: Operation, stack: str, **_: Any) -> OperationResult:
        seen.append(stack)
        return OperationResult(op, stack, ExitCode.OK, [], {}, "ok")

    monkeypatch.setattr(automation, "run_operation", run)

    assert invoke("preview", "--stack", "example/staging").exit_code == 0
    assert seen == ["example/staging"]


def test_report_of_a_fully_qualified_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        automation, "stack_outputs", recording_outputs(deployed_outputs("[secret]"), calls)
    )

    result = invoke("report", "--stack", "example/prod", "--format", "json")

    assert result.exit_code == 0, result.output
    assert [call["stack"] for call in calls] == ["example/prod"]
    assert json.loads(result.stdout)[0]["zone"] == "prod"


def test_report_of_a_fully_qualified_stack_falls_back_to_its_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(automation, "stack_outputs", lambda *_, **__: None)

    result = invoke("report", "--stack", "example/staging", "--format", "csv")

    assert result.exit_code == 0, result.output
    assert [row["cluster"] for row in csv_rows(result.stdout)] == ["tkc-staging01"]


def test_verify_of_a_fully_qualified_stack(
    guest: FakeKubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        automation, "stack_outputs", recording_outputs(deployed_outputs(guest.kubeconfig()), calls)
    )
    guest.play_pods(PodRun.succeeds("Requester IP: 10.100.5.10\n"))

    result = invoke("verify", "--stack", "example/prod", "--echo-url", "http://127.0.0.1:9/")

    assert result.exit_code == 0, result.output
    assert [call["stack"] for call in calls] == ["example/prod"]


def test_discover_of_a_fully_qualified_stack_reads_its_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    def discover(stack: str, config: Any, **_: Any) -> DiscoverResult:
        seen.append(stack)
        return DiscoverResult(stack, "prod", config.cluster.name, True, error="unreachable")

    monkeypatch.setattr(cli, "discover_stack", discover)

    result = invoke("discover", "--stack", "example/prod")

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert seen == ["prod"]
    assert "unreachable" in result.stdout


def test_an_unknown_fully_qualified_stack_exits_2() -> None:
    result = invoke("report", "--stack", "example/nope")

    assert result.exit_code == 2
    assert "Pulumi.nope.yaml does not exist" in result.stderr


# --- render: where it writes -----------------------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "example/staging"])
def test_render_writes_to_rendered_offline_by_default(project_copy: Path, stack: str) -> None:
    result = invoke("render", "--stack", stack, "--work-dir", str(project_copy))

    assert result.exit_code == 0, result.output
    target = project_copy / "rendered" / "offline" / "staging"
    assert len(list(target.glob("0*.yaml"))) == 4
    assert (target / "plan.md").read_text().startswith("# Plan for stack staging")
    assert not (project_copy / "rendered" / "staging").exists()  # the lab's renderYamlTo place


def test_render_replaces_an_earlier_rendering(project_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "05-guest-egress-gone.yaml").write_text(yaml.safe_dump({"kind": "Egress"}))
    (out / "kustomization.yaml").write_text("resources: []\n")

    result = invoke(
        "render", "--stack", "staging", "--out", str(out), "--work-dir", str(project_copy)
    )

    assert result.exit_code == 0, result.output
    assert not (out / "05-guest-egress-gone.yaml").exists()
    assert (out / "kustomization.yaml").read_text() == "resources: []\n"


def test_report_offline_asks_no_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_: Any, **__: Any) -> None:
        raise AssertionError("--offline must not call the Pulumi CLI")

    monkeypatch.setattr(automation, "stack_outputs", forbidden)
    result = invoke("report", "--stack", "staging", "--offline", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["source"] == "configuration"


# --- a command line that behaves ---------------------------------------------------------------

# Every command with the options it needs; `--stack` is added by the tests.
COMMANDS = {
    "preview": [],
    "up": [],
    "refresh": [],
    "destroy": [],
    "destroy --yes": ["--yes"],
    "drift": [],
    "render": [],
    "report": [],
    "report --offline": ["--offline"],
    "verify": ["--echo-url", "http://127.0.0.1:9/"],
    "discover": [],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_stack_file_exits_2_in_every_command(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(automation, "run_operation", failing_run(AssertionError("ran the CLI")))
    monkeypatch.setattr(automation, "stack_outputs", failing_run(AssertionError("ran the CLI")))
    monkeypatch.setattr(cli, "discover_stack", failing_run(AssertionError("discovered")))
    name, *_ = command.split()

    result = invoke(name, "--stack", "nope", *COMMANDS[command])

    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Pulumi.nope.yaml does not exist (known: lab, prod, staging)" in result.stderr


@pytest.mark.parametrize("operation", list(Operation))
def test_a_missing_stack_file_is_checked_before_looking_for_the_pulumi_cli(
    operation: Operation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install_fake_cli(tmp_path, monkeypatch)
    summary = tmp_path / "result.json"

    result = invoke(
        operation.value, "--stack", "nope", "--yes", "--json", str(summary),
        "--work-dir", str(fake.project),
    ) if operation is Operation.DESTROY else invoke(
        operation.value, "--stack", "nope", "--json", str(summary),
        "--work-dir", str(fake.project),
    )  # fmt: skip

    assert result.exit_code == 2, result.output
    assert fake.calls == []  # not even `pulumi version`
    document = json.loads(summary.read_text())
    assert (document["exit_code"], document["status"]) == (2, "stack_not_found")
    assert "Pulumi.nope.yaml does not exist" in document["message"]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("-K/etc/passwd", "only http:// and https:// URLs are allowed"),
        ("file:///etc/passwd", "only http:// and https:// URLs are allowed"),
        ("192.168.178.222:88", "only http:// and https:// URLs are allowed"),
        ("http:///path", "it names no host"),
        ("http://echo:port/", "it is not a URL"),
        ("http://echo /", "it contains spaces or control characters"),
    ],
)
def test_verify_refuses_an_echo_url_that_is_not_http_with_a_host(
    url: str, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(automation, "stack_outputs", failing_run(AssertionError("read")))

    result = invoke("verify", "--stack", "prod", "--echo-url", url)

    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert f"echo URL {url!r} is not usable: {problem}" in result.stderr


@pytest.mark.parametrize("fmt", ["csv", "json", "md"])
def test_report_output_ends_with_exactly_one_newline(fmt: str) -> None:
    result = invoke("report", "--stack", "prod", "--offline", "--format", fmt)

    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("\n")
    assert not result.stdout.endswith("\n\n")


def test_report_carries_the_generation_time_and_the_commit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        cli, "generation_time", lambda: datetime(2026, 12, 7, 4, 16, 55, tzinfo=UTC)
    )

    result = invoke("report", "--stack", "prod", "--offline", "--format", "json")

    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.stdout)
    assert record["generated_at"] == "2026-12-07T04:16:55Z"
    assert record["git_commit"] == checkout_commit(PROJECT_DIR)


def test_report_is_generated_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)

    result = invoke("report", "--stack", "prod", "--offline", "--format", "csv")

    (record,) = csv_rows(result.stdout)
    generated = datetime.fromisoformat(record["generated_at"])
    assert before <= generated <= datetime.now(UTC)
    assert record["generated_at"].endswith("Z")


def test_report_of_a_git_checkout_names_its_commit(tmp_path: Path) -> None:
    project = tmp_path / "checkout"
    project.mkdir()
    shutil.copy(PROJECT_DIR / "Pulumi.prod.yaml", project / "Pulumi.prod.yaml")
    commit = git_commit_all(project)

    result = invoke(
        "report", "--stack", "prod", "--offline", "--format", "md", "--work-dir", str(project)
    )

    assert result.exit_code == 0, result.output
    assert f"- Git commit: {commit}\n" in result.stdout


def test_report_outside_a_git_checkout_says_unknown(project_copy: Path) -> None:
    result = invoke(
        "report", "--stack", "staging", "--offline", "-f", "md", "--work-dir", str(project_copy)
    )

    assert result.exit_code == 0, result.output
    assert "- Git commit: unknown\n" in result.stdout


@pytest.mark.parametrize(
    "command",
    [[], *([name] for name in sorted(set(COMMANDS) - {"destroy --yes", "report --offline"}))],
)
def test_help_shows_no_bool_metavar_for_flags(command: list[str]) -> None:
    result = invoke(*command, "--help")

    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert "--help" in result.output


def test_version_prints_the_package_version() -> None:
    version = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]["version"]

    result = invoke("--version")

    assert result.exit_code == 0
    assert result.stdout == f"egressctl {version}\n"


def test_the_plan_keeps_long_names_whole_when_stdout_is_not_a_terminal(
    project_copy: Path, tmp_path: Path
) -> None:
    path = project_copy / "Pulumi.staging.yaml"
    values = yaml.safe_load(path.read_text())
    values["config"]["antrea-egress:cluster"]["name"] = "tkc-" + "payments-platform-" * 3 + "01"
    path.write_text(yaml.safe_dump(values))
    steps = render_stack("staging", work_dir=project_copy).plan
    assert max(len(step.detail) for step in steps) > 80

    # No COLUMNS; FORCE_COLOR makes rich take a pipe for a terminal 80 columns wide.
    result = runner.invoke(
        cli.app,
        ["render", "--stack", "staging", "--out", str(tmp_path / "out"),
         "--work-dir", str(project_copy)],
        env={"COLUMNS": None, "FORCE_COLOR": "1"},
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    for step in steps:
        assert f"| {step.resource} | {step.kind} | {step.target} | {step.detail} |" in result.stdout
    assert (tmp_path / "out" / "plan.md").read_text() in result.stdout
