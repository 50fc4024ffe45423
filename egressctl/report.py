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
from typing import Any, Final, Literal, TypeAlias, TypeVar

from pydantic import BaseModel, ValidationError

from antrea_egress import manifests
from antrea_egress.config import IpRange, LabelSelector, StackConfig, ZoneConfig
from antrea_egress.selectors import pods_text, selector_text

_ModelT = TypeVar("_ModelT", bound=BaseModel)

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
    namespace: str
    pod_selector: str  # label-selector syntax (`app=web`); "" selects every pod of the namespace
    egress_ips: str  # the ranges (a single address alone), plus the assigned IP once known
    assigned_ip: str | None
    cidr: str
    gateway: str
    vlan: int
    tier1: str | None
    nat_mode: bool
    source: str  # SOURCE_CONFIGURATION or SOURCE_OUTPUTS


# --- building rows -------------------------------------------------------------------------


def rows_from_config(config: StackConfig) -> list[ReportRow]:
    """The rows of a stack before deployment: the Tier-1 and the assigned IP are unknown."""
    return _sorted(_row_from_zone(config, zone) for zone in config.zones)


def _row_from_zone(config: StackConfig, zone: ZoneConfig) -> ReportRow:
    return ReportRow(
        cluster=config.cluster.name,
        vsphere_namespace=config.cluster.vsphere_namespace,
        zone=zone.name,
        namespace=zone.applied_to.namespace,
        pod_selector=selector_text(manifests.label_selector(zone.applied_to.pod_selector)),
        egress_ips=egress_ips_text([ip_range_text(ip_range) for ip_range in zone.ip_ranges], None),
        assigned_ip=None,
        cidr=zone.cidr,
        gateway=zone.gateway,
        vlan=zone.vlan,
        tier1=None,
        nat_mode=config.nat_mode,
        source=SOURCE_CONFIGURATION,
    )


def rows_from_outputs(outputs: Mapping[str, Any]) -> list[ReportRow]:
    """The rows of a deployed stack, from its outputs (`pulumi stack output --json`).

    Raises ValueError naming the first output that is missing or of the wrong type.
    """
    cluster = _text(outputs, "cluster", "")
    vsphere_namespace = _text(outputs, "vsphereNamespace", "")
    return _sorted(
        _row_from_output(cluster, vsphere_namespace, name, zone)
        for name, zone in zone_outputs(outputs).items()
    )


def zone_outputs(outputs: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The `zones` output of a deployed stack, by zone name, each checked to be a mapping."""
    zones = outputs.get("zones")
    if not isinstance(zones, Mapping):
        raise ValueError("stack outputs: `zones` is missing or not a mapping of zone to details")
    for name, zone in zones.items():
        if not isinstance(zone, Mapping):
            raise ValueError(f"stack outputs: zones.{name} is not a mapping")
    return {str(name): zone for name, zone in zones.items()}


def _row_from_output(
    cluster: str, vsphere_namespace: str, name: str, zone: Mapping[str, Any]
) -> ReportRow:
    where = f"zones.{name}"
    assigned_ip = _optional_text(zone, "egressIP", where)
    return ReportRow(
        cluster=cluster,
        vsphere_namespace=vsphere_namespace,
        zone=name,
        namespace=_text(zone, "namespace", where),
        pod_selector=selector_text(manifests.label_selector(zone_pod_selector(name, zone))),
        egress_ips=egress_ips_text(_range_texts(zone, where), assigned_ip),
        assigned_ip=assigned_ip,
        cidr=_text(zone, "cidr", where),
        gateway=_text(zone, "gateway", where),
        vlan=_integer(zone, "vlan", where),
        tier1=_optional_text(zone, "tier1Path", where),
        nat_mode=_boolean(zone, "natMode", where),
        source=SOURCE_OUTPUTS,
    )


def zone_pod_selector(name: str, zone: Mapping[str, Any]) -> LabelSelector:
    """The `podSelector` output of a zone; missing or empty selects every pod of the namespace."""
    value = zone.get("podSelector")
    if value is None:
        return LabelSelector()
    if not isinstance(value, Mapping):
        raise ValueError(f"stack outputs: zones.{name}.podSelector is not a label selector")
    return _validated(LabelSelector, dict(value), f"zones.{name}.podSelector")


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


def ip_range_text(ip_range: IpRange) -> str:
    """A range as a firewall rule takes it: the cidr, `first-last`, or one address alone."""
    if ip_range.is_cidr:
        return ip_range.text
    first, last = ip_range.bounds
    return str(first) if first == last else f"{first}-{last}"


def _range_texts(zone: Mapping[str, Any], where: str) -> list[str]:
    """The `ipRanges` output ({cidr} or {start, end} items) in the form people write."""
    ranges = zone.get("ipRanges")
    if not isinstance(ranges, list) or not ranges:
        raise ValueError(f"stack outputs: {where}.ipRanges is missing or empty")
    return [
        ip_range_text(_validated(IpRange, item, f"{where}.ipRanges[{index}]"))
        for index, item in enumerate(ranges)
    ]


# --- reading outputs, with messages that name the output -----------------------------------


def _text(values: Mapping[str, Any], key: str, where: str) -> str:
    value = values.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"stack outputs: {_at(where, key)} is missing or not a string")
    return value


def _optional_text(values: Mapping[str, Any], key: str, where: str) -> str | None:
    """Outputs a preview or a pending Egress leaves empty (null or "") are unknown."""
    value = values.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"stack outputs: {_at(where, key)} is not a string")
    return value


def _integer(values: Mapping[str, Any], key: str, where: str) -> int:
    value = values.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError(f"stack outputs: {_at(where, key)} is missing or not a whole number")
    return int(value)  # JSON numbers may come back as floats


def _boolean(values: Mapping[str, Any], key: str, where: str) -> bool:
    value = values.get(key)
    if not isinstance(value, bool):
        raise ValueError(f"stack outputs: {_at(where, key)} is missing or not true/false")
    return value


def _validated(model: type[_ModelT], value: object, where: str) -> _ModelT:
    """The config's own models check outputs too; their messages, one line, name the output."""
    try:
        return model.model_validate(value)
    except ValidationError as error:
        messages = "; ".join(
            str(item["msg"]).removeprefix("Value error, ") for item in error.errors()
        )
        raise ValueError(f"stack outputs: {where}: {messages}") from None


def _at(where: str, key: str) -> str:
    """`zones.prod.cidr`, or a top-level key alone."""
    return f"{where}.{key}" if where else key


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
        row.namespace,
        pods_text(row.pod_selector),
        row.egress_ips,
        row.cidr,
        row.gateway,
        str(row.vlan),
        row.tier1 or KNOWN_AFTER_DEPLOYMENT,
        "yes (NoSNAT rule)" if row.nat_mode else "no (routed)",
    )


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
