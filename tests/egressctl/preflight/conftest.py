"""Fixtures of the preflight tests: a healthy site before the first `up`, and after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nsxsim import NsxSimulator
from tests.egressctl.preflight.world import World, seed_cluster, seed_site
from tests.fakes.kube_api import FakeKubeApi


@pytest.fixture
def site(sim: NsxSimulator) -> Iterator[World]:
    """NSX (the field-procedure lab), a Supervisor with everything the stack names, no cluster."""
    with FakeKubeApi() as supervisor, FakeKubeApi(token="guest-token") as guest:
        seed_site(supervisor)
        yield World(sim, supervisor, guest)


@pytest.fixture
def deployed(site: World) -> World:
    """The same site once the cluster exists: its Supervisor objects and a healthy guest."""
    seed_cluster(site)
    return site
