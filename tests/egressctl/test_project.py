"""Where the project is, its version and the commit of its checkout."""

from __future__ import annotations

import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

from egressctl.project import UNKNOWN, checkout_commit, package_version, project_dir
from tests.egressctl.git_checkout import git_commit_all


def test_the_checkout_holding_the_package_is_the_project(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: antrea-egress\n")

    assert project_dir(tmp_path, cwd=Path("/elsewhere")) == tmp_path


def test_an_installed_package_works_on_the_current_directory(tmp_path: Path) -> None:
    site_packages = tmp_path / "site-packages"  # no Pulumi.yaml beside the package
    site_packages.mkdir()

    assert project_dir(site_packages, cwd=tmp_path / "checkout") == tmp_path / "checkout"


def test_the_version_is_read_from_the_checkouts_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "antrea-egress"\nversion = "9.8.7"\n'
    )

    assert package_version(tmp_path) == "9.8.7"


@pytest.mark.parametrize(
    "content",
    [None, '[project]\nname = "something-else"\nversion = "1.0"\n', "not = [toml"],
)
def test_without_our_pyproject_the_version_comes_from_the_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | None
) -> None:
    if content is not None:
        (tmp_path / "pyproject.toml").write_text(content)
    monkeypatch.setattr(metadata, "version", lambda name: f"{name} 1.2.3")

    assert package_version(tmp_path) == "antrea-egress 1.2.3"


def test_without_pyproject_or_metadata_the_version_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)

    assert package_version(tmp_path) == UNKNOWN


def test_the_commit_of_a_git_checkout(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.prod.yaml").write_text("config: {}\n")
    commit = git_commit_all(tmp_path)

    assert checkout_commit(tmp_path) == commit
    (tmp_path / "sub").mkdir()
    assert checkout_commit(tmp_path / "sub") == commit


def test_the_commit_is_unknown_outside_a_checkout(tmp_path: Path) -> None:
    assert checkout_commit(tmp_path) == UNKNOWN
    assert checkout_commit(tmp_path / "missing") == UNKNOWN


def test_the_commit_is_unknown_without_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Pulumi.prod.yaml").write_text("config: {}\n")
    git_commit_all(tmp_path)
    monkeypatch.setattr(shutil, "which", lambda name: None)

    assert checkout_commit(tmp_path) == UNKNOWN


def test_the_commit_is_unknown_when_git_hangs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def hangs(*args: object, **kwargs: object) -> None:
        raise subprocess.TimeoutExpired("git", 10)

    monkeypatch.setattr(subprocess, "run", hangs)

    assert checkout_commit(tmp_path) == UNKNOWN


def test_a_git_dir_in_the_environment_does_not_redirect_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("a\n")
    commit = git_commit_all(tmp_path / "a")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere" / ".git"))

    assert checkout_commit(tmp_path / "a") == commit
