"""NsxClient against scripted transports: errors, retries, sessions, realization, paging.

The simulator-backed tests (tests/antrea_egress/providers) cover the same client over real
HTTPS; these pin down the exact retry arithmetic with a fake clock.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from antrea_egress.nsx.client import ClientTuning, NsxClient, RetryPolicy
from antrea_egress.nsx.errors import (
    NsxApiError,
    NsxAuthError,
    NsxConnectionError,
    NsxNotFoundError,
    NsxRealizationError,
    NsxRealizationTimeoutError,
    NsxTlsError,
)
from antrea_egress.nsx.settings import NsxSettings

PASSWORD = "Pw-do-not-leak-42"
SEGMENT = "/infra/segments/s1"
URL = "/policy/api/v1/infra/segments/s1"


def nsx_error(status: int, code: int, message: str, **extra: Any) -> httpx.Response:
    body = {"httpStatus": "X", "error_code": code, "error_message": message, **extra}
    return httpx.Response(status, json=body)


@dataclass
class Script:
    """Answers requests from a list of responses (or exceptions) and records them."""

    answers: list[httpx.Response | Exception]
    seen: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass
class FakeClock:
    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Iterator[Callable[..., NsxClient]]:
    clients: list[NsxClient] = []

    def make(script: Script, *, session: bool = False, **tuning: Any) -> NsxClient:
        settings = NsxSettings(
            base_url="https://127.0.0.1:1",
            username="admin",
            password=PASSWORD,
            session_auth=session,
        )
        client = NsxClient(
            settings,
            tuning=ClientTuning(**tuning),
            transport=httpx.MockTransport(script),
            sleep=clock.sleep,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_nsx_error_body_becomes_one_exception_naming_the_request(make_client: Any) -> None:
    script = Script(
        [
            nsx_error(
                400,
                500030,
                "cannot be deleted",
                related_errors=[{"error_code": 8327, "error_message": "vlan clash"}],
            )
        ]
    )
    with pytest.raises(NsxApiError) as caught:
        make_client(script).delete(SEGMENT)
    error = caught.value
    assert (error.status, error.error_code, error.nsx_message) == (400, 500030, "cannot be deleted")
    assert error.all_error_codes == {500030, 8327}
    assert str(error).startswith(f"DELETE {URL} failed: HTTP 400, NSX error 500030")
    assert "vlan clash" in str(error)
    assert PASSWORD not in str(error)
    assert len(script.seen) == 1  # 400 is never retried


def test_http_status_spelling_variant_and_plain_text_bodies(make_client: Any) -> None:
    script = Script([httpx.Response(400, json={"http_status": "BAD", "error_code": "12"})])
    with pytest.raises(NsxApiError) as caught:
        make_client(script).get(SEGMENT)
    assert caught.value.error_code == 12
    script = Script([httpx.Response(400, text="<html>proxy says no</html>")])
    with pytest.raises(NsxApiError, match="proxy says no"):
        make_client(script).get(SEGMENT)


def test_404_is_not_found_and_delete_treats_it_as_deleted(make_client: Any) -> None:
    script = Script([nsx_error(404, 600, "The requested object : s1 could not be found.")])
    client = make_client(script)
    with pytest.raises(NsxNotFoundError):
        client.get(SEGMENT)
    assert client.get_optional(SEGMENT) is None
    assert client.delete(SEGMENT) is False


def test_wrong_credentials_say_which_keys_to_check(make_client: Any) -> None:
    script = Script([nsx_error(403, 403, "The credentials were incorrect")])
    with pytest.raises(NsxAuthError, match="nsxt:username and nsxt:password") as caught:
        make_client(script).get(SEGMENT)
    assert PASSWORD not in str(caught.value)
    assert len(script.seen) == 1


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_transient_statuses_are_retried_until_success(
    make_client: Any, clock: FakeClock, status: int
) -> None:
    ok = httpx.Response(200, json={"id": "s1"})
    script = Script([nsx_error(status, 0, "busy"), nsx_error(status, 0, "busy"), ok])
    assert make_client(script).get(SEGMENT) == {"id": "s1"}
    assert len(script.seen) == 3
    assert len(clock.sleeps) == 2
    assert all(0 <= s <= RetryPolicy().max_backoff for s in clock.sleeps)


def test_retries_are_bounded_by_attempts(make_client: Any, clock: FakeClock) -> None:
    script = Script([nsx_error(503, 0, "overloaded")])
    policy = RetryPolicy(max_attempts=4, initial_backoff=0.01, max_backoff=0.02, deadline=60)
    with pytest.raises(NsxApiError, match="HTTP 503"):
        make_client(script, retry=policy).get(SEGMENT)
    assert len(script.seen) == 4
    assert len(clock.sleeps) == 3


def test_retries_are_bounded_by_the_deadline() -> None:
    # Real sleeps: the deadline is wall-clock time. Attempts alone would allow 1000 tries.
    script = Script([nsx_error(429, 0, "slow down")])
    policy = RetryPolicy(max_attempts=1000, initial_backoff=0.05, max_backoff=0.1, deadline=0.3)
    settings = NsxSettings(base_url="https://127.0.0.1:1", username="a", password=PASSWORD)
    started = time.monotonic()
    with (
        NsxClient(
            settings, tuning=ClientTuning(retry=policy), transport=httpx.MockTransport(script)
        ) as client,
        pytest.raises(NsxApiError),
    ):
        client.get(SEGMENT)
    assert time.monotonic() - started < 0.3 + 0.2
    assert 1 < len(script.seen) < 1000


def test_retry_after_is_honoured(make_client: Any, clock: FakeClock) -> None:
    busy = httpx.Response(429, headers={"Retry-After": "3"}, json={"error_code": 0})
    script = Script([busy, httpx.Response(200, json={})])
    make_client(script, retry=RetryPolicy(initial_backoff=0.01, max_backoff=5)).get(SEGMENT)
    assert clock.sleeps == [3.0]


def test_connection_errors_and_timeouts_are_retried(make_client: Any, clock: FakeClock) -> None:
    script = Script(
        [
            httpx.ConnectError("refused"),
            httpx.ReadTimeout("slow"),
            httpx.RemoteProtocolError("dropped"),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    assert make_client(script).get(SEGMENT) == {"ok": True}
    assert len(clock.sleeps) == 3


def test_connection_errors_give_up_with_the_request_named(make_client: Any) -> None:
    script = Script([httpx.ConnectError("refused")])
    policy = RetryPolicy(max_attempts=2, initial_backoff=0, max_backoff=0)
    # The manager is named: a wrong nsxt:host shows in the message.
    with pytest.raises(
        NsxConnectionError, match=f"GET {URL} failed: no answer from NSX at 127.0.0.1:1"
    ):
        make_client(script, retry=policy).get(SEGMENT)
    assert len(script.seen) == 2


def test_500_with_transient_code_is_retried_but_plain_500_is_not(make_client: Any) -> None:
    script = Script([nsx_error(500, 607, "persistence layer reconfiguring"), httpx.Response(200)])
    make_client(script).patch(SEGMENT, {})
    assert len(script.seen) == 2
    script = Script([nsx_error(500, 100, "internal")])
    with pytest.raises(NsxApiError):
        make_client(script).patch(SEGMENT, {})
    assert len(script.seen) == 1


def session_answers() -> list[httpx.Response | Exception]:
    return [
        httpx.Response(
            200, headers={"X-XSRF-TOKEN": "tok-1", "Set-Cookie": "JSESSIONID=abc; Path=/"}
        ),
        nsx_error(403, 98, "Bad XSRF token"),
        httpx.Response(
            200, headers={"X-XSRF-TOKEN": "tok-2", "Set-Cookie": "JSESSIONID=def; Path=/"}
        ),
        httpx.Response(200, json={"id": "s1"}),
    ]


def test_session_auth_logs_in_again_on_403_code_98(make_client: Any) -> None:
    script = Script(session_answers())
    assert make_client(script, session=True).get(SEGMENT) == {"id": "s1"}
    login, first, relogin, retried = script.seen
    assert (login.method, login.url.path) == ("POST", "/api/session/create")
    assert "j_username=admin" in login.content.decode()
    assert "authorization" not in {k.lower() for k in first.headers}
    assert first.headers["X-XSRF-TOKEN"] == "tok-1"
    assert relogin.url.path == "/api/session/create"
    assert retried.headers["X-XSRF-TOKEN"] == "tok-2"
    assert "JSESSIONID=def" in retried.headers["cookie"]


def test_basic_auth_is_sent_when_sessions_are_off(make_client: Any) -> None:
    script = Script([httpx.Response(200, json={})])
    make_client(script).get(SEGMENT)
    assert script.seen[0].headers["authorization"].startswith("Basic ")


def realized(*states: str, alarm: str = "") -> httpx.Response:
    results = [{"state": s, "alarms": [{"message": alarm}] if s == "ERROR" else []} for s in states]
    return httpx.Response(200, json={"results": results, "result_count": len(results)})


def test_wait_realized_polls_until_every_entity_is_realized(
    make_client: Any, clock: FakeClock
) -> None:
    script = Script(
        [
            realized(),
            realized("UNREALIZED"),
            realized("REALIZED", "UNREALIZED"),
            realized("REALIZED", "REALIZED"),
        ]
    )
    make_client(script, realization_first_interval=0.5).wait_realized(SEGMENT)
    assert len(script.seen) == 4
    assert script.seen[0].url.params["intent_path"] == SEGMENT
    assert clock.sleeps == [0.5, 1.0, 2.0]


def test_wait_realized_fails_with_nsx_alarm_text(make_client: Any) -> None:
    script = Script([realized("UNREALIZED"), realized("ERROR", alarm="VLAN 110 already in use")])
    with pytest.raises(NsxRealizationError, match="VLAN 110 already in use"):
        make_client(script).wait_realized(SEGMENT)


def test_wait_realized_is_bounded(make_client: Any) -> None:
    script = Script([realized("UNREALIZED")])
    with pytest.raises(NsxRealizationTimeoutError, match="UNREALIZED"):
        make_client(script, realization_timeout=0.0, realization_first_interval=0.1).wait_realized(
            SEGMENT
        )


def test_lists_follow_the_cursor(make_client: Any) -> None:
    script = Script(
        [
            httpx.Response(200, json={"results": [{"id": "a"}], "cursor": "1"}),
            httpx.Response(200, json={"results": [{"id": "b"}]}),
        ]
    )
    assert [o["id"] for o in make_client(script).list_objects("/infra/segments")] == ["a", "b"]
    assert script.seen[1].url.params["cursor"] == "1"


def test_retry_while_repeats_a_passing_conflict_then_gives_up(
    make_client: Any, clock: FakeClock
) -> None:
    blocked = nsx_error(400, 500030, "has children")
    script = Script([blocked, blocked, httpx.Response(200)])
    client = make_client(script, conflict_timeout=10, conflict_interval=1)
    client.retry_while(lambda e: e.error_code == 500030, lambda: client.delete(SEGMENT))
    assert clock.sleeps == [1, 1]
    script = Script([blocked])
    client = make_client(script, conflict_timeout=0, conflict_interval=1)
    with pytest.raises(NsxApiError, match="has children"):
        client.retry_while(lambda e: e.error_code == 500030, lambda: client.delete(SEGMENT))


def test_retry_after_beyond_the_backoff_cap_is_still_honoured(
    make_client: Any, clock: FakeClock
) -> None:
    busy = httpx.Response(429, headers={"Retry-After": "12"}, json={"error_code": 0})
    script = Script([busy, httpx.Response(200, json={})])
    make_client(script, retry=RetryPolicy(initial_backoff=0.01, max_backoff=5, deadline=60)).get(
        SEGMENT
    )
    assert clock.sleeps == [12.0]


def test_a_realization_nsx_does_not_know_yet_is_pending(make_client: Any) -> None:
    script = Script([nsx_error(404, 600, "not found"), realized("REALIZED")])
    make_client(script, realization_first_interval=0.01).wait_realized(SEGMENT)
    assert len(script.seen) == 2


def test_tls_protocol_failures_are_final(make_client: Any) -> None:
    error = httpx.ConnectError("handshake failed")
    error.__cause__ = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    script = Script([error])
    with pytest.raises(NsxTlsError, match=r"NSX Manager at 127\.0\.0\.1:1 failed .*WRONG_VERSION"):
        make_client(script).get(SEGMENT)
    assert len(script.seen) == 1
