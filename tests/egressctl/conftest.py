"""Fixtures shared by the egressctl tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from egressctl.project import PROJECT_DIR


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The program and the staging stack file, in a directory of their own."""
    work = tmp_path / "project"
    work.mkdir()
    for name in ("__main__.py", "Pulumi.staging.yaml"):
        shutil.copy(PROJECT_DIR / name, work / name)
    return work
