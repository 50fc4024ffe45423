"""A manager too busy to answer: rate-limit answers do not use up a request's attempts, and a
realization poll refused as busy is a missed look, not a failed create."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from antrea_egress.nsx.client import RetryPolicy
from antrea_egress.nsx.errors import NsxApiError, NsxRealizationTimeoutError
from tests.antrea_egress.nsx.test_client import (  # the fixtures too, by their names
    SEGMENT,
    FakeClock,
    Script,
    clock,
    make_client,
    nsx_error,
    realized,
)

__all__ = ["clock", "make_client"]  # pytest finds the fixtures by these module names

# Scripted transports on a fake clock: nothing here really waits.
pytestmark = pytest.mark.timeout(10)

# Two attempts per request, so a poll gives up on a busy NSX after two answers.
TWO_ATTEMPTS = RetryPolicy(max_attempts=2, initial_backoff=0.01, max_backoff=0.01, deadline=60)


@pytest.mark.parametrize("status", [429, 503])
def test_a_poll_refused_as_busy_past_its_retries_is_tried_again_next_round(
    make_client: Any, clock: FakeClock, status: int
) -> None:
    busy = nsx_error(status, status, "busy")
    script = Script([busy, busy, realized("REALIZED")])
    client = make_client(script, retry=TWO_ATTEMPTS, realization_first_interval=0.5)

    client.wait_realized(SEGMENT)

    assert len(script.seen) == 3  # two refused attempts of the first poll, then a second poll
    assert clock.sleeps[0] == 0.5 and len(clock.sleeps) == 3


def test_a_manager_busy_until_the_timeout_names_the_refusal(make_client: Any) -> None:
    script = Script([nsx_error(429, 429, "slow down")])
    client = make_client(
        script, retry=TWO_ATTEMPTS, realization_timeout=2.0, realization_first_interval=0.5
    )
    with pytest.raises(NsxRealizationTimeoutError, match="not polled: HTTP 429"):
        client.wait_realized(SEGMENT)


@pytest.mark.parametrize(
    "answer", [nsx_error(500, 100, "internal"), nsx_error(403, 403, "forbidden")]
)
def test_other_refusals_of_a_poll_still_fail_the_wait(
    make_client: Any, answer: httpx.Response
) -> None:
    with pytest.raises(NsxApiError) as failed:
        make_client(Script([answer]), retry=TWO_ATTEMPTS).wait_realized(SEGMENT)
    assert failed.value.status == answer.status_code


def test_rate_limit_answers_do_not_use_up_the_attempts(make_client: Any, clock: FakeClock) -> None:
    limited = nsx_error(429, 429, "Client 'admin' exceeded request rate of 15 per second")
    answers: list[httpx.Response | Exception] = [limited] * 5
    script = Script([*answers, httpx.Response(200, json={"id": "s1"})])
    assert make_client(script, retry=TWO_ATTEMPTS).get(SEGMENT) == {"id": "s1"}
    assert len(script.seen) == 6


def test_rate_limit_answers_are_still_bounded_by_the_deadline(
    make_client: Any, clock: FakeClock
) -> None:
    policy = RetryPolicy(max_attempts=2, initial_backoff=0.05, max_backoff=0.1, deadline=1.0)
    script = Script([nsx_error(429, 429, "slow down")])
    started = clock.now
    with pytest.raises(NsxApiError, match="HTTP 429"):
        make_client(script, retry=policy).get(SEGMENT)
    assert clock.now - started < 1.0
    assert len(script.seen) > 2  # past the attempts, within the deadline


def test_other_transient_answers_count_against_the_attempts(make_client: Any) -> None:
    script = Script([nsx_error(429, 429, "slow down"), nsx_error(502, 502, "bad gateway")])
    with pytest.raises(NsxApiError, match="HTTP 502"):
        make_client(script, retry=TWO_ATTEMPTS).get(SEGMENT)
    assert len(script.seen) == 3  # one 429 not counted, then two 502s
