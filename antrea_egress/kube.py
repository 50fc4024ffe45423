"""A minimal Kubernetes API client on httpx, built from a kubeconfig.

Used where a Pulumi provider cannot help: inside dynamic providers (node-segment discovery)
and by the command line (verify, discover). It supports what `kubectl vsphere login` and
Cluster API kubeconfigs contain: bearer tokens, client certificates, a CA (inline or file).
Exec credential plugins are refused with a clear message rather than half-supported.
"""

from __future__ import annotations

import base64
import hashlib
import os
import ssl
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

KUBECONFIG_KEY = "kubernetes:kubeconfig"
CONTEXT_KEY = "kubernetes:context"


class KubeError(Exception):
    """The Kubernetes API could not be reached or refused a request."""


class KubeNotFoundError(KubeError):
    pass


@dataclass(frozen=True)
class KubeAccess:
    """Where the API server is and how to authenticate; secrets are kept out of repr()."""

    server: str
    context: str
    ca_data: bytes | None = field(default=None, repr=False)
    insecure: bool = False
    token: str | None = field(default=None, repr=False)
    client_cert: bytes | None = field(default=None, repr=False)
    client_key: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_kubeconfig(
        cls, text: str, context: str | None = None, *, base_dir: Path | None = None
    ) -> KubeAccess:
        """`base_dir`: where relative file paths in the kubeconfig start (its own directory)."""
        config = yaml.safe_load(text) or {}
        files = _FileReader(base_dir or Path.cwd())
        name = context or config.get("current-context")
        if not name:
            raise KubeError("the kubeconfig has no current-context; set kubernetes:context")
        ctx = _named(config, "contexts", name, "context")
        cluster = _named(config, "clusters", ctx.get("cluster", ""), "cluster")
        user = _named(config, "users", ctx.get("user", ""), "user") if ctx.get("user") else {}
        if "exec" in user or "auth-provider" in user:
            raise KubeError(
                f"the kubeconfig user of context {name!r} uses an exec/auth-provider plugin, which "
                "this tool does not run; use a context with a token or client certificate"
            )
        return cls(
            server=str(cluster["server"]).rstrip("/"),
            context=name,
            ca_data=files.inline_or_file(cluster, "certificate-authority"),
            insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
            token=user.get("token") or files.text(user.get("tokenFile")),
            client_cert=files.inline_or_file(user, "client-certificate"),
            client_key=files.inline_or_file(user, "client-key"),
        )

    @classmethod
    def resolve(cls, config: Callable[[str], Any], environ: Mapping[str, str]) -> KubeAccess:
        """From kubernetes:kubeconfig (contents or path), else $KUBECONFIG, else ~/.kube/config."""
        raw = config(KUBECONFIG_KEY)
        path: Path | None = None
        if raw and "apiVersion" not in str(raw) and Path(str(raw)).expanduser().is_file():
            path = Path(str(raw)).expanduser()
        elif not raw:
            path = _default_kubeconfig_path(environ)
            if not path.is_file():
                raise KubeError(
                    f"no kubeconfig: set {KUBECONFIG_KEY} or KUBECONFIG (looked at {path})"
                )
        text = path.read_text() if path else str(raw)
        context = config(CONTEXT_KEY)
        return cls.from_kubeconfig(
            text, str(context) if context else None, base_dir=path.parent if path else None
        )


def cluster_fingerprint(kubeconfig: str) -> str:
    """A short digest of the current context's API server and CA: the same for every kubeconfig
    of one cluster (rotated client certificates included), different for a rebuilt cluster."""
    config = yaml.safe_load(kubeconfig) or {}
    context = _named(config, "contexts", str(config.get("current-context") or ""), "context")
    cluster = _named(config, "clusters", str(context.get("cluster") or ""), "cluster")
    identity = f"{cluster.get('server', '')}\n{cluster.get('certificate-authority-data', '')}"
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


class KubeClient:
    """GET/LIST/POST/DELETE and dry-run creates on raw API paths; one instance per operation."""

    def __init__(
        self,
        access: KubeAccess,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._access = access
        headers = {"Accept": "application/json"}
        if access.token:
            headers["Authorization"] = f"Bearer {access.token}"
        self._http = httpx.Client(
            base_url=access.server,
            verify=self._ssl_context(),
            headers=headers,
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def get(self, path: str) -> dict[str, Any]:
        return dict(self._request("GET", path).json())

    def get_optional(self, path: str) -> dict[str, Any] | None:
        try:
            return self.get(path)
        except KubeNotFoundError:
            return None

    def list(self, path: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        params = {"labelSelector": label_selector} if label_selector else None
        return list(self._request("GET", path, params=params).json().get("items") or [])

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._request("POST", path, json=body).json())

    def dry_run_create(
        self, path: str, body: dict[str, Any], *, field_validation: str = "Ignore"
    ) -> dict[str, Any]:
        """The object as the API server would store it, stored nowhere: admission (schema
        pruning, defaulting, webhooks) runs, persistence does not (`dryRun=All`). With
        `fieldValidation=Ignore` unknown fields are dropped silently, as a plain create drops
        them; `Strict` refuses them instead (Kubernetes API concepts, "Dry-run" and "Field
        validation": https://kubernetes.io/docs/reference/using-api/api-concepts/)."""
        params = {"dryRun": "All", "fieldValidation": field_validation}
        return dict(self._request("POST", path, params=params, json=body).json())

    def delete(self, path: str) -> None:
        try:
            self._request("DELETE", path)
        except KubeNotFoundError:
            return

    def text(self, path: str, params: dict[str, str] | None = None) -> str:
        return self._request("GET", path, params=params).text

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
    ) -> httpx.Response:
        try:
            response = self._http.request(method, path, params=params, json=json)
        except httpx.TransportError as error:
            raise KubeError(
                f"{method} {path} on {self._access.server} failed: {type(error).__name__} {error}"
            ) from error
        if response.status_code == 404:
            raise KubeNotFoundError(f"{method} {path}: not found")
        if not response.is_success:
            raise KubeError(
                f"{method} {path} failed: HTTP {response.status_code}: {_status_message(response)}"
            )
        return response

    def _ssl_context(self) -> ssl.SSLContext | bool:
        access = self._access
        if access.insecure:
            return False
        context = ssl.create_default_context(
            cadata=access.ca_data.decode() if access.ca_data else None
        )
        if access.client_cert and access.client_key:
            with _temporary_files(access.client_cert, access.client_key) as (cert, key):
                context.load_cert_chain(cert, key)
        return context


@contextmanager
def _temporary_files(*contents: bytes) -> Iterator[list[str]]:
    """ssl loads client certificates only from files: write them 0600 and remove them at once."""
    with tempfile.TemporaryDirectory(prefix="antrea-egress-") as directory:
        paths = []
        for index, content in enumerate(contents):
            path = Path(directory) / f"{index}.pem"
            path.touch(mode=0o600)
            path.write_bytes(content)
            paths.append(str(path))
        yield paths


def _named(config: dict[str, Any], section: str, name: str, key: str) -> dict[str, Any]:
    for entry in config.get(section) or []:
        if entry.get("name") == name:
            return dict(entry.get(key) or {})
    raise KubeError(f"the kubeconfig has no {section[:-1]} named {name!r}")


@dataclass(frozen=True)
class _FileReader:
    """Files a kubeconfig names, relative to the kubeconfig's own directory (as kubectl does)."""

    base_dir: Path

    def path(self, name: Any) -> Path:
        return self.base_dir / Path(str(name)).expanduser()

    def inline_or_file(self, entry: Mapping[str, Any], key: str) -> bytes | None:
        if entry.get(f"{key}-data"):
            return base64.b64decode(entry[f"{key}-data"])
        if entry.get(key):
            return self.path(entry[key]).read_bytes()
        return None

    def text(self, name: Any) -> str | None:
        return self.path(name).read_text().strip() if name else None


def _default_kubeconfig_path(environ: Mapping[str, str]) -> Path:
    listed = environ.get("KUBECONFIG", "")
    first = listed.split(os.pathsep)[0] if listed else ""
    return Path(first).expanduser() if first else Path.home() / ".kube" / "config"


def _status_message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text[:300]))
    except ValueError:
        return response.text[:300]
