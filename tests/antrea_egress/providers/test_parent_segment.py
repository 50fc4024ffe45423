"""ParentSegmentProvider: the explicit parent's Tier-1, read in create against the simulator."""

from __future__ import annotations

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from antrea_egress.providers.base import UNKNOWN
from antrea_egress.providers.parent_segment import ParentSegmentError, ParentSegmentProvider
from nsxsim import LAB, NsxSimulator
from tests.conftest import nsx_config, outs_of

# Every test here waits on the simulator: a hang fails within 20 s.
pytestmark = pytest.mark.timeout(20)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ParentSegmentProvider, "environ", {})


def configured(sim: NsxSimulator) -> ParentSegmentProvider:
    provider = ParentSegmentProvider()
    provider.configure(ConfigureRequest(Config(nsx_config(sim), "antrea-egress")))
    return provider


def test_create_reads_the_tier1_and_read_follows_it(sim: NsxSimulator) -> None:
    provider = configured(sim)
    created = provider.create({"path": LAB.node_segment_path, "tier1_path": None})
    assert created.id == LAB.node_segment_path
    assert outs_of(created)["tier1_path"] == LAB.tier1_path
    assert [(r.method, r.path) for r in sim.requests if r.path.startswith("/policy")] == [
        ("GET", f"/policy/api/v1{LAB.node_segment_path}")
    ]
    other = sim.seed_tier1("t1-other")
    sim.modify(LAB.node_segment_path, connectivity_path=other)
    assert outs_of(provider.read(created.id, outs_of(created)))["tier1_path"] == other
    sim.remove(LAB.node_segment_path)
    assert provider.read(created.id, outs_of(created)).id is None


def test_a_missing_parent_is_named(sim: NsxSimulator) -> None:
    with pytest.raises(ParentSegmentError, match=r"/infra/segments/nope does not exist in NSX"):
        configured(sim).create({"path": "/infra/segments/nope"})


def test_a_parent_without_a_tier1_is_refused(sim: NsxSimulator) -> None:
    path = sim.seed_segment("isolated", connectivity_path=None)
    with pytest.raises(ParentSegmentError, match="not connected to a Tier-1"):
        configured(sim).create({"path": path})


def test_check_and_diff_are_local(sim: NsxSimulator) -> None:
    provider = configured(sim)
    sim.clear_requests()
    bad = provider.check({}, {"path": "/infra/tier-1s/t1"})
    assert [f.property for f in bad.failures] == ["path"]
    assert provider.check({}, {"path": UNKNOWN}).failures == []
    assert provider.check({}, {"path": LAB.node_segment_path}).failures == []
    same = provider.diff("x", {"path": LAB.node_segment_path}, {"path": LAB.node_segment_path})
    moved = provider.diff("x", {"path": LAB.node_segment_path}, {"path": "/infra/segments/b"})
    assert (same.changes, moved.changes, moved.replaces) == (False, True, ["path"])
    provider.delete(LAB.node_segment_path, {"path": LAB.node_segment_path})
    assert sim.requests == []
