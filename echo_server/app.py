"""The echo server's FastAPI application: it tells a caller which source IP reached it.

This is the validation app of the field procedure (step 4 and step 9): it runs outside NSX,
and ``kubectl exec <pod> -- curl -s <host>:<port>`` from a pod answers
``Requester IP: <address>``. If Antrea Egress works, that address is the pod's Egress IP
(for example ``10.100.5.10``) rather than a node IP.

The reported address is the TCP peer address of the connection by default. Proxy headers
(``X-Forwarded-For``, ``Forwarded``, ``X-Real-IP``) are ignored, because any client can send
them with any value: ``curl -H 'X-Forwarded-For: 10.100.5.10'`` from an arbitrary pod would
otherwise "prove" an egress IP that never reached the server. Evidence for an auditor that
a group of pods leaves the cluster with one dedicated source IP must come from the TCP peer,
the only address the client cannot choose freely.

Only if the server is deliberately placed behind a reverse proxy or load balancer that
overwrites the header may ``trust_forwarded_for=True`` be used (``--trust-forwarded-for``
or ``ECHO_TRUST_FORWARDED_FOR=true`` on the command line). Then the LEFT-most
``X-Forwarded-For`` entry is reported: the address the first proxy saw as its client. An
entry that is not an IP address is ignored and the TCP peer is reported instead.
``Forwarded`` and ``X-Real-IP`` are never read.

The uvicorn server must not rewrite the peer address either: uvicorn applies proxy headers
from 127.0.0.1 by default, which is why :mod:`echo_server.cli` runs it with
``proxy_headers=False``.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Annotated, Literal

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse

__all__ = ["create_app", "requester_ip"]

_LOG = logging.getLogger(__name__)

_FORWARDED_FOR = "x-forwarded-for"


def _leftmost_forwarded_for(request: Request) -> str | None:
    """The left-most ``X-Forwarded-For`` entry if it is an IP address, else ``None``.

    Several ``X-Forwarded-For`` header lines count as one comma-separated list (RFC 9110
    field combination), so the left-most entry is the first entry of the first line.
    """
    values = request.headers.getlist(_FORWARDED_FOR)
    if not values:
        return None
    leftmost = ",".join(values).split(",", 1)[0].strip()
    try:
        return str(ipaddress.ip_address(leftmost))
    except ValueError:
        return None


def requester_ip(request: Request, *, trust_forwarded_for: bool = False) -> str:
    """The address to report for ``request``.

    The TCP peer address, unless ``trust_forwarded_for`` is set and the request carries a
    valid left-most ``X-Forwarded-For`` entry. Raises ``HTTPException`` (500) if the server
    does not know the peer address (an ASGI server without a TCP connection).
    """
    if trust_forwarded_for:
        forwarded = _leftmost_forwarded_for(request)
        if forwarded is not None:
            return forwarded
    if request.client is None or not request.client.host:
        raise HTTPException(status_code=500, detail="the TCP peer address is unknown")
    return request.client.host


def create_app(*, trust_forwarded_for: bool = False) -> FastAPI:
    """Build the echo server application.

    ``GET /`` answers ``Requester IP: <ip>\\n`` as text/plain (``?format=json`` answers
    ``{"requester_ip": "<ip>"}``); ``GET /healthz`` answers ``{"status": "ok"}``. See the
    module docstring for why ``trust_forwarded_for`` is off by default.
    """
    if trust_forwarded_for:
        _LOG.warning(
            "trusting the left-most X-Forwarded-For entry: any client can set it, so the "
            "reported address is no proof of the source IP unless a proxy overwrites it"
        )

    # A validation probe needs no interactive API docs; fewer endpoints, less surface.
    app = FastAPI(
        title="antrea-egress echo server",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.get("/", response_model=None)
    def echo(
        request: Request,
        response_format: Annotated[Literal["text", "json"], Query(alias="format")] = "text",
    ) -> PlainTextResponse | dict[str, str]:
        ip = requester_ip(request, trust_forwarded_for=trust_forwarded_for)
        if response_format == "json":
            return {"requester_ip": ip}
        return PlainTextResponse(f"Requester IP: {ip}\n")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
