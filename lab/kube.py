"""A small Kubernetes API client for the lab's fixtures and controller doubles.

The program's own client (antrea_egress.kube) only reads and creates; the doubles also patch
objects and write their status, as the real controllers do through the status subresource.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx

JSON_MERGE_PATCH = "application/merge-patch+json"
REQUEST_TIMEOUT_S = 10.0


class LabKubeError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


@dataclass(frozen=True)
class Credentials:
    """How to reach one API server: its URL, the CA that signed it, a bearer token or a
    client certificate (PEM files)."""

    server: str
    ca_pem: bytes = field(repr=False)
    token: str | None = field(default=None, repr=False)
    client_cert_file: str | None = None
    client_key_file: str | None = None

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cadata=self.ca_pem.decode())
        if self.client_cert_file and self.client_key_file:
            context.load_cert_chain(self.client_cert_file, self.client_key_file)
        return context


class LabKube:
    def __init__(self, credentials: Credentials) -> None:
        headers = {"Accept": "application/json"}
        if credentials.token:
            headers["Authorization"] = f"Bearer {credentials.token}"
        self._http = httpx.Client(
            base_url=credentials.server,
            verify=credentials.ssl_context(),
            headers=headers,
            timeout=REQUEST_TIMEOUT_S,
        )

    def close(self) -> None:
        self._http.close()

    def get(self, path: str) -> dict[str, Any] | None:
        response = self._http.get(path)
        if response.status_code == 404:
            return None
        return _json(response)

    def list(self, path: str) -> list[dict[str, Any]]:
        return list(_json(self._http.get(path)).get("items") or [])

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return _json(self._http.post(path, json=body))

    def merge_patch(self, path: str, patch: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": JSON_MERGE_PATCH}
        return _json(self._http.patch(path, json=patch, headers=headers))

    def delete(self, path: str) -> bool:
        """True when something was deleted, False when it was already gone."""
        response = self._http.delete(path)
        if response.status_code == 404:
            return False
        _json(response)
        return True

    def text(self, path: str) -> str:
        response = self._http.get(path)
        if not response.is_success:
            raise LabKubeError(response.status_code, response.text[:300])
        return response.text


def _json(response: httpx.Response) -> dict[str, Any]:
    if not response.is_success:
        try:
            message = str(response.json().get("message"))
        except ValueError:
            message = response.text[:300]
        raise LabKubeError(response.status_code, message)
    return dict(response.json())
