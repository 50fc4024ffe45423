"""`egressctl discover` against the fake Supervisor and the NSX simulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from egressctl.cli import app
from nsxsim import LAB, NsxSimulator
from tests.antrea_egress.test_discovery import seed_supervisor
from tests.conftest import nsx_config
from tests.fakes.kube_api import FakeKubeApi

# Every test here waits on the simulator and a fake Supervisor: a hang fails within 20 s.
pytestmark = pytest.mark.timeout(20)

runner = CliRunner()


@pytest.fixture
def supervisor() -> Iterator[FakeKubeApi]:
    with FakeKubeApi() as api:
        seed_supervisor(api)
        yield api


def write_stack(work: Path, sim: NsxSimulator, supervisor: FakeKubeApi, **changes: Any) -> None:
    """A stack for the lab cluster (tkc-test01 in test), pointed at the two fakes."""
    config: dict[str, Any] = {
        **{k: v for k, v in nsx_config(sim).items() if k != "nsxt:password"},
        "nsxt:password": {"secure": "v1:not-decryptable-here"},
        "kubernetes:kubeconfig": supervisor.kubeconfig(),
        "kubernetes:context": "supervisor",  # the program requires it, so the loader does
        "antrea-egress:cluster": {
            "name": "tkc-test01",
            "vsphereNamespace": "test",
            "manage": False,
        },
        **changes,
    }
    (work / "Pulumi.disco.yaml").write_text(yaml.safe_dump({"config": config}))


def discover(work: Path, sim: NsxSimulator) -> Any:
    # The stack's password is encrypted; like the providers, discover falls back to NSXT_PASSWORD.
    return runner.invoke(
        app, ["discover", "--stack", "disco", "--work-dir", str(work)],
        env={"NSXT_PASSWORD": sim.password, "COLUMNS": "200"},
    )  # fmt: skip


def test_shows_segment_tier1_and_nat_evidence(
    tmp_path: Path, sim: NsxSimulator, supervisor: FakeKubeApi
) -> None:
    write_stack(tmp_path, sim, supervisor)
    result = discover(tmp_path, sim)
    assert result.exit_code == 0, result.output
    assert LAB.node_segment_path in result.output
    assert LAB.tier1_path in result.output
    assert "10.114.19.164" in result.output  # the namespace's SNAT IP: NAT mode


def test_routed_looking_namespace_with_nat_mode_gets_a_note(
    tmp_path: Path, sim: NsxSimulator, supervisor: FakeKubeApi
) -> None:
    supervisor.put("/api/v1/namespaces/test", {"kind": "Namespace"})
    vnet = "/apis/vmware.com/v1alpha1/namespaces/test/virtualnetworks/tkc-test01-x7k2p-vnet"
    document = supervisor.get(vnet)
    assert document is not None
    document["status"].pop("defaultSNATIP")
    supervisor.put(vnet, document)
    write_stack(tmp_path, sim, supervisor)
    result = discover(tmp_path, sim)
    assert result.exit_code == 0
    assert "natMode to false" in result.output


def test_nothing_found_fails_with_the_advice(
    tmp_path: Path, sim: NsxSimulator, supervisor: FakeKubeApi
) -> None:
    sim.modify(LAB.node_segment_path, unique_id="changed", tags=[])
    write_stack(tmp_path, sim, supervisor)
    result = discover(tmp_path, sim)
    assert result.exit_code == 1
    assert "cluster.nodeSegment" in result.output


def test_unknown_stack_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["discover", "--stack", "nope", "--work-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert json.dumps("nope") in result.output or "nope" in result.output
