"""pyproject.toml: an installable package whose `egressctl` command is the CLI, with the
runtime requirements of requirements.txt."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatchcase
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from egressctl import cli

PROJECT_DIR = Path(__file__).resolve().parents[2]


def pyproject() -> dict[str, Any]:
    return tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())


def test_the_egressctl_console_script_is_the_cli() -> None:
    (script,) = pyproject()["project"]["scripts"].items()
    name, target = script

    app = EntryPoint(name, target, "console_scripts").load()

    assert name == "egressctl"
    assert app is cli.app
    assert isinstance(app, typer.Typer)
    result = CliRunner().invoke(app, ["--version"], prog_name="egressctl")
    assert result.exit_code == 0
    assert result.stdout == f"egressctl {pyproject()['project']['version']}\n"


def packages_in_checkout() -> set[str]:
    """Every importable package of the checkout, dotted (`antrea_egress.nsx`)."""
    return {
        init.parent.relative_to(PROJECT_DIR).as_posix().replace("/", ".")
        for init in PROJECT_DIR.rglob("__init__.py")
        if not {".ci-venv", "venv", "sdks"} & set(init.relative_to(PROJECT_DIR).parts)
    }


def test_the_build_system_and_packages_are_declared() -> None:
    config = pyproject()
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]

    # As setuptools' find directive matches them: fnmatch on the dotted name.
    packages = {p for p in packages_in_checkout() if any(fnmatchcase(p, i) for i in include)}

    assert config["build-system"]["build-backend"] == "setuptools.build_meta"
    # Every package the CLI and the program import, and none of the tests.
    wanted = {
        p
        for p in packages_in_checkout()
        if p.split(".")[0] in {"antrea_egress", "components", "egressctl"}
    }
    assert wanted <= packages
    assert {"egressctl", "antrea_egress.nsx", "antrea_egress.providers", "components"} <= packages
    assert not {p for p in packages if p.split(".")[0] in ("tests", "benchmarks")}


def requirement_lines(path: Path) -> list[str]:
    """Requirements of a requirements file: no comments, options (-r) or local paths."""
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return [line for line in lines if re.match(r"[A-Za-z0-9]", line) and "/" not in line]


def test_the_dependencies_are_those_of_requirements_txt() -> None:
    assert pyproject()["project"]["dependencies"] == requirement_lines(
        PROJECT_DIR / "requirements.txt"
    )
