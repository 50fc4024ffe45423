"""Exceptions raised by the NSX client, and how an HTTP answer or failure becomes one.

Every message names the request (method and API path) and never contains credentials: the
client never puts them in URLs, and messages are built only from the method, the path and
what NSX answered.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

# NSX's code for a missing or stale XSRF token: an expired session, not a refusal.
XSRF_ERROR_CODE = 98


class NsxError(Exception):
    """Base class of everything the NSX client raises."""


class NsxSettingsError(NsxError):
    """A connection setting is missing or malformed; the message names the key to set."""


@dataclass(frozen=True)
class RelatedError:
    error_code: int | None
    message: str

    def __str__(self) -> str:
        if self.error_code and self.message:
            return f"{self.error_code}: {self.message}"
        return str(self.error_code) if self.error_code else self.message


@dataclass(eq=False)
class NsxApiError(NsxError):
    """NSX answered with an error status; carries NSX's own error body, parsed."""

    method: str
    path: str
    status: int
    error_code: int | None = None
    nsx_message: str = ""
    related_errors: list[RelatedError] = field(default_factory=list)
    retry_after: float | None = None
    hint: str = ""

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        code = f", NSX error {self.error_code}" if self.error_code is not None else ""
        text = f"{self.method} {self.path} failed: HTTP {self.status}{code}"
        if self.nsx_message:
            text += f": {self.nsx_message}"
        if self.related_errors:
            text += " (related: " + "; ".join(str(r) for r in self.related_errors) + ")"
        if self.hint:
            text += f". {self.hint}"
        return text

    @property
    def all_error_codes(self) -> set[int]:
        """Top-level and related codes: NSX often hides the telling one among the related."""
        codes = {r.error_code for r in self.related_errors if r.error_code is not None}
        if self.error_code is not None:
            codes.add(self.error_code)
        return codes

    @property
    def all_messages(self) -> str:
        return " ".join([self.nsx_message, *(r.message for r in self.related_errors)])


class NsxNotFoundError(NsxApiError):
    """HTTP 404 (NSX error 600): the object does not exist."""


class NsxAuthError(NsxApiError):
    """The credentials were refused."""


@dataclass(eq=False)
class NsxConnectionError(NsxError):
    """The request did not get an HTTP answer (refused, reset, dropped or timed out)."""

    method: str
    path: str
    reason: str
    # host[:port] of the manager, so that a wrong nsxt:host shows in the message.
    manager: str = ""

    def __post_init__(self) -> None:
        super().__init__(str(self))

    @property
    def _at(self) -> str:
        return f" at {self.manager}" if self.manager else ""

    def __str__(self) -> str:
        return f"{self.method} {self.path} failed: no answer from NSX{self._at} ({self.reason})"


class NsxTlsError(NsxConnectionError):
    """TLS with the NSX Manager failed: an untrusted certificate, or no common protocol."""

    def __str__(self) -> str:
        return (
            f"{self.method} {self.path} failed: TLS with the NSX Manager{self._at} failed "
            f"({self.reason}). "
            "If its certificate is not trusted, set nsxt:caFile (or NSXT_CA_FILE) to the CA "
            "bundle that signed it"
        )


@dataclass(frozen=True)
class Alarm:
    """One alarm of a realized entity in ERROR: its text and NSX's error details."""

    message: str
    errors: tuple[RelatedError, ...] = ()

    def __str__(self) -> str:
        details = "; ".join(
            f"NSX error {e.error_code}" + (f": {e.message}" if e.message != self.message else "")
            if e.error_code is not None
            else e.message
            for e in self.errors
        )
        if not self.message:
            return details
        return f"{self.message} ({details})" if details else self.message


@dataclass(eq=False)
class NsxRealizationError(NsxError):
    """NSX reported the intent as ERROR; carries NSX's alarms with their error codes."""

    intent_path: str
    alarms: list[Alarm]

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        alarms = "; ".join(str(alarm) for alarm in self.alarms) or "no alarm text"
        return f"NSX failed to realize {self.intent_path}: {alarms}"

    @property
    def all_error_codes(self) -> set[int]:
        return {e.error_code for a in self.alarms for e in a.errors if e.error_code is not None}


def alarms_of(entities: list[dict[str, Any]]) -> list[Alarm]:
    """The alarms of realized entities: `alarms[].message` and `alarms[].error_details`
    (a PolicyApiError: error_code, error_message, related_errors[]), as NSX reports an ERROR
    (docs/nsx-policy-api.md §3.5)."""
    alarms: list[Alarm] = []
    for entity in entities:
        for alarm in entity.get("alarms") or []:
            if not isinstance(alarm, Mapping):
                continue
            details = alarm.get("error_details")
            errors: list[RelatedError] = []
            if isinstance(details, Mapping):
                code, message, related = parse_error_body(details)
                if code is not None or message:
                    errors.append(RelatedError(code, message.strip()))
                errors += [RelatedError(r.error_code, r.message.strip()) for r in related]
            unique = tuple(dict.fromkeys(errors))
            alarms.append(Alarm(str(alarm.get("message") or "").strip(), unique))
    return [alarm for alarm in alarms if alarm.message or alarm.errors]


@dataclass(eq=False)
class NsxRealizationTimeoutError(NsxError):
    intent_path: str
    timeout: float
    last_states: list[str]

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        states = ", ".join(self.last_states) or "no realized entities yet"
        return (
            f"{self.intent_path} was not realized within {self.timeout:g}s (last states: {states})"
        )


def parse_error_body(body: Any) -> tuple[int | None, str, list[RelatedError]]:
    """Error code, message and related errors from an NSX error body (either key spelling)."""
    if not isinstance(body, Mapping):
        return None, "", []
    related = [
        RelatedError(_as_int(item.get("error_code")), str(item.get("error_message", "")))
        for item in body.get("related_errors") or []
        if isinstance(item, Mapping)
    ]
    message = str(body.get("error_message") or body.get("details") or "")
    return _as_int(body.get("error_code")), message, related


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- an HTTP answer or failure as an NsxError ------------------------------------------------


def api_error(method: str, url_path: str, response: httpx.Response) -> NsxApiError:
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


def connection_error(
    method: str, url_path: str, error: httpx.TransportError, manager: str = ""
) -> NsxError:
    """A TLS failure (certificate, protocol, cipher) is final; other failures may pass."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return NsxTlsError(method, url_path, cause.verify_message or str(cause), manager)
        if isinstance(cause, ssl.SSLError):
            return NsxTlsError(method, url_path, str(cause), manager)
        cause = cause.__cause__ or cause.__context__
    reason = type(error).__name__ + (f": {error}" if str(error) else "")
    return NsxConnectionError(method, url_path, reason, manager)
