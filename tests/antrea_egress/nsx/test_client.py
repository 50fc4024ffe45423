"""NsxClient against scripted transports: errors, retries, sessions, realization, paging.

The simulator-backed tests (tests/antrea_egress/providers) cover the same client over real
HTTPS; these pin down the exact retry arithmetic with a fake clock.
"""

from __future__ import annotations

import logging
import ssl
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
    NsxError,
    NsxNotFoundError,
    NsxRealizationError,
    NsxRealizationTimeoutError,
    NsxTlsError,
)
from antrea_egress.nsx.settings import NsxSettings

# Scripted transports on a fake clock: nothing here really waits, and a hang fails in 10 s.
pytestmark = pytest.mark.timeout(10)

PASSWORD = "Pw-do-not-leak-42"
SEGMENT = "/infra/segments/s1"
URL = "/policy/api/v1/infra/segments/s1"
REALIZED = "/policy/api/v1/infra/realized-state/realized-entities"


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
    """The client's clock and sleep: sleeping moves the time on, and nothing else does."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


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
            clock=clock.monotonic,
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
    with pytest.raises(NsxNotFoundError) as caught:
        client.get(SEGMENT)
    assert str(caught.value) == (
        f"GET {URL} failed: HTTP 404, NSX error 600: The requested object : s1 could not be found."
    )


def test_delete_says_it_deleted(make_client: Any) -> None:
    script = Script([httpx.Response(200)])
    assert make_client(script).delete(SEGMENT) is True
    assert [(r.method, r.url.path) for r in script.seen] == [("DELETE", URL)]


@pytest.mark.parametrize("status", [401, 403])
def test_wrong_credentials_say_which_keys_to_check(make_client: Any, status: int) -> None:
    script = Script([nsx_error(status, 403, "The credentials were incorrect")])
    with pytest.raises(NsxAuthError) as caught:
        make_client(script).get(SEGMENT)
    assert str(caught.value) == (
        f"GET {URL} failed: HTTP {status}, NSX error 403: The credentials were incorrect. Check "
        "nsxt:username and nsxt:password (or NSXT_USERNAME and NSXT_PASSWORD) and that the user "
        "may use the Policy API"
    )
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


def test_retries_are_bounded_by_the_deadline(make_client: Any, clock: FakeClock) -> None:
    # Attempts alone would allow 1000 tries; the deadline (on the client's clock) stops first.
    script = Script([nsx_error(429, 0, "slow down")])
    policy = RetryPolicy(max_attempts=1000, initial_backoff=0.05, max_backoff=0.1, deadline=0.3)
    started = clock.now
    with pytest.raises(NsxApiError, match="HTTP 429"):
        make_client(script, retry=policy).get(SEGMENT)
    assert clock.now - started < 0.3
    assert 1 < len(script.seen) < 1000
    assert len(script.seen) == len(clock.sleeps) + 1


@pytest.mark.parametrize(("retry_after", "requests"), [("3", 1), ("2.9", 2)])
def test_a_retry_that_would_start_at_the_deadline_is_not_made(
    make_client: Any, clock: FakeClock, retry_after: str, requests: int
) -> None:
    # As tenacity's stop_before_delay: stop when the next attempt would start at or past it.
    busy = httpx.Response(429, headers={"Retry-After": retry_after}, json={"error_code": 0})
    script = Script([busy, httpx.Response(200, json={})])
    policy = RetryPolicy(initial_backoff=0.01, max_backoff=1, deadline=3)
    client = make_client(script, retry=policy)
    if requests == 1:
        with pytest.raises(NsxApiError, match="HTTP 429"):
            client.get(SEGMENT)
    else:
        assert client.get(SEGMENT) == {}
    assert len(script.seen) == requests


@pytest.mark.parametrize("growth", [1, 0.5])
def test_a_realization_growth_of_one_or_less_is_refused(growth: float) -> None:
    with pytest.raises(ValueError) as caught:
        ClientTuning(realization_growth=growth)
    assert str(caught.value) == f"realization_growth must be above 1, got {growth}"


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


def test_session_auth_logs_in_again_on_403_code_98(
    make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="antrea_egress.nsx.client")
    script = Script(session_answers())
    assert make_client(script, session=True).get(SEGMENT) == {"id": "s1"}
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.INFO] == [
        "NSX session expired; logging in again"
    ]
    login, first, relogin, retried = script.seen
    assert (login.method, login.url.path) == ("POST", "/api/session/create")
    assert "j_username=admin" in login.content.decode()
    assert "authorization" not in {k.lower() for k in first.headers}
    assert first.headers["X-XSRF-TOKEN"] == "tok-1"
    assert relogin.url.path == "/api/session/create"
    assert retried.headers["X-XSRF-TOKEN"] == "tok-2"
    assert "JSESSIONID=def" in retried.headers["cookie"]


def test_the_request_after_a_new_login_is_the_same_request(make_client: Any) -> None:
    script = Script(session_answers())
    make_client(script, session=True).patch(SEGMENT, {"display_name": "s1"})
    _login, first, _relogin, retried = script.seen
    assert (retried.method, retried.url.path, retried.content) == ("PATCH", URL, first.content)
    assert first.content == b'{"display_name":"s1"}'


def test_the_search_after_a_new_login_keeps_its_query(make_client: Any) -> None:
    script = Script([*session_answers()[:3], httpx.Response(200, json={"results": []})])
    make_client(script, session=True).search("resource_type:Segment")
    assert script.seen[3].url.params["query"] == "resource_type:Segment"


def test_each_request_is_logged_with_its_status_time_and_nsx_request_id(
    make_client: Any, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="antrea_egress.nsx.client")
    answer = httpx.Response(200, json={}, headers={"x-nsx-requestid": "req-7"})
    make_client(Script([answer])).get(SEGMENT)
    assert [r.getMessage() for r in caplog.records] == [
        f"GET {URL} -> 200 in 0 ms (x-nsx-requestid req-7)"
    ]


def test_requests_ask_for_json_within_the_tuned_timeouts(make_client: Any) -> None:
    script = Script([httpx.Response(200, json={})])
    make_client(script, request_timeout=7.0, connect_timeout=2.0).get(SEGMENT)
    (request,) = script.seen
    assert request.headers["accept"] == "application/json"
    assert request.extensions["timeout"] == {"connect": 2.0, "read": 7.0, "write": 7.0, "pool": 7.0}


def test_a_request_is_logged_with_its_duration_and_a_dash_without_a_request_id(
    make_client: Any, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    def slow_answer(request: httpx.Request) -> httpx.Response:
        clock.now += 2.0  # NSX takes two seconds
        return httpx.Response(200, json={})

    caplog.set_level(logging.DEBUG, logger="antrea_egress.nsx.client")
    make_client(slow_answer).get(SEGMENT)
    assert [r.getMessage() for r in caplog.records] == [
        f"GET {URL} -> 200 in 2000 ms (x-nsx-requestid -)"
    ]


def test_an_unverified_manager_is_warned_about_naming_the_keys(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = NsxSettings(
        base_url="https://127.0.0.1:1", username="admin", password=PASSWORD, verify_tls=False
    )
    with NsxClient(settings, sleep=clock.sleep, clock=clock.monotonic):
        pass
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            "TLS verification of the NSX Manager is off (nsxt:allowUnverifiedSsl); set "
            "nsxt:caFile instead",
        )
    ]


def test_a_403_that_is_not_an_expired_session_is_raised_without_logging_in_again(
    make_client: Any,
) -> None:
    # Only 403 with NSX error 98 means the XSRF token expired (docs/nsx-policy-api.md, error
    # codes table); any other 403 is a refusal that a new session would only repeat.
    refused = nsx_error(403, 98001, "The user does not have permission for this operation")
    script = Script([session_answers()[0], refused])
    with pytest.raises(NsxAuthError) as caught:
        make_client(script, session=True).get(SEGMENT)
    assert [(r.method, r.url.path) for r in script.seen] == [
        ("POST", "/api/session/create"),
        ("GET", URL),
    ]
    assert str(caught.value).startswith(f"GET {URL} failed: HTTP 403, NSX error 98001: ")


def test_a_code_98_without_403_is_not_an_expired_session(make_client: Any) -> None:
    script = Script([session_answers()[0], nsx_error(400, 98, "Bad request")])
    with pytest.raises(NsxApiError):
        make_client(script, session=True).get(SEGMENT)
    assert [r.url.path for r in script.seen] == ["/api/session/create", URL]


def test_a_login_that_nsx_was_too_busy_for_is_retried_before_the_request(
    make_client: Any,
) -> None:
    login = session_answers()[0]
    script = Script([nsx_error(503, 0, "busy"), login, httpx.Response(200, json={"id": "s1"})])
    assert make_client(script, session=True).get(SEGMENT) == {"id": "s1"}
    assert [(r.method, r.url.path) for r in script.seen] == [
        ("POST", "/api/session/create"),
        ("POST", "/api/session/create"),
        ("GET", URL),
    ]
    assert script.seen[2].headers["X-XSRF-TOKEN"] == "tok-1"


def test_a_refused_login_names_the_session_request(make_client: Any) -> None:
    script = Script([nsx_error(403, 403, "The credentials were incorrect")])
    with pytest.raises(NsxAuthError) as caught:
        make_client(script, session=True).get(SEGMENT)
    assert str(caught.value).startswith(
        "POST /api/session/create failed: HTTP 403, NSX error 403: The credentials were incorrect"
    )
    assert PASSWORD not in str(caught.value)
    assert len(script.seen) == 1


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
    # Polls at 0.5 s, then each when the wait has grown by half: 0.75, 1.125, 1.6875 s.
    assert clock.sleeps == [0.5, 0.25, 0.375, 0.5625]


def test_wait_realized_polls_intents_in_order_and_stops_a_round_at_a_pending_one(
    make_client: Any, clock: FakeClock
) -> None:
    other = "/infra/segments/s1/segment-connection-binding-maps/bm"
    script = Script([realized("UNREALIZED"), realized("REALIZED"), realized("REALIZED")])
    make_client(script).wait_realized(SEGMENT, other)
    polled = [request.url.params["intent_path"] for request in script.seen]
    assert polled == [SEGMENT, SEGMENT, other]  # the map is not polled while the segment waits
    assert len(clock.sleeps) == 2


class RealizesAfter:
    """A manager that realizes every intent `delay` seconds (on the fake clock) after the
    first poll's round began, and counts the polls per intent."""

    def __init__(self, clock: FakeClock, delay: float) -> None:
        self.clock, self.delay = clock, delay
        self.started = clock.now
        self.polls: dict[str, int] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        intent = request.url.params["intent_path"]
        self.polls[intent] = self.polls.get(intent, 0) + 1
        done = self.clock.now - self.started >= self.delay
        return realized("REALIZED" if done else "UNREALIZED")


@pytest.mark.parametrize("delay", [0.3, 0.31, 0.46, 1.2, 1.53, 2.3, 3.5, 5.0])
def test_the_default_wait_ends_within_half_again_the_realization_time_in_8_polls(
    clock: FakeClock, delay: float
) -> None:
    manager = RealizesAfter(clock, delay)
    settings = NsxSettings(base_url="https://127.0.0.1:1", username="a", password=PASSWORD)
    transport = httpx.MockTransport(manager)
    with NsxClient(settings, transport=transport, sleep=clock.sleep, clock=clock.monotonic) as nsx:
        nsx.wait_realized(SEGMENT, SEGMENT + "/segment-connection-binding-maps/bm")
    waited = clock.now - manager.started
    assert delay <= waited <= 1.5 * delay
    assert max(manager.polls.values()) <= 8


def test_wait_realized_fails_with_nsx_alarm_text(make_client: Any) -> None:
    script = Script([realized("UNREALIZED"), realized("ERROR", alarm="VLAN 110 already in use")])
    with pytest.raises(NsxRealizationError, match="VLAN 110 already in use"):
        make_client(script).wait_realized(SEGMENT)


def test_a_realization_error_carries_nsx_error_codes_and_messages(make_client: Any) -> None:
    # An alarm as NSX reports it: message, and a PolicyApiError in error_details
    # (docs/nsx-policy-api.md §3.5).
    alarm = {
        "message": "Segment realization failed",
        "error_details": {
            "error_code": 8327,
            "error_message": "VLAN 110 is in use",
            "related_errors": [
                {"error_code": 500012, "error_message": "The path is invalid"},
                {"error_code": 8327, "error_message": "VLAN 110 is in use"},
            ],
        },
    }
    answer = httpx.Response(200, json={"results": [{"state": "ERROR", "alarms": [alarm]}]})
    with pytest.raises(NsxRealizationError) as caught:
        make_client(Script([answer])).wait_realized(SEGMENT)
    assert str(caught.value) == (
        f"NSX failed to realize {SEGMENT}: Segment realization failed (NSX error 8327: VLAN 110 "
        "is in use; NSX error 500012: The path is invalid)"
    )
    assert caught.value.all_error_codes == {8327, 500012}


def test_an_alarm_without_its_own_message_shows_its_error_details(make_client: Any) -> None:
    alarm = {"error_details": {"error_code": 4100, "error_message": "overlapping subnet"}}
    answer = httpx.Response(200, json={"results": [{"state": "ERROR", "alarms": [alarm]}]})
    with pytest.raises(NsxRealizationError, match=r": NSX error 4100: overlapping subnet$"):
        make_client(Script([answer])).wait_realized(SEGMENT)


def test_a_realized_entity_without_a_state_is_named_unknown(make_client: Any) -> None:
    answer = httpx.Response(200, json={"results": [{"realization_specific_identifier": "x"}]})
    client = make_client(Script([answer]), realization_timeout=0)
    with pytest.raises(NsxRealizationTimeoutError) as caught:
        client.wait_realized(SEGMENT)
    assert str(caught.value) == f"{SEGMENT} was not realized within 0s (last states: UNKNOWN)"


def test_a_refused_realization_poll_names_its_request(make_client: Any) -> None:
    client = make_client(Script([nsx_error(400, 500012, "bad intent path")]))
    with pytest.raises(NsxApiError) as caught:
        client.wait_realized(SEGMENT)
    assert str(caught.value) == (
        f"GET {REALIZED} failed: HTTP 400, NSX error 500012: bad intent path"
    )


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


def test_search_follows_the_cursor_over_many_pages_sending_each_one_back(
    make_client: Any,
) -> None:
    pages: list[httpx.Response | Exception] = [
        httpx.Response(200, json={"results": [{"id": "a"}, {"id": "b"}], "cursor": "c-1"}),
        httpx.Response(200, json={"results": [{"id": "c"}], "cursor": "c-2"}),
        httpx.Response(200, json={"results": [{"id": "d"}], "cursor": "c-3"}),
        httpx.Response(200, json={"results": [{"id": "e"}], "result_count": 5}),
    ]
    script = Script(pages)
    found = make_client(script).search("resource_type:Segment")
    assert [o["id"] for o in found] == ["a", "b", "c", "d", "e"]
    assert [r.url.params.get("cursor") for r in script.seen] == [None, "c-1", "c-2", "c-3"]
    assert all(r.url.params["query"] == "resource_type:Segment" for r in script.seen)


def test_a_refused_page_names_its_get(make_client: Any) -> None:
    client = make_client(Script([nsx_error(400, 500012, "bad path")]))
    with pytest.raises(NsxApiError) as caught:
        client.list_objects(SEGMENT)
    assert str(caught.value) == f"GET {URL} failed: HTTP 400, NSX error 500012: bad path"


def test_paging_gives_up_past_its_page_limit(
    make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("antrea_egress.nsx.client.MAX_PAGES", 3)
    pages = [httpx.Response(200, json={"results": [{"id": n}], "cursor": n}) for n in "abcd"]
    script = Script(list(pages))
    with pytest.raises(NsxError) as caught:
        make_client(script).list_objects(SEGMENT)
    assert str(caught.value) == f"GET {URL}: more than 3 pages; giving up"
    assert len(script.seen) == 3


@pytest.mark.parametrize(
    "last_page",
    [
        {"results": [{"id": "c"}], "cursor": "c-2"},  # the same cursor again
        {"results": [], "cursor": "c-3"},  # a cursor but nothing more
    ],
    ids=["repeated-cursor", "empty-page"],
)
def test_paging_stops_when_nsx_gives_nothing_new(
    make_client: Any, last_page: dict[str, Any]
) -> None:
    script = Script(
        [
            httpx.Response(200, json={"results": [{"id": "a"}], "cursor": "c-1"}),
            httpx.Response(200, json={"results": [{"id": "b"}], "cursor": "c-2"}),
            httpx.Response(200, json=last_page),
            httpx.Response(500, json={"error_code": 1, "error_message": "asked too often"}),
        ]
    )
    ids = [o["id"] for o in make_client(script).list_objects("/infra/segments")]
    assert ids == ["a", "b", *(o["id"] for o in last_page["results"])]
    assert len(script.seen) == 3


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


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            httpx.ConnectError("refused"),
            f"GET {URL} failed: no answer from NSX at 127.0.0.1:1 (ConnectError: refused)",
        ),
        (
            httpx.ReadTimeout(""),
            f"GET {URL} failed: no answer from NSX at 127.0.0.1:1 (ReadTimeout)",
        ),
    ],
)
def test_a_request_without_an_answer_names_the_manager_and_the_failure(
    make_client: Any, error: Exception, message: str
) -> None:
    policy = RetryPolicy(max_attempts=1)
    with pytest.raises(NsxConnectionError) as caught:
        make_client(Script([error]), retry=policy).get(SEGMENT)
    assert str(caught.value) == message
    assert type(caught.value) is NsxConnectionError


def certificate_error(
    verify_message: str = "self-signed certificate in certificate chain",
) -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
    )
    error.verify_message = verify_message
    return error


@pytest.mark.parametrize(
    ("cause", "reason"),
    [
        (certificate_error(), "self-signed certificate in certificate chain"),
        # Without OpenSSL's reason, the error's own text.
        (certificate_error(""), "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
        (
            ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
            "[SSL: WRONG_VERSION_NUMBER] wrong version number",
        ),
    ],
)
def test_a_tls_failure_is_final_and_says_to_set_the_ca_file(
    make_client: Any, cause: Exception, reason: str
) -> None:
    error = httpx.ConnectError("handshake failed")
    error.__context__ = cause  # as httpcore raises it: the ssl error is the context
    script = Script([error])
    with pytest.raises(NsxTlsError) as caught:
        make_client(script).get(SEGMENT)
    assert str(caught.value) == (
        f"GET {URL} failed: TLS with the NSX Manager at 127.0.0.1:1 failed ({reason}). If its "
        "certificate is not trusted, set nsxt:caFile (or NSXT_CA_FILE) to the CA bundle that "
        "signed it"
    )
    assert (caught.value.method, caught.value.path) == ("GET", URL)
    assert len(script.seen) == 1


def test_an_unexpected_error_is_not_retried(make_client: Any) -> None:
    # Only NSX's transient answers and lost connections heal by themselves (retries.py).
    script = Script([RuntimeError("a bug"), httpx.Response(200, json={})])
    with pytest.raises(RuntimeError, match="a bug"):
        make_client(script).get(SEGMENT)
    assert len(script.seen) == 1


def test_backoff_grows_from_the_initial_one_up_to_the_cap(
    make_client: Any, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Full jitter draws each sleep from [0, ceiling] (tenacity's wait_random_exponential, with
    # random.uniform); drawing the top shows the ceilings: initial x 2^(n-1), at most the cap.
    monkeypatch.setattr("random.uniform", lambda _low, high: high)
    script = Script([nsx_error(503, 0, "busy")])
    policy = RetryPolicy(max_attempts=5, initial_backoff=0.5, max_backoff=2, deadline=1000)
    with pytest.raises(NsxApiError, match="HTTP 503"):
        make_client(script, retry=policy).get(SEGMENT)
    assert clock.sleeps == [0.5, 1.0, 2.0, 2.0]


def test_a_session_without_an_xsrf_token_fails_with_a_hint(make_client: Any) -> None:
    script = Script([httpx.Response(200, headers={"Set-Cookie": "JSESSIONID=abc; Path=/"})])
    with pytest.raises(NsxAuthError) as caught:
        make_client(script, session=True).get(SEGMENT)
    assert str(caught.value) == (
        "POST /api/session/create failed: HTTP 200: NSX created no session (no X-XSRF-TOKEN "
        "header). Set nsxt:sessionAuth to false to use HTTP Basic authentication"
    )
    assert [r.url.path for r in script.seen] == ["/api/session/create"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            nsx_error(
                400,
                500012,
                "The path is invalid",
                related_errors=[
                    {"error_code": 8327, "error_message": "VLAN clash"},
                    {"error_message": "no code"},
                    {"error_code": 5},  # no message: the code alone
                ],
            ),
            f"PATCH {URL} failed: HTTP 400, NSX error 500012: The path is invalid (related: "
            "8327: VLAN clash; no code; 5)",
        ),
        (
            httpx.Response(400, json={"httpStatus": "BAD_REQUEST", "details": "only details"}),
            f"PATCH {URL} failed: HTTP 400: only details",
        ),
        (httpx.Response(400, json={"error_code": 7}), f"PATCH {URL} failed: HTTP 400, NSX error 7"),
        (httpx.Response(502, text="x" * 600), f"PATCH {URL} failed: HTTP 502: " + "x" * 500),
        (httpx.Response(409), f"PATCH {URL} failed: HTTP 409"),
    ],
    ids=["related", "details", "code-only", "long-text", "empty"],
)
def test_an_nsx_error_reads_as_one_exact_line(
    make_client: Any, answer: httpx.Response, message: str
) -> None:
    with pytest.raises(NsxApiError) as caught:
        make_client(Script([answer]), retry=RetryPolicy(max_attempts=1)).patch(SEGMENT, {})
    assert str(caught.value) == message


def test_a_realization_that_never_comes_names_its_last_states(make_client: Any) -> None:
    client = make_client(Script([realized("UNREALIZED", "UNAVAILABLE")]), realization_timeout=0)
    with pytest.raises(NsxRealizationTimeoutError) as caught:
        client.wait_realized(SEGMENT)
    assert str(caught.value) == (
        f"{SEGMENT} was not realized within 0s (last states: UNREALIZED, UNAVAILABLE)"
    )
    with pytest.raises(NsxRealizationTimeoutError) as caught:
        make_client(Script([realized()]), realization_timeout=2.5).wait_realized(SEGMENT)
    assert str(caught.value) == (
        f"{SEGMENT} was not realized within 2.5s (last states: no realized entities yet)"
    )


@pytest.mark.parametrize(
    ("alarms", "text"),
    [
        ([], "no alarm text"),
        (["not an alarm", {"message": "second"}], "second"),
        ([{"message": "m", "error_details": {"error_message": "detail"}}], "m (detail)"),
        ([{"message": "", "error_details": {"error_code": 5}}], "NSX error 5"),
        ([{"message": "a"}, {"message": "b"}], "a; b"),
    ],
)
def test_realization_alarms_in_their_words(make_client: Any, alarms: list[Any], text: str) -> None:
    answer = httpx.Response(200, json={"results": [{"state": "ERROR", "alarms": alarms}]})
    with pytest.raises(NsxRealizationError) as caught:
        make_client(Script([answer])).wait_realized(SEGMENT)
    assert str(caught.value) == f"NSX failed to realize {SEGMENT}: {text}"


def test_retries_and_passing_conflicts_are_logged_in_words(
    make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="antrea_egress.nsx.client")
    policy = RetryPolicy(initial_backoff=0, max_backoff=0)
    script = Script([nsx_error(503, 0, "busy"), httpx.Response(200, json={})])
    make_client(script, retry=policy).get(SEGMENT)
    blocked = nsx_error(400, 500030, "has children")
    script = Script([blocked, httpx.Response(200)])
    client = make_client(script, conflict_timeout=10, conflict_interval=1)
    client.retry_while(lambda e: e.error_code == 500030, lambda: client.delete(SEGMENT))
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", f"attempt 1: GET {URL} failed: HTTP 503, NSX error 0: busy; retrying in 0.0s"),
        (
            "INFO",
            f"NSX refused for now (DELETE {URL} failed: HTTP 400, NSX error 500030: has "
            "children); trying again",
        ),
    ]
