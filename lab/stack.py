"""The lab's stack: a managed cluster with a discovered node segment and two zones; the cluster
a TKC, or a Cluster API Cluster (`cluster_api_values`)."""

from __future__ import annotations

from typing import Any

from lab.lab import Lab

CLUSTER = "tkc-lab01"
ZONES = {
    # zone: (VLAN, CIDR, gateway, first range)
    "payments": (110, "10.100.5.0/25", "10.100.5.1", ("10.100.5.10", "10.100.5.20")),
    "reporting": (120, "10.100.5.128/26", "10.100.5.129", ("10.100.5.130", "10.100.5.140")),
}


def zone(name: str) -> dict[str, Any]:
    vlan, cidr, gateway, (start, end) = ZONES[name]
    return {
        "name": name,
        "vlan": vlan,
        "cidr": cidr,
        "gateway": gateway,
        "ipRanges": [{"start": start, "end": end}],
        "appliedTo": {"namespace": name, "podSelector": {"app": name}},
    }


def numbered_zones(count: int) -> list[dict[str, Any]]:
    """`count` zones (Antrea allows twenty egress subnets per cluster), each with its VLAN,
    subnet and namespace."""
    return [
        {
            "name": f"z{i:02d}",
            "vlan": 200 + i,
            "cidr": f"10.120.{i}.0/28",
            "gateway": f"10.120.{i}.1",
            "ipRanges": [{"start": f"10.120.{i}.10", "end": f"10.120.{i}.12"}],
            "appliedTo": {"namespace": f"z{i:02d}", "podSelector": {"app": "web"}},
        }
        for i in range(count)
    ]


def cluster(lab: Lab) -> dict[str, Any]:
    machine = {"vmClass": "best-effort-small", "storageClass": "labnfs"}
    return {
        "name": CLUSTER,
        "vsphereNamespace": lab.namespace,
        "tkr": "v1.31.1---vmware.2-fips-vkr.2",
        "controlPlane": {"replicas": 1, **machine},
        "nodePools": [{"name": "np1", "replicas": 2, **machine}],
        # Clear of the zones' 10.100.5.0/24 (the TKC's default services range contains it).
        "network": {"pods": ["192.168.0.0/16"], "services": ["172.31.0.0/16"]},
        "nodeSegment": "auto",
        "readyTimeout": "5m",
        "protect": False,  # the lab destroys what it built
    }


def values(lab: Lab) -> dict[str, tuple[Any, bool]]:
    """Every key of the lab stack: (value, secret)."""
    return {
        "antrea-egress:cluster": (cluster(lab), False),
        "antrea-egress:zones": ([zone(name) for name in ZONES], False),
        # The lab's namespace is routed (its VirtualNetwork has no SNAT IP): no NoSNAT rule.
        "antrea-egress:natMode": (False, False),
        **lab.access_config(),
    }


def cluster_api_values(lab: Lab, **cluster_keys: Any) -> dict[str, tuple[Any, bool]]:
    """The lab stack with `cluster.api: cluster` (and any other cluster keys given)."""
    stack = values(lab)
    declared, secret = stack["antrea-egress:cluster"]
    stack["antrea-egress:cluster"] = ({**declared, "api": "cluster", **cluster_keys}, secret)
    return stack
