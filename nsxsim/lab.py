"""The field-procedure lab (docs/field-procedure.md) as constants other test suites can share."""

from __future__ import annotations

from dataclasses import dataclass, field

# NSX assigns the default overlay TZ when a segment omits transport_zone_path; the lab's
# overlay TZ plays that role in the simulator.
DEFAULT_TZ_PATH = (
    "/infra/sites/default/enforcement-points/default/transport-zones/"
    "1b3a2f36-bfd1-443e-a0f6-4de01abc963e"
)


def _tag(scope: str, value: str) -> dict[str, str]:
    return {"scope": scope, "tag": value}


@dataclass(frozen=True)
class LabSeed:
    tier1_id: str
    tier1_path: str
    node_segment_id: str
    node_segment_path: str
    transport_zone_path: str
    node_segment_unique_id: str
    vnet_uid: str
    cluster_id: str
    node_segment_gateway: str
    # One control-plane node and two workers (docs/field-procedure.md §2) attach VIF ports.
    node_segment_ports: int
    namespace: str
    node_segment_tags: tuple[tuple[str, str], ...] = field(default=())
    tier1_tags: tuple[tuple[str, str], ...] = field(default=())

    def node_segment_tag_dicts(self) -> list[dict[str, str]]:
        return [_tag(scope, value) for scope, value in self.node_segment_tags]

    def tier1_tag_dicts(self) -> list[dict[str, str]]:
        return [_tag(scope, value) for scope, value in self.tier1_tags]


_TIER1_ID = "t1_976ece6c-2c8b-4184-9d1c-ee98b4e89227_rtr"
_NODE_SEGMENT_ID = "vnet_60f55536-121d-40d0-ac48-4cb976decf3d_0"
_VNET_UID = "60f55536-121d-40d0-ac48-4cb976decf3d"
# Contains ':' on purpose: clients must escape it as '\:' in search queries.
_CLUSTER_ID = "domain-c8:0c9a4798-aaaa-4bbb-8ccc-123456789abc"

LAB = LabSeed(
    tier1_id=_TIER1_ID,
    tier1_path=f"/infra/tier-1s/{_TIER1_ID}",
    node_segment_id=_NODE_SEGMENT_ID,
    node_segment_path=f"/infra/segments/{_NODE_SEGMENT_ID}",
    transport_zone_path=DEFAULT_TZ_PATH,
    node_segment_unique_id="fe05b092-0000-4000-8000-000000000001",
    vnet_uid=_VNET_UID,
    cluster_id=_CLUSTER_ID,
    node_segment_gateway="10.244.0.1/28",
    node_segment_ports=3,
    namespace="test",
    node_segment_tags=(("ncp/cluster", _CLUSTER_ID), ("ncp/vnet_uid", _VNET_UID)),
    tier1_tags=(("ncp/cluster", _CLUSTER_ID), ("ncp/project", "test")),
)


@dataclass(frozen=True)
class LabStack:
    """The `lab` stack (Pulumi.lab.yaml) that `python -m nsxsim` serves as NSX Manager.

    Its node segment and Tier-1 are LAB's (seed_lab); the names below are the stack's own and
    appear in NSX only through the objects the program creates.
    """

    name: str
    cluster: str
    vsphere_namespace: str
    zone: str
    port: int

    @property
    def nsx_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def no_snat_rule_id(self) -> str:
        # antrea_egress.naming: nosnat-<child segment id>, egress-<namespace>-<cluster>-<zone>.
        return f"nosnat-egress-{self.vsphere_namespace}-{self.cluster}-{self.zone}"


LAB_STACK = LabStack(
    name="lab", cluster="tkc-lab01", vsphere_namespace="lab", zone="lab", port=8443
)
