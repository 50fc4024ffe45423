"""A small NSX Policy API client on httpx: auth, TLS, retries, NSX errors, realization.

The client is built per operation and closed afterwards; nothing here is meant to be pickled.
How it retries is `retries`, the sessions it shares `sessions`, and what an NSX answer means
`errors`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import tenacity

from antrea_egress.nsx import paths
from antrea_egress.nsx.errors import (
    XSRF_ERROR_CODE,
    NsxApiError,
    NsxAuthError,
    NsxError,
    NsxNotFoundError,
    NsxRealizationError,
    NsxRealizationTimeoutError,
    alarms_of,
    api_error,
    connection_error,
)
from antrea_egress.nsx.retries import (
    BUSY_STATUS,
    BackoffOrRetryAfter,
    ClientTuning,
    RetryPolicy,
    StopAfterAttempts,
    StopAtDeadline,
    is_transient,
    log_conflict,
    log_retry,
)
from antrea_egress.nsx.sessions import SESSION_COOKIE, SESSIONS, forget_sessions
from antrea_egress.nsx.settings import NsxSettings

__all__ = ["ClientTuning", "NsxClient", "RetryPolicy", "forget_sessions"]

log = logging.getLogger(__name__)

T = TypeVar("T")

REALIZED = "REALIZED"
REALIZATION_ERROR = "ERROR"
MAX_PAGES = 10_000


class NsxClient:
    """Synchronous NSX Policy API client. Use as a context manager."""

    def __init__(
        self,
        settings: NsxSettings,
        *,
        tuning: ClientTuning | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._tuning = tuning or ClientTuning()
        # Every wait and deadline goes through these two, so tests run on a fake clock.
        self._sleep = sleep
        self._clock = clock
        self._xsrf_token: str | None = None
        if not settings.verify_tls:
            log.warning(
                "TLS verification of the NSX Manager is off (nsxt:allowUnverifiedSsl); "
                "set nsxt:caFile instead"
            )
        self._http = httpx.Client(
            base_url=settings.base_url,
            auth=None if settings.session_auth else (settings.username, settings.password),
            verify=settings.ssl_context(),
            timeout=httpx.Timeout(
                self._tuning.request_timeout, connect=self._tuning.connect_timeout
            ),
            transport=transport,
            headers={"Accept": "application/json"},
        )

    def __enter__(self) -> NsxClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- objects -----------------------------------------------------------------------

    def get(self, policy_path: str) -> dict[str, Any]:
        body = self.request("GET", paths.api_url_path(policy_path)).json()
        return dict(body)

    def get_optional(self, policy_path: str) -> dict[str, Any] | None:
        try:
            return self.get(policy_path)
        except NsxNotFoundError:
            return None

    def patch(self, policy_path: str, body: dict[str, Any]) -> None:
        self.request("PATCH", paths.api_url_path(policy_path), json=body)

    def delete(self, policy_path: str) -> bool:
        """Delete; False when the object was already gone (404 counts as deleted)."""
        try:
            self.request("DELETE", paths.api_url_path(policy_path))
        except NsxNotFoundError:
            return False
        return True

    def list_objects(self, policy_path: str) -> list[dict[str, Any]]:
        return list(self._paged(paths.api_url_path(policy_path), {}))

    def search(self, query: str) -> list[dict[str, Any]]:
        return list(self._paged(paths.SEARCH, {"query": query}))

    # --- realization -------------------------------------------------------------------

    def realized_entities(self, intent_path: str) -> list[dict[str, Any]]:
        """The realized entities of an intent; none yet when NSX does not know it yet (404)."""
        try:
            response = self.request(
                "GET", paths.REALIZED_ENTITIES, params={"intent_path": intent_path}
            )
        except NsxNotFoundError:
            return []
        return list(response.json().get("results") or [])

    def wait_realized(self, *intent_paths: str) -> None:
        """Poll until every realized entity of each intent is REALIZED; fail on ERROR.

        The intents are polled in the order given (the order they were written): a round
        stops at the first one still pending. Rounds follow `ClientTuning`: the first after
        `realization_first_interval`, each next one when the time waited has grown by
        `realization_growth` (at most `realization_max_interval` later), so the wait ends at
        most that factor after NSX realized, with few polls.
        """
        tuning = self._tuning
        started = self._clock()
        deadline = started + tuning.realization_timeout
        pending = list(intent_paths)
        next_round = started + tuning.realization_first_interval
        while pending:
            self._sleep_until(min(next_round, deadline))
            polled_at = self._clock()
            states = self._poll_in_order(pending)
            if not pending:
                return
            if polled_at >= deadline:
                raise NsxRealizationTimeoutError(pending[0], tuning.realization_timeout, states)
            waited = max(next_round - started, tuning.realization_first_interval)
            step = min(waited * (tuning.realization_growth - 1), tuning.realization_max_interval)
            next_round = max(next_round, polled_at) + step

    def _poll_in_order(self, pending: list[str]) -> list[str]:
        """Remove the realized intents from the front of `pending`; the states of the first
        one still pending (none when all are realized)."""
        while pending:
            try:
                entities = self.realized_entities(pending[0])
            except NsxApiError as error:
                if error.status not in BUSY_STATUS:
                    raise
                # A poll NSX was too busy to answer, even after the request's own retries,
                # is a look missed, not a realization failed: look again next round, within
                # the realization timeout. (NSX unreachable still fails at once.)
                log.warning("realization of %s not polled this round: %s", pending[0], error)
                return [f"not polled: HTTP {error.status}"]
            states = [str(entity.get("state", "UNKNOWN")) for entity in entities]
            failed = [e for e in entities if e.get("state") == REALIZATION_ERROR]
            if failed:
                raise NsxRealizationError(pending[0], alarms_of(failed))
            if not (entities and all(state == REALIZED for state in states)):
                return states
            pending.pop(0)
        return []

    def _sleep_until(self, moment: float) -> None:
        remaining = moment - self._clock()
        if remaining > 0:
            self._sleep(remaining)

    # --- conflicts that clear by themselves ----------------------------------------------

    def retry_while(self, is_conflict: Callable[[NsxApiError], bool], action: Callable[[], T]) -> T:
        """Run `action`, repeating it while NSX refuses it for a passing reason."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(
                lambda exc: isinstance(exc, NsxApiError) and is_conflict(exc)
            ),
            stop=StopAtDeadline(self._tuning.conflict_timeout, self._clock),
            wait=tenacity.wait_fixed(self._tuning.conflict_interval),
            sleep=self._sleep,
            before_sleep=log_conflict,
            reraise=True,
        )
        return retrying(action)

    # --- HTTP --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url_path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One logical request: transient failures retried, NSX errors raised as NsxApiError."""
        policy = self._tuning.retry
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(is_transient),
            stop=(
                StopAfterAttempts(policy.max_attempts)
                | StopAtDeadline(policy.deadline, self._clock)
            ),
            wait=BackoffOrRetryAfter(policy),
            sleep=self._sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        return retrying(self._send_authenticated, method, url_path, json, params)

    def _send_authenticated(
        self, method: str, url_path: str, json: dict[str, Any] | None, params: dict[str, str] | None
    ) -> httpx.Response:
        if self._settings.session_auth and self._xsrf_token is None:
            self._resume_or_create_session()
        try:
            return self._send_once(method, url_path, json, params)
        except NsxApiError as error:
            if not (self._settings.session_auth and _is_expired_session(error)):
                raise
        log.info("NSX session expired; logging in again")
        self._create_session()
        return self._send_once(method, url_path, json, params)

    def _resume_or_create_session(self) -> None:
        """Reuse this process's session with the manager: one login per provider process,
        not per operation (NSX limits sessions per user, and every login is a request)."""
        cached = SESSIONS.get(self._session_key)
        if cached is None:
            self._create_session()
            return
        cookie, token = cached
        self._http.cookies.set(SESSION_COOKIE, cookie)
        self._xsrf_token = token

    @property
    def _session_key(self) -> tuple[str, str]:
        return (self._settings.base_url, self._settings.username)

    def _create_session(self) -> None:
        self._xsrf_token = None
        self._http.cookies.clear()
        response = self._send_once(
            "POST",
            paths.SESSION_CREATE,
            None,
            None,
            form={"j_username": self._settings.username, "j_password": self._settings.password},
        )
        token = response.headers.get("X-XSRF-TOKEN")
        if not token:
            raise NsxAuthError(
                "POST",
                paths.SESSION_CREATE,
                response.status_code,
                nsx_message="NSX created no session (no X-XSRF-TOKEN header)",
                hint="Set nsxt:sessionAuth to false to use HTTP Basic authentication",
            )
        self._xsrf_token = token
        cookie = self._http.cookies.get(SESSION_COOKIE)
        if cookie:
            SESSIONS.put(self._session_key, (cookie, token))

    def _send_once(
        self,
        method: str,
        url_path: str,
        json: dict[str, Any] | None,
        params: dict[str, str] | None,
        *,
        form: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = {"X-XSRF-TOKEN": self._xsrf_token} if self._xsrf_token else {}
        started = self._clock()
        try:
            response = self._http.request(
                method, url_path, json=json, params=params, data=form, headers=headers
            )
        except httpx.TransportError as error:
            raise connection_error(
                method, url_path, error, self._http.base_url.netloc.decode()
            ) from error
        log.debug(
            "%s %s -> %s in %.0f ms (x-nsx-requestid %s)",
            method,
            url_path,
            response.status_code,
            (self._clock() - started) * 1000,
            response.headers.get("x-nsx-requestid", "-"),
        )
        if response.is_success:
            return response
        raise api_error(method, url_path, response)

    def _paged(self, url_path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page_params = {**params, **({"cursor": cursor} if cursor else {})}
            body = self.request("GET", url_path, params=page_params).json()
            results = body.get("results") or []
            yield from results
            next_cursor = body.get("cursor")
            if not next_cursor or next_cursor == cursor or not results:
                return
            cursor = str(next_cursor)
        raise NsxError(f"GET {url_path}: more than {MAX_PAGES} pages; giving up")


def _is_expired_session(error: NsxApiError) -> bool:
    return error.status == 403 and XSRF_ERROR_CODE in error.all_error_codes
