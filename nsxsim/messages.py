"""Plain data passed between the HTTP layer, the request pipeline and tests."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Fault:
    """An injected failure for requests whose URL path matches `path_regex` (re.search)."""

    path_regex: str
    method: str = "*"
    status: int | None = None
    error_code: int | None = None
    message: str = "injected fault"
    delay: float = 0.0
    drop: bool = False
    # Carry the request out, then drop the connection before the answer: NSX applied the
    # change but the client never hears so (a proxy or load balancer cutting a slow answer).
    drop_answer: bool = False
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)

    def applies_to(self, method: str, path: str) -> bool:
        return (
            self.times > 0
            and self.method.upper() in ("*", method.upper())
            and re.search(self.path_regex, path) is not None
        )


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    user: str | None
    status: int  # 0 when the connection was dropped without a response


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str  # percent-decoded, without the query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    client: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def decoded_body(self) -> Any:
        """What the request log shows: JSON if it parses, a form as a dict, else text/None."""
        if not self.body:
            return None
        content_type = self.header("content-type") or ""
        if "x-www-form-urlencoded" in content_type:
            return self.form()
        text = self.body.decode("utf-8", "replace")
        try:
            return json.loads(text)
        except ValueError:
            return text


@dataclass
class ApiResponse:
    status: int
    body: Any = None  # JSON-serialisable; None means an empty body
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
