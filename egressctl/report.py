"""The firewall change request: which source IPs each group of pods leaves the cluster with.

Firewalls outside the cluster see one source IP range per egress zone instead of the node IPs
all pods share, so rules can be written per application. This module turns a stack into the
rows a firewall team needs, either before deployment (from the configuration: the Tier-1 and
the assigned IP are not known yet) or after it (from the stack outputs), and renders them as
Markdown, CSV or JSON. Rows are data; rendering is kept apart from building them. Every
format carries an audit trail: when the report was generated (UTC) and the git commit of the
checkout it was generated from.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeAlias

from antrea_egress import manifests, outputs
from antrea_egress.config import PoolCapacity, StackConfig
from antrea_egress.selectors import pods_text, selector_text
from egressctl.describe import ip_range_text

Format: TypeAlias = Literal["md", "csv", "json"]
FORMATS: Final[tuple[Format, ...]] = ("md", "csv", "json")

SOURCE_CONFIGURATION: Final = "configuration"
SOURCE_OUTPUTS: Final = "stack outputs"
KNOWN_AFTER_DEPLOYMENT: Final = "known after deployment"


@dataclass(frozen=True)
class ReportRow:
    """One egress zone as a firewall team sees it."""

    cluster: str
    vsphere_namespace: str
    zone: str
    namespace: str | None  # None when namespace_selector picks the namespaces
    pod_selector: str  # label-selector syntax (`app=web`); "" selects every pod of the namespace
    egress_ips: str  # the ranges (a single address alone), plus the assigned IP once known
    assigned_ip: str | None
    cidr: str
    gateway: str
    vlan: int
    tier1: str | None
    nat_mode: bool
    source: str  # SOURCE_CONFIGURATION or SOURCE_OUTPUTS
    # The namespaces' label selector (`kubernetes.io/metadata.name in (a, b)`; "" takes every
    # namespace), or None for a zone of one namespace.
    namespace_selector: str | None = None
    # The zone's pool: its size in IPs, the Egresses drawing on it and the IPs left free;
    # None from the outputs of a stack deployed before they were written.
    pool_size: int | None = None
    egresses: int | None = None
    free_ips: int | None = None


# --- building rows -------------------------------------------------------------------------


def rows_from_config(config: StackConfig) -> list[ReportRow]:
    """The rows of a stack before deployment: the Tier-1 and the assigned IP are unknown."""
    return _sorted(
        _row(
            config.cluster.name,
            config.cluster.vsphere_namespace,
            zone.name,
            outputs.zone_summary(
                zone,
                nat_mode=config.nat_mode,
                egress_ip=None,
                egress_node=None,
                segment_path=None,
                tier1_path=None,
            ),
            SOURCE_CONFIGURATION,
        )
        for zone in config.zones
    )


def rows_from_outputs(stack_outputs: Mapping[str, Any]) -> list[ReportRow]:
    """The rows of a deployed stack, from its outputs (`pulumi stack output --json`).

    Raises ValueError naming the first output that is missing or of the wrong type.
    """
    cluster = outputs.text(stack_outputs, outputs.OUTPUT_CLUSTER, "")
    vsphere_namespace = outputs.text(stack_outputs, outputs.OUTPUT_VSPHERE_NAMESPACE, "")
    return _sorted(
        _row(cluster, vsphere_namespace, name, summary, SOURCE_OUTPUTS)
        for name, summary in outputs.read_zone_summaries(stack_outputs).items()
    )


def _row(
    cluster: str,
    vsphere_namespace: str,
    name: str,
    summary: outputs.ZoneSummary[str | None],
    source: str,
) -> ReportRow:
    return ReportRow(
        cluster=cluster,
        vsphere_namespace=vsphere_namespace,
        zone=name,
        namespace=summary.namespace,
        namespace_selector=(
            selector_text(manifests.label_selector(summary.namespace_selector))
            if summary.namespace_selector is not None
            else None
        ),
        pod_selector=selector_text(manifests.label_selector(summary.pod_selector)),
        egress_ips=egress_ips_text(
            [ip_range_text(item) for item in summary.ip_ranges], summary.egress_ip
        ),
        assigned_ip=summary.egress_ip,
        cidr=summary.cidr,
        gateway=summary.gateway,
        vlan=summary.vlan,
        tier1=summary.tier1_path,
        nat_mode=summary.nat_mode,
        source=source,
        pool_size=summary.capacity.size if summary.capacity else None,
        egresses=summary.capacity.egresses if summary.capacity else None,
        free_ips=summary.capacity.free if summary.capacity else None,
    )


def _sorted(rows: Iterable[ReportRow]) -> list[ReportRow]:
    return sorted(rows, key=lambda row: (row.zone, row.cluster, row.vsphere_namespace))


# --- texts shared by every format ----------------------------------------------------------


def egress_ips_text(ranges: Iterable[str], assigned_ip: str | None) -> str:
    """`10.100.5.10-10.100.5.20`, several ranges comma-separated, and the assigned IP.

    The whole range belongs in the firewall rule, not only the assigned IP: Antrea picks
    another address of the pool if the Egress is ever recreated.
    """
    text = ", ".join(ranges)
    return f"{text} (assigned: {assigned_ip})" if assigned_ip else text


# --- the audit trail -------------------------------------------------------------------------

UNKNOWN_COMMIT: Final = "unknown"


@dataclass(frozen=True)
class AuditTrail:
    """When, and from which commit of the checkout, a report was generated.

    Given to `render_report` rather than read there, so the same rows and trail always give
    the same text (tests pin both).
    """

    generated_at: datetime  # timezone-aware; shown in UTC
    git_commit: str  # the checkout's HEAD, or UNKNOWN_COMMIT

    def __post_init__(self) -> None:
        if self.generated_at.tzinfo is None:
            raise ValueError("the generation time needs a timezone (it is shown in UTC)")

    @property
    def generated_at_text(self) -> str:
        """ISO 8601 in UTC, to the second: `2026-12-07T04:16:55Z`."""
        moment = self.generated_at.astimezone(UTC).replace(microsecond=0)
        return moment.isoformat().replace("+00:00", "Z")

    def fields(self) -> dict[str, str]:
        """The trail as the machine formats carry it, on every row."""
        return {"generated_at": self.generated_at_text, "git_commit": self.git_commit}


# --- rendering -----------------------------------------------------------------------------


def render_report(rows: list[ReportRow], fmt: Format, *, audit: AuditTrail) -> str:
    """The change request in one format; the same rows and trail always give the same text,
    which ends with exactly one newline."""
    renderers: dict[str, Callable[[list[ReportRow], AuditTrail], str]] = {
        "md": _markdown,
        "csv": _csv,
        "json": _json,
    }
    if fmt not in renderers:
        raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    return renderers[fmt](_sorted(rows), audit)


_MARKDOWN_COLUMNS: Final = (
    "Zone",
    "Namespace",
    "Pods",
    "Source IPs",
    "Pool",
    "Subnet",
    "Gateway",
    "VLAN",
    "Tier-1",
    "NAT mode",
)


def _markdown(rows: list[ReportRow], audit: AuditTrail) -> str:
    clusters = sorted(
        {f"{row.cluster} (vSphere Namespace {row.vsphere_namespace})" for row in rows}
    )
    sources = sorted({row.source for row in rows})
    names = ", ".join(sorted({row.cluster for row in rows})) or "no cluster"
    lines = [
        f"# Firewall change request: egress source IPs of {names}",
        "",
        f"- Cluster: {', '.join(clusters) or 'none'}",
        f"- Generated from: {', '.join(sources) or 'nothing'}",
        f"- Generated at: {audit.generated_at_text}",
        f"- Git commit: {audit.git_commit}",
        "",
    ]
    if not rows:
        return "\n".join([*lines, "No egress zones are configured.", ""])
    lines += [
        "Traffic from the selected pods of each namespace arrives from the listed source IPs, "
        "which lie in the zone's subnet and are routed over the zone's gateway and VLAN "
        "(NSX child segment); allow these sources instead of the cluster's node IPs.",
        "",
        _markdown_row(_MARKDOWN_COLUMNS),
        _markdown_row(("---",) * len(_MARKDOWN_COLUMNS)),
        *(_markdown_row(_markdown_cells(row)) for row in rows),
        "",
    ]
    return "\n".join(lines)


def _markdown_cells(row: ReportRow) -> tuple[str, ...]:
    return (
        row.zone,
        namespaces_text(row),
        pods_text(row.pod_selector),
        row.egress_ips,
        pool_text(row),
        row.cidr,
        row.gateway,
        str(row.vlan),
        row.tier1 or KNOWN_AFTER_DEPLOYMENT,
        "yes (NoSNAT rule)" if row.nat_mode else "no (routed)",
    )


def namespaces_text(row: ReportRow) -> str:
    """The zone's namespace, or the namespaces its selector takes, as a person reads them."""
    if row.namespace_selector is None:
        return row.namespace or ""
    return f"namespaces {row.namespace_selector}" if row.namespace_selector else "every namespace"


def pool_text(row: ReportRow) -> str:
    """`11 IPs, 1 Egress, 10 free`; empty when the outputs did not say."""
    if row.pool_size is None or row.egresses is None:
        return ""
    return PoolCapacity(row.pool_size, row.egresses).text


def _markdown_row(cells: Iterable[str]) -> str:
    escaped = (cell.replace("\\", "\\\\").replace("|", "\\|") for cell in cells)
    return "| " + " | ".join(escaped) + " |"


_FIELDS: Final = tuple(field.name for field in dataclasses.fields(ReportRow))


def _machine_record(row: ReportRow, audit: AuditTrail) -> dict[str, Any]:
    """A row as csv and json carry it: its fields, then the audit trail."""
    return {**dataclasses.asdict(row), **audit.fields()}


def _csv(rows: list[ReportRow], audit: AuditTrail) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*_FIELDS, *audit.fields()])
    for row in rows:
        writer.writerow(_csv_cell(value) for value in _machine_record(row, audit).values())
    return buffer.getvalue()


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json(rows: list[ReportRow], audit: AuditTrail) -> str:
    return json.dumps([_machine_record(row, audit) for row in rows], indent=2) + "\n"
