"""NSX error codes, messages and the JSON error body the simulator answers with.

Every code lives here once so that a correction (several are UNCONFIRMED in
docs/nsx-policy-api.md §3.2) is a one-line change.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

MODULE_NAME = "nsx-sim"

ERR_NOT_FOUND = 600
ERR_INVALID_PATH = 500012
ERR_HAS_CHILDREN_OR_REFERENCED = 500030
ERR_MARKED_FOR_DELETE = 500045
ERR_PORTS_ATTACHED = 503040
ERR_BAD_XSRF = 98
ERR_BAD_CREDENTIALS = 403
# UNCONFIRMED for infra binding maps (docs/nsx-policy-api.md §1.1); nsx-operator maps 8327 to
# "overlap VLAN".
ERR_DUPLICATE_VLAN = 8327
# The reference gives no code for the following; the simulator picks stable, distinct values.
ERR_INVALID_REQUEST = 500001
ERR_STALE_REVISION = 604
ERR_RATE_LIMITED = 429
ERR_METHOD_NOT_ALLOWED = 405
ERR_REALIZATION_FAILED = 500100

MSG_BAD_CREDENTIALS = "The credentials were incorrect or the account specified has been locked."
MSG_BAD_XSRF = "Bad XSRF token"


class NsxApiError(Exception):
    """An NSX-style failure: HTTP status, NSX error_code and message."""

    def __init__(self, status: int, error_code: int, message: str) -> None:
        super().__init__(f"HTTP {status} / {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.error_code, self.message)


def error_body(status: int, error_code: int, message: str) -> dict[str, Any]:
    return {
        "httpStatus": _status_name(status),
        "error_code": error_code,
        "module_name": MODULE_NAME,
        "error_message": message,
        "related_errors": [],
    }


def _status_name(status: int) -> str:
    try:
        return HTTPStatus(status).name
    except ValueError:
        return str(status)


def not_found(object_id: str) -> NsxApiError:
    return NsxApiError(
        404,
        ERR_NOT_FOUND,
        f"The requested object : {object_id} could not be found. "
        "Object identifiers are case sensitive.",
    )


def bad_request(message: str, error_code: int = ERR_INVALID_REQUEST) -> NsxApiError:
    return NsxApiError(400, error_code, message)


def invalid_path(path: object) -> NsxApiError:
    return bad_request(f"The path=[{path}] is invalid", ERR_INVALID_PATH)


def cannot_delete(path: str, others: list[str]) -> NsxApiError:
    return bad_request(
        f"The object path=[{path}] cannot be deleted as either it has children or it is being "
        f"referenced by other objects path=[{','.join(others)}].",
        ERR_HAS_CHILDREN_OR_REFERENCED,
    )


def stale_revision(path: str, given: object, current: int) -> NsxApiError:
    return NsxApiError(
        412,
        ERR_STALE_REVISION,
        f"The object {path} was modified by somebody else: the request carries "
        f"_revision={given}, the current _revision is {current}. Re-read it and retry.",
    )


def forbidden_credentials() -> NsxApiError:
    return NsxApiError(403, ERR_BAD_CREDENTIALS, MSG_BAD_CREDENTIALS)


def forbidden_xsrf() -> NsxApiError:
    return NsxApiError(403, ERR_BAD_XSRF, MSG_BAD_XSRF)


def rate_limited(user: str, limit: int) -> NsxApiError:
    return NsxApiError(
        429, ERR_RATE_LIMITED, f"Client '{user}' exceeded request rate of {limit} per second"
    )


def method_not_allowed(method: str, path: str) -> NsxApiError:
    return NsxApiError(405, ERR_METHOD_NOT_ALLOWED, f"Method {method} is not supported on {path}")
