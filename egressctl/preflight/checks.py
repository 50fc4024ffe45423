"""The check table, and running it: every check of `egressctl preflight`, in the order it is
reported, and what the table and the JSON document show.

A check that cannot apply yet (the guest cluster before the first `up`) is listed as waiting,
with the reason; one that could not look at what it needs fails, saying what was missing.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from antrea_egress.discovery import DiscoveryError
from antrea_egress.kube import KubeError
from antrea_egress.nsx.errors import NsxError
from egressctl.preflight import guest_checks as guest
from egressctl.preflight import nsx_checks as nsx
from egressctl.preflight import supervisor_checks as supervisor
from egressctl.preflight import tier1_checks as tier1
from egressctl.preflight.context import PreflightContext
from egressctl.preflight.model import (
    Check,
    CheckResult,
    NotCheckedError,
    Outcome,
    PreflightReport,
    Status,
    System,
    Waiting,
    failed,
)

N, S, G = System.NSX, System.SUPERVISOR, System.GUEST
# What reading an answer of an unforeseen shape raises (a missing key, a null, a bad number).
UNEXPECTED_ANSWERS = (KeyError, TypeError, ValueError, AttributeError, IndexError)

CHECKS: tuple[Check, ...] = (
    Check("nsx-reachable", N, "NSX Manager answers over verified TLS", nsx.nsx_reachable),
    Check("nsx-credentials", N, "the NSX user is accepted", nsx.nsx_credentials),
    Check("nsx-version", N, "NSX is 4.2 or newer", nsx.nsx_version),
    Check(
        "nsx-parent-segments",
        N,
        "each parent segment exists on a Tier-1",
        nsx.nsx_parent_segments,
        nsx.parents_knowable,
    ),
    Check(
        "nsx-discovery-routes",
        N,
        "discovery finds the node segment by unique_id and by tag",
        nsx.nsx_discovery_routes,
        nsx.discovery_applies,
    ),
    Check(
        "nsx-vlans-free",
        N,
        "each zone's VLAN is free on its parent",
        nsx.nsx_vlans_free,
        nsx.parents_knowable,
    ),
    Check(
        "nsx-zone-segments",
        N,
        "no other segment has a zone's id or subnet",
        nsx.nsx_zone_segments,
    ),
    Check("nsx-tag-limits", N, "NSX's tag limits are the ones assumed", nsx.nsx_tag_limits),
    Check("nsx-realization", N, "the realized-state API answers", nsx.nsx_realization),
    Check(
        "nsx-nat-rules",
        N,
        "no SNAT rule catches a zone's traffic first",
        tier1.nsx_nat_rules,
        tier1.nat_rules_apply,
    ),
    Check(
        "nsx-route-advertisement",
        N,
        "the Tier-1 advertises connected subnets",
        tier1.nsx_route_advertisement,
        tier1.tier1_known,
    ),
    Check(
        "supervisor-namespace",
        S,
        "the Supervisor answers and has the vSphere Namespace",
        supervisor.supervisor_namespace,
    ),
    Check("supervisor-apis", S, "the APIs the program uses are served", supervisor.supervisor_apis),
    Check(
        "supervisor-tkr",
        S,
        "the TKr is usable and ships Antrea 1.15 or newer",
        supervisor.supervisor_tkr,
        supervisor.managed,
    ),
    Check(
        "supervisor-vm-classes",
        S,
        "the VM classes are bound to the namespace",
        supervisor.supervisor_vm_classes,
        supervisor.managed,
    ),
    Check(
        "supervisor-storage-classes",
        S,
        "the storage classes are assigned to the namespace",
        supervisor.supervisor_storage_classes,
        supervisor.managed,
    ),
    Check(
        "supervisor-tkc",
        S,
        "the TKC as written is accepted",
        supervisor.supervisor_tkc,
        supervisor.managed,
    ),
    Check(
        "supervisor-antrea-config",
        S,
        "the AntreaConfig keeps the gate and the NSX block",
        supervisor.supervisor_antrea_config,
        supervisor.managed,
    ),
    Check(
        "supervisor-nat-mode",
        S,
        "natMode matches NCP's SNAT evidence",
        supervisor.supervisor_nat_mode,
    ),
    Check(
        "supervisor-router-id",
        S,
        "ncp/router_id names the node segment's Tier-1",
        supervisor.supervisor_router_id,
        supervisor.router_id_comparable,
    ),
    Check(
        "supervisor-kubeconfig",
        S,
        "the guest kubeconfig Secret is readable",
        supervisor.supervisor_kubeconfig,
        supervisor.cluster_made,
    ),
    Check(
        "guest-reachable",
        G,
        "the guest cluster answers",
        guest.guest_reachable,
        supervisor.cluster_made,
    ),
    Check(
        "guest-antrea-version",
        G,
        "Antrea is 1.15 or newer",
        guest.guest_antrea_version,
        supervisor.cluster_made,
    ),
    Check(
        "guest-egress-gate",
        G,
        "EgressSeparateSubnet is on in the agents",
        guest.guest_egress_gate,
        supervisor.cluster_made,
    ),
    Check(
        "guest-traffic-shaping-gate",
        G,
        "EgressTrafficShaping is on in the agents if a zone has a bandwidth",
        guest.guest_traffic_shaping_gate,
        supervisor.cluster_made,
    ),
    Check(
        "guest-pools",
        G,
        "each pool keeps subnetInfo",
        guest.guest_pools,
        supervisor.cluster_made,
    ),
    Check(
        "guest-nodes",
        G,
        "each zone's nodeSelector matches a Node",
        guest.guest_nodes,
        supervisor.cluster_made,
    ),
    Check(
        "guest-pool-ranges",
        G,
        "no other pool holds a zone's ranges",
        guest.guest_pool_ranges,
        supervisor.cluster_made,
    ),
    Check(
        "guest-egress-subnets",
        G,
        "at most 20 egress subnets",
        guest.guest_egress_subnets,
        supervisor.cluster_made,
    ),
)


def run_checks(ctx: PreflightContext, checks: tuple[Check, ...] = CHECKS) -> PreflightReport:
    report = PreflightReport(ctx.stack)
    for check in checks:
        reason = _waits_for(check, ctx)
        if reason is not None:
            report.waiting.append(Waiting(check.id, check.title, reason))
            continue
        report.results.append(CheckResult(check.id, check.system, check.title, _run(check, ctx)))
    return report


def _waits_for(check: Check, ctx: PreflightContext) -> str | None:
    """Why the check does not apply yet; None when it does, or when that cannot be told (the
    check then runs and says what it could not reach)."""
    if check.waits_for is None:
        return None
    try:
        return check.waits_for(ctx)
    except (NotCheckedError, NsxError, KubeError, DiscoveryError):
        return None


def _run(check: Check, ctx: PreflightContext) -> Outcome:
    """The check's outcome; what keeps it from looking is a failure that says so."""
    try:
        return check.run(ctx)
    except NotCheckedError as error:
        return failed(f"not checked: {error}", error.fix)
    except (NsxError, KubeError, DiscoveryError) as error:
        return failed(str(error), "see the message")
    except UNEXPECTED_ANSWERS as error:
        # An answer of a shape the check does not know: say so, and let the others run.
        return failed(
            f"unexpected answer: {type(error).__name__}: {error}",
            "report it, with the evidence of the other checks",
        )


# --- how people and pipelines see it ------------------------------------------------------------

STYLES = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "bold red"}


def report_table(report: PreflightReport) -> Table:
    """One row per check; the fix column only when some check has a fix to show."""
    with_fix = any(result.outcome.fix for result in report.results)
    table = Table(title=f"Preflight of stack {report.stack}", show_lines=True)
    for column in ("status", "check", "evidence", *(["fix"] if with_fix else [])):
        table.add_column(column, overflow="fold")
    for result in report.results:
        cells = [
            Text(result.status.value, style=STYLES[result.status]),
            Text(f"{result.id}\n{result.title}"),
            Text(result.outcome.evidence),
        ]
        table.add_row(*cells, *([Text(result.outcome.fix)] if with_fix else []))
    return table


def summary_lines(report: PreflightReport) -> list[str]:
    counts = ", ".join(f"{report.count(status)} {status.value}" for status in Status)
    lines = [f"{len(report.results)} checks: {counts}"]
    lines += [f"not yet: {w.id}: {w.reason}" for w in report.waiting]
    return lines
