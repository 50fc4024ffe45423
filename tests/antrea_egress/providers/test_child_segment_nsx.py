"""ChildSegmentProvider against the NSX simulator over HTTPS: lifecycle, drift, failures."""

from __future__ import annotations

import dataclasses
import logging
import ssl
from typing import Any

import httpx
import pytest
from pulumi.dynamic import Config, ConfigureRequest

from antrea_egress.nsx.client import ClientTuning, RetryPolicy
from antrea_egress.nsx.errors import NsxApiError, NsxAuthError, NsxTlsError
from antrea_egress.providers.child_segment import ChildSegmentError, ChildSegmentProvider
from antrea_egress.providers.child_segment_inputs import OUTPUT_KEYS
from nsxsim import LAB, Fault, NsxSimulator
from nsxsim.errors import ERR_REALIZATION_FAILED
from tests.conftest import nsx_config, outs_of

# Every test here waits on the simulator (realization and conflicts on the test-only FAST
# timeouts below): a hang fails within 20 s.
pytestmark = pytest.mark.timeout(20)

FAST = ClientTuning(
    request_timeout=5,
    connect_timeout=2,
    retry=RetryPolicy(max_attempts=4, initial_backoff=0.01, max_backoff=0.05, deadline=5),
    realization_timeout=3,
    realization_first_interval=0.01,
    realization_max_interval=0.05,
    conflict_timeout=0.5,
    conflict_interval=0.05,
)
SEGMENT_ID = "egress-test-tkc-test01-prod"
SEGMENT = f"/infra/segments/{SEGMENT_ID}"
BINDING_MAP = f"{SEGMENT}/segment-connection-binding-maps/bm-{LAB.node_segment_id}"
ZONE_TAG = {"scope": "antrea-egress/zone", "tag": "prod"}
NEWS: dict[str, Any] = {
    "nsx_id": SEGMENT_ID,
    "parent_path": LAB.node_segment_path,
    "vlan": 110.0,
    "cidr": "10.100.5.0/25",
    "gateway": "10.100.5.1",
    "tags": [ZONE_TAG],
}


@pytest.fixture(autouse=True)
def fast_and_isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ChildSegmentProvider, "tuning", FAST)
    monkeypatch.setattr(ChildSegmentProvider, "environ", {})


def configured(sim: NsxSimulator, **overrides: Any) -> ChildSegmentProvider:
    provider = ChildSegmentProvider()
    config = {k: v for k, v in nsx_config(sim, **overrides).items() if v is not None}
    provider.configure(ConfigureRequest(Config(config, "antrea-egress")))
    return provider


def checked(provider: ChildSegmentProvider, **changes: Any) -> dict[str, Any]:
    result = provider.check({}, {**NEWS, **changes})
    assert result.failures == []
    return dict(result.inputs)


def nsx_api(sim: NsxSimulator, method: str, path: str, body: dict[str, Any]) -> None:
    """Change NSX behind the provider's back, through the API like another tool would."""
    with httpx.Client(verify=ssl.create_default_context(cafile=sim.ca_file)) as client:
        response = client.request(
            method,
            f"{sim.base_url}/policy/api/v1{path}",
            json=body,
            auth=(sim.username, sim.password),
        )
        response.raise_for_status()


def writes(sim: NsxSimulator) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in sim.requests if r.method in {"PATCH", "PUT", "DELETE"}]


def test_full_lifecycle(sim: NsxSimulator) -> None:
    provider = configured(sim)
    inputs = checked(provider)

    created = provider.create(inputs)
    assert created.id == SEGMENT_ID
    segment, binding = sim.get(SEGMENT), sim.get(BINDING_MAP)
    assert segment is not None
    assert binding is not None
    assert segment["connectivity_path"] == LAB.tier1_path
    assert segment["transport_zone_path"] == LAB.transport_zone_path
    assert [s["gateway_address"] for s in segment["subnets"]] == ["10.100.5.1/25"]
    assert {"scope": "antrea-egress/managed-by", "tag": "pulumi"} in segment["tags"]
    assert ZONE_TAG in segment["tags"]
    assert "vlan_ids" not in segment  # the VLAN belongs in the binding map
    assert (binding["segment_path"], binding["vlan_traffic_tag"]) == (LAB.node_segment_path, 110)
    outs = outs_of(created)
    assert outs["path"] == SEGMENT
    assert outs["binding_map_path"] == BINDING_MAP
    assert outs["tier1_path"] == LAB.tier1_path
    assert outs["transport_zone_path"] == LAB.transport_zone_path
    assert outs["network"] == "10.100.5.0/25"

    read = provider.read(SEGMENT_ID, outs)
    assert read.id == SEGMENT_ID
    assert read.inputs is not None
    assert {k: read.inputs[k] for k in inputs} == inputs  # no drift right after create
    assert provider.diff(SEGMENT_ID, outs_of(read), inputs).changes is False

    retagged = checked(provider, tags=[ZONE_TAG, {"scope": "team", "tag": "payments"}])
    diff = provider.diff(SEGMENT_ID, outs, retagged)
    assert (diff.changes, diff.replaces) == (True, [])
    updated = provider.update(SEGMENT_ID, outs, retagged)
    assert outs_of(updated)["binding_map_path"] == BINDING_MAP
    for path in (SEGMENT, BINDING_MAP):
        stored = sim.get(path)
        assert stored is not None
        assert {"scope": "team", "tag": "payments"} in stored["tags"]

    revlanned = provider.diff(SEGMENT_ID, outs_of(updated), checked(provider, vlan=120))
    assert revlanned.replaces == ["vlan"]
    assert revlanned.delete_before_replace is True

    sim.clear_requests()
    provider.delete(SEGMENT_ID, outs_of(updated))
    assert sim.get(SEGMENT) is None
    assert sim.get(BINDING_MAP) is None
    assert writes(sim) == [
        ("DELETE", "/policy/api/v1" + BINDING_MAP),
        ("DELETE", "/policy/api/v1" + SEGMENT),
    ]
    assert sim.get(LAB.node_segment_path) is not None  # the parent is never touched


def test_refresh_reports_a_segment_deleted_out_of_band_as_gone(sim: NsxSimulator) -> None:
    provider = configured(sim)
    outs = outs_of(provider.create(checked(provider)))
    sim.remove(BINDING_MAP)
    sim.remove(SEGMENT)
    assert provider.read(SEGMENT_ID, outs).id is None


def test_refresh_shows_vlan_and_gateway_changed_out_of_band(sim: NsxSimulator) -> None:
    provider = configured(sim)
    inputs = checked(provider)
    outs = outs_of(provider.create(inputs))
    sim.modify(BINDING_MAP, vlan_traffic_tag=999)
    sim.modify(SEGMENT, subnets=[{"gateway_address": "10.100.5.126/25"}])

    read = provider.read(SEGMENT_ID, outs)
    assert read.inputs is not None
    assert (read.inputs["vlan"], read.inputs["gateway"]) == (999, "10.100.5.126")
    diff = provider.diff(SEGMENT_ID, outs_of(read), inputs)
    assert sorted(diff.replaces or []) == ["gateway", "vlan"]


def test_refresh_shows_a_binding_map_deleted_out_of_band(sim: NsxSimulator) -> None:
    provider = configured(sim)
    inputs = checked(provider)
    outs = outs_of(provider.create(inputs))
    sim.remove(BINDING_MAP)
    read = provider.read(SEGMENT_ID, outs)
    assert read.inputs is not None
    assert (read.inputs["parent_path"], read.inputs["vlan"]) == (None, None)
    assert "vlan" in (provider.diff(SEGMENT_ID, outs_of(read), inputs).replaces or [])


def test_realization_error_fails_with_nsx_alarm_and_rolls_back(sim: NsxSimulator) -> None:
    sim.set_realization(
        "segment-connection-binding-maps", ["UNREALIZED", "ERROR"], alarm="VLAN 110 clash"
    )
    provider = configured(sim)
    with pytest.raises(ChildSegmentError, match="VLAN 110 clash") as caught:
        provider.create(checked(provider))
    assert "rolled back" in str(caught.value)
    assert sim.get(SEGMENT) is None
    assert sim.get(BINDING_MAP) is None


def test_failure_between_segment_and_binding_map_rolls_back(sim: NsxSimulator) -> None:
    sim.add_fault(
        Fault(
            path_regex="segment-connection-binding-maps",
            method="PATCH",
            status=400,
            error_code=500012,
        )
    )
    provider = configured(sim)
    with pytest.raises(ChildSegmentError, match="rolled back"):
        provider.create(checked(provider))
    assert sim.get(SEGMENT) is None


def test_failed_rollback_then_next_up_converges(sim: NsxSimulator) -> None:
    sim.add_fault(
        Fault(
            path_regex="segment-connection-binding-maps",
            method="PATCH",
            status=400,
            error_code=500012,
        )
    )
    sim.add_fault(Fault(path_regex=f"{SEGMENT}$", method="DELETE", drop=True, times=100))
    provider = configured(sim)
    with pytest.raises(ChildSegmentError, match="Run `pulumi up` again"):
        provider.create(checked(provider))
    assert sim.get(SEGMENT) is not None  # left behind, and the message said so
    assert sim.get(BINDING_MAP) is None

    sim.clear_faults()
    inputs = checked(provider)
    created = provider.create(inputs)  # the next `pulumi up` runs create again
    assert sim.get(BINDING_MAP) is not None
    read = provider.read(SEGMENT_ID, outs_of(created))
    assert provider.diff(SEGMENT_ID, outs_of(read), inputs).changes is False


def test_parent_must_exist_and_be_connected_to_a_tier1(sim: NsxSimulator) -> None:
    provider = configured(sim)
    with pytest.raises(ChildSegmentError, match="does not exist in NSX"):
        provider.create(checked(provider, parent_path="/infra/segments/no-such-parent"))
    sim.seed_segment("isolated", connectivity_path=None)
    with pytest.raises(ChildSegmentError, match="not connected to a Tier-1"):
        provider.create(checked(provider, parent_path="/infra/segments/isolated"))
    assert writes(sim) == []


def test_vlan_taken_by_another_child_is_refused_before_writing(sim: NsxSimulator) -> None:
    provider = configured(sim)
    provider.create(checked(provider, nsx_id="egress-other", tags=[]))
    sim.clear_requests()
    with pytest.raises(ChildSegmentError, match="/infra/segments/egress-other") as caught:
        provider.create(checked(provider))
    assert str(caught.value) == (
        f"VLAN 110 is already bound to {LAB.node_segment_path} by the child segment "
        "/infra/segments/egress-other (binding map /infra/segments/egress-other/"
        f"segment-connection-binding-maps/bm-{LAB.node_segment_id}); children of one parent "
        "need different VLANs"
    )
    assert writes(sim) == []


def test_another_childs_binding_map_that_carries_our_id_is_not_taken_for_our_segment(
    sim: NsxSimulator,
) -> None:
    # Binding-map ids are free text; another tool may have named one like our segment.
    sim.seed_segment("another-child", connectivity_path=LAB.tier1_path)
    stray = f"/infra/segments/another-child/segment-connection-binding-maps/{SEGMENT_ID}"
    nsx_api(sim, "PATCH", stray, {"segment_path": LAB.node_segment_path, "vlan_traffic_tag": 7})
    provider = configured(sim)
    provider.create(checked(provider))  # VLAN 110 is free, and the segment is ours to create
    assert sim.get(BINDING_MAP) is not None


@pytest.mark.parametrize(
    "fault",
    [
        Fault(path_regex=LAB.node_segment_id, method="GET", status=429, times=2),
        Fault(path_regex=LAB.node_segment_id, method="GET", status=503, times=2),
        Fault(path_regex="/infra/segments/egress-", method="PATCH", drop=True, times=2),
    ],
    ids=["429", "503", "dropped-connection"],
)
def test_transient_failures_are_retried(sim: NsxSimulator, fault: Fault) -> None:
    sim.add_fault(fault)
    provider = configured(sim)
    provider.create(checked(provider))
    assert sim.get(BINDING_MAP) is not None
    retried = [r for r in sim.requests if r.status in (0, 429, 503)]
    assert len(retried) == 2


def test_retries_are_bounded(sim: NsxSimulator) -> None:
    sim.add_fault(Fault(path_regex=LAB.node_segment_id, method="GET", status=503, times=1000))
    provider = configured(sim)
    with pytest.raises(NsxApiError, match="HTTP 503"):
        provider.create(checked(provider))
    assert len(sim.requests) == FAST.retry.max_attempts


def test_rate_limited_nsx_still_converges(
    sim: NsxSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A one-second rate window needs backoff that can reach a second, as the defaults do.
    patient = RetryPolicy(max_attempts=10, initial_backoff=0.2, max_backoff=1.0, deadline=20)
    monkeypatch.setattr(ChildSegmentProvider, "tuning", dataclasses.replace(FAST, retry=patient))
    sim.rate_limit_per_second = 3
    provider = configured(sim)
    provider.create(checked(provider))
    assert sim.get(BINDING_MAP) is not None
    assert any(r.status == 429 for r in sim.requests)


def test_wrong_credentials_fail_once_with_a_hint(sim: NsxSimulator) -> None:
    provider = configured(sim, **{"nsxt:password": "wrong-password"})
    with pytest.raises(NsxAuthError, match="nsxt:username and nsxt:password") as caught:
        provider.create(checked(provider))
    assert "wrong-password" not in str(caught.value)
    assert len(sim.requests) == 1


def test_tls_fails_without_the_ca_and_says_to_set_ca_file(sim: NsxSimulator) -> None:
    provider = configured(sim, **{"nsxt:caFile": None})
    with pytest.raises(NsxTlsError, match="nsxt:caFile"):
        provider.create(checked(provider))
    assert sim.get(SEGMENT) is None


def test_tls_verification_can_be_switched_off_explicitly(sim: NsxSimulator) -> None:
    provider = configured(sim, **{"nsxt:caFile": None, "nsxt:allowUnverifiedSsl": "true"})
    provider.create(checked(provider))
    assert sim.get(SEGMENT) is not None


def test_session_auth_logs_in_once_and_again_after_expiry(sim: NsxSimulator) -> None:
    provider = configured(sim, **{"nsxt:sessionAuth": True})
    outs = outs_of(provider.create(checked(provider)))
    assert sim.requests[0].path == "/api/session/create"
    assert all(r.user == sim.username for r in sim.requests)
    sim.clear_requests()
    assert provider.read(SEGMENT_ID, outs).id == SEGMENT_ID
    assert [r.method for r in sim.requests] == ["GET", "GET"]  # the session is reused
    sim.expire_sessions()
    sim.clear_requests()
    provider.delete(SEGMENT_ID, outs)
    logins = [r for r in sim.requests if r.path == "/api/session/create"]
    assert len(logins) == 1  # 403 with code 98, a new session, the same request again
    assert any(r.status == 403 for r in sim.requests)
    assert sim.get(SEGMENT) is None


def test_delete_treats_missing_objects_as_deleted(sim: NsxSimulator) -> None:
    provider = configured(sim)
    outs = outs_of(provider.create(checked(provider)))
    provider.delete(SEGMENT_ID, outs)
    sim.clear_requests()
    provider.delete(SEGMENT_ID, outs)  # again: both 404, both fine
    answers = [(r.method, r.path, r.status) for r in sim.requests]
    assert answers == [
        ("DELETE", "/policy/api/v1" + BINDING_MAP, 404),
        ("DELETE", "/policy/api/v1" + SEGMENT, 404),
    ]
    assert (sim.get(SEGMENT), sim.get(BINDING_MAP)) == (None, None)


def test_delete_waits_out_a_passing_conflict(sim: NsxSimulator) -> None:
    provider = configured(sim)
    outs = outs_of(provider.create(checked(provider)))
    sim.add_fault(
        Fault(path_regex=f"{SEGMENT}$", method="DELETE", status=400, error_code=500030, times=2)
    )
    provider.delete(SEGMENT_ID, outs)
    assert sim.get(SEGMENT) is None


def test_delete_surfaces_a_lasting_conflict_with_nsx_message(sim: NsxSimulator) -> None:
    provider = configured(sim)
    outs = outs_of(provider.create(checked(provider)))
    other_parent = sim.seed_segment("someone-elses-parent", connectivity_path=LAB.tier1_path)
    stray = {"segment_path": other_parent, "vlan_traffic_tag": 7}
    nsx_api(sim, "PATCH", f"{SEGMENT}/segment-connection-binding-maps/stray", stray)
    with pytest.raises(NsxApiError, match="500030") as caught:
        provider.delete(SEGMENT_ID, outs)
    assert "cannot be deleted" in str(caught.value)
    assert sim.get(SEGMENT) is not None


def test_replace_with_the_same_id_waits_for_the_purge(
    sim: NsxSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The purge takes 0.3 s of real time; a conflict budget well above it keeps a loaded
    # machine from turning the wait into a failure.
    monkeypatch.setattr(
        ChildSegmentProvider, "tuning", dataclasses.replace(FAST, conflict_timeout=5)
    )
    slow = NsxSimulator(purge_delay=0.3).start()
    try:
        slow.seed_lab()
        provider = configured(slow)
        outs = outs_of(provider.create(checked(provider)))
        provider.delete(SEGMENT_ID, outs)
        provider.create(checked(provider, vlan=120))  # delete-before-replace, same id
        binding = slow.get(BINDING_MAP)
        assert binding is not None
        assert binding["vlan_traffic_tag"] == 120
        assert any(r.status == 400 for r in slow.requests)  # 500045 was seen and waited out
    finally:
        slow.stop()


def test_update_of_description_only_writes_the_segment(sim: NsxSimulator) -> None:
    provider = configured(sim)
    inputs = checked(provider)
    outs = outs_of(provider.create(inputs))
    sim.clear_requests()
    provider.update(SEGMENT_ID, outs, checked(provider, description="payments egress"))
    assert writes(sim) == [("PATCH", "/policy/api/v1" + SEGMENT)]
    stored = sim.get(SEGMENT)
    assert stored is not None
    assert stored["description"] == "payments egress"


def test_update_after_an_out_of_band_delete_restores_the_whole_segment(sim: NsxSimulator) -> None:
    provider = configured(sim)
    outs = outs_of(provider.create(checked(provider)))
    sim.remove(BINDING_MAP)
    sim.remove(SEGMENT)
    provider.update(SEGMENT_ID, outs, checked(provider, description="payments egress"))
    segment = sim.get(SEGMENT)
    assert segment is not None
    assert segment["connectivity_path"] == LAB.tier1_path  # not a DISCONNECTED shell
    assert [s["gateway_address"] for s in segment["subnets"]] == ["10.100.5.1/25"]


def test_a_foreign_segment_with_our_id_is_refused_and_left_untouched(sim: NsxSimulator) -> None:
    foreign = sim.seed_segment(
        SEGMENT_ID,
        connectivity_path=LAB.tier1_path,
        gateway_address="10.200.0.1/24",
        tags=[{"scope": "owner", "tag": "someone-else"}],
    )
    provider = configured(sim)
    sim.clear_requests()
    with pytest.raises(ChildSegmentError) as caught:
        provider.create(checked(provider))
    missing = [("antrea-egress/managed-by", "pulumi"), ("antrea-egress/zone", "prod")]
    assert str(caught.value) == (
        f"the segment {SEGMENT} already exists in NSX and is not this zone's (it lacks the "
        f"tags {missing}); delete or rename it in NSX, or give the zone another name. It is "
        "left untouched"
    )
    assert writes(sim) == []
    segment = sim.get(foreign)
    assert segment is not None
    assert [s["gateway_address"] for s in segment["subnets"]] == ["10.200.0.1/24"]


def test_create_looks_up_vlans_and_its_own_id_in_one_search(sim: NsxSimulator) -> None:
    provider = configured(sim)
    sim.clear_requests()
    provider.create(checked(provider))
    searches = [r for r in sim.requests if r.path.endswith("/search/query")]
    assert len(searches) == 1
    assert " OR (resource_type:Segment AND id:" in searches[0].query["query"]


def test_binding_map_write_waits_out_a_pending_purge(sim: NsxSimulator) -> None:
    sim.add_fault(
        Fault(
            path_regex="segment-connection-binding-maps",
            method="PATCH",
            status=400,
            error_code=500045,
            times=2,
        )
    )
    provider = configured(sim)
    provider.create(checked(provider))
    assert sim.get(BINDING_MAP) is not None


def test_tags_in_another_order_are_no_change(sim: NsxSimulator) -> None:
    provider = configured(sim)
    two = [ZONE_TAG, {"scope": "team", "tag": "payments"}]
    outs = outs_of(provider.create(checked(provider, tags=two)))
    assert (
        provider.diff(SEGMENT_ID, outs, checked(provider, tags=list(reversed(two)))).changes
        is False
    )


# --- a create that fails at any step leaves nothing, or says exactly what it left -----------

API_SEGMENT = "/policy/api/v1" + SEGMENT
API_BINDING_MAP = "/policy/api/v1" + BINDING_MAP
SEGMENT_PATCHES = Fault(path_regex=f"{SEGMENT}$", method="PATCH", drop_answer=True, times=100)


def deletes_of(sim: NsxSimulator, api_path: str) -> int:
    return sum(1 for r in sim.requests if (r.method, r.path) == ("DELETE", api_path))


def test_a_segment_write_applied_but_never_answered_is_rolled_back(sim: NsxSimulator) -> None:
    sim.add_fault(SEGMENT_PATCHES)  # NSX applies every PATCH, the client hears no answer
    provider = configured(sim)
    with pytest.raises(ChildSegmentError, match="no answer from NSX") as caught:
        provider.create(checked(provider))
    assert "rolled back (nothing left in NSX)" in str(caught.value)
    assert sim.get(SEGMENT) is None
    assert sim.get(BINDING_MAP) is None
    assert deletes_of(sim, API_SEGMENT) == 1
    assert deletes_of(sim, API_BINDING_MAP) == 0  # never sent, so nothing to undo


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        (8327, ". VLAN 110 is taken on " + LAB.node_segment_path),  # a duplicate-VLAN code
        (500012, ""),  # any other refusal is NSX's words alone
    ],
)
def test_a_refused_binding_map_is_rolled_back_with_a_vlan_hint_only_for_a_vlan_clash(
    sim: NsxSimulator, code: int, hint: str
) -> None:
    sim.add_fault(Fault(path_regex="segment-connection-binding-maps/", method="PATCH", status=400,
                        error_code=code, message="refused"))  # fmt: skip
    provider = configured(sim)
    with pytest.raises(ChildSegmentError) as caught:
        provider.create(checked(provider))
    assert str(caught.value) == (
        f"creating {SEGMENT} failed and was rolled back (nothing left in NSX): PATCH "
        f"{API_BINDING_MAP} failed: HTTP 400, NSX error {code}: refused{hint}"
    )
    assert sim.get(SEGMENT) is None


def test_a_rollback_that_fails_names_the_segment_left_and_the_next_up_adopts_it(
    sim: NsxSimulator,
) -> None:
    sim.add_fault(SEGMENT_PATCHES)
    sim.add_fault(Fault(path_regex=f"{SEGMENT}$", method="DELETE", drop=True, times=100))
    provider = configured(sim)
    with pytest.raises(ChildSegmentError) as caught:
        provider.create(checked(provider))
    message = str(caught.value)
    lost = f"PATCH {API_SEGMENT} failed: no answer from NSX at {sim.host}"
    assert message.startswith(f"creating {SEGMENT} failed: {lost} (RemoteProtocolError")
    assert message.endswith(  # the binding map is not named: its write was never sent
        f"Rolling back failed too (DELETE {API_SEGMENT} failed: no answer from NSX at "
        f"{sim.host} (RemoteProtocolError: Server disconnected without sending a response.)), "
        f"so NSX may still hold the segment {SEGMENT}, which Pulumi's state does not record. "
        "Run `pulumi up` again: it completes them (same ids, this zone's tags). If you destroy "
        "the stack instead, delete them in NSX yourself (the binding map first)"
    )
    assert sim.get(SEGMENT) is not None

    sim.clear_faults()
    inputs = checked(provider)
    created = provider.create(inputs)  # the next `pulumi up`
    assert [p for p in sim.objects("/infra/segments") if p.endswith(SEGMENT_ID)] == [SEGMENT]
    assert sim.get(BINDING_MAP) is not None
    read = provider.read(SEGMENT_ID, outs_of(created))
    assert provider.diff(SEGMENT_ID, outs_of(read), inputs).changes is False


def test_a_rollback_that_removed_the_binding_map_names_only_the_segment_left(
    sim: NsxSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    sim.set_realization("segment-connection-binding-maps", ["ERROR"], alarm="VLAN 110 clash")
    sim.add_fault(Fault(path_regex=f"{SEGMENT}$", method="DELETE", status=400, error_code=500012,
                        message="refused", times=100))  # fmt: skip
    provider = configured(sim)
    with pytest.raises(ChildSegmentError) as caught:
        provider.create(checked(provider))
    refused = f"DELETE {API_SEGMENT} failed: HTTP 400, NSX error 500012: refused"
    assert f"({refused}), so NSX may still hold the segment {SEGMENT}, which" in str(caught.value)
    assert sim.get(BINDING_MAP) is None  # rolled back, so not named
    assert sim.get(SEGMENT) is not None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"rollback of {SEGMENT} failed: {refused}"]


def test_a_failed_binding_map_delete_names_the_binding_map_and_the_segment(
    sim: NsxSimulator,
) -> None:
    sim.set_realization("segment-connection-binding-maps", ["ERROR"], alarm="VLAN 110 clash")
    sim.add_fault(Fault(path_regex="segment-connection-binding-maps/", method="DELETE", drop=True,
                        times=100))  # fmt: skip
    provider = configured(sim)
    with pytest.raises(ChildSegmentError) as caught:
        provider.create(checked(provider))
    message = str(caught.value)
    assert f"the binding map {BINDING_MAP} and segment {SEGMENT}" in message
    assert "VLAN 110 clash" in message
    assert sim.get(SEGMENT) is not None
    assert sim.get(BINDING_MAP) is not None  # both really are left, as the message says
    assert deletes_of(sim, API_SEGMENT) == 0  # not tried while its binding map remains


def test_the_next_up_converges_on_its_own_leftover_binding_map(sim: NsxSimulator) -> None:
    sim.set_realization("segment-connection-binding-maps", ["ERROR"])
    sim.add_fault(Fault(path_regex="segment-connection-binding-maps/", method="DELETE", drop=True,
                        times=100))  # fmt: skip
    provider = configured(sim)
    with pytest.raises(ChildSegmentError):
        provider.create(checked(provider))
    assert sim.get(BINDING_MAP) is not None
    sim.clear_faults()
    sim.set_realization("segment-connection-binding-maps", ["REALIZED"])

    created = provider.create(checked(provider))  # its own VLAN binding is no conflict
    assert outs_of(created)["binding_map_path"] == BINDING_MAP
    maps = sim.objects(SEGMENT + "/segment-connection-binding-maps")
    assert list(maps) == [BINDING_MAP]
    assert (maps[BINDING_MAP]["vlan_traffic_tag"], maps[BINDING_MAP]["segment_path"]) == (
        110,
        LAB.node_segment_path,
    )


@pytest.mark.parametrize("code", [500030, 503040], ids=["has-children", "in-use"])
def test_rollback_waits_out_a_passing_delete_conflict(sim: NsxSimulator, code: int) -> None:
    sim.set_realization("segment-connection-binding-maps", ["ERROR"])
    sim.add_fault(
        Fault(path_regex=f"{SEGMENT}$", method="DELETE", status=400, error_code=code, times=2)
    )
    provider = configured(sim)
    with pytest.raises(ChildSegmentError, match=r"rolled back \(nothing left in NSX\)"):
        provider.create(checked(provider))
    assert sim.get(SEGMENT) is None
    assert deletes_of(sim, API_SEGMENT) == 3


def test_rollback_waits_out_a_passing_conflict_on_the_binding_map(sim: NsxSimulator) -> None:
    sim.set_realization(f"{SEGMENT}$", ["ERROR"])
    sim.add_fault(Fault(path_regex="segment-connection-binding-maps/", method="DELETE",
                        status=400, error_code=500030, times=2))  # fmt: skip
    provider = configured(sim)
    with pytest.raises(ChildSegmentError, match=r"rolled back \(nothing left in NSX\)"):
        provider.create(checked(provider))
    assert (sim.get(SEGMENT), sim.get(BINDING_MAP)) == (None, None)
    assert deletes_of(sim, API_BINDING_MAP) == 3


def test_a_realization_error_names_nsx_error_code_and_message(sim: NsxSimulator) -> None:
    sim.set_realization(f"{SEGMENT}$", ["ERROR"], alarm="Transport zone mismatch")
    provider = configured(sim)
    with pytest.raises(ChildSegmentError) as caught:
        provider.create(checked(provider))
    assert f"NSX failed to realize {SEGMENT}: Transport zone mismatch (NSX error " in str(
        caught.value
    )
    assert str(ERR_REALIZATION_FAILED) in str(caught.value)


def test_a_nested_parent_path_is_refused_before_any_call(sim: NsxSimulator) -> None:
    provider = configured(sim)
    nested = f"{LAB.node_segment_path}/segment-connection-binding-maps/x"
    failures = provider.check({}, {**NEWS, "parent_path": nested}).failures
    assert [f.property for f in failures] == ["parent_path"]
    assert "is not a segment policy path" in failures[0].reason
    sim.clear_requests()
    with pytest.raises(ChildSegmentError, match=r"parent_path: .* is not a segment policy path"):
        provider.create({**checked(provider), "parent_path": nested})
    assert sim.requests == []


def test_read_reports_the_outputs_nsx_has_and_the_binding_map_in_the_state(
    sim: NsxSimulator,
) -> None:
    provider = configured(sim)
    created = outs_of(provider.create(checked(provider, description="payments egress")))
    other_parent = sim.seed_segment("another-parent", connectivity_path=LAB.tier1_path)
    stray = f"{SEGMENT}/segment-connection-binding-maps/a-stray"  # listed before ours
    nsx_api(sim, "PATCH", stray, {"segment_path": other_parent, "vlan_traffic_tag": 7})

    read = provider.read(SEGMENT_ID, created)
    outs = outs_of(read)
    assert {key: outs[key] for key in OUTPUT_KEYS} == {
        "path": SEGMENT,
        "binding_map_path": BINDING_MAP,
        "tier1_path": LAB.tier1_path,
        "transport_zone_path": LAB.transport_zone_path,
        "network": "10.100.5.0/25",
    }
    assert read.inputs is not None
    assert (read.inputs["parent_path"], read.inputs["vlan"]) == (LAB.node_segment_path, 110)
    assert read.inputs["description"] == "payments egress"
    assert read.inputs["tags"] == [ZONE_TAG]  # the managed-by tag is the provider's own


def test_read_takes_the_only_binding_map_and_no_guess_among_several(sim: NsxSimulator) -> None:
    provider = configured(sim)
    created = outs_of(provider.create(checked(provider)))
    unknown = {**created, "binding_map_path": None}  # a state from before the map was known
    assert outs_of(provider.read(SEGMENT_ID, unknown))["binding_map_path"] == BINDING_MAP
    other_parent = sim.seed_segment("another-parent", connectivity_path=LAB.tier1_path)
    stray = f"{SEGMENT}/segment-connection-binding-maps/a-stray"
    nsx_api(sim, "PATCH", stray, {"segment_path": other_parent, "vlan_traffic_tag": 7})
    read = provider.read(SEGMENT_ID, unknown)
    assert outs_of(read)["binding_map_path"] is None
    assert read.inputs is not None
    assert (read.inputs["parent_path"], read.inputs["vlan"]) == (None, None)


def test_read_of_a_segment_without_subnet_or_tags_shows_them_missing(sim: NsxSimulator) -> None:
    provider = configured(sim)
    created = outs_of(provider.create(checked(provider)))
    sim.modify(SEGMENT, subnets=[], tags=[{"tag": "no-scope"}, {"scope": "no-tag"}])
    read = provider.read(SEGMENT_ID, created)
    assert read.inputs is not None
    assert (read.inputs["cidr"], read.inputs["gateway"]) == (None, None)
    assert read.inputs["tags"] == [{"scope": "", "tag": "no-scope"}, {"scope": "no-tag", "tag": ""}]
    assert outs_of(read)["network"] is None


def test_read_of_a_gateway_that_is_no_address_shows_no_cidr(sim: NsxSimulator) -> None:
    provider = configured(sim)
    created = outs_of(provider.create(checked(provider)))
    sim.modify(SEGMENT, subnets=[{"gateway_address": "not-an-address"}])
    read = provider.read(SEGMENT_ID, created)
    assert read.inputs is not None
    assert (read.inputs["gateway"], read.inputs["cidr"]) == ("not-an-address", None)


def test_read_of_a_segment_without_a_description_shows_it_empty(sim: NsxSimulator) -> None:
    # NSX leaves out a field that was never set; made by another tool, the segment has none.
    provider = configured(sim)
    sim.seed_segment(SEGMENT_ID, connectivity_path=LAB.tier1_path)
    read = provider.read(SEGMENT_ID, {})
    assert read.inputs is not None
    assert read.inputs["description"] == ""


def test_read_of_a_segment_that_is_gone_gives_empty_outputs(sim: NsxSimulator) -> None:
    # The SDK's dynamic-provider host adds its provider key to the outputs a read returns
    # (pulumi/dynamic/__main__.py, Read), so they must be a dict even when nothing is left.
    read = configured(sim).read(SEGMENT_ID, {})
    assert (read.id, read.outs) == (None, {})


@pytest.mark.parametrize("known", [True, False], ids=["tier1-in-state", "tier1-unknown"])
def test_update_writes_the_whole_segment_reading_the_parent_only_when_it_must(
    sim: NsxSimulator, known: bool
) -> None:
    provider = configured(sim)
    outs = outs_of(provider.create(checked(provider)))
    olds = outs if known else {**outs, "tier1_path": None, "transport_zone_path": None}
    sim.clear_requests()
    provider.update(SEGMENT_ID, olds, checked(provider, description="payments egress"))
    reads = [r.path for r in sim.requests if r.method == "GET"]
    assert reads == ([] if known else ["/policy/api/v1" + LAB.node_segment_path])
    (patch,) = [r for r in sim.requests if r.method == "PATCH"]
    assert (patch.body["connectivity_path"], patch.body["transport_zone_path"]) == (
        LAB.tier1_path,
        LAB.transport_zone_path,
    )
