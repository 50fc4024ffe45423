"""The Supervisor's TKR resolver, served as a real mutating admission webhook on Clusters.

The Supervisor's API server calls it over HTTPS on 127.0.0.1 for every CREATE and UPDATE of a
Cluster API Cluster, so what it writes reaches the program exactly where the real one's does:
in the object stored by the program's own apply. What it writes is tanzu-framework's
(pkg/v2/tkr/webhook/cluster/tkr-resolver/cluster/cluster.go, `setTKRData`; docs/cluster-api.md
C17-C18):

- `spec.topology.version` becomes the TKr's Kubernetes version, the `+` form
  (`v1.31.1+vmware.2-fips` for the TKr `v1.31.1---vmware.2-fips-vkr.2`);
- the label `run.tanzu.vmware.com/tkr` names the TKr;
- the variable `TKR_DATA` (keyed by that version) is set on the Cluster and on every machine
  deployment, replaced where it exists and appended where it does not
  (pkg/v2/tkr/util/topology SetVariable, SetMDVariable).

A Cluster without `spec.topology`, or being deleted, is let through unchanged, as upstream.

What it does not do: read TanzuKubernetesRelease and OSImage objects (the lab has none). A TKr
name stands for its Kubernetes version by VMware's naming, the version's label form
(`+` written `---`, apis/run/util/version Label) plus a `-vkr.N` or `-tkg.N` suffix; a version
already in the `+` form is kept. It never denies a Cluster (upstream denies one whose TKr or
OSImage does not resolve).
"""

from __future__ import annotations

import base64
import copy
import json
import re
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

WEBHOOK_PATH = "/mutate/cluster"
CONFIGURATION_NAME = "lab-tkr-resolver"
TKR_LABEL = "run.tanzu.vmware.com/tkr"
TKR_DATA = "TKR_DATA"
_TKR_SUFFIX = re.compile(r"-(vkr|tkg)\.\d+$")


def kubernetes_version(version: str) -> str:
    """The Kubernetes version (`+` form) a Cluster's version stands for: a TKr name's, or the
    version itself."""
    return _TKR_SUFFIX.sub("", version).replace("---", "+")


def resolve(cluster: dict[str, Any]) -> dict[str, Any]:
    """The Cluster as the resolver stores it."""
    topology = (cluster.get("spec") or {}).get("topology")
    if not topology or (cluster.get("metadata") or {}).get("deletionTimestamp"):
        return cluster
    resolved = copy.deepcopy(cluster)
    topology = resolved["spec"]["topology"]
    labels = resolved["metadata"].get("labels") or {}
    sent = str(topology["version"])
    version = kubernetes_version(sent)
    # A version already resolved keeps the TKr recorded for it.
    tkr = labels.get(TKR_LABEL, sent.replace("+", "---")) if "+" in sent else sent
    topology["version"] = version
    resolved["metadata"]["labels"] = {**labels, TKR_LABEL: tkr}
    data = {version: {"labels": {TKR_LABEL: tkr}, "kubernetesSpec": {"version": version}}}
    topology["variables"] = _set_variable(topology.get("variables") or [], data)
    for deployment in (topology.get("workers") or {}).get("machineDeployments") or []:
        variables = deployment.setdefault("variables", {})
        variables["overrides"] = _set_variable(variables.get("overrides") or [], data)
    return resolved


def _set_variable(variables: list[dict[str, Any]], value: Any) -> list[dict[str, Any]]:
    entry = {"name": TKR_DATA, "value": value}
    if any(v.get("name") == TKR_DATA for v in variables):
        return [entry if v.get("name") == TKR_DATA else v for v in variables]
    return [*variables, entry]


class TkrResolverWebhook:
    """An HTTPS server on 127.0.0.1 answering AdmissionReview v1 requests with a JSON patch."""

    def __init__(self, cert_file: Path, key_file: Path) -> None:
        self.reviews: list[tuple[str, str, bool]] = []  # (operation, name, dry run)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert_file), str(key_file))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}{WEBHOOK_PATH}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def configuration(self, ca_pem: bytes) -> dict[str, Any]:
        """The MutatingWebhookConfiguration that sends Cluster writes here."""
        return {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": CONFIGURATION_NAME},
            "webhooks": [
                {
                    "name": "tkr-resolver-cluster-webhook.run.tanzu.vmware.com",
                    "clientConfig": {
                        "url": self.url,
                        "caBundle": base64.b64encode(ca_pem).decode(),
                    },
                    "rules": [
                        {
                            "operations": ["CREATE", "UPDATE"],
                            "apiGroups": ["cluster.x-k8s.io"],
                            "apiVersions": ["v1beta1"],
                            "resources": ["clusters"],
                            "scope": "Namespaced",
                        }
                    ],
                    "admissionReviewVersions": ["v1"],
                    "sideEffects": "None",
                    "failurePolicy": "Fail",
                    "timeoutSeconds": 5,
                }
            ],
        }

    def review(self, request: dict[str, Any]) -> dict[str, Any]:
        cluster = request.get("object") or {}
        self.reviews.append(
            (
                str(request.get("operation")),
                str((cluster.get("metadata") or {}).get("name")),
                bool(request.get("dryRun")),
            )
        )
        resolved = resolve(cluster)
        response: dict[str, Any] = {"uid": request.get("uid"), "allowed": True}
        if resolved is not cluster:
            patch = [
                {"op": "add", "path": "/metadata/labels", "value": resolved["metadata"]["labels"]},
                {"op": "add", "path": "/spec/topology", "value": resolved["spec"]["topology"]},
            ]
            response["patchType"] = "JSONPatch"
            response["patch"] = base64.b64encode(json.dumps(patch).encode()).decode()
        return {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": response,
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                answer = json.dumps(webhook.review(body.get("request") or {})).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: Any) -> None:
                return  # the reviews are kept; stderr stays quiet

        return Handler
