"""The fake `pulumi` CLI on PATH, for tests that drive egressctl through the real SDK."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from egressctl.automation import Operation, OperationResult, run_operation
from tests.fakes import fake_pulumi
from tests.fakes.fake_pulumi import Invocation

STACK = "prod"
# Variables of the developer's or CI's own environment that must not steer a test's CLI.
_HOST_PULUMI_ENV = (
    "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK",
    "PULUMI_BACKEND_URL",
    "PULUMI_ACCESS_TOKEN",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_HOME",
    "FAKE_PULUMI_VERSION",
)


@dataclass
class FakeCli:
    executable: Path
    log: Path
    project: Path
    monkeypatch: pytest.MonkeyPatch
    lines: list[str] = field(default_factory=list)

    def scenario(self, name: str) -> None:
        self.monkeypatch.setenv("FAKE_PULUMI_SCENARIO", name)

    def version(self, version: str) -> None:
        self.monkeypatch.setenv("FAKE_PULUMI_VERSION", version)

    def run(self, operation: Operation, **kwargs: object) -> OperationResult:
        return self.run_stack(STACK, operation, **kwargs)

    def run_stack(self, stack: str, operation: Operation, **kwargs: object) -> OperationResult:
        options: dict[str, object] = {"work_dir": self.project, "on_output": self.lines.append}
        options.update(kwargs)
        return run_operation(operation, stack, **options)  # type: ignore[arg-type]

    @property
    def calls(self) -> list[Invocation]:
        return fake_pulumi.read_log(self.log)

    def words(self) -> list[list[str]]:
        return [call.words for call in self.calls]

    def only(self, *words: str) -> Invocation:
        matching = [call for call in self.calls if call.words == list(words)]
        assert len(matching) == 1, f"{words}: {self.words()}"
        return matching[0]

    def select(self, stack: str | None) -> None:
        """The stack the user had selected before egressctl ran (None: none)."""
        fake_pulumi.select_stack(self.log, stack)

    @property
    def selected(self) -> str | None:
        return fake_pulumi.selected_stack(self.log)

    def selections(self) -> list[str | None]:
        """Every change of selection, in order: a stack's name, None for `stack unselect`."""
        changes = {("stack", "select"), ("stack", "unselect")}
        return [call.value("--stack") for call in self.calls if tuple(call.words) in changes]


def install_fake_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    """The fake CLI, alone on PATH, and a project directory for it to run in."""
    executable = fake_pulumi.install(tmp_path / "pulumi-root")
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: antrea-egress\nruntime: python\n")
    (project / f"Pulumi.{STACK}.yaml").write_text("config: {}\n")
    log = tmp_path / "calls.jsonl"
    for name in _HOST_PULUMI_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", str(executable.parent))
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(log))
    monkeypatch.setenv("FAKE_PULUMI_SCENARIO", "ok")
    return FakeCli(executable, log, project, monkeypatch)
