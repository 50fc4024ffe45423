"""Credentials, JSESSIONID/XSRF sessions and the per-client rate limiter.

Like the store, these classes are not thread-safe alone; the simulator calls them under its lock.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie

from nsxsim import errors

SESSION_COOKIE = "JSESSIONID"
XSRF_HEADER = "X-XSRF-TOKEN"
RATE_WINDOW_SECONDS = 1.0


def parse_basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def session_cookie(header: str | None) -> str | None:
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel is not None else None


@dataclass
class Credentials:
    users: Mapping[str, str]

    def check(self, user: str, password: str) -> bool:
        expected = self.users.get(user)
        # Constant-time compare keeps the simulator honest even though it is a test fixture.
        return expected is not None and hmac.compare_digest(
            expected.encode("utf-8"), password.encode("utf-8")
        )


@dataclass
class Session:
    user: str
    xsrf: str


@dataclass
class Sessions:
    _by_id: dict[str, Session] = field(default_factory=dict)

    def create(self, user: str) -> tuple[str, str]:
        session_id, xsrf = secrets.token_hex(16).upper(), secrets.token_urlsafe(24)
        self._by_id[session_id] = Session(user, xsrf)
        return session_id, xsrf

    def known(self, session_id: str) -> bool:
        return session_id in self._by_id

    def user_for(self, session_id: str, xsrf: str | None) -> str:
        """The session's user; 403/98 when the token is missing, wrong or expired."""
        session = self._by_id[session_id]
        if xsrf is None or not hmac.compare_digest(session.xsrf, xsrf):
            raise errors.forbidden_xsrf()
        return session.user

    def destroy(self, session_id: str) -> None:
        self._by_id.pop(session_id, None)

    def expire_all(self) -> None:
        # A fresh random token nobody was told: the session cookie stays, its token is dead.
        for session in self._by_id.values():
            session.xsrf = secrets.token_urlsafe(24)


@dataclass
class RateLimiter:
    clock: Callable[[], float] = time.monotonic
    _admitted: dict[str, deque[float]] = field(default_factory=dict)

    def admit(self, client: str, limit: int) -> bool:
        """Sliding window: at most `limit` admitted requests per client in any second."""
        now = self.clock()
        window = self._admitted.setdefault(client, deque())
        while window and now - window[0] >= RATE_WINDOW_SECONDS:
            window.popleft()
        if len(window) >= limit:
            return False
        window.append(now)
        return True
