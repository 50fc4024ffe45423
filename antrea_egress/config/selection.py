"""Which pods a zone's `appliedTo` selects, and how two zones' selections relate.

A pod is selected when its namespace satisfies the namespace requirements and the pod its own
(Antrea docs/egress.md, "appliedTo"; a label selector ANDs its requirements, as apimachinery's
LabelSelectorAsSelector reads it). `namespace: prod` is the requirement
`kubernetes.io/metadata.name In (prod)`, the label the API server sets on every Namespace (so
that label always exists). Each requirement set is read key by key into the values it admits,
which decides, without knowing any object:

- DISJOINT: no pod can satisfy both zones (some key admits nothing to both);
- CONTAINED: every pod one zone selects, the other selects too (that zone is satisfiable);
- SHARED_NAMESPACE: both admit a namespace one of them names, by its name alone, and there
  one zone's pods are all the other's too;
- POSSIBLE: neither is provable; pods carrying the right labels would be selected by both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from antrea_egress.config.zones import AppliedTo

# The label the API server sets on every Namespace, its value the namespace's name.
NAMESPACE_NAME_LABEL: Final = "kubernetes.io/metadata.name"

Requirement = tuple[str, str, frozenset[str]]


class Overlap(Enum):
    DISJOINT = "disjoint"
    POSSIBLE = "possible"
    # The first selection's pods are all selected by the second too (or the other way round).
    FIRST_IN_SECOND = "first in second"
    SECOND_IN_FIRST = "second in first"
    # In a namespace both select by its name, one zone's pods are all the other's too.
    SHARED_NAMESPACE = "shared namespace"

    @property
    def provable(self) -> bool:
        """Whether some pods are certainly selected by both (if they exist at all)."""
        return self not in (Overlap.DISJOINT, Overlap.POSSIBLE)


@dataclass(frozen=True)
class KeyValues:
    """The values one label key may have: a finite set (`allowed`), or any value but
    `excluded` (`allowed` None); and whether the label may be absent."""

    allowed: frozenset[str] | None = None
    excluded: frozenset[str] = frozenset()
    absent_ok: bool = True

    def narrowed(self, operator: str, values: frozenset[str]) -> KeyValues:
        if operator == "In":
            allowed = values if self.allowed is None else self.allowed & values
            return KeyValues(allowed - self.excluded, self.excluded, absent_ok=False)
        if operator == "NotIn":
            remaining = None if self.allowed is None else self.allowed - values
            return KeyValues(remaining, self.excluded | values, self.absent_ok)
        if operator == "Exists":
            return KeyValues(self.allowed, self.excluded, absent_ok=False)
        return KeyValues(frozenset(), self.excluded, self.absent_ok)  # DoesNotExist

    @property
    def satisfiable(self) -> bool:
        return self.absent_ok or self.allowed is None or bool(self.allowed)

    def within(self, other: KeyValues) -> bool:
        """Whether every value this key admits (absence included), `other` admits too."""
        if self.absent_ok and not other.absent_ok:
            return False
        if self.allowed is None:
            return other.allowed is None and other.excluded <= self.excluded
        if other.allowed is None:
            return not self.allowed & other.excluded
        return self.allowed <= other.allowed


@dataclass(frozen=True)
class Requirements:
    """A conjunction of label requirements, key by key."""

    by_key: dict[str, KeyValues] = field(default_factory=dict)

    @classmethod
    def of(cls, requirements: Iterable[Requirement]) -> Requirements:
        by_key: dict[str, KeyValues] = {}
        for key, operator, values in requirements:
            by_key[key] = by_key.get(key, KeyValues()).narrowed(operator, values)
        return cls(by_key)

    @property
    def satisfiable(self) -> bool:
        return all(values.satisfiable for values in self.by_key.values())

    def within(self, other: Requirements) -> bool:
        """Whether every label set satisfying these satisfies `other`'s too."""
        return all(
            self.by_key.get(key, KeyValues()).within(values) for key, values in other.by_key.items()
        )

    def both(self, other: Requirements) -> Requirements:
        """The labels that satisfy both."""
        return Requirements.of([*self._requirements(), *other._requirements()])

    def _requirements(self) -> list[Requirement]:
        out: list[Requirement] = []
        for key, values in self.by_key.items():
            if values.allowed is not None and not values.allowed and values.absent_ok:
                out.append((key, "DoesNotExist", frozenset()))
            elif values.allowed is not None:
                out.append((key, "In", values.allowed))
            if values.excluded:
                out.append((key, "NotIn", values.excluded))
            if not values.absent_ok and values.allowed is None:
                out.append((key, "Exists", frozenset()))
        return out


@dataclass(frozen=True)
class Selection:
    """The pods of an appliedTo: namespace requirements and pod requirements."""

    namespaces: Requirements
    pods: Requirements

    @classmethod
    def of(cls, applied_to: AppliedTo) -> Selection:
        return cls(
            Requirements.of(namespace_requirements(applied_to)),
            Requirements.of(applied_to.pod_selector.requirements),
        )

    @property
    def satisfiable(self) -> bool:
        return self.namespaces.satisfiable and self.pods.satisfiable

    def within(self, other: Selection) -> bool:
        return (
            self.satisfiable
            and self.namespaces.within(other.namespaces)
            and self.pods.within(other.pods)
        )


def namespace_requirements(applied_to: AppliedTo) -> list[Requirement]:
    """The namespace side of an appliedTo; every Namespace carries its name label."""
    exists: Requirement = (NAMESPACE_NAME_LABEL, "Exists", frozenset())
    if applied_to.namespace is not None:
        return [exists, (NAMESPACE_NAME_LABEL, "In", frozenset([applied_to.namespace]))]
    selector = applied_to.namespace_selector
    return [exists, *(selector.requirements if selector is not None else ())]


def compare(first: AppliedTo, second: AppliedTo) -> Overlap:
    """How the pods `first` selects relate to those `second` selects."""
    one, two = Selection.of(first), Selection.of(second)
    if not (
        one.namespaces.both(two.namespaces).satisfiable and one.pods.both(two.pods).satisfiable
    ):
        return Overlap.DISJOINT
    if one.within(two):
        return Overlap.FIRST_IN_SECOND
    if two.within(one):
        return Overlap.SECOND_IN_FIRST
    if shared_namespace(first, second) is not None:
        return Overlap.SHARED_NAMESPACE
    return Overlap.POSSIBLE


def shared_namespace(first: AppliedTo, second: AppliedTo) -> str | None:
    """A namespace, named in either zone, that both select by its name alone and in which one
    zone's pods are all the other's too; None if there is none."""
    one, two = Selection.of(first), Selection.of(second)
    nested = (one.pods.satisfiable and one.pods.within(two.pods)) or (
        two.pods.satisfiable and two.pods.within(one.pods)
    )
    if not nested:
        return None
    named = sorted(_names_mentioned(one.namespaces) | _names_mentioned(two.namespaces))
    return next(
        (
            name
            for name in named
            if _admits_by_name(one.namespaces, name) and _admits_by_name(two.namespaces, name)
        ),
        None,
    )


def _names_mentioned(namespaces: Requirements) -> frozenset[str]:
    values = namespaces.by_key.get(NAMESPACE_NAME_LABEL, KeyValues())
    return values.allowed or frozenset()


def _admits_by_name(namespaces: Requirements, name: str) -> bool:
    """Whether the namespace `name` is selected whatever its other labels."""
    if set(namespaces.by_key) != {NAMESPACE_NAME_LABEL}:
        return False
    values = namespaces.by_key[NAMESPACE_NAME_LABEL]
    if values.allowed is None:
        return name not in values.excluded
    return name in values.allowed


def same_pods(first: AppliedTo, second: AppliedTo) -> bool:
    """Whether both select exactly the same pods (each within the other)."""
    one, two = Selection.of(first), Selection.of(second)
    return one.within(two) and two.within(one)


def named_namespaces(applied_to: AppliedTo) -> list[str] | None:
    """The namespaces an appliedTo selects by name alone, sorted; None when a namespace's own
    labels decide (a selector on other labels, or one that names no namespace)."""
    namespaces = Requirements.of(namespace_requirements(applied_to)).by_key
    if set(namespaces) != {NAMESPACE_NAME_LABEL}:
        return None
    names = namespaces[NAMESPACE_NAME_LABEL]
    return None if names.allowed is None else sorted(names.allowed)
