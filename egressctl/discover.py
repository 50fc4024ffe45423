"""`egressctl discover`: the same node-segment discovery the program runs, shown to a person.

Settings come from the stack file's plain values and, for what it keeps encrypted, from the
environment variables the providers also read (NSXT_PASSWORD, KUBECONFIG): this command does
not decrypt stack secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from antrea_egress.config import StackConfig
from antrea_egress.discovery import (
    DiscoveryError,
    NodeSegmentDiscovery,
    discover_node_segment,
    namespace_snat_ip,
)
from antrea_egress.kube import KubeAccess, KubeClient, KubeError
from antrea_egress.nsx.client import NsxClient
from antrea_egress.nsx.errors import NsxError
from antrea_egress.nsx.settings import NsxSettings
from egressctl.exit_codes import ExitCode
from egressctl.offline import stack_values
from egressctl.project import PROJECT_DIR


@dataclass(frozen=True)
class DiscoverResult:
    stack: str
    namespace: str
    cluster: str
    configured_nat_mode: bool
    discovery: NodeSegmentDiscovery | None = None
    namespace_snat_ip: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        if self.error or self.discovery is None or len(self.discovery.candidates) != 1:
            return ExitCode.FAILURE
        return ExitCode.OK

    @property
    def nat_mode_seen(self) -> bool | None:
        """True when NAT evidence was found, None when nothing says either way."""
        snat = self.namespace_snat_ip or (self.discovery.snat_ip if self.discovery else None)
        return True if snat else None


def discover_stack(
    stack: str,
    config: StackConfig,
    *,
    work_dir: Path = PROJECT_DIR,
    environ: Mapping[str, str],
) -> DiscoverResult:
    cluster = config.cluster
    base = DiscoverResult(stack, cluster.vsphere_namespace, cluster.name, config.nat_mode)
    plain = plain_values(stack_values(stack, work_dir))
    try:
        access = KubeAccess.resolve(plain.get, environ)
        settings = NsxSettings.resolve(plain.get, environ)
        with KubeClient(access) as kube, NsxClient(settings) as nsx:
            found = discover_node_segment(kube, nsx, cluster.vsphere_namespace, cluster.name)
            snat = namespace_snat_ip(kube, cluster.vsphere_namespace)
    except (DiscoveryError, KubeError, NsxError) as error:
        return _with(base, error=str(error))
    return _with(base, discovery=found, namespace_snat_ip=snat, notes=_notes(config, found, snat))


def plain_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Encrypted values are left out, so the environment variable fallback applies."""
    return {k: v for k, v in values.items() if not (isinstance(v, Mapping) and "secure" in v)}


def _with(base: DiscoverResult, **changes: Any) -> DiscoverResult:
    return DiscoverResult(**{**base.__dict__, **changes})


def _notes(config: StackConfig, found: NodeSegmentDiscovery, snat: str | None) -> list[str]:
    notes: list[str] = []
    evidence = bool(snat or found.snat_ip)
    if config.nat_mode and not evidence:
        notes.append(
            "natMode is true, but no SNAT IP was found for the namespace: if it is routed, set "
            "antrea-egress:natMode to false (no NoSNAT rules are needed)"
        )
    if not config.nat_mode and evidence:
        notes.append(
            "natMode is false, but the namespace has a SNAT IP (NAT mode): zone traffic would be "
            "SNATed on the Tier-1; set antrea-egress:natMode to true"
        )
    configured = config.cluster.node_segment
    if found.candidates and configured not in ("auto", found.candidates[0].path):
        notes.append(f"cluster.nodeSegment is {configured}, discovery found another segment")
    return notes


def discovery_table(result: DiscoverResult) -> Table:
    table = Table(
        title=f"Node segment of {result.namespace}/{result.cluster} (stack {result.stack})"
    )
    table.add_column("what")
    table.add_column("found", overflow="fold")
    if result.error:
        table.add_row("error", result.error)
        return table
    found = result.discovery
    if found is None:  # pragma: no cover - an error is set whenever discovery is missing
        return table
    table.add_row("infrastructure cluster", found.infrastructure)
    table.add_row("VirtualNetwork", f"{found.virtual_network} (uid {found.virtual_network_uid})")
    table.add_row(
        "logical switch ids", ", ".join(found.logical_switch_ids) or "none yet (no node VMs)"
    )
    for candidate in found.candidates or ():
        table.add_row(f"node segment (by {candidate.found_by})", candidate.path)
        table.add_row("Tier-1", str(candidate.tier1_path))
    if not found.candidates:
        table.add_row("node segment", "none found: set antrea-egress:cluster.nodeSegment")
    table.add_row("NAT evidence: VirtualNetwork defaultSNATIP", found.snat_ip or "none")
    table.add_row("NAT evidence: namespace ncp/snat_ip", result.namespace_snat_ip or "none")
    table.add_row("natMode in the stack", str(result.configured_nat_mode).lower())
    for note in result.notes:
        table.add_row("note", note)
    return table
