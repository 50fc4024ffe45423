"""The request pipeline: identify the caller, apply faults, authenticate, rate-limit, route.

Socket-free, so every rule here is the same whether a request came over HTTPS or from a test.
All shared state is guarded by the one `lock`; only injected delays run outside it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from nsxsim import errors, manager, routes
from nsxsim.auth import (
    SESSION_COOKIE,
    XSRF_HEADER,
    Credentials,
    RateLimiter,
    Sessions,
    parse_basic,
    session_cookie,
)
from nsxsim.messages import ApiRequest, ApiResponse, Fault, RecordedRequest
from nsxsim.state import Store

SESSION_CREATE = "/api/session/create"
SESSION_DESTROY = "/api/session/destroy"


@dataclass(frozen=True)
class Identity:
    user: str | None
    error: errors.NsxApiError | None = None
    session_id: str | None = None


class SimulatorApp:
    def __init__(
        self,
        *,
        store: Store,
        users: Mapping[str, str],
        rate_limit_per_second: int | None,
        nsx_version: str = manager.DEFAULT_NSX_VERSION,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        latency: float = 0.0,
    ) -> None:
        self.lock = threading.RLock()
        self.store = store
        self.nsx_version = nsx_version
        self.credentials = Credentials(dict(users))
        self.sessions = Sessions()
        self.limiter = RateLimiter(clock=clock)
        self.rate_limit_per_second = rate_limit_per_second
        self.faults: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        self._sleep = sleep
        # Every answer this late, outside the lock (requests overlap as on a real manager).
        self.latency = latency

    def handle(self, request: ApiRequest) -> ApiResponse:
        if self.latency > 0:
            self._sleep(self.latency)
        response, user = self._process(request)
        response.headers.setdefault("x-nsx-requestid", str(uuid.uuid4()))
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            body=request.decoded_body(),
            user=user,
            status=0 if response.drop else response.status,
        )
        with self.lock:
            self.requests.append(record)
        return response

    def _process(self, request: ApiRequest) -> tuple[ApiResponse, str | None]:
        with self.lock:
            identity = self._identify(request)
            fault = self._take_fault(request)
        extra_headers: dict[str, str] = {}
        if fault is not None:
            faulted = self._run_fault(fault)
            if faulted is not None:
                return faulted, identity.user
            extra_headers = dict(fault.headers)
        with self.lock:
            response = self._respond(request, identity)
        if fault is not None and fault.drop_answer:
            return ApiResponse(0, drop=True), identity.user
        response.headers.update(extra_headers)
        return response, identity.user

    # --- faults ------------------------------------------------------------------------------

    def _take_fault(self, request: ApiRequest) -> Fault | None:
        for fault in self.faults:
            if fault.applies_to(request.method, request.path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _run_fault(self, fault: Fault) -> ApiResponse | None:
        """The fault's own answer, or None when it only delays (or drops) the normal one."""
        if fault.delay > 0:
            self._sleep(fault.delay)
        if fault.drop:
            return ApiResponse(0, drop=True)
        if fault.status is None:
            return None
        code = fault.error_code if fault.error_code is not None else fault.status
        body = errors.error_body(fault.status, code, fault.message)
        return ApiResponse(fault.status, body, dict(fault.headers))

    # --- authentication ----------------------------------------------------------------------

    def _identify(self, request: ApiRequest) -> Identity:
        if request.method == "POST" and request.path == SESSION_CREATE:
            return self._identify_login(request)
        session_id = session_cookie(request.header("cookie"))
        if session_id is not None and self.sessions.known(session_id):
            try:
                user = self.sessions.user_for(session_id, request.header(XSRF_HEADER))
            except errors.NsxApiError as exc:
                return Identity(None, exc)
            return Identity(user, session_id=session_id)
        return self._identify_basic(request)

    def _identify_login(self, request: ApiRequest) -> Identity:
        """session/create: the form's j_username/j_password, else the Basic header.

        The form wins when present: terraform-provider-nsxt (via go-vmware-nsxt) sends both,
        and its Basic header then carries the URL-escaped password. Older go-vmware-nsxt sent
        no form at all, only Basic (nsxsim/TERRAFORM.md; NSX's answer there is UNCONFIRMED).
        """
        form = request.form()
        if "j_username" in form:
            user = form["j_username"]
            if self.credentials.check(user, form.get("j_password", "")):
                return Identity(user)
            return Identity(None, errors.forbidden_credentials())
        return self._identify_basic(request)

    def _identify_basic(self, request: ApiRequest) -> Identity:
        basic = parse_basic(request.header("authorization"))
        if basic is not None and self.credentials.check(*basic):
            return Identity(basic[0])
        return Identity(None, errors.forbidden_credentials())

    # --- admission and routing ---------------------------------------------------------------

    def _respond(self, request: ApiRequest, identity: Identity) -> ApiResponse:
        try:
            if identity.error is not None:
                raise identity.error
            if identity.user is None:
                raise errors.forbidden_credentials()
            self._check_rate(identity.user)
            return self._route(request, identity, identity.user)
        except errors.NsxApiError as exc:
            return ApiResponse(exc.status, exc.body())

    def _check_rate(self, user: str) -> None:
        limit = self.rate_limit_per_second
        if limit is not None and not self.limiter.admit(user, limit):
            raise errors.rate_limited(user, limit)

    def _route(self, request: ApiRequest, identity: Identity, user: str) -> ApiResponse:
        if request.path == SESSION_CREATE and request.method == "POST":
            return self._create_session(user)
        if request.path == SESSION_DESTROY and request.method == "POST":
            if identity.session_id is not None:
                self.sessions.destroy(identity.session_id)
            return ApiResponse(200)
        if manager.is_manager_path(request.path):
            return manager.dispatch(request, self.nsx_version)
        return routes.dispatch(self.store, request, user)

    def _create_session(self, user: str) -> ApiResponse:
        session_id, xsrf = self.sessions.create(user)
        return ApiResponse(
            200,
            headers={
                "Set-Cookie": f"{SESSION_COOKIE}={session_id}; Path=/; Secure; HttpOnly",
                XSRF_HEADER: xsrf,
            },
        )
