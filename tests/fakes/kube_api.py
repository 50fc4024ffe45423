"""A small Kubernetes API double over HTTPS on 127.0.0.1: stored objects, bearer-token auth.

Enough of the API for our clients: GET an object, LIST a collection (with equality label
selectors), POST to a collection (also as a server-side dry run, `dryRun=All`), DELETE, and pod
logs. Hooks let a test play a controller (e.g. a pod that runs and writes a log line);
`play_pods` plays the kubelet for every created pod (Pending -> Running -> Succeeded or
Failed, or never finishing), one step per read of the pod; `admission` plays what the API
server does to an object before storing it (a CRD's pruning, a webhook's refusal). Every
request is recorded, and so are the bodies POSTed and the paths deleted.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from nsxsim.tls import ServerTls

TOKEN = "supervisor-test-token"

PodHook = Callable[["FakeKubeApi", dict[str, Any]], None]
ReadHook = Callable[["FakeKubeApi", str], None]
# The object as admission leaves it (pruned, defaulted), or AdmissionRefusedError.
AdmissionHook = Callable[[str, dict[str, Any]], dict[str, Any]]


class AdmissionRefusedError(Exception):
    """Raised by an admission hook: the API server answers `status` with `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class KubeRequest:
    method: str
    path: str
    query: dict[str, str]


class FakeKubeApi:
    def __init__(self, *, token: str = TOKEN) -> None:
        self.token = token
        self._objects: dict[str, dict[str, Any]] = {}
        self._logs: dict[str, str] = {}
        self._lock = threading.Lock()
        self._uids = itertools.count(1)
        self.requests: list[KubeRequest] = []
        self.on_pod_created: PodHook | None = None
        # Called with the path of every GET (a pod's log: ".../log") before it is served.
        self.on_get: ReadHook | None = None
        # Called with the collection and the object of every POST, dry run or not.
        self.admission: AdmissionHook | None = None
        self.dry_runs: list[dict[str, Any]] = []  # every object a dry run answered with
        self.created: list[dict[str, Any]] = []  # every object POSTed, as stored
        self.deleted: list[str] = []  # the path of every object DELETE removed
        self._pod_steps: dict[str, Iterator[PodStep]] = {}
        self._tls = ServerTls()
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> FakeKubeApi:
        handler = _handler_for(self)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.socket = self._tls.context.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        self._server = server
        # A short poll interval: shutdown() waits for it, once per test.
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def server(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def kubeconfig(self, *, context: str = "supervisor", token: str | None = None) -> str:
        ca_data = base64.b64encode(Path(self._tls.ca_file).read_bytes()).decode()
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": context,
            "clusters": [
                {
                    "name": "sv",
                    "cluster": {"server": self.server, "certificate-authority-data": ca_data},
                }
            ],
            "users": [{"name": "sv-user", "user": {"token": token or self.token}}],
            "contexts": [{"name": context, "context": {"cluster": "sv", "user": "sv-user"}}],
        }
        return json.dumps(document)  # JSON is YAML

    # --- state ---------------------------------------------------------------------------

    def put(self, path: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store `obj` at `path` (…/<collection>/<name>), filling name and uid."""
        stored = copy.deepcopy(obj)
        metadata = stored.setdefault("metadata", {})
        metadata.setdefault("name", path.rsplit("/", 1)[-1])
        metadata.setdefault("uid", f"uid-{next(self._uids)}")
        with self._lock:
            self._objects[path] = stored
        return copy.deepcopy(stored)

    def get(self, path: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._objects.get(path)
        return copy.deepcopy(found) if found else None

    def patch_status(self, path: str, **status: Any) -> None:
        with self._lock:
            self._objects[path].setdefault("status", {}).update(status)

    def set_log(self, path: str, text: str) -> None:
        with self._lock:
            self._logs[path] = text

    def paths(self) -> list[str]:
        with self._lock:
            return sorted(self._objects)

    # --- the kubelet, played ---------------------------------------------------------------

    def play_pods(self, run_for: PodRun | Callable[[dict[str, Any]], PodRun]) -> None:
        """Play every pod created from now on: each GET of it shows its next step.

        `run_for` is one PodRun for all pods, or a function of the created pod (so a test can
        answer per namespace, as an echo server answers per egress IP). Takes over the
        `on_pod_created` and `on_get` hooks.
        """

        def created(api: FakeKubeApi, pod: dict[str, Any]) -> None:
            run = run_for if isinstance(run_for, PodRun) else run_for(pod)
            path = _object_path(pod)
            with api._lock:
                api._pod_steps[path] = run.steps()
            api._advance(path)  # the first step (Pending) is visible in the POST's answer

        def read(api: FakeKubeApi, path: str) -> None:
            if not path.endswith("/log"):
                api._advance(path)

        self.on_pod_created = created
        self.on_get = read

    def _advance(self, path: str) -> None:
        with self._lock:
            steps = self._pod_steps.get(path)
            step = next(steps, None) if steps is not None else None
            pod = self._objects.get(path)
            if step is None or pod is None:
                return
            pod["status"] = step.status()
            if step.log is not None:
                self._logs[path] = step.log

    # --- request handling ------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, body: bytes, auth: str | None) -> tuple[int, Any]:
        url = urlsplit(raw_path)
        query = dict(parse_qsl(url.query))
        self.requests.append(KubeRequest(method, url.path, query))
        if auth != f"Bearer {self.token}":
            return 401, _status(401, "Unauthorized")
        path = url.path.rstrip("/")
        if method == "GET" and self.on_get is not None:
            self.on_get(self, path)
        if method == "GET" and path.endswith("/log"):
            return self._log(path.removesuffix("/log"))
        if method == "GET":
            return self._get(path, query)
        if method == "POST":
            return self._create(path, json.loads(body or b"{}"), dry_run=query.get("dryRun"))
        if method == "DELETE":
            return self._delete(path)
        return 405, _status(405, "MethodNotAllowed")

    def _get(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        found = self.get(path)
        if found is not None:
            return 200, found
        items = self._collection(path, query.get("labelSelector"))
        if items is None:
            return 404, _status(404, f"{path} not found")
        return 200, {"kind": "List", "apiVersion": "v1", "items": items}

    def _collection(self, path: str, selector: str | None) -> list[dict[str, Any]] | None:
        prefix = path + "/"
        with self._lock:
            members = [
                copy.deepcopy(obj)
                for key, obj in self._objects.items()
                if key.startswith(prefix) and "/" not in key[len(prefix) :]
            ]
        if not members and not _is_collection(path):
            return None
        wanted = dict(part.split("=", 1) for part in selector.split(",")) if selector else {}
        return [
            m
            for m in members
            if all(m["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())
        ]

    def _create(self, path: str, obj: dict[str, Any], *, dry_run: str | None) -> tuple[int, Any]:
        name = obj.get("metadata", {}).get("name")
        if not name:
            return 422, _status(422, "metadata.name is required")
        if self.get(f"{path}/{name}") is not None:
            return 409, _status(409, f"{name} already exists")
        namespace = _namespace_of(path)
        if namespace is not None:  # the API server fills it in from the path
            obj.setdefault("metadata", {}).setdefault("namespace", namespace)
        if self.admission is not None:
            try:
                obj = self.admission(path, copy.deepcopy(obj))
            except AdmissionRefusedError as error:
                return error.status, _status(error.status, str(error))
        if dry_run is not None:
            # `dryRun=All`: admission runs, nothing is stored, the answer is the object as it
            # would be stored ("Dry-run", https://kubernetes.io/docs/reference/using-api/api-concepts/).
            if dry_run != "All":
                return 400, _status(400, f"Invalid dry run value {dry_run!r}")
            self.dry_runs.append(copy.deepcopy(obj))
            return 201, obj
        stored = self.put(f"{path}/{name}", obj)
        self.created.append(copy.deepcopy(stored))
        if stored.get("kind") == "Pod" and self.on_pod_created is not None:
            self.on_pod_created(self, stored)
        return 201, self.get(f"{path}/{name}")

    def _delete(self, path: str) -> tuple[int, Any]:
        with self._lock:
            removed = self._objects.pop(path, None)
        if removed is None:
            return 404, _status(404, f"{path} not found")
        self.deleted.append(path)
        return 200, _status(200, "Success")

    def _log(self, path: str) -> tuple[int, Any]:
        with self._lock:
            text = self._logs.get(path)
        if text is None:
            return 400, _status(400, "container is waiting to start")
        return 200, text


@dataclass(frozen=True)
class PodStep:
    """What one read of a played pod shows: its phase, and its log from then on."""

    phase: str
    log: str | None = None
    reason: str | None = None  # status.reason, e.g. DeadlineExceeded
    exit_code: int | None = None  # the container's, once it terminated
    waiting: str | None = None  # why the container has not started, e.g. ImagePullBackOff

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"phase": self.phase}
        if self.reason is not None:
            status["reason"] = self.reason
        state: dict[str, Any] = {}
        if self.exit_code is not None:
            state["terminated"] = {"exitCode": self.exit_code, "reason": "Completed"}
        if self.waiting is not None:
            state["waiting"] = {"reason": self.waiting}
        if state:
            status["containerStatuses"] = [{"name": "probe", "state": state}]
        return status


@dataclass(frozen=True)
class PodRun:
    """A pod's life as successive reads see it; the last step stays for every later read."""

    path: tuple[PodStep, ...]

    @classmethod
    def succeeds(cls, log: str, *, running_reads: int = 1) -> PodRun:
        running = (PodStep("Running"),) * running_reads
        return cls((PodStep("Pending"), *running, PodStep("Succeeded", log, exit_code=0)))

    @classmethod
    def fails(cls, log: str, *, exit_code: int = 28) -> PodRun:
        """curl exits non-zero; 28 is its timeout."""
        failed = PodStep("Failed", log, exit_code=exit_code)
        return cls((PodStep("Pending"), PodStep("Running"), failed))

    @classmethod
    def killed(cls, reason: str = "DeadlineExceeded") -> PodRun:
        """The kubelet ends a pod that never started (activeDeadlineSeconds): no log."""
        return cls((PodStep("Pending"), PodStep("Failed", reason=reason)))

    @classmethod
    def never_finishes(cls) -> PodRun:
        return cls((PodStep("Pending"), PodStep("Running")))

    @classmethod
    def stays_pending(cls, waiting: str = "ImagePullBackOff") -> PodRun:
        return cls((PodStep("Pending", waiting=waiting),))

    def steps(self) -> Iterator[PodStep]:
        yield from self.path
        yield from itertools.repeat(self.path[-1])


def _object_path(obj: dict[str, Any]) -> str:
    metadata = obj["metadata"]
    return f"/api/v1/namespaces/{metadata['namespace']}/pods/{metadata['name']}"


def _namespace_of(collection: str) -> str | None:
    parts = collection.strip("/").split("/")
    if "namespaces" in parts[:-2]:
        return parts[parts.index("namespaces") + 1]
    return None


def _is_collection(path: str) -> bool:
    """`/api/v1/<plural>`, `/apis/<group>/<version>/<plural>`, or the same under a namespace."""
    parts = path.strip("/").split("/")
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    return len(rest) == 1 or (len(rest) == 3 and rest[0] == "namespaces")


def _status(code: int, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "code": code, "message": message}


def _handler_for(api: FakeKubeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Buffered, so headers and body leave in one write: two small writes would wait for
        # the client's delayed ACK (about 40 ms per request).
        wbufsize = -1

        def log_message(self, *_: Any) -> None:
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload = api.handle(
                self.command, self.path, body, self.headers.get("Authorization")
            )
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header(
                "Content-Type", "text/plain" if isinstance(payload, str) else "application/json"
            )
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve  # noqa: N815 - http.server's naming

    return Handler
