"""The Tanzu Kubernetes cluster's settings: topology, network, Antrea, node segment."""

from __future__ import annotations

import ipaddress
from typing import ClassVar

from pydantic import Field
from pydantic.alias_generators import to_camel

from antrea_egress import addressing
from antrea_egress.config.durations import format_go_duration
from antrea_egress.config.fields import (
    ClusterApi,
    ControlPlaneReplicas,
    DnsLabel,
    FeatureGateName,
    Flag,
    GoDuration,
    LooseIpv4Cidr,
    NodePoolReplicas,
    NodeSegment,
    ObjectName,
)
from antrea_egress.config.keys import KeyFunction, Loc, Problem
from antrea_egress.config.limits import (
    AUTO_SEGMENT,
    CLUSTER_API_CLUSTER,
    DEFAULT_CLUSTER_API,
    DEFAULT_CLUSTER_CLASS,
    DEFAULT_POD_CIDRS,
    DEFAULT_READY_TIMEOUT,
    DEFAULT_SERVICE_CIDRS,
    DEFAULT_SERVICE_DOMAIN,
    FEATURE_GATE_EGRESS_SEPARATE_SUBNET,
    FEATURE_GATE_EGRESS_TRAFFIC_SHAPING,
)
from antrea_egress.config.model import ConfigModel
from antrea_egress.config.rules import Scope


class ControlPlane(ConfigModel):
    replicas: ControlPlaneReplicas = 1
    vm_class: ObjectName
    storage_class: ObjectName


class NodePool(ConfigModel):
    name: DnsLabel
    replicas: NodePoolReplicas = 1
    vm_class: ObjectName
    storage_class: ObjectName


class ClusterNetwork(ConfigModel):
    """The cluster's pod and service CIDRs (host bits are allowed: the TKC accepts them) and,
    for a Cluster API Cluster, its service domain."""

    _scope: ClassVar[Scope | None] = Scope.CLUSTER_NETWORK

    pods: list[LooseIpv4Cidr] = Field(default_factory=lambda: list(DEFAULT_POD_CIDRS), min_length=1)
    services: list[LooseIpv4Cidr] = Field(
        default_factory=lambda: list(DEFAULT_SERVICE_CIDRS), min_length=1
    )
    service_domain: ObjectName = DEFAULT_SERVICE_DOMAIN

    def _warnings(self, at: Loc, key: KeyFunction) -> list[Problem]:
        return [
            (
                (*at, field, index),
                f"{cidr} has host bits set; the network is {network} (the TKC accepts it)",
            )
            for field in ("pods", "services")
            if self._has(field)
            for index, cidr in enumerate(getattr(self, field))
            if addressing.has_host_bits(cidr)
            for network in [ipaddress.IPv4Network(cidr, strict=False)]
        ]


class AntreaSettings(ConfigModel):
    """What goes into the AntreaConfig; EgressSeparateSubnet is always added as true."""

    _scope: ClassVar[Scope | None] = Scope.ANTREA

    feature_gates: dict[FeatureGateName, Flag] = Field(default_factory=dict)
    nsx: Flag = True

    @property
    def effective_feature_gates(self) -> dict[str, bool]:
        """The gates for the AntreaConfig: the configured ones plus EgressSeparateSubnet."""
        return {**self.feature_gates, **self.required_gates(traffic_shaping=False)}

    def feature_gates_for(self, *, traffic_shaping: bool) -> dict[str, bool]:
        """The gates for the AntreaConfig of a stack; with traffic shaping (a zone has a
        `bandwidth`) EgressTrafficShaping is added too."""
        return {**self.feature_gates, **self.required_gates(traffic_shaping=traffic_shaping)}

    @staticmethod
    def required_gates(*, traffic_shaping: bool) -> dict[str, bool]:
        """The gates the program sets true itself, whatever the configuration says."""
        gates = {FEATURE_GATE_EGRESS_SEPARATE_SUBNET: True}
        if traffic_shaping:
            gates[FEATURE_GATE_EGRESS_TRAFFIC_SHAPING] = True
        return gates


class ClusterConfig(ConfigModel):
    """The Tanzu Kubernetes cluster; with `manage: false` only name and namespace matter.

    `api` says how a managed cluster is declared: a TanzuKubernetesCluster (`tkc`) or a Cluster
    API v1beta1 Cluster on the versioned ClusterClass `cluster_class` (`cluster`).
    """

    _scope: ClassVar[Scope | None] = Scope.CLUSTER
    _nested: ClassVar[tuple[str, ...]] = ("network", "antrea")

    name: DnsLabel
    vsphere_namespace: DnsLabel
    manage: Flag = True
    api: ClusterApi = DEFAULT_CLUSTER_API
    # Only for api: cluster. No classNamespace by default: TKG Service 3.2 replicates the
    # builtin classes into every namespace, and its Cluster API may not know the field.
    cluster_class: ObjectName = DEFAULT_CLUSTER_CLASS
    class_namespace: DnsLabel | None = None
    # Only for api: cluster, once a TKC was retired into this Cluster: the TKC's uid, which
    # names the cluster instance the guest objects live in, so adopting the Cluster keeps them.
    retired_tkc_uid: ObjectName | None = None
    tkr: ObjectName | None = None
    control_plane: ControlPlane | None = None
    node_pools: list[NodePool] = Field(default_factory=list)
    network: ClusterNetwork = Field(default_factory=ClusterNetwork)
    antrea: AntreaSettings = Field(default_factory=AntreaSettings)
    node_segment: NodeSegment = AUTO_SEGMENT
    ready_timeout: GoDuration = DEFAULT_READY_TIMEOUT
    # Pulumi refuses to delete a protected TKC (destroy, or a rename that replaces it).
    protect: Flag = True

    def _warnings(self, at: Loc, key: KeyFunction) -> list[Problem]:
        warnings = self.network._warnings((*at, "network"), key) if self._has("network") else []
        if self._has("manage") and not self.manage:
            warnings += [
                (
                    (*at, to_camel(field)),
                    "ignored: manage is false, so the program creates neither the TKC nor its "
                    "AntreaConfig",
                )
                for field in ("tkr", "control_plane", "node_pools", "antrea")
                if field in self.model_fields_set
            ]
        warnings += self._cluster_api_warnings(at)
        if not self.network_is_known:
            warnings.append(
                (
                    (*at, "network"),
                    "not given: zone CIDRs are not checked against the existing cluster's pod "
                    "and service CIDRs; give them here",
                )
            )
        return warnings

    def _cluster_api_warnings(self, at: Loc) -> list[Problem]:
        """The keys of a Cluster API Cluster, given for a TKC: the TKC has no such field."""
        if not self._has("api") or self.uses_cluster_api:
            return []
        given = [
            (*at, to_camel(field))
            for field in ("cluster_class", "class_namespace", "retired_tkc_uid")
            if field in self.model_fields_set
        ]
        if self._has("network") and "service_domain" in self.network.model_fields_set:
            given.append((*at, "network", "serviceDomain"))
        return [
            (loc, "ignored: api is tkc; only a Cluster API Cluster (api: cluster) uses it")
            for loc in given
        ]

    @property
    def uses_cluster_api(self) -> bool:
        """Whether a managed cluster is declared as a Cluster API Cluster."""
        return self.api == CLUSTER_API_CLUSTER

    @property
    def control_plane_machine(self) -> tuple[str, str]:
        """The control plane's VM class and storage class: the Cluster's own variables."""
        if self.control_plane is None:
            raise ValueError(f"cluster {self.name} declares no control plane")
        return self.control_plane.vm_class, self.control_plane.storage_class

    @property
    def network_is_known(self) -> bool:
        """Whether pods/services describe the real cluster: declared by us, or given."""
        if not self._has("network"):
            return False
        return "network" in self.model_fields_set or (self._has("manage") and self.manage)

    @property
    def ready_timeout_go(self) -> str:
        """The ready timeout as a Go duration string, for Pulumi's CustomTimeouts."""
        return format_go_duration(self.ready_timeout)
