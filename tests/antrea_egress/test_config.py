"""The stack configuration validator: every rule, good and bad, and the loaders."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime.config
import pytest
from pulumi.runtime import settings
from pydantic import ValidationError
from typer.testing import CliRunner

from antrea_egress import manifests
from antrea_egress.config import (
    CONFIG_NAMESPACE,
    MAX_ZONES_PER_CLUSTER,
    AccessConfig,
    ConfigError,
    IpRange,
    LabelSelector,
    StackConfig,
    ZoneConfig,
    format_go_duration,
    load_stack_config,
    load_stack_file,
    parse_go_duration,
    read_access_config,
    read_pulumi_config,
)
from antrea_egress.nsx.settings import NsxSettings
from egressctl import cli
from egressctl.offline import run_offline, stack_values
from egressctl.project import PROJECT_DIR

Raw = dict[str, Any]
Mutation = Callable[[Raw], None]

P = "antrea-egress:"
NODE_SEGMENT = "/infra/segments/vnet_60f55536-121d-40d0-ac48-4cb976decf3d_0"
HOST_BITS_WARNING = (
    "antrea-egress:cluster.network.services[0]: 10.196.0.0/12 has host bits set; "
    "the network is 10.192.0.0/12 (the TKC accepts it)"
)


def field_procedure() -> Raw:
    """The lab values of the field procedure, as a stack YAML file holds them."""
    return {
        "nsxt:host": "nsx.lab.home",
        "nsxt:username": "admin",
        "nsxt:password": {"secure": "v1:c2VjcmV0"},
        "kubernetes:context": "supervisor",
        "antrea-egress:cluster": {
            "name": "tkc-test01",
            "vsphereNamespace": "test",
            "manage": True,
            "tkr": "v1.31.1---vmware.2-fips-vkr.2",
            "controlPlane": {
                "replicas": 1,
                "vmClass": "best-effort-medium",
                "storageClass": "labnfs",
            },
            "nodePools": [
                {
                    "name": "worker",
                    "replicas": 2,
                    "vmClass": "best-effort-medium",
                    "storageClass": "labnfs",
                }
            ],
            "network": {"pods": ["192.168.0.0/16"], "services": ["10.196.0.0/12"]},
            "antrea": {"featureGates": {"NodePortLocal": True}, "nsx": True},
            "nodeSegment": "auto",
            "readyTimeout": "60m",
        },
        "antrea-egress:natMode": True,
        "antrea-egress:demoWorkloads": False,
        "antrea-egress:zones": [
            {
                "name": "prod",
                "vlan": 110,
                "cidr": "10.100.5.0/25",
                "gateway": "10.100.5.1",
                "ipRanges": [{"start": "10.100.5.10", "end": "10.100.5.20"}],
                "appliedTo": {"namespace": "prod", "podSelector": {"app": "web"}},
                "nodeSelector": {},
            },
            {
                "name": "staging",
                "vlan": 120,
                "cidr": "10.100.5.128/30",
                "gateway": "10.100.5.129",
                "ipRanges": [{"start": "10.100.5.130", "end": "10.100.5.130"}],
                "appliedTo": {"namespace": "staging", "podSelector": {"app": "web"}},
            },
        ],
    }


# --- mutations of the field-procedure values ------------------------------------------------


def put(key: str, *path: str | int, value: Any) -> Mutation:
    """Set `value` at `path` inside the value of `antrea-egress:<key>` (or the key itself)."""

    def mutate(raw: Raw) -> None:
        if not path:
            raw[P + key] = value
            return
        target = raw[P + key]
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return mutate


def drop(key: str, *path: str | int) -> Mutation:
    def mutate(raw: Raw) -> None:
        if not path:
            del raw[P + key]
            return
        target = raw[P + key]
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return mutate


def add(key: str, *path: str | int, value: Any) -> Mutation:
    """Append `value` to the list at `path` inside the value of `antrea-egress:<key>`."""

    def mutate(raw: Raw) -> None:
        target = raw[P + key]
        for part in path:
            target = target[part]
        target.append(value)

    return mutate


def cluster(*path: str | int, value: Any) -> Mutation:
    return put("cluster", *path, value=value)


def zone(index: int, *path: str | int, value: Any) -> Mutation:
    return put("zones", index, *path, value=value)


def ranges(index: int, *items: dict[str, str]) -> Mutation:
    return zone(index, "ipRanges", value=list(items))


def span(start: str, end: str) -> dict[str, str]:
    return {"start": f"10.100.5.{start}", "end": f"10.100.5.{end}"}


def apply(*mutations: Mutation) -> Raw:
    raw = field_procedure()
    for mutate in mutations:
        mutate(raw)
    return raw


def many_zones(count: int) -> Mutation:
    """`count` valid zones with distinct /28 subnets and VLANs."""
    zones = [
        {
            "name": f"zone{i}",
            "vlan": 200 + i,
            "cidr": f"10.100.{10 + i}.0/28",
            "gateway": f"10.100.{10 + i}.1",
            "ipRanges": [{"start": f"10.100.{10 + i}.2", "end": f"10.100.{10 + i}.3"}],
            "appliedTo": {"namespace": f"ns{i}"},
        }
        for i in range(count)
    ]
    return put("zones", value=zones)


def problems_of(raw: Raw) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_stack_config(raw)
    return info.value.problems


# --- the field procedure --------------------------------------------------------------------


def test_field_procedure_values_pass_with_exactly_the_host_bits_warning() -> None:
    stack, warnings = load_stack_config(field_procedure())

    assert warnings == [HOST_BITS_WARNING]
    assert stack.nat_mode is True
    assert stack.demo_workloads is False
    assert stack.cluster.name == "tkc-test01"
    assert stack.cluster.vsphere_namespace == "test"
    assert stack.cluster.tkr == "v1.31.1---vmware.2-fips-vkr.2"
    assert stack.cluster.control_plane is not None
    assert stack.cluster.control_plane.replicas == 1
    assert [(p.name, p.replicas, p.vm_class) for p in stack.cluster.node_pools] == [
        ("worker", 2, "best-effort-medium")
    ]
    assert stack.cluster.network.services == ["10.196.0.0/12"]
    assert stack.cluster.antrea.effective_feature_gates == {
        "NodePortLocal": True,
        "EgressSeparateSubnet": True,
    }
    assert stack.cluster.antrea.nsx is True
    assert stack.cluster.ready_timeout == dt.timedelta(minutes=60)
    prod, staging = stack.zones
    assert manifests.subnet_info(prod) == {"gateway": "10.100.5.1", "prefixLength": 25, "vlan": 110}
    assert manifests.subnet_info(staging) == {
        "gateway": "10.100.5.129",
        "prefixLength": 30,
        "vlan": 120,
    }
    assert staging.subnet.gateway_cidr == "10.100.5.129/30"
    assert [manifests.ip_range(r) for r in staging.ip_ranges] == [
        {"start": "10.100.5.130", "end": "10.100.5.130"}
    ]
    assert manifests.applied_to(prod.applied_to) == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "prod"}},
        "podSelector": {"matchLabels": {"app": "web"}},
    }
    assert manifests.label_selector(prod.node_selector) == {}
    assert stack.effective_parent(prod) == "auto"
    assert stack.warnings() == [HOST_BITS_WARNING]


def test_json_strings_as_pulumi_config_gives_them_parse_like_objects() -> None:
    as_objects = field_procedure()
    as_strings = {
        key: json.dumps(value) if key.startswith(P) else value for key, value in as_objects.items()
    }
    assert as_strings[P + "natMode"] == "true"

    assert load_stack_config(as_strings) == load_stack_config(as_objects)


STACK_FILE = """\
config:
  nsxt:host: nsx.lab.home
  nsxt:username: admin
  nsxt:password:
    secure: v1:c2VjcmV0
  kubernetes:context: supervisor
  antrea-egress:cluster:
    name: tkc-test01
    vsphereNamespace: test
    manage: true
    tkr: v1.31.1---vmware.2-fips-vkr.2
    controlPlane: {replicas: 1, vmClass: best-effort-medium, storageClass: labnfs}
    nodePools:
      - {name: worker, replicas: 2, vmClass: best-effort-medium, storageClass: labnfs}
    network: {pods: [192.168.0.0/16], services: [10.196.0.0/12]}
    antrea:
      featureGates: {NodePortLocal: true}
      nsx: true
    nodeSegment: auto
    readyTimeout: 60m
  antrea-egress:natMode: true
  antrea-egress:demoWorkloads: false
  antrea-egress:zones:
    - name: prod
      vlan: 110
      cidr: 10.100.5.0/25
      gateway: 10.100.5.1
      ipRanges: [{start: 10.100.5.10, end: 10.100.5.20}]
      appliedTo: {namespace: prod, podSelector: {app: web}}
      nodeSelector: {}
    - name: staging
      vlan: 120
      cidr: 10.100.5.128/30
      gateway: 10.100.5.129
      ipRanges: [{start: 10.100.5.130, end: 10.100.5.130}]
      appliedTo: {namespace: staging, podSelector: {app: web}}
"""


def test_stack_file_parses_like_objects(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.lab.yaml"
    path.write_text(STACK_FILE, encoding="utf-8")

    assert load_stack_file(path) == load_stack_config(field_procedure(), stack="lab")


NO_CONTEXT = "kubernetes:context: not set"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("config: [\n", ("Pulumi.bad.yaml: not valid YAML",)),
        ("- a\n- b\n", ("Pulumi.bad.yaml: a stack file must be a mapping",)),
        ("config: [a]\n", ("Pulumi.bad.yaml: config: must be a mapping",)),
        (
            "config:\n  kubernetes:context: s\n  antrea-egress:cluster:\n    secure: v1:x\n",
            ("antrea-egress:cluster: is a secret",),
        ),
        ("encryptionsalt: x\n", ("antrea-egress:cluster: required", NO_CONTEXT)),
    ],
)
def test_stack_file_problems(tmp_path: Path, text: str, expected: tuple[str, ...]) -> None:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        load_stack_file(path)

    problems = [problem.removeprefix(f"{tmp_path}/") for problem in info.value.problems]
    assert len(problems) == len(expected), problems
    for problem, prefix in zip(problems, expected, strict=True):
        assert problem.startswith(prefix), problems


# --- every rule, bad --------------------------------------------------------------------------

# Each case: id, the mutations of the field-procedure values, and the problems expected, each
# as the start of the message after "antrea-egress:" (so the key is always asserted exactly).
# fmt: off
BAD: list[tuple[str, list[Mutation], tuple[str, ...]]] = [
    # CIDRs and addresses parse; IPv4 prefix length 1-31
    ("cidr-garbage", [zone(0, "cidr", value="10.100.5.0/33")],
     ("zones[0].cidr: '10.100.5.0/33' is not a CIDR",)),
    ("cidr-host-bits", [zone(0, "cidr", value="10.100.5.1/25")],
     ("zones[0].cidr: 10.100.5.1/25 has host bits set",)),
    ("cidr-prefix-32", [zone(0, "cidr", value="10.100.5.0/32")],
     ("zones[0].cidr: 10.100.5.0/32 is too small: a zone needs /30 or larger",)),
    # a /31 has no room for the gateway and an egress IP beside network and broadcast
    ("cidr-prefix-31",
     [zone(1, "cidr", value="10.100.5.130/31"), zone(1, "gateway", value="10.100.5.130"),
      ranges(1, span("131", "131"))],
     ("zones[1].cidr: 10.100.5.130/31 is too small: a zone needs /30 or larger, room for the "
      "gateway and at least one egress IP besides the network and broadcast addresses (/31 "
      "point-to-point subnets as in RFC 3021 are not supported)",)),
    ("cidr-prefix-0", [zone(0, "cidr", value="0.0.0.0/0")],
     ("zones[0].cidr: 0.0.0.0/0: prefix length must be 1-31",)),
    ("cidr-ipv6", [zone(0, "cidr", value="fd00::/64")],
     ("zones[0].cidr: fd00::/64 is IPv6",)),
    ("cidr-not-string", [zone(0, "cidr", value=10)],
     ("zones[0].cidr: must be a string, got 10",)),
    ("gateway-garbage", [zone(0, "gateway", value="10.100.5.300")],
     ("zones[0].gateway: '10.100.5.300' is not an IP address",)),
    # the gateway lies inside the CIDR and is neither its network nor its broadcast address
    ("gateway-outside", [zone(0, "gateway", value="10.100.6.1")],
     ("zones[0].gateway: gateway 10.100.6.1 is outside 10.100.5.0/25",)),
    ("gateway-network", [zone(0, "gateway", value="10.100.5.0")],
     ("zones[0].gateway: gateway 10.100.5.0 is the network address",)),
    ("gateway-broadcast", [zone(1, "gateway", value="10.100.5.131")],
     ("zones[1].gateway: gateway 10.100.5.131 is the broadcast address",)),
    # ranges: inside the CIDR, start <= end, without gateway, network and broadcast address
    ("range-garbage", [zone(0, "ipRanges", 0, "start", value="10.100.5.x")],
     ("zones[0].ipRanges[0].start: '10.100.5.x' is not an IP address",)),
    ("range-outside", [ranges(0, span("120", "130"))],
     ("zones[0].ipRanges[0]: 10.100.5.120-10.100.5.130 is not inside 10.100.5.0/25",)),
    ("range-reversed", [ranges(0, span("20", "10"))],
     ("zones[0].ipRanges[0]: start 10.100.5.20 is after end 10.100.5.10",)),
    ("range-has-gateway", [zone(1, "ipRanges", 0, "start", value="10.100.5.129")],
     ("zones[1].ipRanges[0]: 10.100.5.129 is the gateway",)),
    ("range-has-network", [ranges(0, span("0", "5"))],
     ("zones[0].ipRanges[0]: 10.100.5.1 is the gateway",
      "zones[0].ipRanges[0]: 10.100.5.0 is the network address of 10.100.5.0/25")),
    ("range-has-broadcast", [ranges(0, span("120", "127"))],
     ("zones[0].ipRanges[0]: 10.100.5.127 is the broadcast address of 10.100.5.0/25",)),
    ("cidr-range-has-gateway", [ranges(0, {"cidr": "10.100.5.0/28"})],
     ("zones[0].ipRanges[0]: 10.100.5.1 is the gateway",)),
    ("cidr-range-31", [ranges(0, {"cidr": "10.100.5.16/31"})],
     ("zones[0].ipRanges[0].cidr: 10.100.5.16/31 holds no address",)),
    ("range-both-forms", [ranges(0, {"cidr": "10.100.5.16/28", "start": "10.100.5.20"})],
     ("zones[0].ipRanges[0]: give either cidr or start and end, not both",)),
    ("range-start-only", [ranges(0, {"start": "10.100.5.10"})],
     ("zones[0].ipRanges[0].end: required together with start",)),
    ("range-empty", [ranges(0, {})],
     ("zones[0].ipRanges[0]: give either cidr, or start and end",)),
    ("range-unknown-key", [ranges(0, {"start": "10.100.5.10", "stop": "10.100.5.20"})],
     ("zones[0].ipRanges[0].stop: unknown key", "zones[0].ipRanges[0].end: required")),
    ("ranges-none", [ranges(0)],
     ("zones[0].ipRanges: must not be empty",)),
    # ranges do not overlap within or across zones
    ("ranges-overlap-in-zone", [ranges(0, span("10", "20"), span("15", "30"))],
     ("zones[0].ipRanges[1]: 10.100.5.15-10.100.5.30 overlaps "
      "antrea-egress:zones[0].ipRanges[0] 10.100.5.10-10.100.5.20",)),
    ("ranges-overlap-cidr-form", [ranges(0, span("10", "20"), {"cidr": "10.100.5.16/28"})],
     ("zones[0].ipRanges[1]: 10.100.5.16/28 overlaps antrea-egress:zones[0].ipRanges[0]",)),
    ("ranges-overlap-across-zones",
     [zone(1, "cidr", value="10.100.5.0/24"), zone(1, "gateway", value="10.100.5.254"),
      ranges(1, span("15", "16"))],
     ("zones[1].cidr: 10.100.5.0/24 overlaps antrea-egress:zones[0].cidr 10.100.5.0/25",
      "zones[1].ipRanges[0]: 10.100.5.15-10.100.5.16 overlaps "
      "antrea-egress:zones[0].ipRanges[0] 10.100.5.10-10.100.5.20")),
    # one shared address is an overlap, whichever range comes first
    ("ranges-share-the-last-address", [ranges(0, span("10", "20"), span("20", "30"))],
     ("zones[0].ipRanges[1]: 10.100.5.20-10.100.5.30 overlaps "
      "antrea-egress:zones[0].ipRanges[0] 10.100.5.10-10.100.5.20",)),
    ("ranges-share-the-first-address", [ranges(0, span("20", "30"), span("10", "20"))],
     ("zones[0].ipRanges[1]: 10.100.5.10-10.100.5.20 overlaps "
      "antrea-egress:zones[0].ipRanges[0] 10.100.5.20-10.100.5.30",)),
    ("ranges-share-an-address-across-zones",
     [zone(1, "cidr", value="10.100.5.0/24"), zone(1, "gateway", value="10.100.5.254"),
      ranges(1, span("20", "21"))],
     ("zones[1].cidr: 10.100.5.0/24 overlaps antrea-egress:zones[0].cidr 10.100.5.0/25",
      "zones[1].ipRanges[0]: 10.100.5.20-10.100.5.21 overlaps "
      "antrea-egress:zones[0].ipRanges[0] 10.100.5.10-10.100.5.20")),
    # Antrea's allocator takes at most 65536 addresses per range: one more is refused
    ("range-one-address-too-many",
     [zone(0, value={"name": "prod", "vlan": 110, "cidr": "10.0.0.0/15", "gateway": "10.0.0.1",
                     "ipRanges": [{"start": "10.0.0.2", "end": "10.1.0.2"}],
                     "appliedTo": {"namespace": "prod"}})],
     ("zones[0].ipRanges[0]: 10.0.0.2-10.1.0.2 holds 65537 addresses; Antrea allows at most "
      "65536 per range",)),
    # zone CIDRs overlap neither each other nor the cluster's pod and service CIDRs
    ("zones-overlap",
     [zone(1, "cidr", value="10.100.5.0/26"), zone(1, "gateway", value="10.100.5.1"),
      ranges(1, span("40", "41"))],
     ("zones[1].cidr: 10.100.5.0/26 overlaps antrea-egress:zones[0].cidr 10.100.5.0/25",)),
    ("zone-overlaps-pods",
     [zone(0, "cidr", value="192.168.5.0/25"), zone(0, "gateway", value="192.168.5.1"),
      ranges(0, {"start": "192.168.5.10", "end": "192.168.5.20"})],
     ("zones[0].cidr: 192.168.5.0/25 overlaps "
      "antrea-egress:cluster.network.pods[0] 192.168.0.0/16",)),
    ("zone-overlaps-services",
     [zone(0, "cidr", value="10.200.0.0/25"), zone(0, "gateway", value="10.200.0.1"),
      ranges(0, {"start": "10.200.0.10", "end": "10.200.0.20"})],
     ("zones[0].cidr: 10.200.0.0/25 overlaps "
      "antrea-egress:cluster.network.services[0] 10.196.0.0/12",)),
    ("zones-overlap-default-services", [drop("cluster", "network")],
     ("zones[0].cidr: 10.100.5.0/25 overlaps "
      "antrea-egress:cluster.network.services[0] 10.96.0.0/12 (the TKC's default)",
      "zones[1].cidr: 10.100.5.128/30 overlaps antrea-egress:cluster.network.services[0]")),
    ("pods-overlap-services", [cluster("network", "services", value=["192.168.128.0/17"])],
     ("cluster.network.services[0]: 192.168.128.0/17 overlaps "
      "antrea-egress:cluster.network.pods[0] 192.168.0.0/16",)),
    ("pods-no-prefix", [cluster("network", "pods", value=["192.168.0.0"])],
     ("cluster.network.pods[0]: '192.168.0.0' has no prefix length",)),
    ("pods-empty", [cluster("network", "pods", value=[])],
     ("cluster.network.pods: must not be empty",)),
    # VLAN 1-4094, unique among zones on the same parent
    ("vlan-0", [zone(0, "vlan", value=0)],
     ("zones[0].vlan: VLAN 0 is outside 1-4094",)),
    ("vlan-4095", [zone(0, "vlan", value=4095)],
     ("zones[0].vlan: VLAN 4095 is outside 1-4094",)),
    ("vlan-string", [zone(0, "vlan", value="110")],
     ("zones[0].vlan: VLAN must be an integer 1-4094, got '110'",)),
    ("vlan-bool", [zone(0, "vlan", value=True)],
     ("zones[0].vlan: VLAN must be an integer",)),
    ("vlan-shared-auto-parent", [zone(1, "vlan", value=110)],
     ("zones[1].vlan: VLAN 110 is already used by antrea-egress:zones[0].vlan "
      "on the same parent segment (auto)",)),
    ("vlan-shared-explicit-parent",
     [zone(0, "parentSegment", value=NODE_SEGMENT), zone(1, "parentSegment", value=NODE_SEGMENT),
      zone(1, "vlan", value=110)],
     ("zones[1].vlan: VLAN 110 is already used by antrea-egress:zones[0].vlan",)),
    ("vlan-shared-with-cluster-parent",
     [cluster("nodeSegment", value=NODE_SEGMENT), zone(1, "parentSegment", value=NODE_SEGMENT),
      zone(1, "vlan", value=110)],
     ("zones[1].vlan: VLAN 110 is already used by antrea-egress:zones[0].vlan",)),
    # at most 20 zones per cluster
    ("too-many-zones", [many_zones(MAX_ZONES_PER_CLUSTER + 1)],
     ("zones: 21 zones; at most 20 per cluster",)),
    # names are DNS-1123 labels and unique
    ("zone-name-upper", [zone(0, "name", value="Prod")],
     ("zones[0].name: 'Prod' is not a DNS-1123 label",)),
    ("zone-name-long", [zone(0, "name", value="a" * 64)],
     ("zones[0].name: 'aaaa",)),
    ("zone-name-duplicate", [zone(1, "name", value="prod")],
     ("zones[1].name: 'prod' duplicates antrea-egress:zones[0].name",)),
    ("cluster-name", [cluster("name", value="tkc_test01")],
     ("cluster.name: 'tkc_test01' is not a DNS-1123 label",)),
    ("cluster-namespace", [cluster("vsphereNamespace", value="Test")],
     ("cluster.vsphereNamespace: 'Test' is not a DNS-1123 label",)),
    ("applied-namespace", [zone(0, "appliedTo", "namespace", value="Prod")],
     ("zones[0].appliedTo.namespace: 'Prod' is not a DNS-1123 label",)),
    ("applied-missing", [drop("zones", 0, "appliedTo")],
     ("zones[0].appliedTo: required",)),
    # the cluster: odd control plane, node pools, required fields when managed
    ("control-plane-even", [cluster("controlPlane", "replicas", value=2)],
     ("cluster.controlPlane.replicas: must be odd, got 2",)),
    ("control-plane-zero", [cluster("controlPlane", "replicas", value=0)],
     ("cluster.controlPlane.replicas: must be odd and at least 1",)),
    ("control-plane-bool", [cluster("controlPlane", "replicas", value=True)],
     ("cluster.controlPlane.replicas: must be an integer, got True",)),
    ("control-plane-text", [cluster("controlPlane", "replicas", value="three")],
     ("cluster.controlPlane.replicas: must be an integer, got 'three'",)),
    ("control-plane-vm-class", [drop("cluster", "controlPlane", "vmClass")],
     ("cluster.controlPlane.vmClass: required",)),
    ("pool-replicas-negative", [cluster("nodePools", 0, "replicas", value=-1)],
     ("cluster.nodePools[0].replicas: must be 0 or more, got -1",)),
    ("pool-name", [cluster("nodePools", 0, "name", value="Worker")],
     ("cluster.nodePools[0].name: 'Worker' is not a DNS-1123 label",)),
    ("pool-duplicate",
     [add("cluster", "nodePools", value={"name": "worker", "vmClass": "x", "storageClass": "y"})],
     ("cluster.nodePools[1].name: 'worker' duplicates antrea-egress:cluster.nodePools[0].name",)),
    ("managed-without-tkr", [drop("cluster", "tkr")],
     ("cluster.tkr: required when manage is true",)),
    ("managed-without-control-plane", [drop("cluster", "controlPlane")],
     ("cluster.controlPlane: required when manage is true",)),
    ("managed-without-pools", [cluster("nodePools", value=[])],
     ("cluster.nodePools: at least one node pool is required when manage is true",)),
    ("managed-pools-missing", [drop("cluster", "nodePools")],
     ("cluster.nodePools: at least one node pool is required",)),
    ("tkr-name", [cluster("tkr", value="V1.31")],
     ("cluster.tkr: 'V1.31' is not a DNS-1123 subdomain",)),
    ("cluster-name-missing", [drop("cluster", "name")],
     ("cluster.name: required",)),
    ("manage-not-bool", [cluster("manage", value="perhaps")],
     ("cluster.manage: must be true or false, got 'perhaps'",)),
    # Antrea settings
    ("gate-name", [cluster("antrea", "featureGates", value={"nodePortLocal": True})],
     ("cluster.antrea.featureGates.nodePortLocal: 'nodePortLocal' is not a feature gate name",)),
    ("gate-separate-subnet-off",
     [cluster("antrea", "featureGates", "EgressSeparateSubnet", value=False)],
     ("cluster.antrea.featureGates.EgressSeparateSubnet: must not be false",)),
    ("gate-egress-off", [cluster("antrea", "featureGates", "Egress", value=False)],
     ("cluster.antrea.featureGates.Egress: must not be false",)),
    ("nsx-not-bool", [cluster("antrea", "nsx", value="maybe")],
     ("cluster.antrea.nsx: must be true or false, got 'maybe'",)),
    # segments
    ("node-segment", [cluster("nodeSegment", value="segments/x")],
     ("cluster.nodeSegment: 'segments/x' is neither 'auto' nor a segment policy path",)),
    ("parent-segment-auto", [zone(0, "parentSegment", value="auto")],
     ("zones[0].parentSegment: 'auto' is not a segment policy path",)),
    # durations
    ("timeout-no-unit", [cluster("readyTimeout", value="60")],
     ("cluster.readyTimeout: '60' is not a duration",)),
    ("timeout-days", [cluster("readyTimeout", value="1d")],
     ("cluster.readyTimeout: '1d' is not a duration",)),
    ("timeout-negative", [cluster("readyTimeout", value="-5m")],
     ("cluster.readyTimeout: '-5m' is not a duration",)),
    ("timeout-zero", [cluster("readyTimeout", value="0s")],
     ("cluster.readyTimeout: '0s' must be longer than zero",)),
    ("timeout-too-short", [cluster("readyTimeout", value="45s")],
     ("cluster.readyTimeout: must be between 5m and 8h, got 45s",)),
    ("timeout-too-long", [cluster("readyTimeout", value="9h")],
     ("cluster.readyTimeout: must be between 5m and 8h, got 9h",)),
    ("timeout-number", [cluster("readyTimeout", value=60)],
     ("cluster.readyTimeout: must be a duration such as 60m, 1h30m or 90s, got 60",)),
    # label selectors, validated like Kubernetes
    ("label-key", [zone(0, "appliedTo", "podSelector", value={"-app": "web"})],
     ('zones[0].appliedTo.podSelector.matchLabels["-app"]: label key \'-app\'',)),
    ("label-value", [zone(0, "appliedTo", "podSelector", value={"app": "web!"})],
     ("zones[0].appliedTo.podSelector.matchLabels.app: label value 'web!'",)),
    ("label-value-type", [zone(0, "nodeSelector", value={"role": 1})],
     ("zones[0].nodeSelector.matchLabels.role: must be a string, got 1",)),
    ("label-key-prefix", [zone(0, "nodeSelector", value={"Example.com/role": "egress"})],
     ('zones[0].nodeSelector.matchLabels["Example.com/role"]: label key',)),
    ("selector-operator",
     [zone(0, "appliedTo", "podSelector",
           value={"matchExpressions": [{"key": "app", "operator": "Foo", "values": ["a"]}]})],
     ("zones[0].appliedTo.podSelector.matchExpressions[0].operator: input should be 'In', "
      "'NotIn', 'Exists' or 'DoesNotExist'",)),
    ("selector-in-without-values",
     [zone(0, "nodeSelector", value={"matchExpressions": [{"key": "role", "operator": "In"}]})],
     ("zones[0].nodeSelector.matchExpressions[0].values: must not be empty for operator In",)),
    ("selector-exists-with-values",
     [zone(0, "nodeSelector",
           value={"matchExpressions": [{"key": "role", "operator": "Exists", "values": ["a"]}]})],
     ("zones[0].nodeSelector.matchExpressions[0].values: must be empty for operator Exists",)),
    ("selector-typo", [zone(0, "nodeSelector", value={"matchLabel": {"role": "egress"}})],
     ("zones[0].nodeSelector.matchLabel: unknown key (did you mean 'matchLabels'?)",)),
    # unknown keys and wrong shapes
    ("unknown-stack-key", [put("natmode", value=False)],
     ("natmode: unknown key (did you mean 'antrea-egress:natMode'?)",)),
    ("unknown-cluster-key", [cluster("vsphereNamespce", value="test")],
     ("cluster.vsphereNamespce: unknown key (did you mean 'vsphereNamespace'?)",)),
    ("unknown-zone-key", [zone(0, "gatway", value="10.100.5.1")],
     ("zones[0].gatway: unknown key (did you mean 'gateway'?)",)),
    ("unknown-control-plane-key", [cluster("controlPlane", "vmclass", value="x")],
     ("cluster.controlPlane.vmclass: unknown key (did you mean 'vmClass'?)",)),
    ("given-twice", [cluster("controlPlane", "vm_class", value="x")],
     ("cluster.controlPlane.vm_class: given twice (also as vmClass)",)),
    ("nat-mode", [put("natMode", value="maybe")],
     ("natMode: must be true or false, got 'maybe'",)),
    ("demo-workloads", [put("demoWorkloads", value=3)],
     ("demoWorkloads: must be true or false, got 3",)),
    ("cluster-missing", [drop("cluster")],
     ("cluster: required",)),
    ("cluster-bad-json", [put("cluster", value='{"name": ')],
     ("cluster: not valid JSON",)),
    ("cluster-list", [put("cluster", value=[])],
     ("cluster: must be a mapping, got []",)),
    ("cluster-secret", [put("cluster", value={"secure": "v1:x"})],
     ("cluster: is a secret",)),
    ("zones-mapping", [put("zones", value={"name": "prod"})],
     ("zones: must be a list of zones",)),
    ("zone-not-mapping", [put("zones", 1, value="staging")],
     ("zones[1]: must be a mapping, got 'staging'",)),
]


GOOD: list[tuple[str, list[Mutation], Callable[[StackConfig], object]]] = [
    ("vlan-1", [zone(0, "vlan", value=1)], lambda s: s.zones[0].vlan == 1),
    ("vlan-4094", [zone(0, "vlan", value=4094)], lambda s: s.zones[0].vlan == 4094),
    ("vlan-shared-on-other-parent",
     [zone(1, "vlan", value=110), zone(1, "parentSegment", value="/infra/segments/other")],
     lambda s: s.zones[1].effective_parent(s.cluster) == "/infra/segments/other"),
    ("max-zones", [many_zones(MAX_ZONES_PER_CLUSTER)], lambda s: len(s.zones) == 20),
    ("no-zones", [put("zones", value=[])], lambda s: s.zones == []),
    ("zones-absent", [drop("zones")], lambda s: s.zones == []),
    ("control-plane-3", [cluster("controlPlane", "replicas", value=3)],
     lambda s: s.cluster.control_plane and s.cluster.control_plane.replicas == 3),
    ("control-plane-default", [drop("cluster", "controlPlane", "replicas")],
     lambda s: s.cluster.control_plane and s.cluster.control_plane.replicas == 1),
    ("pool-zero", [cluster("nodePools", 0, "replicas", value=0)],
     lambda s: s.cluster.node_pools[0].replicas == 0),
    ("two-pools",
     [add("cluster", "nodePools", value={"name": "egress", "vmClass": "x", "storageClass": "y"})],
     lambda s: len(s.cluster.node_pools) == 2),
    ("timeout-1h30m", [cluster("readyTimeout", value="1h30m")],
     lambda s: s.cluster.ready_timeout == dt.timedelta(minutes=90)),
    ("timeout-5m", [cluster("readyTimeout", value="5m")],
     lambda s: s.cluster.ready_timeout == dt.timedelta(minutes=5)),
    ("timeout-8h", [cluster("readyTimeout", value="8h")],
     lambda s: s.cluster.ready_timeout == dt.timedelta(hours=8)),
    ("protect-default", [],
     lambda s: s.cluster.protect is True),
    ("protect-off", [cluster("protect", value=False)],
     lambda s: s.cluster.protect is False),
    ("timeout-default", [drop("cluster", "readyTimeout")],
     lambda s: s.cluster.ready_timeout == dt.timedelta(minutes=60)),
    ("node-segment-path", [cluster("nodeSegment", value=NODE_SEGMENT)],
     lambda s: s.effective_parent(s.zones[0]) == NODE_SEGMENT),
    ("parent-segment", [zone(0, "parentSegment", value=NODE_SEGMENT)],
     lambda s: s.zones[0].parent_segment == NODE_SEGMENT),
    ("cidr-range", [ranges(0, {"cidr": "10.100.5.16/28"})],
     lambda s: manifests.ip_range(s.zones[0].ip_ranges[0]) == {"cidr": "10.100.5.16/28"}),
    ("cidr-range-from-network",  # Antrea never hands out .0 of a cidr range
     [zone(0, "gateway", value="10.100.5.126"), ranges(0, {"cidr": "10.100.5.0/28"})],
     lambda s: str(s.zones[0].ip_ranges[0].allocatable[0]) == "10.100.5.1"),
    ("range-next-to-reserved", [ranges(0, span("2", "126"))],
     lambda s: s.zones[0].ip_ranges[0].text == "10.100.5.2-10.100.5.126"),
    ("two-ranges", [ranges(0, span("10", "20"), span("21", "30"))],
     lambda s: len(s.zones[0].ip_ranges) == 2),
    ("selector-full-form",
     [zone(0, "appliedTo", "podSelector",
           value={"matchLabels": {"app": "web"},
                  "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]})],
     lambda s: manifests.label_selector(s.zones[0].applied_to.pod_selector)
     == {"matchLabels": {"app": "web"},
         "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]}),
    ("selector-exists",
     [zone(0, "nodeSelector", value={"matchExpressions": [{"key": "gw", "operator": "Exists"}]})],
     lambda s: manifests.label_selector(s.zones[0].node_selector)
     == {"matchExpressions": [{"key": "gw", "operator": "Exists"}]}),
    ("selector-prefixed-key", [zone(0, "nodeSelector", value={"example.com/role": "egress"})],
     lambda s: s.zones[0].node_selector.match_labels == {"example.com/role": "egress"}),
    ("all-pods-of-namespace", [drop("zones", 0, "appliedTo", "podSelector")],
     lambda s: manifests.applied_to(s.zones[0].applied_to)
     == {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "prod"}}}),
    ("separate-subnet-on",
     [cluster("antrea", "featureGates", "EgressSeparateSubnet", value=True)],
     lambda s: s.cluster.antrea.feature_gates["EgressSeparateSubnet"] is True),
    ("nat-mode-string", [put("natMode", value="false")], lambda s: s.nat_mode is False),
    ("defaults", [drop("natMode"), drop("demoWorkloads")],
     lambda s: s.nat_mode is True and s.demo_workloads is False),
    ("provider-keys-left-to-the-providers",
     [lambda raw: raw.update({"nsxt:whatever": [1], "kubernetes:namespace": "x",
                              "pulumi:disable-default-providers": '["*"]'})],
     lambda s: s.nat_mode is True),
]
# fmt: on


@pytest.mark.parametrize(("mutations", "expected"), [pytest.param(m, e, id=i) for i, m, e in BAD])
def test_bad_values_are_reported_with_their_key(
    mutations: list[Mutation], expected: tuple[str, ...]
) -> None:
    problems = problems_of(apply(*mutations))

    assert len(problems) == len(expected), problems
    for problem, prefix in zip(problems, expected, strict=True):
        assert problem.startswith(P + prefix), problems


def test_keys_need_a_namespace() -> None:
    raw = field_procedure()
    raw["zones"] = []

    assert problems_of(raw) == [
        "zones: configuration keys need a namespace, e.g. antrea-egress:zones"
    ]


# --- every rule, good -------------------------------------------------------------------------


@pytest.mark.parametrize(("mutations", "check"), [pytest.param(m, c, id=i) for i, m, c in GOOD])
def test_good_values_pass(
    mutations: list[Mutation], check: Callable[[StackConfig], object]
) -> None:
    stack, warnings = load_stack_config(apply(*mutations))

    assert check(stack)
    assert warnings == [HOST_BITS_WARNING]


# --- manage: false ------------------------------------------------------------------------------


def test_unmanaged_cluster_needs_only_name_and_namespace() -> None:
    raw = apply(
        put("cluster", value={"name": "tkc-test01", "vsphereNamespace": "test", "manage": False})
    )

    stack, warnings = load_stack_config(raw)

    assert stack.cluster.manage is False
    assert stack.cluster.tkr is None and stack.cluster.control_plane is None
    # zones in 10.100/16 are not checked against the default 10.96.0.0/12, and that is said
    assert warnings == [
        "antrea-egress:cluster.network: not given: zone CIDRs are not checked against the "
        "existing cluster's pod and service CIDRs; give them here"
    ]


def test_unmanaged_cluster_warns_about_ignored_fields() -> None:
    raw = apply(cluster("manage", value=False))

    _, warnings = load_stack_config(raw)

    assert warnings == [
        HOST_BITS_WARNING,
        *(
            f"{P}cluster.{key}: ignored: manage is false, so the program creates neither the TKC "
            "nor its AntreaConfig"
            for key in ("tkr", "controlPlane", "nodePools", "antrea")
        ),
    ]


# --- all problems at once, and their form -------------------------------------------------------


def test_all_problems_are_reported_at_once() -> None:
    raw = apply(
        put("natmode", value=True),
        cluster("controlPlane", "replicas", value=2),
        cluster("readyTimeout", value="soon"),
        put("demoWorkloads", value="perhaps"),
        zone(0, "appliedTo", "namespace", value="Prod"),  # zone 0 still gets its other rules
        zone(0, "gateway", value="10.100.5.15"),
        zone(1, "vlan", value=110),
        zone(1, "cidr", value="10.100.5.0/26"),
    )

    problems = problems_of(raw)

    assert problems == [
        f"{P}natmode: unknown key (did you mean 'antrea-egress:natMode'?)",
        f"{P}cluster.controlPlane.replicas: must be odd, got 2",
        f"{P}cluster.readyTimeout: 'soon' is not a duration such as 60m, 1h30m or 90s",
        f"{P}demoWorkloads: must be true or false, got 'perhaps'",
        f"{P}zones[0].appliedTo.namespace: 'Prod' is not a DNS-1123 label (lower-case letters, "
        "digits and '-', starting and ending with a letter or digit)",
        f"{P}zones[0].ipRanges[0]: 10.100.5.15 is the gateway; the range "
        "10.100.5.10-10.100.5.20 must not include it",
        f"{P}zones[1].gateway: gateway 10.100.5.129 is outside 10.100.5.0/26",
        f"{P}zones[1].ipRanges[0]: 10.100.5.130-10.100.5.130 is not inside 10.100.5.0/26",
        f"{P}zones[1].cidr: 10.100.5.0/26 overlaps {P}zones[0].cidr 10.100.5.0/25",
        f"{P}zones[1].vlan: VLAN 110 is already used by {P}zones[0].vlan on the same parent "
        "segment (auto)",
    ]


def test_error_text_is_one_line_per_problem_without_pydantic_decoration() -> None:
    raw = apply(
        zone(0, "vlan", value="x"), zone(1, "name", value="Staging"), drop("cluster", "name")
    )

    with pytest.raises(ConfigError) as first:
        load_stack_config(raw)
    with pytest.raises(ConfigError) as second:
        load_stack_config(raw)

    text = str(first.value)
    assert text == "\n".join(first.value.problems)
    assert first.value.problems == second.value.problems
    assert len(first.value.problems) == 3
    assert all(line.startswith(P) for line in text.splitlines())
    for pydantic_text in ("validation error", "Value error", "errors.pydantic.dev", "type="):
        assert pydantic_text not in text
    assert first.value.warnings == [HOST_BITS_WARNING]


def test_keys_follow_the_project_name() -> None:
    raw = {
        key.replace(P, "egress-lab:"): value
        for key, value in apply(zone(1, "vlan", value=110)).items()
    }

    with pytest.raises(ConfigError) as info:
        load_stack_config(raw, project="egress-lab")

    assert info.value.problems == [
        "egress-lab:zones[1].vlan: VLAN 110 is already used by egress-lab:zones[0].vlan "
        "on the same parent segment (auto)"
    ]


# --- the models on their own --------------------------------------------------------------------


def test_models_built_directly_enforce_the_same_rules() -> None:
    staging = field_procedure()[P + "zones"][1]
    assert ZoneConfig.model_validate(staging).subnet.gateway_cidr == "10.100.5.129/30"

    with pytest.raises(ValidationError, match=r"ipRanges\[0\]: 10\.100\.5\.129 is the gateway"):
        ZoneConfig.model_validate(
            {**staging, "ipRanges": [{"start": "10.100.5.129", "end": "10.100.5.130"}]}
        )
    with pytest.raises(ValidationError, match="must not be empty for operator NotIn"):
        LabelSelector.model_validate({"matchExpressions": [{"key": "a", "operator": "NotIn"}]})


def test_models_are_frozen_and_accept_attribute_names() -> None:
    ip_range = IpRange(start="10.100.5.10", end="10.100.5.20")

    with pytest.raises(ValidationError, match="frozen"):
        ip_range.start = "10.100.5.11"
    assert manifests.ip_range(ip_range) == {"start": "10.100.5.10", "end": "10.100.5.20"}
    assert (
        IpRange(cidr="10.100.5.16/28").allocatable
        == IpRange(start="10.100.5.17", end="10.100.5.30").bounds
    )
    assert manifests.label_selector(LabelSelector()) == {}
    assert manifests.label_selector(LabelSelector.model_validate({"app": "web"})) == {
        "matchLabels": {"app": "web"}
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60m", dt.timedelta(minutes=60)),
        ("1h30m", dt.timedelta(minutes=90)),
        ("45s", dt.timedelta(seconds=45)),
        ("1.5h", dt.timedelta(minutes=90)),
        ("2h0m5s", dt.timedelta(hours=2, seconds=5)),
        ("1500ms", dt.timedelta(seconds=1.5)),
    ],
)
def test_go_durations_parse(text: str, expected: dt.timedelta) -> None:
    assert parse_go_duration(text) == expected
    assert parse_go_duration(format_go_duration(expected)) == expected


@pytest.mark.parametrize("text", ["", "60", "m", "1d", "1h 30m", "-1h", "+1h", "0m", "1h30", "h1"])
def test_bad_go_durations_fail(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|longer than zero"):
        parse_go_duration(text)


def test_go_duration_format() -> None:
    assert [format_go_duration(dt.timedelta(seconds=s)) for s in (3600, 5400, 45, 3601.5)] == [
        "1h",
        "1h30m",
        "45s",
        "1h1.5s",
    ]


# --- reading pulumi.Config ---------------------------------------------------------------------


class _NoResources(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


@pytest.fixture
def pulumi_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh event loop and a clean runtime config (restored afterwards), as in a program."""
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pulumi.runtime.reset_options()
    old_settings = settings.SETTINGS
    old_config = dict(pulumi.runtime.config.CONFIG.get())
    pulumi.runtime.set_all_config({})
    yield
    settings.configure(old_settings)
    pulumi.runtime.set_all_config(old_config, secret_keys=[])
    pulumi.runtime.reset_options()
    asyncio.set_event_loop(None)
    loop.close()


def as_pulumi_config(raw: Raw) -> dict[str, str]:
    """The config map as the engine hands it over: every value a string."""
    return {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in raw.items()
    }


@pytest.mark.usefixtures("pulumi_config")
def test_read_pulumi_config_under_set_all_config() -> None:
    raw = field_procedure()
    pulumi.runtime.set_all_config(as_pulumi_config(raw), secret_keys=["nsxt:password"])

    assert read_pulumi_config() == load_stack_config(raw)


@pytest.mark.usefixtures("pulumi_config")
def test_read_pulumi_config_inside_a_program_run() -> None:
    pulumi.runtime.set_mocks(_NoResources(), project=CONFIG_NAMESPACE, stack="lab", preview=False)
    pulumi.runtime.set_all_config(as_pulumi_config(field_procedure()))
    seen: list[StackConfig] = []

    def program() -> None:
        stack, _ = read_pulumi_config()
        pulumi.export("zones", [zone.name for zone in stack.zones])
        seen.append(stack)

    pulumi.runtime.test(program)()

    assert [zone.name for zone in seen[0].zones] == ["prod", "staging"]


@pytest.mark.usefixtures("pulumi_config")
def test_read_pulumi_config_reports_unknown_keys_and_bad_json() -> None:
    config = as_pulumi_config(field_procedure())
    config[P + "zone"] = "[]"
    config[P + "cluster"] = config[P + "cluster"][:-1]
    pulumi.runtime.set_all_config(config)

    with pytest.raises(ConfigError) as info:
        read_pulumi_config()

    assert [problem.split(":")[1] for problem in info.value.problems] == ["zone", "cluster"]
    assert info.value.problems[0].startswith(f"{P}zone: unknown key")
    assert info.value.problems[1].startswith(f"{P}cluster: not valid JSON")


@pytest.mark.usefixtures("pulumi_config")
def test_read_pulumi_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = field_procedure()
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(as_pulumi_config({**raw, P + "natmode": "x"})))

    with pytest.raises(ConfigError, match=r"^antrea-egress:natmode: unknown key"):
        read_pulumi_config()

    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(as_pulumi_config(raw)))
    assert read_pulumi_config() == load_stack_config(raw)


def test_names_too_long_for_an_nsx_path_are_refused_before_anything_is_built() -> None:
    long_cluster = "c" * 63
    raw = apply(
        cluster("name", value=long_cluster),
        cluster("vsphereNamespace", value="n" * 63),
        zone(0, "name", value="z" * 63),
    )
    problems = problems_of(raw)
    assert any(
        p.startswith("antrea-egress:zones[0].name: its NSX binding-map path would be")
        for p in problems
    ), problems


# --- booleans: true or false, the same way for every key ----------------------------------------

# (key or (key, path...), how to set it) for every boolean the stack has.
BOOLEAN_KEYS: list[tuple[str, Callable[[Any], Mutation]]] = [
    ("antrea-egress:natMode", lambda v: put("natMode", value=v)),
    ("antrea-egress:demoWorkloads", lambda v: put("demoWorkloads", value=v)),
    ("antrea-egress:cluster.manage", lambda v: cluster("manage", value=v)),
    ("antrea-egress:cluster.protect", lambda v: cluster("protect", value=v)),
    ("antrea-egress:cluster.antrea.nsx", lambda v: cluster("antrea", "nsx", value=v)),
    (
        "antrea-egress:cluster.antrea.featureGates.NodePortLocal",
        lambda v: cluster("antrea", "featureGates", "NodePortLocal", value=v),
    ),
    ("nsxt:allowUnverifiedSsl", lambda v: lambda raw: raw.update({"nsxt:allowUnverifiedSsl": v})),
    ("nsxt:sessionAuth", lambda v: lambda raw: raw.update({"nsxt:sessionAuth": v})),
]


@pytest.mark.parametrize(("key", "setter"), BOOLEAN_KEYS, ids=[k for k, _ in BOOLEAN_KEYS])
@pytest.mark.parametrize("value", ["yes", "on", "1", 1, "True", "", " true"])
def test_booleans_other_than_true_and_false_are_refused_with_their_key(
    key: str, setter: Callable[[Any], Mutation], value: object
) -> None:
    assert problems_of(apply(setter(value))) == [f"{key}: must be true or false, got {value!r}"]


@pytest.mark.parametrize(("key", "setter"), BOOLEAN_KEYS, ids=[k for k, _ in BOOLEAN_KEYS])
@pytest.mark.parametrize("value", [True, False, "true", "false"])
def test_booleans_true_and_false_are_accepted_as_yaml_or_as_strings(
    key: str, setter: Callable[[Any], Mutation], value: object
) -> None:
    raw = apply(setter(value))
    stack, _ = load_stack_config(raw, stack="lab")  # no ConfigError (a lab may skip TLS checks)
    expected = value in (True, "true")
    assert read_back(key, stack, raw) is expected


def read_back(key: str, stack: StackConfig, raw: Raw) -> bool:
    """What the program takes a boolean key to say once loaded."""
    antrea = stack.cluster.antrea
    loaded = {
        "antrea-egress:natMode": lambda: stack.nat_mode,
        "antrea-egress:demoWorkloads": lambda: stack.demo_workloads,
        "antrea-egress:cluster.manage": lambda: stack.cluster.manage,
        "antrea-egress:cluster.protect": lambda: stack.cluster.protect,
        "antrea-egress:cluster.antrea.nsx": lambda: antrea.nsx,
        "antrea-egress:cluster.antrea.featureGates.NodePortLocal": (
            lambda: antrea.feature_gates["NodePortLocal"]
        ),
    }
    if key in loaded:
        return bool(loaded[key]())
    # The nsxt flags are the NSX provider's: the loader checks them, NsxSettings reads them.
    settings = NsxSettings.resolve(
        {"nsxt:host": "127.0.0.1", "nsxt:username": "u", "nsxt:password": "p", **raw}.get, {}
    )
    return not settings.verify_tls if key == "nsxt:allowUnverifiedSsl" else settings.session_auth


def test_a_stack_file_reads_yes_and_on_as_the_pulumi_cli_does_as_strings(tmp_path: Path) -> None:
    # The Pulumi CLI reads stack files as YAML 1.2: `yes` is a string there, and is refused.
    path = tmp_path / "Pulumi.lab.yaml"
    text = STACK_FILE.replace("antrea-egress:natMode: true", "antrea-egress:natMode: yes")
    path.write_text(text.replace("nsx: true", "nsx: On"), encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        load_stack_file(path)

    assert info.value.problems == [
        "antrea-egress:cluster.antrea.nsx: must be true or false, got 'On'",
        "antrea-egress:natMode: must be true or false, got 'yes'",
    ]
    path.write_text(STACK_FILE.replace("natMode: true", "natMode: TRUE"), encoding="utf-8")
    assert load_stack_file(path)[0].nat_mode is True


def test_models_built_directly_take_booleans_the_same_way() -> None:
    staging = field_procedure()[P + "cluster"]
    with pytest.raises(ValidationError, match="must be true or false, got 'yes'"):
        StackConfig.model_validate({"cluster": staging, "natMode": "yes"})
    assert StackConfig.model_validate({"cluster": staging, "natMode": "false"}).nat_mode is False


# --- the provider keys the program reads itself --------------------------------------------------


@pytest.mark.parametrize("context", [None, "", "   "])
def test_the_supervisor_context_is_required_outside_the_lab(context: str | None) -> None:
    raw = field_procedure()
    if context is None:
        del raw["kubernetes:context"]
    else:
        raw["kubernetes:context"] = context

    assert problems_of(raw) == [
        "kubernetes:context: not set; set it to the Supervisor context of `kubectl vsphere "
        "login` (pulumi config set kubernetes:context <context>)"
    ]
    raw[P + "renderYamlTo"] = "rendered/lab"
    raw[P + "cluster"]["nodeSegment"] = NODE_SEGMENT
    assert load_stack_config(raw)[0].render_yaml_to == "rendered/lab"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"secure": "v1:c2VjcmV0"}, "is a secret; this key must be plain text"),
        (["a"], "must be a string, got ['a']"),
    ],
)
def test_a_supervisor_context_that_is_not_plain_text_is_refused(
    value: object, problem: str
) -> None:
    raw = apply(lambda raw: raw.update({"kubernetes:context": value}))
    assert problems_of(raw) == [f"kubernetes:context: {problem}"]


# --- namespaces ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "intended"),
    [
        ("antrea-egres:demoWorkloads", "antrea-egress:demoWorkloads"),
        ("antrea:natMode", "antrea-egress:natMode"),
        ("nsx:host", "nsxt:host"),
        ("NSXT:host", "nsxt:host"),
        ("kubernets:context", "kubernetes:context"),
    ],
)
def test_a_misspelt_namespace_is_an_error_naming_the_intended_key(key: str, intended: str) -> None:
    namespace = key.partition(":")[0]
    raw = apply(lambda raw: raw.update({key: "true"}))

    assert problems_of(raw) == [
        f"{key}: unknown namespace {namespace!r} (did you mean {intended!r}?)"
    ]


@pytest.mark.parametrize("key", ["aws:region", "kubernetes-cert-manager:version"])
def test_other_namespaces_are_ignored_with_a_warning(key: str) -> None:
    raw = apply(lambda raw: raw.update({key: "x", "pulumi:tags": "{}"}))

    _, warnings = load_stack_config(raw)

    namespace = key.partition(":")[0]
    assert warnings == [
        f"{key}: ignored: nothing in this program reads the namespace {namespace!r} (it reads "
        "antrea-egress, kubernetes, nsxt and pulumi)",
        HOST_BITS_WARNING,
    ]


# --- the running program: every key, the same rules ---------------------------------------------


@pytest.mark.usefixtures("pulumi_config")
def test_read_pulumi_config_sees_misspelt_namespaces() -> None:
    config = as_pulumi_config({**field_procedure(), "antrea-egres:demoWorkloads": True})
    pulumi.runtime.set_all_config(config)

    with pytest.raises(ConfigError) as info:
        read_pulumi_config()

    assert info.value.problems == [
        "antrea-egres:demoWorkloads: unknown namespace 'antrea-egres' "
        "(did you mean 'antrea-egress:demoWorkloads'?)"
    ]


@pytest.mark.usefixtures("pulumi_config")
def test_read_pulumi_config_sees_misspelt_namespaces_in_pulumi_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # How the Pulumi CLI hands the program its stack config (pulumi-language-python-exec).
    config = as_pulumi_config({**field_procedure(), "nsx:host": "nsx.lab.home"})
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))

    with pytest.raises(ConfigError, match=r"^nsx:host: unknown namespace 'nsx'"):
        read_pulumi_config()


@pytest.mark.usefixtures("pulumi_config")
def test_read_pulumi_config_never_shows_a_secret_value() -> None:
    raw = {
        **field_procedure(),
        "nsxt:sessionAuth": "hunter2",
        P + "natMode": "hunter3",
        P + "renderYamlTo": "hunter4",
    }
    secret_keys = ["nsxt:sessionAuth", P + "natMode", P + "renderYamlTo"]
    pulumi.runtime.set_all_config(as_pulumi_config(raw), secret_keys=secret_keys)

    with pytest.raises(ConfigError) as info:
        read_pulumi_config()

    assert info.value.problems == [
        f"{P}natMode: is a secret; this key must be plain text",
        f"{P}renderYamlTo: is a secret; this key must be plain text",
        "nsxt:sessionAuth: is a secret; this key must be plain text",
    ]
    assert "hunter" not in str(info.value)


@pytest.mark.usefixtures("pulumi_config")
@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"nsxt:allowUnverifiedSsl": "yes"}, "nsxt:allowUnverifiedSsl: must be true or false"),
        ({"nsxt:sessionAuth": "1"}, "nsxt:sessionAuth: must be true or false"),
        ({"kubernetes:context": ""}, "kubernetes:context: not set"),
    ],
)
def test_read_access_config_names_the_key_instead_of_raising_a_type_error(
    changes: Raw, problem: str
) -> None:
    pulumi.runtime.set_all_config(as_pulumi_config({**field_procedure(), **changes}))

    with pytest.raises(ConfigError) as info:
        read_access_config(supervisor_required=True)

    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith(problem)


@pytest.mark.usefixtures("pulumi_config")
def test_read_access_config_reads_the_flags_and_context() -> None:
    pulumi.runtime.set_mocks(_NoResources(), project=CONFIG_NAMESPACE, stack="lab", preview=False)
    changes = {"nsxt:allowUnverifiedSsl": "true", "nsxt:sessionAuth": "false"}
    pulumi.runtime.set_all_config(as_pulumi_config({**field_procedure(), **changes}))
    seen: list[AccessConfig] = []

    def program() -> None:  # inside a program run: the secrets are Outputs
        seen.append(read_access_config(supervisor_required=True))

    pulumi.runtime.test(program)()

    access = seen[0]
    assert access.supervisor_context == "supervisor"
    assert access.nsx_allow_unverified_ssl is True
    assert access.nsx_session_auth is False
    assert access.nsx_host == "nsx.lab.home"


@pytest.mark.parametrize(
    ("line", "broken", "problem"),
    [
        ("kubernetes:context: staging", 'kubernetes:context: ""', "kubernetes:context: not set"),
        (
            "nsxt:host: nsx.lab.home",
            'nsxt:host: nsx.lab.home\n  nsxt:allowUnverifiedSsl: "yes"',
            "nsxt:allowUnverifiedSsl: must be true or false, got 'yes'",
        ),
        (
            "antrea-egress:natMode: true",
            "antrea-egres:natMode: true",
            "antrea-egres:natMode: unknown namespace 'antrea-egres'",
        ),
        (  # the stack's name reaches the rule from the file name and from pulumi.get_stack()
            "nsxt:host: nsx.lab.home",
            "nsxt:host: nsx.lab.home\n  nsxt:allowUnverifiedSsl: true",
            "nsxt:allowUnverifiedSsl: true turns off TLS verification of the NSX Manager, and "
            "stack staging is not a lab",
        ),
    ],
)
def test_egressctl_render_and_the_program_report_a_bad_key_in_one_line(
    tmp_path: Path, line: str, broken: str, problem: str
) -> None:
    """Both entry points: `egressctl render` (the stack file) and the program (pulumi.Config)."""
    text = (PROJECT_DIR / "Pulumi.staging.yaml").read_text()
    assert line in text
    (tmp_path / "Pulumi.staging.yaml").write_text(text.replace(line, broken))
    (tmp_path / "__main__.py").write_text((PROJECT_DIR / "__main__.py").read_text())

    result = CliRunner().invoke(
        cli.app, ["render", "--stack", "staging", "--work-dir", str(tmp_path)]
    )

    lines = result.output.splitlines()
    assert result.exit_code == 1
    assert lines[0] == "invalid configuration of stack staging:"
    assert len(lines) == 2 and lines[1].startswith(problem), result.output
    with pytest.raises(pulumi.RunError) as info:  # a RunError: the engine shows no traceback
        run_offline("staging", values=stack_values("staging", tmp_path), work_dir=tmp_path)
    assert str(info.value).splitlines() == ["invalid stack configuration:", lines[1]]


# --- zones that select the same pods -------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"app": "web"}, {"app": "web"}),
        ({"app": "web"}, {"matchLabels": {"app": "web"}}),
        (
            {"app": "web", "tier": "a"},
            {
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}],
                "matchLabels": {"app": "web"},
            },
        ),
        (
            {
                "matchExpressions": [
                    {"key": "a", "operator": "Exists"},
                    {"key": "b", "operator": "NotIn", "values": ["x", "y"]},
                ]
            },
            {
                "matchExpressions": [
                    {"key": "b", "operator": "NotIn", "values": ["y", "x"]},
                    {"key": "a", "operator": "Exists"},
                ]
            },
        ),
        (None, None),  # no podSelector: all pods of the namespace, twice
        (None, {}),
    ],
)
def test_two_zones_selecting_the_same_pods_are_refused_naming_both(
    first: dict[str, Any] | None, second: dict[str, Any] | None
) -> None:
    def applied_to(selector: dict[str, Any] | None) -> dict[str, Any]:
        return {"namespace": "prod"} | ({} if selector is None else {"podSelector": selector})

    raw = apply(
        zone(0, "appliedTo", value=applied_to(first)),
        zone(1, "appliedTo", value=applied_to(second)),
    )

    assert problems_of(raw) == [
        f"{P}zones[1].appliedTo: selects the same pods as {P}zones[0].appliedTo (namespace "
        "'prod', an equal podSelector): Antrea applies only one Egress to a pod, at random, "
        "while the firewall report would list both zones' ranges"
    ]
    stack_values = {"cluster": raw[P + "cluster"], "zones": raw[P + "zones"]}
    with pytest.raises(ValidationError, match=r"zones\[1\]\.appliedTo: selects the same pods"):
        StackConfig.model_validate(stack_values)


@pytest.mark.parametrize(
    "applied_to",
    [
        {"namespace": "staging", "podSelector": {"app": "web"}},  # the field procedure
        {"namespace": "prod", "podSelector": {"app": "api"}},
        {"namespace": "prod", "podSelector": {"app": "web", "tier": "a"}},
    ],
)
def test_zones_selecting_different_pods_pass(applied_to: dict[str, Any]) -> None:
    stack, _ = load_stack_config(apply(zone(1, "appliedTo", value=applied_to)))
    assert stack.zones[1].applied_to.namespace == applied_to["namespace"]


# --- the smallest zone ------------------------------------------------------------------------


def test_a_31_zone_is_refused_by_the_model_too_and_a_30_passes() -> None:
    staging = field_procedure()[P + "zones"][1]
    slash31 = {**staging, "cidr": "10.100.5.130/31", "gateway": "10.100.5.130",
               "ipRanges": [{"start": "10.100.5.131", "end": "10.100.5.131"}]}  # fmt: skip

    with pytest.raises(ValidationError, match=r"10\.100\.5\.130/31 is too small"):
        ZoneConfig.model_validate(slash31)
    assert ZoneConfig.model_validate(staging).prefix_length == 30


# --- an unverified NSX Manager: a lab's choice, or an explicit one -------------------------------

UNVERIFIED_NSX_TLS = (
    "nsxt:allowUnverifiedSsl: true turns off TLS verification of the NSX Manager, and {stack} "
    "is not a lab (lab or lab-*). Set nsxt:caFile to the CA bundle that signed the manager's "
    "certificate; to accept an unverified manager anyway, set "
    "antrea-egress:allowUnverifiedNsxTls: true"
)


def unverified(**more: object) -> Raw:
    raw = field_procedure()
    raw.update({"nsxt:allowUnverifiedSsl": True, **more})
    return raw


@pytest.mark.parametrize(
    ("stack", "named"),
    [
        ("prod", "stack prod"),
        ("org/staging", "stack org/staging"),
        ("lab/antrea-egress/prod", "stack lab/antrea-egress/prod"),
        ("laboratory", "stack laboratory"),
        ("prod-lab", "stack prod-lab"),
        (None, "this stack"),
    ],
)
def test_an_unverified_nsx_manager_is_refused_outside_a_lab(stack: str | None, named: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_stack_config(unverified(), stack=stack)
    assert info.value.problems == [UNVERIFIED_NSX_TLS.format(stack=named)]


@pytest.mark.parametrize("stack", ["lab", "lab-alice", "org/lab", "acme/antrea-egress/lab"])
def test_a_lab_stack_may_skip_verifying_the_nsx_manager(stack: str) -> None:
    config, _ = load_stack_config(unverified(), stack=stack)
    assert config.access.nsx_tls_unverified is True
    assert config.allow_unverified_nsx_tls is False


@pytest.mark.parametrize("value", [True, "true"])
def test_any_stack_may_skip_verifying_the_nsx_manager_when_it_says_so(value: object) -> None:
    config, _ = load_stack_config(
        unverified(**{"antrea-egress:allowUnverifiedNsxTls": value}), stack="prod"
    )
    assert config.allow_unverified_nsx_tls is True


def test_verified_nsx_tls_needs_no_yes() -> None:
    raw = {**field_procedure(), "nsxt:allowUnverifiedSsl": "false"}
    config, _ = load_stack_config(raw, stack="prod")
    assert config.access.nsx_tls_unverified is False


@pytest.mark.parametrize(
    ("file", "refused"), [("Pulumi.prod.yaml", True), ("Pulumi.lab.yaml", False)]
)
def test_a_stack_file_is_judged_by_the_stack_its_name_says(
    tmp_path: Path, file: str, refused: bool
) -> None:
    path = tmp_path / file
    path.write_text(
        STACK_FILE.replace(
            "  nsxt:username: admin\n", "  nsxt:username: admin\n  nsxt:allowUnverifiedSsl: true\n"
        ),
        encoding="utf-8",
    )
    if refused:
        with pytest.raises(ConfigError) as info:
            load_stack_file(path)
        assert info.value.problems == [UNVERIFIED_NSX_TLS.format(stack="stack prod")]
    else:
        assert load_stack_file(path)[0].access.stack == "lab"
