"""A small NSX Policy API client on httpx: auth, TLS, retries, NSX errors, realization.

The client is built per operation and closed afterwards; nothing here is meant to be pickled.
Transient failures (rate limits, overload, dropped connections, timeouts) are retried with
capped, jittered exponential backoff within a bounded number of attempts and an overall
deadline. Other 4xx answers are never retried: they do not heal by themselves.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import tenacity

from antrea_egress.nsx import paths
from antrea_egress.nsx.errors import (
    NsxApiError,
    NsxAuthError,
    NsxConnectionError,
    NsxError,
    NsxNotFoundError,
    NsxRealizationError,
    NsxRealizationTimeoutError,
    NsxTlsError,
    parse_error_body,
)
from antrea_egress.nsx.settings import NsxSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
# 500 with these codes: "cannot connect" (98) and "persistence layer reconfiguring" (607).
RETRYABLE_500_CODES = frozenset({98, 607})
XSRF_ERROR_CODE = 98
SESSION_COOKIE = "JSESSIONID"
REALIZED = "REALIZED"
REALIZATION_ERROR = "ERROR"
MAX_PAGES = 10_000


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
    realization_timeout: float = 600.0
    realization_first_interval: float = 1.0
    realization_max_interval: float = 5.0
    # How long to keep retrying an operation NSX refuses for a reason that clears by itself:
    # "has children / is referenced / ports attached" on delete, "marked for delete" on create.
    conflict_timeout: float = 300.0
    conflict_interval: float = 2.0


class NsxClient:
    """Synchronous NSX Policy API client. Use as a context manager."""

    def __init__(
        self,
        settings: NsxSettings,
        *,
        tuning: ClientTuning | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._tuning = tuning or ClientTuning()
        self._sleep = sleep
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

    def wait_realized(self, intent_path: str) -> None:
        """Poll until every realized entity of `intent_path` is REALIZED; fail on ERROR."""
        tuning = self._tuning
        deadline = time.monotonic() + tuning.realization_timeout
        interval = tuning.realization_first_interval
        while True:
            entities = self.realized_entities(intent_path)
            states = [str(entity.get("state", "UNKNOWN")) for entity in entities]
            failed = [e for e in entities if e.get("state") == REALIZATION_ERROR]
            if failed:
                raise NsxRealizationError(intent_path, _alarm_texts(failed))
            if entities and all(state == REALIZED for state in states):
                return
            if time.monotonic() + interval > deadline:
                raise NsxRealizationTimeoutError(intent_path, tuning.realization_timeout, states)
            self._sleep(interval)
            interval = min(interval * 2, tuning.realization_max_interval)

    # --- conflicts that clear by themselves ----------------------------------------------

    def retry_while(self, is_conflict: Callable[[NsxApiError], bool], action: Callable[[], T]) -> T:
        """Run `action`, repeating it while NSX refuses it for a passing reason."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(
                lambda exc: isinstance(exc, NsxApiError) and is_conflict(exc)
            ),
            stop=tenacity.stop_before_delay(self._tuning.conflict_timeout),
            wait=tenacity.wait_fixed(self._tuning.conflict_interval),
            sleep=self._sleep,
            before_sleep=_log_conflict,
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
            retry=tenacity.retry_if_exception(_is_transient),
            stop=(
                tenacity.stop_after_attempt(policy.max_attempts)
                | tenacity.stop_before_delay(policy.deadline)
            ),
            wait=_BackoffOrRetryAfter(policy),
            sleep=self._sleep,
            before_sleep=_log_retry,
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
        cached = _SESSIONS.get(self._session_key)
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
            _SESSIONS.put(self._session_key, (cookie, token))

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
        started = time.monotonic()
        try:
            response = self._http.request(
                method, url_path, json=json, params=params, data=form, headers=headers
            )
        except httpx.TransportError as error:
            raise _connection_error(method, url_path, error) from error
        log.debug(
            "%s %s -> %s in %.0f ms (x-nsx-requestid %s)",
            method,
            url_path,
            response.status_code,
            (time.monotonic() - started) * 1000,
            response.headers.get("x-nsx-requestid", "-"),
        )
        if response.is_success:
            return response
        raise _api_error(method, url_path, response)

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


class _SessionCache:
    """Session cookie and XSRF token per (manager, user), shared by this process's clients."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, str], tuple[str, str]] = {}

    def get(self, key: tuple[str, str]) -> tuple[str, str] | None:
        with self._lock:
            return self._sessions.get(key)

    def put(self, key: tuple[str, str], session: tuple[str, str]) -> None:
        with self._lock:
            self._sessions[key] = session

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()


_SESSIONS = _SessionCache()


def forget_sessions() -> None:
    """Drop the cached sessions (tests; or after a credential change in a long process)."""
    _SESSIONS.clear()


class _BackoffOrRetryAfter(tenacity.wait.wait_base):
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


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, NsxTlsError):
        return False
    if isinstance(error, NsxConnectionError):
        return True
    if isinstance(error, NsxApiError):
        if error.status in RETRYABLE_STATUS:
            return True
        return error.status == 500 and bool(error.all_error_codes & RETRYABLE_500_CODES)
    return False


def _is_expired_session(error: NsxApiError) -> bool:
    return error.status == 403 and XSRF_ERROR_CODE in error.all_error_codes


def _api_error(method: str, url_path: str, response: httpx.Response) -> NsxApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    code, message, related = parse_error_body(body)
    if not message and body is None:
        message = response.text.strip()[:500]
    kwargs: dict[str, Any] = {
        "error_code": code,
        "nsx_message": message,
        "related_errors": related,
        "retry_after": _retry_after(response),
    }
    status = response.status_code
    if status == 404:
        return NsxNotFoundError(method, url_path, status, **kwargs)
    if status == 401 or (status == 403 and code != XSRF_ERROR_CODE):
        hint = (
            "Check nsxt:username and nsxt:password (or NSXT_USERNAME and NSXT_PASSWORD) and "
            "that the user may use the Policy API"
        )
        return NsxAuthError(method, url_path, status, hint=hint, **kwargs)
    return NsxApiError(method, url_path, status, **kwargs)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _connection_error(method: str, url_path: str, error: httpx.TransportError) -> NsxError:
    """A TLS failure (certificate, protocol, cipher) is final; other failures may pass."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return NsxTlsError(method, url_path, cause.verify_message or str(cause))
        if isinstance(cause, ssl.SSLError):
            return NsxTlsError(method, url_path, str(cause))
        cause = cause.__cause__ or cause.__context__
    reason = type(error).__name__ + (f": {error}" if str(error) else "")
    return NsxConnectionError(method, url_path, reason)


def _alarm_texts(entities: list[dict[str, Any]]) -> list[str]:
    texts: list[str] = []
    for entity in entities:
        for alarm in entity.get("alarms") or []:
            texts.append(str(alarm.get("message") or "").strip())
            details = alarm.get("error_details") or {}
            texts.extend(
                str(related.get("error_message", "")).strip()
                for related in details.get("related_errors") or []
            )
    return [text for text in texts if text]


def _log_retry(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.warning("attempt %d: %s; retrying in %.1fs", state.attempt_number, error, wait)


def _log_conflict(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.info("NSX refused for now (%s); trying again", error)
