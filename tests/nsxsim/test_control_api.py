"""The Python control surface: LAB seed, get/objects/modify/remove, and the request log."""

from __future__ import annotations

import httpx
import pytest

from nsxsim import DEFAULT_TZ_PATH, LAB, Fault, NsxSimulator, RecordedRequest
from tests.nsxsim.conftest import api, child_body

# Every test here waits on the simulator: a hang fails within 15 s.
pytestmark = pytest.mark.timeout(15)


def test_lab_constants_match_the_field_procedure() -> None:
    assert LAB.node_segment_id == "vnet_60f55536-121d-40d0-ac48-4cb976decf3d_0"
    assert LAB.node_segment_path == f"/infra/segments/{LAB.node_segment_id}"
    assert LAB.tier1_path == "/infra/tier-1s/t1_976ece6c-2c8b-4184-9d1c-ee98b4e89227_rtr"
    assert LAB.transport_zone_path == DEFAULT_TZ_PATH
    assert LAB.vnet_uid in LAB.node_segment_id
    with pytest.raises(AttributeError):
        LAB.tier1_id = "changed"  # type: ignore[misc]


def test_seed_lab_objects(sim: NsxSimulator) -> None:
    segment = sim.get(LAB.node_segment_path)
    assert segment is not None
    assert segment["connectivity_path"] == LAB.tier1_path
    assert segment["transport_zone_path"] == LAB.transport_zone_path
    assert segment["unique_id"] == LAB.node_segment_unique_id
    assert segment["subnets"] == [{"gateway_address": "10.244.0.1/28", "network": "10.244.0.0/28"}]
    assert {"scope": "ncp/vnet_uid", "tag": LAB.vnet_uid} in segment["tags"]
    assert {"scope": "ncp/cluster", "tag": LAB.cluster_id} in segment["tags"]
    ports = sim.objects(f"{LAB.node_segment_path}/ports")
    assert len(ports) == LAB.node_segment_ports
    tier1 = sim.get(LAB.tier1_path)
    assert tier1 is not None
    assert tier1["resource_type"] == "Tier1"


def test_seed_segment_returns_path_and_overwrites(sim: NsxSimulator) -> None:
    path = sim.seed_segment("p", connectivity_path=None, ports=2, unique_id="u-1")
    assert path == "/infra/segments/p"
    assert sim.seed_segment("p", connectivity_path=LAB.tier1_path) == path
    segment = sim.get(path)
    assert segment is not None
    assert segment["type"] == "ROUTED"
    assert segment["unique_id"] != "u-1"
    assert sim.objects(f"{path}/ports") == {}


def test_get_returns_a_deep_copy(sim: NsxSimulator) -> None:
    first = sim.get(LAB.node_segment_path)
    assert first is not None
    first["tags"].clear()
    again = sim.get(LAB.node_segment_path)
    assert again is not None
    assert again["tags"]
    assert sim.get("/infra/segments/none") is None


def test_objects_by_prefix(sim: NsxSimulator) -> None:
    everything = sim.objects()
    assert LAB.node_segment_path in everything
    assert LAB.tier1_path in everything
    assert set(sim.objects("/infra/tier-1s")) == {LAB.tier1_path}


def test_modify_merges_and_bumps_revision(sim: NsxSimulator, client: httpx.Client) -> None:
    sim.modify(
        LAB.node_segment_path, display_name="edited", subnets=[{"gateway_address": "10.9.0.1/24"}]
    )
    segment = client.get(api(LAB.node_segment_path)).json()
    assert segment["display_name"] == "edited"
    assert segment["_revision"] == 1
    assert segment["subnets"][0]["network"] == "10.9.0.0/24"
    with pytest.raises(KeyError):
        sim.modify("/infra/segments/none", display_name="x")


def test_remove_deletes_without_checks(sim: NsxSimulator, client: httpx.Client) -> None:
    sim.remove(LAB.node_segment_path)  # it has ports: an API DELETE would be refused
    assert sim.get(LAB.node_segment_path) is None
    assert sim.objects(LAB.node_segment_path) == {}
    assert client.get(api(LAB.node_segment_path)).status_code == 404


def test_request_log_records_everything(sim: NsxSimulator, client: httpx.Client) -> None:
    sim.clear_requests()
    client.patch(api("/infra/segments/egress-prod"), json=child_body(), params={"force": "false"})
    client.get(api("/infra/segments"), params={"page_size": "10"})
    client.get(api("/infra/segments"), auth=("admin", "bad"))
    sim.add_fault(Fault("tier-1s", status=503))
    client.get(api(LAB.tier1_path))
    log = sim.requests
    assert log[0] == RecordedRequest(
        method="PATCH",
        path="/policy/api/v1/infra/segments/egress-prod",
        query={"force": "false"},
        body=child_body(),
        user="admin",
        status=200,
    )
    assert (log[1].method, log[1].query, log[1].body) == ("GET", {"page_size": "10"}, None)
    assert (log[2].user, log[2].status) == (None, 403)
    assert (log[3].user, log[3].status) == ("admin", 503)
    assert len(log) == 4
    sim.clear_requests()
    assert sim.requests == []


def test_request_log_path_is_decoded_without_query(sim: NsxSimulator, client: httpx.Client) -> None:
    sim.clear_requests()
    intent = LAB.node_segment_path
    client.get(api("/infra/realized-state/realized-entities"), params={"intent_path": intent})
    (entry,) = sim.requests
    assert entry.path == "/policy/api/v1/infra/realized-state/realized-entities"
    assert entry.query == {"intent_path": intent}


def test_constructor_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="user"):
        NsxSimulator(users={})
    with pytest.raises(ValueError, match="realization"):
        NsxSimulator(realization=["DONE"])


def test_set_realization_rejects_unknown_states(sim: NsxSimulator) -> None:
    with pytest.raises(ValueError, match="states"):
        sim.set_realization(".*", ["IN_PROGRESS"])


def test_address_properties_need_a_running_simulator() -> None:
    simulator = NsxSimulator()
    with pytest.raises(RuntimeError):
        _ = simulator.base_url
    with simulator:
        assert simulator.base_url.startswith("https://127.0.0.1:")
    simulator.stop()  # stopping twice is harmless


def test_the_schemas_of_tag_and_managed_resource_give_the_enforced_limits(
    sim: NsxSimulator,
) -> None:
    """As vmware-nsxlib's get_tag_limits reads them (v3/lib.py)."""
    with httpx.Client(
        base_url=sim.base_url, verify=sim.client_ssl_context(), auth=(sim.username, sim.password)
    ) as client:
        tag = client.get("/api/v1/spec/vmware/types/Tag").json()
        resource = client.get("/api/v1/spec/vmware/types/ManagedResource").json()
        assert client.get("/api/v1/spec/vmware/types/Nothing").status_code == 404
        assert client.post("/api/v1/spec/vmware/types/Tag", json={}).status_code == 405
    assert (tag["properties"]["scope"]["maxLength"], tag["properties"]["tag"]["maxLength"]) == (
        128,
        256,
    )
    assert resource["properties"]["tags"]["maxItems"] == 30
