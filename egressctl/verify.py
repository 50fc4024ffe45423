"""Live proof that each zone's pods leave the cluster with the zone's Egress IP.

This automates step 9 of the field procedure (`kubectl -n prod exec <web pod> -- curl -s
<echo server>` answering `Requester IP: 10.100.5.10`): for each zone a short-lived probe pod
that the zone's Egress selects runs curl against the echo server outside NSX, and its answer
is compared with the IP Antrea assigned to the zone's Egress (`status.egressIP`). The probe
pod itself (its manifest, its run, its answer) is `egressctl.probe`.

Only the given KubeClient is contacted; the echo server is reached by the probe pod, from
inside the cluster, which is the whole point. Formatting (`render_results`) is kept apart
from the logic.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from rich.table import Table
from rich.text import Text

from antrea_egress import manifests, naming, outputs
from antrea_egress.config import selection
from antrea_egress.kube import KubeClient, KubeError, KubeNotFoundError
from egressctl.probe import (
    DEFAULT_IMAGE,
    ECHO_URL_EXAMPLE,
    PROBE_LABEL,
    ProbeSettings,
    ZoneProbe,
    check_echo_url,
    delete_pod,
    normalized,
    observe,
    parse_requester_ip,
    probe_pod,
    probe_pod_name,
)

__all__ = [
    "DEFAULT_IMAGE",
    "ECHO_URL_EXAMPLE",
    "EGRESS_API",
    "ProbeResult",
    "ZoneProbe",
    "check_echo_url",
    "cleanup_commands",
    "parse_requester_ip",
    "probe_pod",
    "probes_from_outputs",
    "render_results",
    "verify_zones",
]

EGRESS_API: Final = f"/apis/{manifests.ANTREA_API}/egresses"


@dataclass(frozen=True)
class ProbeResult:
    zone: str
    expected_ip: str | None  # the Egress's status.egressIP
    seen_ip: str | None  # what the echo server answered the probe pod
    passed: bool
    detail: str
    # The namespace of a probe pod that could not be deleted (it carries PROBE_LABEL).
    leftover_namespace: str | None = None


# --- probes from the stack outputs ---------------------------------------------------------


def probes_from_outputs(stack_outputs: Mapping[str, Any]) -> list[ZoneProbe]:
    """One probe per zone of a deployed stack's outputs, sorted by zone.

    Raises ValueError naming the zone if its podSelector has matchExpressions: which labels
    satisfy them (and keep satisfying them) is not something a probe can decide reliably.
    """
    summaries = outputs.read_zone_summaries(stack_outputs)
    return [_probe_for(name, summary) for name, summary in sorted(summaries.items())]


def _probe_for(name: str, summary: outputs.ZoneSummary[str | None]) -> ZoneProbe:
    selector = summary.pod_selector
    if selector.match_expressions:
        raise ValueError(
            f"zone {name}: its podSelector has matchExpressions, which a probe pod cannot be "
            "relied on to satisfy; verify this zone from one of its own pods instead"
        )
    # A namespaceSelector naming namespaces: the probe runs in the first of them.
    namespaces = selection.named_namespaces(summary.applied_to)
    if not namespaces:
        raise ValueError(
            f"zone {name}: its namespaceSelector picks namespaces by their labels, not by name, "
            "so a probe pod has no namespace it is sure to be selected in; verify this zone "
            "from one of its own pods instead"
        )
    return ZoneProbe(
        zone=name,
        namespace=namespaces[0],
        pod_labels=dict(selector.match_labels),
        egress_name=naming.egress_name(name),
    )


# --- verification --------------------------------------------------------------------------


def verify_zones(
    kube: KubeClient,
    probes: list[ZoneProbe],
    echo_url: str,
    *,
    timeout: float = 120.0,
    poll_interval: float = 1.0,
    image: str = DEFAULT_IMAGE,
    sleep: Callable[[float], None] = time.sleep,
) -> list[ProbeResult]:
    """Probe every zone in turn; one result per probe, a failing zone does not stop the rest.

    `timeout` bounds each probe pod's wait for completion. Raises ValueError for an unusable
    echo URL or timing before anything is created.
    """
    check_echo_url(echo_url)
    if timeout <= 0 or poll_interval <= 0:
        raise ValueError("timeout and poll_interval must be positive")
    settings = ProbeSettings(echo_url, timeout, poll_interval, image, sleep)
    return [_verify_zone(kube, probe, settings) for probe in probes]


def _verify_zone(kube: KubeClient, probe: ZoneProbe, settings: ProbeSettings) -> ProbeResult:
    path = f"/api/v1/namespaces/{probe.namespace}/pods/{probe_pod_name(probe.zone)}"
    try:
        seen_ip, seen_problem = observe(kube, probe, path, settings)
        expected_ip, egress_problem = _egress_ip(kube, probe.egress_name)
    finally:
        cleanup_problem = delete_pod(kube, path)
    result = _judge(probe, expected_ip, seen_ip, [seen_problem, egress_problem])
    if cleanup_problem:
        return replace(
            result,
            detail=f"{result.detail}; {cleanup_problem}",
            leftover_namespace=probe.namespace,
        )
    return result


def _egress_ip(kube: KubeClient, egress_name: str) -> tuple[str | None, str | None]:
    """The Egress's status.egressIP as Antrea reports it now, or None and why not."""
    try:
        egress = kube.get(f"{EGRESS_API}/{egress_name}")
    except KubeNotFoundError:
        return None, f"Egress {egress_name} not found"
    except KubeError as error:
        return None, f"cannot read Egress {egress_name}: {error}"
    assigned = manifests.assigned_egress_ip(egress.get("status"))
    if assigned is None:
        return None, (
            f"Egress {egress_name} has no assigned IP (its IPAssigned condition is not True): "
            "Antrea has not put an IP on a Node (check its ExternalIPPool and that a node can "
            "host it)"
        )
    return normalized(assigned.ip) or assigned.ip, None


def _judge(
    probe: ZoneProbe, expected: str | None, seen: str | None, problems: list[str | None]
) -> ProbeResult:
    reasons = [problem for problem in problems if problem]
    if not reasons and expected != seen:
        reasons.append(
            f"the echo server saw {seen}, but Egress {probe.egress_name} has {expected}: "
            "traffic of the zone's pods does not leave with its egress IP"
        )
    passed = not reasons
    detail = (
        f"the echo server saw {seen}, the IP of Egress {probe.egress_name}"
        if passed
        else "; ".join(reasons)
    )
    return ProbeResult(probe.zone, expected, seen, passed, detail)


# --- rendering -----------------------------------------------------------------------------


def cleanup_commands(results: list[ProbeResult], kubeconfig: str | None = None) -> list[str]:
    """Ready-to-run commands that delete the probe pods which could not be deleted.

    `kubeconfig`: a kubeconfig file for kubectl to use (default: kubectl's own).
    """
    label = f"{PROBE_LABEL[0]}={PROBE_LABEL[1]}"
    suffix = f" --kubeconfig {shlex.quote(kubeconfig)}" if kubeconfig else ""
    namespaces = sorted({r.leftover_namespace for r in results if r.leftover_namespace})
    return [
        f"kubectl -n {shlex.quote(namespace)} delete pod -l {label}{suffix}"
        for namespace in namespaces
    ]


def render_results(results: list[ProbeResult]) -> Table:
    """A PASS/FAIL table, one row per zone. Values are Text, so "[...]" in a log stays text."""
    table = Table(title="Egress verification")
    for header in ("Zone", "Egress IP", "Seen by echo server", "Result", "Detail"):
        table.add_column(header)
    for result in results:
        verdict = Text("PASS", style="bold green") if result.passed else Text("FAIL", "bold red")
        table.add_row(
            Text(result.zone),
            Text(result.expected_ip or "-"),
            Text(result.seen_ip or "-"),
            verdict,
            Text(result.detail),
        )
    return table
