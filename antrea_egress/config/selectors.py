"""Label selectors, as a zone's pod selector and node selector are written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final, Literal

from pydantic import Field, model_validator

from antrea_egress.config.fields import LabelKey, LabelValue
from antrea_egress.config.model import ConfigModel
from antrea_egress.config.rules import Scope


class LabelSelectorRequirement(ConfigModel):
    _scope: ClassVar[Scope | None] = Scope.SELECTOR_REQUIREMENT

    key: LabelKey
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[LabelValue] = Field(default_factory=list)


_SELECTOR_KEYS: Final = frozenset(
    {"matchLabels", "matchExpressions", "match_labels", "match_expressions"}
)


class LabelSelector(ConfigModel):
    """A Kubernetes LabelSelector. A plain label map such as `{app: web}` means matchLabels."""

    _partial_parse: ClassVar[bool] = False  # the before-validator must see the whole map
    _nested: ClassVar[tuple[str, ...]] = ("match_expressions",)

    match_labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _plain_map_means_match_labels(cls, data: Any) -> Any:
        # A map without selector keys whose values are all scalars is a label map. A map with
        # nested values is taken as a selector, so `matchLabel: {...}` is reported as unknown.
        if (
            isinstance(data, Mapping)
            and data
            and not _SELECTOR_KEYS.intersection(data)
            and not any(isinstance(value, Mapping | list) for value in data.values())
        ):
            return {"matchLabels": dict(data)}
        return data

    @property
    def is_empty(self) -> bool:
        """An empty selector selects everything (all Nodes, all Pods of the namespace)."""
        return not self.match_labels and not self.match_expressions

    @property
    def requirements(self) -> frozenset[tuple[str, str, frozenset[str]]]:
        """The selector as the set of requirements it ANDs, whatever the order it was written in.

        `matchLabels: {app: web}` is `app In [web]`, as Kubernetes reads it
        (apimachinery's LabelSelectorAsSelector), so equal sets select the same objects.
        """
        return frozenset(
            [(key, "In", frozenset([value])) for key, value in self.match_labels.items()]
            + [(req.key, req.operator, frozenset(req.values)) for req in self.match_expressions]
        )
