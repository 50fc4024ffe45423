"""URL routing of `/policy/api/v1/...` onto the object store."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nsxsim import errors, kinds
from nsxsim.messages import ApiRequest, ApiResponse
from nsxsim.search import paginate
from nsxsim.state import Store

API_PREFIX = "/policy/api/v1"


@dataclass(frozen=True)
class Call:
    store: Store
    request: ApiRequest
    user: str
    policy_path: str
    match: re.Match[str]


Handler = Callable[[Call], ApiResponse]


def dispatch(store: Store, request: ApiRequest, user: str) -> ApiResponse:
    if not request.path.startswith(API_PREFIX + "/"):
        raise errors.not_found(request.path)
    policy_path = request.path[len(API_PREFIX) :]
    for pattern, methods in _ROUTES:
        match = pattern.fullmatch(policy_path)
        if match is None:
            continue
        handler = methods.get(request.method)
        if handler is None:
            raise errors.method_not_allowed(request.method, request.path)
        return handler(Call(store, request, user, policy_path, match))
    raise errors.not_found(kinds.object_id(policy_path))


def _json_object(request: ApiRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body.decode("utf-8")) if request.body else None
    except (ValueError, UnicodeDecodeError):
        raise errors.bad_request("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise errors.bad_request("The request body must be a JSON object")
    return body


def _check_parent(call: Call) -> None:
    found = kinds.kind_of(call.policy_path)
    if found is not None:
        kind, match = found
        kind.check_parent(call.store, match)


# --- one object ----------------------------------------------------------------------------


def _get_one(call: Call) -> ApiResponse:
    _check_parent(call)
    return ApiResponse(200, call.store.require(call.policy_path))


def _patch(call: Call) -> ApiResponse:
    call.store.write(call.policy_path, _json_object(call.request), method="PATCH", user=call.user)
    # PATCH answers 200 with no body; PUT returns the object (docs/nsx-policy-api.md §1.3).
    return ApiResponse(200)


def _put(call: Call) -> ApiResponse:
    body = _json_object(call.request)
    return ApiResponse(200, call.store.write(call.policy_path, body, method="PUT", user=call.user))


def _delete(call: Call) -> ApiResponse:
    _check_parent(call)
    call.store.delete(call.policy_path)
    return ApiResponse(200)


_OBJECT: dict[str, Handler] = {"GET": _get_one, "PATCH": _patch, "PUT": _put, "DELETE": _delete}
_READ_ONLY: dict[str, Handler] = {"GET": _get_one}


# --- collections ---------------------------------------------------------------------------


def _list(check: Callable[[Call], None]) -> Handler:
    def handler(call: Call) -> ApiResponse:
        check(call)
        include = call.request.query.get("include_mark_for_delete_objects", "").lower() == "true"
        items = call.store.list_under(call.policy_path, include_marked=include)
        return ApiResponse(200, paginate(items, call.request.query))

    return handler


def _anything(_call: Call) -> None:
    return None


def _segment_exists(call: Call) -> None:
    if call.store.get(kinds.segment_path(call.match["seg"])) is None:
        raise errors.not_found(call.match["seg"])


def _nat_parent(call: Call) -> None:
    kinds.check_nat_section(call.match["section"])
    kinds.check_tier1(call.store, call.match["t1"])


def _nat_section_body(t1_id: str, section: str) -> dict[str, Any]:
    # NSX keeps one PolicyNat per section on every Tier-1; the simulator synthesises them.
    path = f"{kinds.tier1_path(t1_id)}/nat/{section}"
    return {
        "resource_type": "PolicyNat",
        "id": section,
        "display_name": section,
        "nat_type": section,
        "path": path,
        "parent_path": kinds.tier1_path(t1_id),
        "relative_path": section,
        "marked_for_delete": False,
        "_system_owned": True,
        "_revision": 0,
    }


def _nat_sections(call: Call) -> ApiResponse:
    kinds.check_tier1(call.store, call.match["t1"])
    items = [_nat_section_body(call.match["t1"], s) for s in kinds.NAT_SECTIONS]
    return ApiResponse(200, paginate(items, call.request.query))


def _nat_section(call: Call) -> ApiResponse:
    _nat_parent(call)
    return ApiResponse(200, _nat_section_body(call.match["t1"], call.match["section"]))


# --- realization and search ----------------------------------------------------------------


def _required_param(call: Call, name: str) -> str:
    value = call.request.query.get(name)
    if not value:
        raise errors.bad_request(f"Query parameter {name} is required")
    return value


def _realized(call: Call) -> ApiResponse:
    results = call.store.realized(_required_param(call, "intent_path"))
    return ApiResponse(200, {"results": results, "result_count": len(results)})


def _search(call: Call) -> ApiResponse:
    found = call.store.search(_required_param(call, "query"))
    return ApiResponse(200, paginate(found, call.request.query))


_ID = r"[^/]+"
_ROUTE_TABLE: list[tuple[str, dict[str, Handler]]] = [
    (r"/infra/segments", {"GET": _list(_anything)}),
    (rf"/infra/segments/{_ID}", _OBJECT),
    (
        r"/infra/segments/(?P<seg>[^/]+)/segment-connection-binding-maps",
        {"GET": _list(_segment_exists)},
    ),
    (rf"/infra/segments/{_ID}/segment-connection-binding-maps/{_ID}", _OBJECT),
    (r"/infra/segments/(?P<seg>[^/]+)/ports", {"GET": _list(_segment_exists)}),
    (rf"/infra/segments/{_ID}/ports/{_ID}", _READ_ONLY),
    (r"/infra/tier-1s", {"GET": _list(_anything)}),
    (rf"/infra/tier-1s/{_ID}", _READ_ONLY),
    (r"/infra/tier-1s/(?P<t1>[^/]+)/nat", {"GET": _nat_sections}),
    (r"/infra/tier-1s/(?P<t1>[^/]+)/nat/(?P<section>[^/]+)", {"GET": _nat_section}),
    (
        r"/infra/tier-1s/(?P<t1>[^/]+)/nat/(?P<section>[^/]+)/nat-rules",
        {"GET": _list(_nat_parent)},
    ),
    (rf"/infra/tier-1s/{_ID}/nat/{_ID}/nat-rules/{_ID}", _OBJECT),
    (r"/infra/realized-state/realized-entities", {"GET": _realized}),
    (r"/search/query", {"GET": _search}),
]
_ROUTES = [(re.compile(pattern), methods) for pattern, methods in _ROUTE_TABLE]
