"""`egressctl preflight` on a Supervisor whose AntreaConfig CRD is the last public one: the dry
run shows the gate and the `antreaNSX` block dropped, names the spelling the CRD keeps, and
fails, before any `up`; still nothing changes anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.lab import Lab, LabOptions
from lab.program import LabProgram
from tests_real_engine.test_preflight import read_only_run, seed_supervisor, statuses

pytestmark = pytest.mark.timeout(600)

LAB_OPTIONS = LabOptions(antrea_config_schema="public")


def test_the_public_antrea_config_crd_fails_naming_the_spelling_it_keeps(
    program: LabProgram, lab: Lab, tmp_path: Path
) -> None:
    seed_supervisor(lab)
    document = read_only_run(program, lab, tmp_path)
    assert document["passed"] is False
    failed = {c["id"]: c for c in document["checks"] if c["status"] != "PASS"}
    assert set(failed) == {"supervisor-antrea-config"}
    check = failed["supervisor-antrea-config"]
    assert "gate EgressSeparateSubnet NO; spec.antreaNsx" in check["evidence"]
    assert "set manifests.ANTREA_NSX_BLOCK to 'antreaNsx'" in check["fix"]
    assert statuses(document)["supervisor-tkc"] == "PASS"
