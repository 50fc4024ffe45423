"""The program under the real Pulumi CLI: a file backend, passphrase secrets, a stack we write.

The Python language host is not available from the Go module proxy (docs/real-engine.md), so
the CLI runs the program through the Automation API's inline path: `pulumi preview|up|destroy
--client=<address>`, where the Pulumi SDK itself serves the language runtime and runs
`__main__.py`. Everything else is the real engine: the CLI's deployment engine and state, the
Kubernetes provider plugin at the pinned version, the dynamic-provider host
(`pulumi-resource-pulumi-python`) running our providers in a process of its own.
"""

from __future__ import annotations

import json
import os
import runpy
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pulumi import automation as auto

from lab.toolchain import REPO, Toolchain

PROJECT = "antrea-egress"


def run_main() -> None:
    """The inline program: exactly what `pulumi up` runs, `__main__.py` of the repository."""
    runpy.run_path(str(REPO / "__main__.py"), run_name="__main__")


class LabProgram:
    """A stack of the real program in `work_dir`, with state under `work_dir/state`."""

    def __init__(self, toolchain: Toolchain, work_dir: Path, stack_name: str = "lab") -> None:
        self.toolchain = toolchain
        self.work_dir = work_dir
        self.stack_name = stack_name
        self.state_dir = work_dir / "state"
        self.passphrase = secrets.token_urlsafe(16)
        for directory in (self.project_dir, self.state_dir, self.pulumi_home):
            directory.mkdir(parents=True, exist_ok=True)
        plugins = self.pulumi_home / "plugins"
        if not plugins.exists():
            plugins.symlink_to(toolchain.pulumi_home / "plugins")
        # The project's own Pulumi.yaml (its config declarations are part of what is tested),
        # and its program, for `egressctl --inline`, which runs `<work dir>/__main__.py`.
        for name in ("Pulumi.yaml", "__main__.py"):
            (self.project_dir / name).write_text((REPO / name).read_text())

    @property
    def project_dir(self) -> Path:
        return self.work_dir / "project"

    @property
    def pulumi_home(self) -> Path:
        return self.work_dir / "pulumi-home"

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = self.toolchain.engine_environment(os.environ)
        env.update(
            {
                "PULUMI_HOME": str(self.pulumi_home),
                "PULUMI_BACKEND_URL": f"file://{self.state_dir}",
                "PULUMI_CONFIG_PASSPHRASE": self.passphrase,
                # The dynamic-provider host runs `$PULUMI_PYTHON_CMD -m pulumi.dynamic`: our
                # interpreter, which has the SDK, and the repository, where our providers live.
                "PULUMI_PYTHON_CMD": sys.executable,
                "PYTHONPATH": str(REPO),
            }
        )
        for key in ("KUBECONFIG", "PULUMI_ACCESS_TOKEN", "NSXT_MANAGER_HOST", "NSXT_PASSWORD"):
            env.pop(key, None)  # the stack's own settings only
        env.update(extra or {})  # what a runbook step sets for one command
        return env

    def stack(self, extra_env: Mapping[str, str] | None = None) -> auto.Stack:
        workspace = auto.LocalWorkspaceOptions(
            work_dir=str(self.project_dir),
            pulumi_home=str(self.pulumi_home),
            env_vars=self.environment(extra_env),
            pulumi_command=auto.PulumiCommand(
                root=str(self.toolchain.root), skip_version_check=True
            ),
            secrets_provider="passphrase",
        )
        return auto.create_or_select_stack(
            stack_name=self.stack_name, project_name=PROJECT, program=run_main, opts=workspace
        )

    def configure(self, values: Mapping[str, tuple[Any, bool]]) -> None:
        """Set every stack key: (value, secret). Objects and lists are stored as JSON, which is
        how the CLI hands structured values to a program."""
        config = {
            key: auto.ConfigValue(
                value=value if isinstance(value, str) else json.dumps(value), secret=secret
            )
            for key, (value, secret) in values.items()
        }
        self.stack().set_all_config(config)

    @property
    def checkpoint_path(self) -> Path:
        """The stack's state file, where the file backend keeps it."""
        return self.state_dir / ".pulumi" / "stacks" / PROJECT / f"{self.stack_name}.json"

    def checkpoint_text(self) -> str:
        return self.checkpoint_path.read_text()

    def checkpoint(self) -> dict[str, Any]:
        return dict(json.loads(self.checkpoint_text()))
