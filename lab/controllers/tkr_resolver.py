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
from pathlib import Path
from typing import Any, ClassVar

from lab.controllers.admission import AdmissionServer

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


class TkrResolverWebhook(AdmissionServer):
    """The TKR resolver's mutating webhook on Cluster writes, answering with a JSON patch."""

    path = WEBHOOK_PATH
    configuration_kind = "MutatingWebhookConfiguration"
    configuration_name = CONFIGURATION_NAME
    webhook_name = "tkr-resolver-cluster-webhook.run.tanzu.vmware.com"
    rule: ClassVar[dict[str, Any]] = {
        "apiGroups": ["cluster.x-k8s.io"],
        "apiVersions": ["v1beta1"],
        "resources": ["clusters"],
        "scope": "Namespaced",
    }

    def __init__(self, cert_file: Path, key_file: Path) -> None:
        super().__init__(cert_file, key_file)
        self.reviews: list[tuple[str, str, bool]] = []  # (operation, name, dry run)

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
        return response
