"""HTTPS transport: a threading HTTP/1.1 server whose requests go to `SimulatorApp.handle`.

TLS is negotiated in the per-connection thread (not in accept), so a client that rejects the
certificate or stalls cannot block other connections.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import ssl
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from nsxsim import errors
from nsxsim.app import SimulatorApp
from nsxsim.messages import ApiRequest, ApiResponse

HOST = "127.0.0.1"
HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0
_MAX_LINE = 65537


class SimHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app: SimulatorApp, context: ssl.SSLContext, port: int = 0) -> None:
        self.app = app
        self._context = context
        self._open: set[ssl.SSLSocket] = set()
        self._open_lock = threading.Lock()
        super().__init__((HOST, port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn); skip it to stay off DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = HOST, self.server_address[1]

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            connection = self._context.wrap_socket(request, server_side=True)
        except OSError:
            return  # the client refused our certificate or does not speak TLS
        with self._open_lock:
            self._open.add(connection)
        try:
            super().finish_request(connection, client_address)
        finally:
            with self._open_lock:
                self._open.discard(connection)
            self.shutdown_request(connection)

    def close_connections(self) -> None:
        """Cut idle keep-alive connections so no handler thread serves after stop()."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            _hard_shutdown(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up (including ones we dropped on purpose) are normal here.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


def _hard_shutdown(connection: socket.socket) -> None:
    # socket.socket.shutdown directly: SSLSocket.shutdown would also tear down the TLS object
    # that the handler thread may be using at this moment.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(connection, socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; Nagle + delayed ACK would add ~40 ms each.
    disable_nagle_algorithm = True
    server_version = "nsxsim"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: SimHttpServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        return  # the request log on the simulator replaces access logging

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            body_error = errors.bad_request("Malformed request body framing").body()
            self._write(ApiResponse(400, body_error, {"x-nsx-requestid": str(uuid.uuid4())}))
            return
        response = self.server.app.handle(self._api_request(body))
        if response.drop:
            self.close_connection = True
            _hard_shutdown(self.connection)
        else:
            self._write(response)

    def _api_request(self, body: bytes) -> ApiRequest:
        split = urlsplit(self.path)
        return ApiRequest(
            method=self.command,
            path=unquote(split.path),
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            client=str(self.client_address[0]),
        )

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline(_MAX_LINE).split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
                    pass  # skip trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(_MAX_LINE)

    def _write(self, response: ApiResponse) -> None:
        payload = b"" if response.body is None else json.dumps(response.body).encode("utf-8")
        self.send_response(response.status)
        if payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
