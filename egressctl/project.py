"""Where the project and its stacks are: one place for paths the commands share."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

PROJECT_NAME = "antrea-egress"
UNKNOWN = "unknown"
PYPROJECT_FILE = "pyproject.toml"
_GIT_TIMEOUT_SECONDS = 10
_COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")  # SHA-1, or SHA-256 repositories

# The checkout this package was loaded from (a clone, or an editable install of one).
_SOURCE_ROOT = Path(__file__).resolve().parents[1]


def project_dir(source_root: Path = _SOURCE_ROOT, cwd: Path | None = None) -> Path:
    """The project the commands work on: the checkout holding this package, if it is one.

    A regular (non-editable) `pip install` puts the package into site-packages, far from any
    Pulumi.yaml; the commands then work on the project in the current directory.
    """
    if (source_root / "Pulumi.yaml").is_file():
        return source_root
    return cwd if cwd is not None else Path.cwd()


PROJECT_DIR = project_dir()


def stack_short_name(stack: str) -> str:
    """The stack's own name: the last segment of `org/prod` or `org/project/prod`.

    Pulumi Cloud stacks are often given fully qualified; the stack's settings file and the
    name the program sees (`pulumi.get_stack()`) use the last segment only. The Automation API
    gets the name as given.
    """
    return stack.rstrip("/").rsplit("/", 1)[-1]


def stack_file(stack: str, work_dir: Path = PROJECT_DIR) -> Path:
    """`Pulumi.<stack>.yaml`; for a fully qualified name, that of its last segment."""
    return work_dir / f"Pulumi.{stack_short_name(stack)}.yaml"


def known_stacks(work_dir: Path = PROJECT_DIR) -> list[str]:
    """Stacks with a committed Pulumi.<stack>.yaml."""
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in work_dir.glob("Pulumi.*.yaml")
    )


def package_version(source_root: Path = _SOURCE_ROOT) -> str:
    """The version pyproject.toml declares: read from the checkout when running from one (an
    editable install's metadata keeps the version of the day it was installed), else from
    the installed package's metadata; UNKNOWN when neither has it."""
    pyproject = source_root / PYPROJECT_FILE
    if pyproject.is_file():
        try:
            project = tomllib.loads(pyproject.read_text()).get("project", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            project = {}
        if project.get("name") == PROJECT_NAME and isinstance(project.get("version"), str):
            return str(project["version"])
    try:
        return metadata.version(PROJECT_NAME)
    except metadata.PackageNotFoundError:
        return UNKNOWN


def checkout_commit(work_dir: Path = PROJECT_DIR) -> str:
    """The commit checked out in `work_dir` (`git rev-parse HEAD`), for audit trails.

    UNKNOWN when it is not a git checkout, git is missing, fails or takes too long: a report
    must never fail for want of it.
    """
    git = shutil.which("git")
    if git is None:
        return UNKNOWN
    # GIT_DIR and friends would point git elsewhere than work_dir (e.g. inside a git hook).
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    try:
        result = subprocess.run(  # noqa: S603 - a fixed git command, no shell
            [git, "-C", str(work_dir), "rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_SECONDS,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and _COMMIT.fullmatch(commit) else UNKNOWN
