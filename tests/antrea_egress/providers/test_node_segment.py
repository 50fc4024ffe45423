"""NodeSegmentProvider: discovery inside create, with both fakes; nothing at check time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from antrea_egress.discovery import DiscoveryError
from antrea_egress.kube import KubeError
from antrea_egress.providers.base import UNKNOWN
from antrea_egress.providers.node_segment import NodeSegmentProvider
from nsxsim import LAB, NsxSimulator
from tests.antrea_egress.test_discovery import CLUSTER, NAMESPACE, seed_supervisor
from tests.conftest import nsx_config, outs_of
from tests.fakes.kube_api import FakeKubeApi

# Every test here waits on the simulator and a fake Supervisor: a hang fails within 20 s.
pytestmark = pytest.mark.timeout(20)

INPUTS = {"vsphere_namespace": NAMESPACE, "cluster": CLUSTER, "cluster_uid": "uid-1"}


@pytest.fixture
def supervisor() -> Iterator[FakeKubeApi]:
    with FakeKubeApi() as api:
        seed_supervisor(api)
        yield api


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NodeSegmentProvider, "environ", {})


def configured(sim: NsxSimulator, **extra: Any) -> NodeSegmentProvider:
    provider = NodeSegmentProvider()
    provider.configure(ConfigureRequest(Config({**nsx_config(sim), **extra}, "antrea-egress")))
    return provider


def test_create_discovers_and_read_confirms(supervisor: FakeKubeApi, sim: NsxSimulator) -> None:
    provider = configured(sim, **{"kubernetes:kubeconfig": supervisor.kubeconfig()})
    created = provider.create(dict(INPUTS))
    assert created.id == f"{NAMESPACE}/{CLUSTER}"
    assert outs_of(created)["path"] == LAB.node_segment_path
    assert outs_of(created)["tier1_path"] == LAB.tier1_path
    assert outs_of(created)["snat_ip"] == "10.114.19.164"
    assert provider.read(created.id, outs_of(created)).id == created.id
    sim.remove(LAB.node_segment_path)
    assert provider.read(created.id, outs_of(created)).id is None


def test_kubeconfig_from_the_environment_and_a_named_context(
    supervisor: FakeKubeApi, sim: NsxSimulator, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(supervisor.kubeconfig(context="prod"))
    monkeypatch.setattr(NodeSegmentProvider, "environ", {"KUBECONFIG": str(kubeconfig)})
    provider = configured(sim, **{"kubernetes:context": "prod"})
    assert outs_of(provider.create(dict(INPUTS)))["path"] == LAB.node_segment_path


def test_discovery_failure_surfaces_the_guidance(
    supervisor: FakeKubeApi, sim: NsxSimulator
) -> None:
    sim.modify(LAB.node_segment_path, unique_id="changed", tags=[])
    provider = configured(sim, **{"kubernetes:kubeconfig": supervisor.kubeconfig()})
    with pytest.raises(DiscoveryError, match=r"cluster\.nodeSegment"):
        provider.create(dict(INPUTS))


def test_missing_kubeconfig_names_the_key(sim: NsxSimulator) -> None:
    with pytest.raises(KubeError, match="kubernetes:kubeconfig"):
        configured(sim).create(dict(INPUTS))


def test_check_is_local_and_tolerates_unknowns() -> None:
    provider = NodeSegmentProvider()
    assert provider.check({}, {**INPUTS, "cluster_uid": UNKNOWN}).failures == []
    failures = provider.check({}, {**INPUTS, "cluster": "Bad_Name"}).failures
    assert [f.property for f in failures] == ["cluster"]


def test_a_new_cluster_means_a_new_discovery() -> None:
    provider = NodeSegmentProvider()
    assert provider.diff("id", INPUTS, dict(INPUTS)).changes is False
    diff = provider.diff("id", INPUTS, {**INPUTS, "cluster_uid": "uid-2"})
    assert diff.replaces == ["cluster_uid"]
