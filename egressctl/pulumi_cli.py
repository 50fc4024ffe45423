"""The `pulumi` CLI as the Automation API runs it: found once, in the project, a stack selected
and the selection restored, and its errors in its own words.

See `egressctl.automation` for the CLI calls each operation makes.
"""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi import automation as auto

_INSTALL_HINT = (
    "Install the Pulumi CLI (https://www.pulumi.com/docs/install/, e.g. "
    "`curl -fsSL https://get.pulumi.com | sh`), then run `pulumi install` in the project "
    "directory to set up its virtualenv and the NSX-T SDK."
)
_SKIP_VERSION_CHECK = "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK"
# Defaults for the CLI's environment; `env` overrides them. A pipeline should not stop to
# check for a newer CLI (a network call and a nag on every run).
_DEFAULT_ENV = {"PULUMI_SKIP_UPDATE_CHECK": "true"}

_STDERR_TAIL_LINES = 3
_MESSAGE_LIMIT = 600


class PulumiNotInstalledError(Exception):
    """No usable `pulumi` CLI: not found, not executable or older than the SDK supports."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"{reason}. {_INSTALL_HINT}")


def describe_error(error: auto.CommandError) -> str:
    """The CLI's own words for a failed command: the last lines of its stderr, on one line.

    The CLI never prints secret values to stderr; a program's prints go to stdout.
    """
    return one_line(stderr_tail(stderr_of(error)) or "the CLI printed no error")


def find_cli(pulumi_command: str | None, env: Mapping[str, str] | None) -> auto.PulumiCommand:
    """The CLI, found and version-checked once, so its absence is one clear error.

    Built here rather than by LocalWorkspace because FileNotFoundError also means a missing
    work_dir later on; only this call's means "no CLI".
    """
    root = _install_root(Path(pulumi_command)) if pulumi_command is not None else None
    # The same opt-out LocalWorkspace honours; PulumiCommand itself also reads os.environ.
    skip = env is not None and _SKIP_VERSION_CHECK in env
    where = f"the Pulumi CLI at {pulumi_command}" if pulumi_command else "the `pulumi` CLI"
    try:
        return auto.PulumiCommand(root=root, skip_version_check=skip)
    except FileNotFoundError as error:
        raise PulumiNotInstalledError(f"{where} was not found ({error.strerror})") from error
    except (OSError, subprocess.CalledProcessError) as error:
        raise PulumiNotInstalledError(f"{where} cannot be run ({error})") from error
    except auto.InvalidVersionError as error:
        raise PulumiNotInstalledError(f"{where} is not usable: {error}") from error


def _install_root(executable: Path) -> str:
    """The installation root PulumiCommand wants: it always runs `<root>/bin/pulumi`.

    Accepts the executable itself (`~/.pulumi/bin/pulumi`, the installer's layout) or the
    root directory. Absolute, because the CLI runs with the project as its cwd.
    """
    executable = executable.expanduser().absolute()
    if executable.is_dir():
        return str(executable)
    if executable.name != "pulumi" or executable.parent.name != "bin":
        raise ValueError(
            f"pulumi_command must be a `pulumi` executable in a `bin` directory "
            f"(e.g. ~/.pulumi/bin/pulumi) or an installation root, got {executable}"
        )
    return str(executable.parent.parent)


@dataclass(frozen=True)
class Cli:
    """The CLI, the project directory it runs in and the environment it gets.

    `program`: run the project's program in this process (the Automation API's inline mode,
    `pulumi ... --client=<address>`) instead of through the CLI's Python language host.
    """

    command: auto.PulumiCommand
    work_dir: Path
    env: Mapping[str, str] | None
    program: Callable[[], None] | None = None

    @property
    def env_vars(self) -> dict[str, str]:
        return {**_DEFAULT_ENV, **(self.env or {})}

    def workspace(self) -> auto.LocalWorkspace:
        return auto.LocalWorkspace(
            work_dir=str(self.work_dir),
            env_vars=self.env_vars,
            pulumi_command=self.command,
            program=self.program,
        )

    def run(self, args: list[str]) -> auto.CommandResult:
        """One CLI command, as the workspace would run it (`--non-interactive` is added)."""
        return self.command.run(list(args), str(self.work_dir), self.env_vars)


@contextmanager
def selected_stack(
    cli: Cli, stack: str, *, on_warning: Callable[[str], None]
) -> Iterator[auto.Stack]:
    """Select (`pulumi stack select --stack NAME`) an existing stack, never creating one; on
    leaving, select again whatever was selected before (`pulumi stack ls --json`)."""
    workspace = cli.workspace()
    previous = workspace.stack()
    selected = auto.Stack.select(stack, workspace)  # the CLI's selection changes from here
    try:
        yield selected
    finally:
        _restore_selection(cli, workspace, stack, previous, on_warning)


def _restore_selection(
    cli: Cli,
    workspace: auto.LocalWorkspace,
    stack: str,
    previous: auto.StackSummary | None,
    on_warning: Callable[[str], None],
) -> None:
    """Select `previous` again, or reset the selection if there was none; a failure here only
    warns: the operation's own outcome stands."""
    if previous is not None and previous.name == stack:
        return
    try:
        if previous is None:
            cli.run(["stack", "unselect"])
        else:
            workspace.select_stack(previous.name)
    except auto.CommandError as error:
        what = (
            "reset the stack selection (run `pulumi stack unselect`)"
            if previous is None
            else f"select stack '{previous.name}' again (run `pulumi stack select {previous.name}`)"
        )
        on_warning(
            f"warning: stack '{stack}' is still selected; could not {what}: {describe_error(error)}"
        )


def inline_program(work_dir: Path) -> Callable[[], None]:
    """The project's `__main__.py`, run as `pulumi up` would run it, but in this process.

    For pipelines whose Python already has the program's requirements: no virtualenv of the
    project's own and no language host. The project directory goes first on `sys.path`, as it
    does when the language host runs the program.
    """
    main = (work_dir / "__main__.py").absolute()

    def run() -> None:
        if str(main.parent) not in sys.path:
            sys.path.insert(0, str(main.parent))
        runpy.run_path(str(main), run_name="__main__")

    return run


def json_object(text: str) -> dict[str, Any]:
    value = json.loads(text or "{}")
    if not isinstance(value, dict):
        raise ValueError(f"`pulumi stack output --json` did not print a JSON object: {text[:80]!r}")
    return value


# CommandError keeps nothing but its message, which is CommandResult's str():
# "\n code: C\n stdout: ...\n stderr: ...".
_STDERR_MARK = "\n stderr: "


def stderr_of(error: auto.CommandError) -> str:
    # The last marker: whatever follows it is stderr (or its end), never stdout, which is
    # where a program's own prints would be.
    text = str(error)
    return text.rpartition(_STDERR_MARK)[2] if _STDERR_MARK in text else ""


def stderr_tail(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return " | ".join(lines[-_STDERR_TAIL_LINES:])


def one_line(message: str) -> str:
    line = " ".join(message.split())
    return line if len(line) <= _MESSAGE_LIMIT else line[: _MESSAGE_LIMIT - 3] + "..."
