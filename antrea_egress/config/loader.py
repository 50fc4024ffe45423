"""The loader: a stack's configuration validated, every problem reported at once.

Validation runs in two phases:

1. Every section (the cluster, each zone, the two flags) is parsed field by field, nested
   models included (`parsing.parse_partial`); each field is validated by pydantic with its
   own type. So one bad field hides neither the problems of the other fields nor the rules
   that do not need it.
2. The rules of `rules.RULES` then run on whatever parsed, skipping only the rules that need
   a field that failed: each section's own rules, then the rules across zones.

The loader sees every key of the stack, not only this namespace's: a namespace close to one
of ours (`antrea-egres:`, `nsx:`) is an error naming the key it most likely meant, another
namespace a warning, and the provider keys the program reads itself are checked by the rules
`read_access_config` applies (`access.check_access`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pydantic import ValidationError

from antrea_egress.config import rules
from antrea_egress.config.access import check_access
from antrea_egress.config.cluster import ClusterConfig
from antrea_egress.config.collector import Collector
from antrea_egress.config.keys import (
    CONFIG_NAMESPACE,
    KEY_ALLOW_UNVERIFIED_NSX_TLS,
    KEY_CLUSTER,
    KEY_DEMO_WORKLOADS,
    KEY_NAT_MODE,
    KEY_RENDER_YAML_TO,
    KEY_ZONES,
    PROVIDER_NAMESPACES,
    PULUMI_NAMESPACE,
    STACK_KEYS,
    ConfigError,
    Loc,
)
from antrea_egress.config.model import DEFER_RULES, STACK_ACCESS
from antrea_egress.config.parsing import parse_partial, show, suggestion, translate
from antrea_egress.config.sources import parse_stack_yaml, runtime_config
from antrea_egress.config.stack import StackConfig
from antrea_egress.config.stack_rules import NSX_ALLOW_UNVERIFIED_SSL
from antrea_egress.config.zones import ZoneConfig


def load_stack_config(
    raw: Mapping[str, Any], *, project: str = CONFIG_NAMESPACE, stack: str | None = None
) -> tuple[StackConfig, list[str]]:
    """Validate a stack's configuration; returns it with its warnings.

    `raw` maps fully qualified keys (`antrea-egress:zones`) to parsed values or to the JSON /
    "true" / "false" strings pulumi.Config holds: every key of the stack, so that unknown keys
    of this namespace and misspelt namespaces are errors (other namespaces a warning), and the
    provider keys the program reads itself (`kubernetes:context`, the `nsxt:*` flags) are
    checked by the same rules as when the program reads them (read_access_config). `stack`
    is the stack's name, for the rules that depend on it (None: unknown, so not a lab).
    Raises ConfigError with every problem, in a fixed order: keys, the cluster, natMode,
    demoWorkloads, each zone, renderYamlTo, allowUnverifiedNsxTls, the provider keys, then the
    rules across zones.
    """
    out = _StackReader(project)
    values = out.select(raw)
    cluster = out.cluster(values.get(KEY_CLUSTER))
    nat_mode = out.flag(KEY_NAT_MODE, values.get(KEY_NAT_MODE), default=True)
    demo_workloads = out.flag(KEY_DEMO_WORKLOADS, values.get(KEY_DEMO_WORKLOADS), default=False)
    zones, zone_count = out.zones(values.get(KEY_ZONES))
    render_yaml_to = out.text(KEY_RENDER_YAML_TO, values.get(KEY_RENDER_YAML_TO))
    allow_unverified_nsx_tls = out.flag(
        KEY_ALLOW_UNVERIFIED_NSX_TLS, values.get(KEY_ALLOW_UNVERIFIED_NSX_TLS), default=False
    )
    # A renderYamlTo that is not a string was meant to be set: no "context not set" on top.
    lab = bool(render_yaml_to) or not isinstance(values.get(KEY_RENDER_YAML_TO), str | None)
    provider_keys = check_access(out, raw, supervisor_required=not lab)
    access = rules.StackAccess(stack, bool(provider_keys.flags.get(NSX_ALLOW_UNVERIFIED_SSL)))
    facts = rules.StackFacts(
        cluster,
        zones,
        zone_count,
        demo_workloads,
        render_yaml_to,
        allow_unverified_nsx_tls,
        access,
    )
    out.add(rules.check(rules.Scope.STACK, facts, (), out.key))
    if out.problems or cluster is None:
        raise ConfigError(out.problems, out.warnings)
    try:
        config = StackConfig.model_validate(
            {
                KEY_CLUSTER: cluster,
                KEY_NAT_MODE: nat_mode,
                KEY_DEMO_WORKLOADS: demo_workloads,
                KEY_ZONES: [zone for _, zone in zones],
                KEY_RENDER_YAML_TO: render_yaml_to,
                KEY_ALLOW_UNVERIFIED_NSX_TLS: allow_unverified_nsx_tls,
            },
            # Checked above, with the project's keys.
            context={DEFER_RULES: True, STACK_ACCESS: access},
        )
    except ValidationError as error:  # pragma: no cover - every section parsed already
        out.add(translate(error, ()))
        raise ConfigError(out.problems, out.warnings) from None
    return config, out.warnings


def load_stack_file(
    path: Path, *, project: str = CONFIG_NAMESPACE
) -> tuple[StackConfig, list[str]]:
    """Validate the `config:` of a `Pulumi.<stack>.yaml` file (secrets stay encrypted), as
    the configuration of the stack its name says."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"{path}: cannot read it: {error.strerror}"]) from None
    try:
        document = parse_stack_yaml(text)
    except yaml.YAMLError as error:
        raise ConfigError([f"{path}: not valid YAML: {' '.join(str(error).split())}"]) from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError([f"{path}: a stack file must be a mapping with a config: key"])
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError([f"{path}: config: must be a mapping of keys to values"])
    return load_stack_config(config, project=project, stack=stack_of_file(path))


def stack_of_file(path: Path) -> str | None:
    """`prod` of `Pulumi.prod.yaml`; None for a file named otherwise."""
    name = path.name
    if name.startswith("Pulumi.") and name.endswith((".yaml", ".yml")):
        return name.removeprefix("Pulumi.").rsplit(".", 1)[0] or None
    return None


def read_pulumi_config() -> tuple[StackConfig, list[str]]:
    """The stack configuration of the running Pulumi program (the edge adapter for __main__).

    Every configured key goes to load_stack_config as the raw string pulumi.Config holds, so
    that bad JSON is reported with the other problems instead of aborting at the first
    `get_object`, and unknown keys and namespaces are reported too.
    """
    return load_stack_config(runtime_config(), project=CONFIG_NAMESPACE, stack=pulumi.get_stack())


def _close_namespace(namespace: str, ours: Sequence[str]) -> str | None:
    """The namespace of ours that `namespace` most likely misspells, if any."""
    # Other Pulumi packages extend a provider's name (kubernetes-cert-manager): not a typo.
    if any(namespace.startswith(f"{provider}-") for provider in PROVIDER_NAMESPACES):
        return None
    matches = difflib.get_close_matches(namespace.lower(), ours, n=1, cutoff=0.6)
    return matches[0] if matches else None


class _StackReader(Collector):
    """The sections of this namespace, each parsed and checked by its own rules."""

    def select(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """This project's values by short key; unknown keys of the project are problems, and
        so are namespaces close to ours (a typo would silently drop the key)."""
        values: dict[str, Any] = {}
        known = [f"{self.project}:{name}" for name in STACK_KEYS]
        for raw_key in sorted(raw, key=str):
            namespace, colon, name = str(raw_key).partition(":")
            if not colon:
                self.problems.append(
                    f"{raw_key}: configuration keys need a namespace, e.g. {self.project}:{raw_key}"
                )
            elif namespace == self.project and name in STACK_KEYS:
                values[name] = raw[raw_key]
            elif namespace == self.project:
                self.problems.append(f"{raw_key}: unknown key{suggestion(str(raw_key), known)}")
            elif namespace not in (*PROVIDER_NAMESPACES, PULUMI_NAMESPACE):
                self.foreign_namespace(str(raw_key), namespace, name)
        return values

    def foreign_namespace(self, raw_key: str, namespace: str, name: str) -> None:
        ours = (self.project, *PROVIDER_NAMESPACES)
        intended = _close_namespace(namespace, ours)
        if intended is not None:
            self.problems.append(
                f"{raw_key}: unknown namespace {namespace!r} (did you mean '{intended}:{name}'?)"
            )
        else:
            self.warnings.append(
                f"{raw_key}: ignored: nothing in this program reads the namespace "
                f"{namespace!r} (it reads {', '.join(ours)} and {PULUMI_NAMESPACE})"
            )

    def cluster(self, value: object) -> ClusterConfig | None:
        loc: Loc = (KEY_CLUSTER,)
        if value is None:
            self.add([(loc, "required")])
            return None
        ok, decoded = self.decode(loc, value)
        if not ok:
            return None
        cluster, problems = parse_partial(ClusterConfig, decoded, loc)
        self.add(problems)
        if cluster is not None:
            self.add(cluster._problems(loc, self.key))
            self.add(cluster._warnings(loc, self.key), warnings=True)
        return cluster

    def zones(self, value: object) -> tuple[list[tuple[int, ZoneConfig]], int]:
        """The zones that parsed (perhaps partly), with their index, and the zone count."""
        if value is None:
            return [], 0
        ok, decoded = self.decode((KEY_ZONES,), value)
        if not ok:
            return [], 0
        if not isinstance(decoded, list):
            self.add([((KEY_ZONES,), f"must be a list of zones, got {show(decoded)}")])
            return [], 0
        zones: list[tuple[int, ZoneConfig]] = []
        for index, item in enumerate(decoded):
            loc: Loc = (KEY_ZONES, index)
            zone, problems = parse_partial(ZoneConfig, item, loc)
            self.add(problems)
            if zone is not None:
                self.add(zone._problems(loc, self.key))
                zones.append((index, zone))
        return zones, len(decoded)
