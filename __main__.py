"""antrea-egress: per-application egress IPs for a Tanzu cluster on NSX.

Loads and validates the stack configuration, composes the cluster and its egress zones, and
exports what firewall teams and pipelines need. Everything else lives in components/ and
antrea_egress/.
"""

import pulumi
import pulumi_kubernetes as k8s

from antrea_egress import nsxt
from antrea_egress.config import ConfigError, read_access_config, read_pulumi_config
from antrea_egress.outputs import (
    OUTPUT_CLUSTER,
    OUTPUT_KUBECONFIG,
    OUTPUT_NODE_SEGMENT,
    OUTPUT_VSPHERE_NAMESPACE,
    OUTPUT_ZONES,
)
from components.egress_zone import EgressZone, EgressZoneArgs
from components.tanzu_cluster import TanzuCluster, TanzuClusterArgs

try:
    stack, warnings = read_pulumi_config()
    access = read_access_config(supervisor_required=not stack.render_yaml_to)
except ConfigError as error:
    raise pulumi.RunError(f"invalid stack configuration:\n{error}") from None
for warning in warnings:
    pulumi.log.warn(warning)

supervisor = k8s.Provider(
    "supervisor",
    context=access.supervisor_context,
    kubeconfig=access.supervisor_kubeconfig,
    # `kubectl vsphere login` tokens expire every 10 hours; a new token must not replace the
    # provider, which would replace the cluster declared through it.
    cluster_identifier=f"supervisor/{access.supervisor_context or 'current-context'}",
    # The local lab renders the Supervisor's objects as YAML instead of applying them.
    render_yaml_to_directory=f"{stack.render_yaml_to}/supervisor" if stack.render_yaml_to else None,
)
# The NSX-T provider carries only the NoSNAT rules: a routed namespace needs neither.
nsx = (
    nsxt.Provider(
        "nsx",
        host=access.nsx_host,
        username=access.nsx_username,
        password=access.nsx_password,
        allow_unverified_ssl=access.nsx_allow_unverified_ssl,
        ca_file=access.nsx_ca_file,
        session_auth=access.nsx_session_auth,
    )
    if stack.nat_mode
    else None
)

cluster = TanzuCluster(
    stack.cluster.name,
    TanzuClusterArgs(
        stack.cluster,
        nat_mode=stack.nat_mode,
        render_yaml_to=stack.render_yaml_to,
        traffic_shaping=stack.traffic_shaping,
    ),
    supervisor=supervisor,
)
zones = [
    EgressZone(
        zone.name,
        EgressZoneArgs(
            zone=zone,
            cluster=stack.cluster,
            parent_segment_path=zone.parent_segment or cluster.node_segment_path,
            parent_tier1_path=cluster.node_tier1_path,
            nat_mode=stack.nat_mode,
            demo_workloads=stack.demo_workloads,
            cluster_ready=cluster.ready,
            cluster_instance=cluster.instance,
        ),
        guest=cluster.guest_provider,
        nsx=nsx,
    )
    for zone in stack.zones
]

pulumi.export(OUTPUT_CLUSTER, cluster.name)
pulumi.export(OUTPUT_VSPHERE_NAMESPACE, stack.cluster.vsphere_namespace)
pulumi.export(OUTPUT_KUBECONFIG, cluster.kubeconfig)
pulumi.export(OUTPUT_NODE_SEGMENT, cluster.node_segment_path)
pulumi.export(
    OUTPUT_ZONES,
    {cfg.name: zone.summary.to_output() for cfg, zone in zip(stack.zones, zones, strict=True)},
)
