"""Fixtures of the real-engine suite: one lab per module, and the program's stack in it.

Run with `python -m pytest tests_real_engine` once `tools/build-engine` has built the toolchain
(the fast suite under tests/ needs none of this). A missing toolchain is an error, not a skip:
this suite exists to run the real engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.lab import Lab, LabOptions
from lab.program import LabProgram
from lab.stack import values


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A module may set LAB_OPTIONS to run its lab differently (another CRD, say)."""
    options = getattr(request.module, "LAB_OPTIONS", LabOptions())
    with Lab(tmp_path_factory.mktemp("lab"), options) as running:
        yield running
        assert running.double_errors() == [], "a controller double failed"


@pytest.fixture(scope="module")
def program(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> LabProgram:
    work: Path = tmp_path_factory.mktemp("program")
    stack = LabProgram(lab.toolchain, work)
    stack.configure(values(lab))
    return stack
