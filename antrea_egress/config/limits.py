"""Limits and defaults the configuration is checked against, each with where it comes from."""

from __future__ import annotations

import datetime as dt
from typing import Final

# Antrea's agent gives every distinct Egress subnet (ExternalIPPool subnetInfo) its own
# policy-routing table, and it has 20 of them: tables 101-120 (pkg/agent/types/net.go). Every
# zone is a distinct subnet, so a cluster can carry at most 20 zones.
MAX_ZONES_PER_CLUSTER: Final = 20
# Antrea's IP allocator holds at most 65536 addresses per range (pkg/ipam/ipallocator).
MAX_ADDRESSES_PER_RANGE: Final = 65536

# A zone's subnet holds the NSX gateway and at least one egress IP, neither of them its network
# or broadcast address: /30 is the smallest. Why not RFC 3021 /31, both addresses usable, one
# for the gateway and one egress IP? The gateway is the Tier-1's downlink on an NSX segment, and
# NSX documents no /31 segment subnet; Antrea counts a /31 or /32 cidr range as holding no
# address (https://github.com/antrea-io/antrea/issues/6582, /7149), and its webhook refuses a
# /32 subnetInfo. A /31 zone would rest on behaviour neither side promises, so it is refused
# with that reason instead of failing halfway through `up`.
ZONE_PREFIX_MAX: Final = 30

# The cluster's node segment, found at run time (or a segment path given instead).
AUTO_SEGMENT: Final = "auto"
# A lab stack (Pulumi.lab.yaml, or lab-<anything>) may talk to an NSX Manager whose certificate
# is not verified (nsxt:allowUnverifiedSsl: true); any other stack must say so explicitly.
LAB_STACK: Final = "lab"
FEATURE_GATE_EGRESS: Final = "Egress"
FEATURE_GATE_EGRESS_SEPARATE_SUBNET: Final = "EgressSeparateSubnet"
# An Egress's `bandwidth` is enforced only with this antrea-agent gate (alpha since Antrea 1.14,
# off by default; Antrea docs/feature-gates.md).
FEATURE_GATE_EGRESS_TRAFFIC_SHAPING: Final = "EgressTrafficShaping"
# antrea-agent programs an Egress's bandwidth as an OVS meter in kbit/s: rate and burst are
# divided by 1000 into 32-bit fields (pkg/agent/controller/egress/egress_controller.go,
# bandwidthToRateLimitMeter). Below 1k the meter would be 0; beyond the maximum it would wrap.
BANDWIDTH_UNIT: Final = 1000
MIN_BANDWIDTH: Final = BANDWIDTH_UNIT
MAX_BANDWIDTH: Final = (2**32 - 1) * BANDWIDTH_UNIT

# The TKC's own defaults (run.tanzu.vmware.com TanzuKubernetesCluster settings.network).
DEFAULT_POD_CIDRS: Final = ("192.168.0.0/16",)
DEFAULT_SERVICE_CIDRS: Final = ("10.96.0.0/12",)
DEFAULT_READY_TIMEOUT: Final = dt.timedelta(minutes=60)
MIN_READY_TIMEOUT: Final = dt.timedelta(minutes=5)
MAX_READY_TIMEOUT: Final = dt.timedelta(hours=8)

# Which Supervisor API declares the cluster: the TanzuKubernetesCluster (deprecated from TKG
# Service 3.2) or a Cluster API v1beta1 Cluster on a versioned ClusterClass (docs/cluster-api.md).
CLUSTER_API_TKC: Final = "tkc"
CLUSTER_API_CLUSTER: Final = "cluster"
DEFAULT_CLUSTER_API: Final = CLUSTER_API_TKC
# The first versioned ClusterClass, on TKG Service 3.2 replicated into every vSphere Namespace
# (docs/cluster-api.md, C4 and C5).
DEFAULT_CLUSTER_CLASS: Final = "builtin-generic-v3.2.0"
# The control plane of a ClusterClass-based cluster: one or three machines
# (docs/cluster-api.md, C9).
CLUSTER_CONTROL_PLANE_REPLICAS: Final = (1, 3)
# CAPI's own default for clusterNetwork.serviceDomain (cluster_types.go, ClusterNetwork).
DEFAULT_SERVICE_DOMAIN: Final = "cluster.local"
