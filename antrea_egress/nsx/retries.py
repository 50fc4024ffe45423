"""How the NSX client retries: time budgets, transient failures, backoff that honours NSX.

Transient failures (rate limits, overload, dropped connections, timeouts) are retried with
capped, jittered exponential backoff within a bounded number of attempts and an overall
deadline. Other 4xx answers are never retried: they do not heal by themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import tenacity

from antrea_egress.nsx.errors import NsxApiError, NsxConnectionError, NsxTlsError

# The client's own logger: a retry is something the client did.
log = logging.getLogger("antrea_egress.nsx.client")

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
RATE_LIMITED = 429
# NSX is up and says it is too busy: above its request rate (429) or its concurrency (503).
BUSY_STATUS = frozenset({RATE_LIMITED, 503})
# 500 with these codes: "cannot connect" (98) and "persistence layer reconfiguring" (607).
RETRYABLE_500_CODES = frozenset({98, 607})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    deadline: float = 120.0


@dataclass(frozen=True)
class ClientTuning:
    """Time budgets. Defaults suit a production NSX Manager; tests shrink them."""

    request_timeout: float = 30.0
    connect_timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Realization is polled in proportion to the time already waited: the first poll
    # `realization_first_interval` after the writes, then each when the wait has grown by
    # `realization_growth`, at most `realization_max_interval` apart. A create so ends at most
    # half as late again as NSX realized it, with 8 polls per object up to about 5 s
    # (benchmarks/child_segment_requests.py measures it; README "Performance").
    realization_timeout: float = 600.0
    realization_first_interval: float = 0.3
    realization_growth: float = 1.5
    realization_max_interval: float = 5.0
    # How long to keep retrying an operation NSX refuses for a reason that clears by itself:
    # "has children / is referenced / ports attached" on delete, "marked for delete" on create.
    conflict_timeout: float = 300.0
    conflict_interval: float = 2.0

    def __post_init__(self) -> None:
        if self.realization_growth <= 1:
            # A factor of 1 or less would poll without pause until the timeout.
            raise ValueError(f"realization_growth must be above 1, got {self.realization_growth}")


class StopAtDeadline(tenacity.stop.stop_base):
    """tenacity's stop_before_delay on an injected clock: stop when the next attempt would
    start past `seconds` after this stop was made (one per logical operation)."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._deadline = clock() + seconds

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return self._clock() + retry_state.upcoming_sleep >= self._deadline


class StopAfterAttempts(tenacity.stop.stop_base):
    """tenacity's stop_after_attempt, except that a rate-limit answer (429) is not counted: NSX
    asks the client to slow down, which the backoff does, and the deadline still bounds how
    long. Counting them let a burst of creates exhaust a request's attempts within seconds.
    One instance per logical request (it counts; tenacity calls it once per failed attempt)."""

    def __init__(self, max_attempts: int) -> None:
        self._max_attempts = max_attempts
        self._counted = 0

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome else None
        if not (isinstance(error, NsxApiError) and error.status == RATE_LIMITED):
            self._counted += 1
        return self._counted >= self._max_attempts


class BackoffOrRetryAfter(tenacity.wait.wait_base):
    """Full-jitter exponential backoff, but never shorter than a Retry-After NSX sent.

    A Retry-After longer than the backoff cap is still honoured: retrying earlier would only
    spend attempts while NSX refuses; the overall deadline (stop_before_delay) bounds it.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self._backoff = tenacity.wait_random_exponential(
            multiplier=policy.initial_backoff, max=policy.max_backoff
        )

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        backoff = self._backoff(retry_state)
        outcome = retry_state.outcome
        error = outcome.exception() if outcome else None
        if isinstance(error, NsxApiError) and error.retry_after is not None:
            return max(backoff, error.retry_after)
        return backoff


def is_transient(error: BaseException) -> bool:
    if isinstance(error, NsxTlsError):
        return False
    if isinstance(error, NsxConnectionError):
        return True
    if isinstance(error, NsxApiError):
        if error.status in RETRYABLE_STATUS:
            return True
        return error.status == 500 and bool(error.all_error_codes & RETRYABLE_500_CODES)
    return False


def log_retry(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.warning("attempt %d: %s; retrying in %.1fs", state.attempt_number, error, wait)


def log_conflict(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.info("NSX refused for now (%s); trying again", error)
