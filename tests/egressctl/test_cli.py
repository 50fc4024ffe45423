"""The command line: wiring, outputs and exit codes (the engines have tests of their own)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto
from typer.testing import CliRunner

from egressctl import automation, cli
from egressctl.automation import Operation, OperationResult, PulumiNotInstalledError
from egressctl.exit_codes import ExitCode
from tests.antrea_egress.test_discovery import seed_supervisor
from tests.fakes.kube_api import FakeKubeApi, PodRun

runner = CliRunner()


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
    result = invoke(operation.value, "--stack", "staging", "--json", str(summary))
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


def test_report_falls_back_to_configuration_without_a_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*_: Any, **__: Any) -> None:
        raise PulumiNotInstalledError("no pulumi")

    monkeypatch.setattr(automation, "stack_outputs", missing)
    result = invoke("report", "--stack", "prod", "--format", "csv")
    assert result.exit_code == 0
    assert "10.100.5.10-10.100.5.20" in result.output
    assert "configuration" in result.output


def test_report_uses_a_deployed_stacks_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(automation, "stack_outputs", lambda *_, **__: deployed_outputs("unused"))
    result = invoke("report", "--stack", "prod", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert rows[0]["assigned_ip"] == "10.100.5.10"
    assert rows[0]["tier1"] == "/infra/tier-1s/t1"


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
        api.put(
            "/apis/crd.antrea.io/v1beta1/egresses/egress-prod",
            {"kind": "Egress", "status": {"egressIP": "10.100.5.10", "egressNode": "worker-1"}},
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
    result = invoke("report", "--stack", "prod")
    assert result.exit_code == 0
    assert "stack not found" in result.output
    assert "10.100.5.10-10.100.5.20" in result.output


def test_streamed_output_keeps_one_line_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def talkative(op: Operation, stack: str, *, on_output: Any, **_: Any) -> OperationResult:
        for line in ("Previewing update (staging)", "+ prod-pool create"):
            on_output(line)
        return OperationResult(op, stack, ExitCode.OK, [], {}, "ok")

    monkeypatch.setattr(automation, "run_operation", talkative)
    result = invoke("preview", "--stack", "staging")
    assert "Previewing update (staging)\n+ prod-pool create\n" in result.output
