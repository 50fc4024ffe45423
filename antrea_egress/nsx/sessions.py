"""NSX sessions shared by this process's clients: one login per manager and user.

NSX limits sessions per user, and every login is a request: a provider process reuses its
session cookie and XSRF token across operations.
"""

from __future__ import annotations

import threading

SESSION_COOKIE = "JSESSIONID"


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


SESSIONS = _SessionCache()


def forget_sessions() -> None:
    """Drop the cached sessions (tests; or after a credential change in a long process)."""
    SESSIONS.clear()
