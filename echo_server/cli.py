"""Command line of the echo server.

``python -m echo_server [--host HOST] [--port PORT] [--[no-]trust-forwarded-for]``

uvicorn is run programmatically with ``proxy_headers=False``. uvicorn's default is
``proxy_headers=True`` with ``forwarded_allow_ips="127.0.0.1"``: a request arriving over
loopback (for instance through ``docker run -p``'s userland proxy) would have its client
address replaced by whatever ``X-Forwarded-For`` says, and the echo server would report a
spoofed address. The application decides about proxy headers itself (see
:mod:`echo_server.app`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from echo_server.app import create_app

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "TRUST_FORWARDED_FOR_ENV",
    "Options",
    "build_config",
    "build_parser",
    "main",
    "parse_args",
]

# The field procedure ran the echo server on port 88 of a host outside NSX, on all interfaces.
DEFAULT_HOST = "0.0.0.0"  # noqa: S104 - must be reachable from the cluster's egress IPs
DEFAULT_PORT = 88
TRUST_FORWARDED_FOR_ENV = "ECHO_TRUST_FORWARDED_FOR"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})
_MAX_PORT = 65535


@dataclass(frozen=True, slots=True)
class Options:
    """The parsed command line."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    trust_forwarded_for: bool = False


def _port(value: str) -> int:
    try:
        port = int(value, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= _MAX_PORT:
        raise argparse.ArgumentTypeError(f"port out of range 1-{_MAX_PORT}: {port}")
    return port


def _env_flag(value: str) -> bool | None:
    """``True``/``False`` for a recognised boolean spelling, ``None`` otherwise."""
    normalised = value.strip().lower()
    if normalised in _TRUE:
        return True
    if normalised in _FALSE:
        return False
    return None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (without environment defaults; :func:`parse_args` applies those)."""
    parser = argparse.ArgumentParser(
        prog="python -m echo_server",
        description=(
            "Answer 'Requester IP: <TCP peer address>' on GET / so that a curl from a pod "
            "shows the source IP its traffic leaves the cluster with (the Antrea Egress IP)."
        ),
    )
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help="TCP port (default: %(default)s)"
    )
    parser.add_argument(
        "--trust-forwarded-for",
        action=argparse.BooleanOptionalAction,
        default=False,
        help=(
            "report the left-most X-Forwarded-For entry instead of the TCP peer; only behind "
            f"a proxy that overwrites the header. Default from ${TRUST_FORWARDED_FOR_ENV} "
            "(true/false), else off"
        ),
    )
    return parser


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> Options:
    """Parse ``argv`` (default ``sys.argv[1:]``); ``environ`` (default ``os.environ``)
    supplies the default of ``--trust-forwarded-for``, which a flag overrides."""
    env = os.environ if environ is None else environ
    parser = build_parser()
    raw = env.get(TRUST_FORWARDED_FOR_ENV)
    if raw is not None:
        flag = _env_flag(raw)
        if flag is None:
            parser.error(f"{TRUST_FORWARDED_FOR_ENV} must be true or false, not {raw!r}")
        parser.set_defaults(trust_forwarded_for=flag)
    namespace = parser.parse_args(argv)
    return Options(
        host=namespace.host,
        port=namespace.port,
        trust_forwarded_for=namespace.trust_forwarded_for,
    )


def build_config(
    options: Options, *, log_config: dict[str, Any] | None = LOGGING_CONFIG
) -> uvicorn.Config:
    """The uvicorn configuration for ``options``: proxy headers off, access log on."""
    return uvicorn.Config(
        create_app(trust_forwarded_for=options.trust_forwarded_for),
        host=options.host,
        port=options.port,
        proxy_headers=False,
        access_log=True,
        log_config=log_config,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the echo server until interrupted."""
    options = parse_args(argv)
    uvicorn.Server(build_config(options)).run()
    return 0
