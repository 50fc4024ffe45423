"""An admission webhook server on 127.0.0.1: HTTPS, AdmissionReview v1 in and out.

The API server calls it as it calls any webhook (admissionregistration.k8s.io/v1); each webhook
of the lab says what it reviews (`rule`, `review`) and this class does the rest: the server,
the review envelope and the webhook configuration that registers it.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
from abc import ABC, abstractmethod
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Literal

REVIEW_API = "admission.k8s.io/v1"
REGISTRATION_API = "admissionregistration.k8s.io/v1"
TIMEOUT_SECONDS = 5


class AdmissionServer(ABC):
    # What a subclass declares: where it listens, how it is registered, what it reviews.
    path: ClassVar[str]
    configuration_kind: ClassVar[
        Literal["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"]
    ]
    configuration_name: ClassVar[str]
    webhook_name: ClassVar[str]
    rule: ClassVar[dict[str, Any]]

    def __init__(self, cert_file: Path, key_file: Path) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert_file), str(key_file))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}{self.path}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def configuration(self, ca_pem: bytes) -> dict[str, Any]:
        """The webhook configuration that sends the `rule`'s writes here."""
        return {
            "apiVersion": REGISTRATION_API,
            "kind": self.configuration_kind,
            "metadata": {"name": self.configuration_name},
            "webhooks": [
                {
                    "name": self.webhook_name,
                    "clientConfig": {
                        "url": self.url,
                        "caBundle": base64.b64encode(ca_pem).decode(),
                    },
                    "rules": [{"operations": ["CREATE", "UPDATE"], **self.rule}],
                    "admissionReviewVersions": ["v1"],
                    "sideEffects": "None",
                    "failurePolicy": "Fail",
                    "timeoutSeconds": TIMEOUT_SECONDS,
                }
            ],
        }

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """The AdmissionReview answering `request`."""
        response = self.review(request)
        return {"apiVersion": REVIEW_API, "kind": "AdmissionReview", "response": response}

    @abstractmethod
    def review(self, request: dict[str, Any]) -> dict[str, Any]:
        """The review's `response` (uid, allowed, and a status or a patch)."""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                answer = json.dumps(webhook.answer(body.get("request") or {})).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: Any) -> None:
                return  # the reviews are kept; stderr stays quiet

        return Handler
