"""The stack configuration: what the user said, validated before any resource is declared.

Every `antrea-egress:*` key of a stack is checked here, and every problem is reported at
once, each prefixed with the key it belongs to::

    antrea-egress:zones[1].ipRanges[0]: 10.100.5.129 is the gateway; ...
    antrea-egress:cluster.controlPlane.replicas: must be odd, got 2

The package, by concern:

- `keys`: namespaces, key names, locations and how a key is written; `ConfigError`.
- `limits`: the limits and defaults the rules use, each with its source.
- `syntax`, `durations`, `fields`: single-field rules, as the models' field types.
- `model`, `selectors`, `zones`, `cluster`, `stack`: the models (what the user said).
- `rules` with `zone_rules`, `cluster_rules`, `stack_rules`: the rules that relate several
  fields or zones, one table that the loader and the models both run.
- `parsing`, `collector`, `loader`, `sources`: loading a stack field by field, pydantic's
  errors as short messages, stack files read as the Pulumi CLI reads them.
- `access`: the provider keys the program reads itself (`kubernetes:context`, `nsxt:*`).

How Kubernetes and Antrea spell these values is `antrea_egress.manifests`' business.
"""

from antrea_egress.config import rules
from antrea_egress.config.access import AccessConfig, read_access_config
from antrea_egress.config.capacity import PoolCapacity, zone_capacity
from antrea_egress.config.cluster import (
    AntreaSettings,
    ClusterConfig,
    ClusterNetwork,
    ControlPlane,
    NodePool,
)
from antrea_egress.config.durations import format_go_duration, parse_go_duration
from antrea_egress.config.keys import (
    CONFIG_NAMESPACE,
    KEY_CLUSTER,
    KEY_DEMO_WORKLOADS,
    KEY_NAT_MODE,
    KEY_RENDER_YAML_TO,
    KEY_ZONES,
    STACK_KEYS,
    ConfigError,
    config_key,
    render_path,
)
from antrea_egress.config.limits import (
    AUTO_SEGMENT,
    MAX_ADDRESSES_PER_RANGE,
    MAX_ZONES_PER_CLUSTER,
    ZONE_PREFIX_MAX,
)
from antrea_egress.config.loader import load_stack_config, load_stack_file, read_pulumi_config
from antrea_egress.config.selection import NAMESPACE_NAME_LABEL
from antrea_egress.config.selectors import LabelSelector, LabelSelectorRequirement
from antrea_egress.config.sources import parse_stack_yaml
from antrea_egress.config.stack import StackConfig
from antrea_egress.config.zones import AppliedTo, Bandwidth, IpRange, ZoneConfig

__all__ = [
    "AUTO_SEGMENT",
    "CONFIG_NAMESPACE",
    "KEY_CLUSTER",
    "KEY_DEMO_WORKLOADS",
    "KEY_NAT_MODE",
    "KEY_RENDER_YAML_TO",
    "KEY_ZONES",
    "MAX_ADDRESSES_PER_RANGE",
    "MAX_ZONES_PER_CLUSTER",
    "NAMESPACE_NAME_LABEL",
    "STACK_KEYS",
    "ZONE_PREFIX_MAX",
    "AccessConfig",
    "AntreaSettings",
    "AppliedTo",
    "Bandwidth",
    "ClusterConfig",
    "ClusterNetwork",
    "ConfigError",
    "ControlPlane",
    "IpRange",
    "LabelSelector",
    "LabelSelectorRequirement",
    "NodePool",
    "PoolCapacity",
    "StackConfig",
    "ZoneConfig",
    "config_key",
    "format_go_duration",
    "load_stack_config",
    "load_stack_file",
    "parse_go_duration",
    "parse_stack_yaml",
    "read_access_config",
    "read_pulumi_config",
    "render_path",
    "rules",
    "zone_capacity",
]
