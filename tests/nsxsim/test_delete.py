"""DELETE: 404/600, 500030 ordering, 503040 ports, purge_delay with marked_for_delete and 500045."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from nsxsim import LAB, NsxSimulator
from tests.nsxsim.conftest import api, child_body, expect_error, map_path, serving_lab

# Every test here waits on the simulator: a hang fails within 15 s.
pytestmark = pytest.mark.timeout(15)

SEG = "/infra/segments/egress-prod"
MAP = map_path("egress-prod", "bm-node")
MAP_BODY = {"segment_path": LAB.node_segment_path, "vlan_traffic_tag": 110}
PURGE_DELAY = 0.5  # binary-exact, so the fake clock lands on it exactly


def test_delete_missing_is_404_600(client: httpx.Client) -> None:
    body = expect_error(client.delete(api("/infra/segments/ghost")), 404, 600)
    assert body["error_message"] == (
        "The requested object : ghost could not be found. Object identifiers are case sensitive."
    )


def test_successful_delete_is_200_with_empty_body(client: httpx.Client, child: str) -> None:
    response = client.delete(api(child))
    assert (response.status_code, response.content) == (200, b"")
    expect_error(client.get(api(child)), 404, 600)


def test_child_with_maps_cannot_be_deleted(client: httpx.Client, child: str) -> None:
    client.patch(api(MAP), json=MAP_BODY)
    body = expect_error(client.delete(api(child)), 400, 500030)
    assert body["error_message"] == (
        f"The object path=[{child}] cannot be deleted as either it has children or it is being "
        f"referenced by other objects path=[{MAP}]."
    )
    assert client.delete(api(MAP)).status_code == 200
    assert client.delete(api(child)).status_code == 200


def test_referenced_parent_cannot_be_deleted(
    client: httpx.Client, sim: NsxSimulator, child: str
) -> None:
    parent = sim.seed_segment("parent-no-ports", connectivity_path=LAB.tier1_path)
    client.patch(api(MAP), json={**MAP_BODY, "segment_path": parent})
    body = expect_error(client.delete(api(parent)), 400, 500030)
    assert f"path=[{parent}]" in body["error_message"]
    assert f"path=[{MAP}]" in body["error_message"]
    client.delete(api(MAP))
    assert client.delete(api(parent)).status_code == 200


def test_segment_with_ports_cannot_be_deleted(client: httpx.Client, sim: NsxSimulator) -> None:
    path = sim.seed_segment("with-vms", connectivity_path=LAB.tier1_path, ports=2)
    ports = client.get(api(f"{path}/ports")).json()
    assert ports["result_count"] == 2
    assert all(p["resource_type"] == "SegmentPort" for p in ports["results"])
    body = expect_error(client.delete(api(path)), 400, 503040)
    assert "2" in body["error_message"]
    for port in ports["results"]:
        sim.remove(port["path"])
    assert client.get(api(f"{path}/ports")).json()["result_count"] == 0
    assert client.delete(api(path)).status_code == 200


def test_lab_parent_reports_references_before_ports(client: httpx.Client, child: str) -> None:
    client.patch(api(MAP), json=MAP_BODY)
    expect_error(client.delete(api(LAB.node_segment_path)), 400, 500030)
    client.delete(api(MAP))
    expect_error(client.delete(api(LAB.node_segment_path)), 400, 503040)


def test_ports_of_missing_segment_is_404(client: httpx.Client) -> None:
    expect_error(client.get(api("/infra/segments/ghost/ports")), 404, 600)


@pytest.fixture
def clock() -> list[float]:
    """The simulator's clock (one mutable reading): tests move it instead of sleeping."""
    return [100.0]


@pytest.fixture
def slow_purge(clock: list[float]) -> Iterator[tuple[NsxSimulator, httpx.Client]]:
    simulator = NsxSimulator(purge_delay=PURGE_DELAY, clock=lambda: clock[0])
    with serving_lab(simulator) as (started, http):
        yield started, http


def test_purge_delay_marks_for_delete_then_purges(
    slow_purge: tuple[NsxSimulator, httpx.Client], clock: list[float]
) -> None:
    sim, http = slow_purge
    http.patch(api(SEG), json=child_body())
    assert http.delete(api(SEG)).status_code == 200
    expect_error(http.get(api(SEG)), 404, 600)
    assert sim.get(SEG) is None
    assert SEG not in [s["path"] for s in http.get(api("/infra/segments")).json()["results"]]
    marked = http.get(api("/infra/segments"), params={"include_mark_for_delete_objects": "true"})
    listed = {s["path"]: s for s in marked.json()["results"]}
    assert listed[SEG]["marked_for_delete"] is True
    assert sim.objects(include_marked=True)[SEG]["marked_for_delete"] is True
    expect_error(http.delete(api(SEG)), 404, 600)
    clock[0] += PURGE_DELAY - 0.25
    still = http.get(api("/infra/segments"), params={"include_mark_for_delete_objects": "true"})
    assert SEG in [s["path"] for s in still.json()["results"]]
    clock[0] += 0.25
    after = http.get(api("/infra/segments"), params={"include_mark_for_delete_objects": "true"})
    assert SEG not in [s["path"] for s in after.json()["results"]]


def test_rewriting_an_id_marked_for_delete_is_500045_until_purged(
    slow_purge: tuple[NsxSimulator, httpx.Client], clock: list[float]
) -> None:
    _sim, http = slow_purge
    http.patch(api(SEG), json=child_body())
    http.delete(api(SEG))
    expect_error(http.patch(api(SEG), json=child_body()), 400, 500045)
    expect_error(http.put(api(SEG), json=child_body()), 400, 500045)
    clock[0] += PURGE_DELAY
    response = http.patch(api(SEG), json=child_body())
    assert response.status_code == 200
    assert http.get(api(SEG)).json()["_revision"] == 0


def test_marked_map_no_longer_blocks_its_child(
    slow_purge: tuple[NsxSimulator, httpx.Client],
) -> None:
    _sim, http = slow_purge
    http.patch(api(SEG), json=child_body())
    http.patch(api(MAP), json=MAP_BODY)
    assert http.delete(api(MAP)).status_code == 200
    assert http.delete(api(SEG)).status_code == 200
