"""Injected faults (status, delay, drop, times, headers) and the per-user rate limit."""

from __future__ import annotations

import time

import httpx
import pytest

from nsxsim import LAB, Fault, NsxSimulator
from tests.nsxsim.conftest import api, expect_error, serving_lab

# Every test here waits on the simulator, injected delays: a hang fails within 15 s.
pytestmark = pytest.mark.timeout(15)

SEGMENTS = api("/infra/segments")
NODE = api(LAB.node_segment_path)


def test_status_fault_answers_an_nsx_error_body(client: httpx.Client, sim: NsxSimulator) -> None:
    sim.add_fault(Fault(r"/infra/segments$", status=503, error_code=607, message="reconfiguring"))
    body = expect_error(client.get(SEGMENTS), 503, 607)
    assert body["httpStatus"] == "SERVICE_UNAVAILABLE"
    assert body["error_message"] == "reconfiguring"
    assert client.get(SEGMENTS).status_code == 200  # times=1: used up


def test_fault_without_error_code_uses_the_status(client: httpx.Client, sim: NsxSimulator) -> None:
    sim.add_fault(Fault("segments", status=429))
    body = expect_error(client.get(SEGMENTS), 429, 429)
    assert body["httpStatus"] == "TOO_MANY_REQUESTS"


def test_fault_times_and_method_filter(client: httpx.Client, sim: NsxSimulator) -> None:
    sim.add_fault(Fault("segments/", method="PATCH", status=500, error_code=98, times=2))
    assert client.get(NODE).status_code == 200  # GET does not match the PATCH fault
    body = {"subnets": [{"gateway_address": "10.1.1.1/24"}]}
    statuses = [client.patch(api("/infra/segments/s"), json=body).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]


def test_fault_headers_such_as_retry_after(client: httpx.Client, sim: NsxSimulator) -> None:
    sim.add_fault(Fault("segments", status=429, headers={"Retry-After": "2"}))
    response = client.get(SEGMENTS)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert "retry-after" not in client.get(SEGMENTS).headers


def test_delay_fault_then_normal_answer() -> None:
    slept: list[float] = []
    with serving_lab(NsxSimulator(sleep=slept.append)) as (sim, client):
        sim.add_fault(Fault("segments", delay=0.3, headers={"X-Extra": "1"}))
        response = client.get(NODE)
        assert response.status_code == 200
        assert response.json()["id"] == LAB.node_segment_id
        assert response.headers["x-extra"] == "1"
        assert slept == [0.3]
        client.get(NODE)
        assert slept == [0.3]  # times=1: the next answer is not delayed


def test_delay_exceeding_client_timeout(sim: NsxSimulator) -> None:
    sim.add_fault(Fault("segments", delay=0.5))
    with httpx.Client(
        verify=sim.client_ssl_context(), auth=(sim.username, sim.password), timeout=0.1
    ) as http:
        with pytest.raises(httpx.ReadTimeout):
            http.get(sim.base_url + NODE)
        time.sleep(0.5)
        assert http.get(sim.base_url + NODE).status_code == 200


def test_drop_closes_the_connection_without_answer(client: httpx.Client, sim: NsxSimulator) -> None:
    sim.add_fault(Fault("segments", method="DELETE", drop=True))
    with pytest.raises(httpx.RemoteProtocolError):
        client.delete(api("/infra/segments/whatever"))
    assert sim.requests[-1].status == 0
    assert sim.requests[-1].method == "DELETE"
    # The same client recovers on a fresh connection.
    assert client.get(NODE).status_code == 200


def test_drop_answer_carries_the_request_out_then_drops_the_connection(
    client: httpx.Client, sim: NsxSimulator
) -> None:
    sim.add_fault(Fault("segments/lost", method="PATCH", drop_answer=True))
    body = {"connectivity_path": LAB.tier1_path, "subnets": [{"gateway_address": "10.9.0.1/24"}]}
    with pytest.raises(httpx.RemoteProtocolError):
        client.patch(api("/infra/segments/lost"), json=body)
    assert sim.requests[-1].status == 0
    stored = sim.get("/infra/segments/lost")
    assert stored is not None  # applied, though the client never heard so
    assert stored["connectivity_path"] == LAB.tier1_path


def test_multiple_faults_apply_in_order(client: httpx.Client, sim: NsxSimulator) -> None:
    sim.add_fault(Fault("segments", status=503))
    sim.add_fault(Fault("segments", status=504))
    assert [client.get(SEGMENTS).status_code for _ in range(3)] == [503, 504, 200]


def test_caller_fault_object_is_not_consumed(client: httpx.Client, sim: NsxSimulator) -> None:
    fault = Fault("segments", status=503)
    sim.add_fault(fault)
    client.get(SEGMENTS)
    assert fault.times == 1
    sim.add_fault(fault)
    assert client.get(SEGMENTS).status_code == 503


def test_clear_faults(client: httpx.Client, sim: NsxSimulator) -> None:
    sim.add_fault(Fault("segments", status=503, times=5))
    sim.clear_faults()
    assert client.get(SEGMENTS).status_code == 200


def test_rate_limit_429_then_recovery() -> None:
    now = [50.0]
    with serving_lab(NsxSimulator(clock=lambda: now[0])) as (sim, client):
        sim.rate_limit_per_second = 3
        assert [client.get(SEGMENTS).status_code for _ in range(3)] == [200, 200, 200]
        limited = client.get(SEGMENTS)
        body = expect_error(limited, 429, 429)
        assert body["error_message"] == "Client 'admin' exceeded request rate of 3 per second"
        assert "retry-after" not in limited.headers
        now[0] += 0.5
        assert client.get(SEGMENTS).status_code == 429  # still within the second
        now[0] += 0.5
        assert client.get(SEGMENTS).status_code == 200


def test_rate_limit_counts_per_user() -> None:
    simulator = NsxSimulator(users={"a": "pa", "b": "pb"}, rate_limit_per_second=2)
    with simulator, httpx.Client(verify=simulator.client_ssl_context()) as http:
        url = simulator.base_url + SEGMENTS
        assert [http.get(url, auth=("a", "pa")).status_code for _ in range(3)] == [200, 200, 429]
        assert http.get(url, auth=("b", "pb")).status_code == 200
        assert simulator.requests[2].user == "a"


def test_rate_limit_can_be_lifted_at_runtime(client: httpx.Client, sim: NsxSimulator) -> None:
    sim.rate_limit_per_second = 1
    client.get(SEGMENTS)
    assert client.get(SEGMENTS).status_code == 429
    sim.rate_limit_per_second = None
    assert client.get(SEGMENTS).status_code == 200
    assert sim.rate_limit_per_second is None


def test_latency_delays_every_answer_and_keeps_faults_working() -> None:
    slept: list[float] = []
    with serving_lab(NsxSimulator(latency=0.02, sleep=slept.append)) as (sim, http):
        assert http.get(api(LAB.node_segment_path)).status_code == 200
        sim.add_fault(Fault(path_regex="/infra/segments", status=503))
        expect_error(http.get(api(LAB.node_segment_path)), 503, 503)
        # Every answer, the login's included, waited the latency; the fault's own answer too.
        assert len(slept) == len(sim.requests) >= 2
        assert set(slept) == {0.02}
