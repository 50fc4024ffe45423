"""Everything under a stack's `antrea-egress` namespace: the cluster, the zones, the flags."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field, PrivateAttr

from antrea_egress.config import rules
from antrea_egress.config.cluster import ClusterConfig
from antrea_egress.config.fields import Flag
from antrea_egress.config.keys import KEY_CLUSTER, KEY_ZONES, KeyFunction, Loc, Problem, config_key
from antrea_egress.config.model import STACK_ACCESS, ConfigModel
from antrea_egress.config.zones import ZoneConfig


class StackConfig(ConfigModel):
    """Everything under the `antrea-egress` namespace of a stack."""

    cluster: ClusterConfig
    nat_mode: Flag = True
    demo_workloads: Flag = False
    # The local lab: Kubernetes objects are written as YAML under this directory instead of
    # being applied, so no Supervisor or guest cluster is needed (NSX still is: the simulator).
    render_yaml_to: str | None = None
    # May be empty: a stack can declare the cluster first and add zones later.
    zones: list[ZoneConfig] = Field(default_factory=list)
    # The explicit "yes" a stack that is not a lab needs for nsxt:allowUnverifiedSsl: true.
    allow_unverified_nsx_tls: Flag = False
    # The stack's name and its nsxt flag: not keys of this namespace, so the loader (or the
    # caller) passes them in the validation context (model.STACK_ACCESS).
    _access: rules.StackAccess = PrivateAttr(default_factory=rules.StackAccess)

    def _take_context(self, context: Mapping[str, object]) -> None:
        access = context.get(STACK_ACCESS)
        if isinstance(access, rules.StackAccess):
            self._access = access

    @property
    def access(self) -> rules.StackAccess:
        return self._access

    @classmethod
    def _key_function(cls) -> KeyFunction:
        return config_key

    def _problems(self, at: Loc, key: KeyFunction) -> list[Problem]:
        """The cluster's and each zone's rules, then the rules across them (as the loader)."""
        problems = self.cluster._problems((*at, KEY_CLUSTER), key)
        for index, zone in enumerate(self.zones):
            problems += zone._problems((*at, KEY_ZONES, index), key)
        return problems + rules.check(rules.Scope.STACK, self.facts, at, key)

    @property
    def facts(self) -> rules.StackFacts:
        """What the rules across zones look at."""
        return rules.StackFacts(
            cluster=self.cluster,
            zones=list(enumerate(self.zones)),
            zone_count=len(self.zones),
            demo_workloads=self.demo_workloads,
            render_yaml_to=self.render_yaml_to,
            allow_unverified_nsx_tls=self.allow_unverified_nsx_tls,
            access=self._access,
        )

    def _warnings(self, at: Loc, key: KeyFunction) -> list[Problem]:
        return self.cluster._warnings((*at, KEY_CLUSTER), key)

    def effective_parent(self, zone: ZoneConfig) -> str:
        """The zone's parent segment path, or "auto" for the cluster's node segment."""
        return zone.effective_parent(self.cluster)

    def warnings(self) -> list[str]:
        """The warnings of this configuration (load_stack_config returns them too)."""
        return [f"{config_key(loc)}: {message}" for loc, message in self._warnings((), config_key)]
